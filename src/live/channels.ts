// The Postgres NOTIFY channels EventFlow announces changes on. Senders notify inside the transaction
// that makes the change, so listeners hear only of what committed; payloads name what changed, never
// carry it (listeners read it from Postgres).

/** A member's in-app notifications arrived: `{ project_id, user_ids }`. */
export const NOTIFICATIONS_CHANNEL = 'eventflow_notifications';

/** Events were stored: `{ project_id, stored, counts?: { [type]: n } }`. */
export const EVENTS_STORED_CHANNEL = 'eventflow_events_stored';
