import type { Knex } from 'knex';
import type { NotificationRow } from './types.ts';

// Every query on `notifications` (the in-app channel's inbox), always for one user in one project.

export type NotificationView = Omit<NotificationRow, 'project_id' | 'user_id'>;
const VIEW_COLUMNS = ['id', 'rule_id', 'event_id', 'event_type', 'title', 'body', 'created_at', 'read_at'] as const;

export interface Inbox {
  projectId: string;
  userId: string;
}

/**
 * Unread first, then read; newest first within each. One row more than asked (the page helper's
 * look-ahead). The cursor is (read?, id): ids are UUIDv7, so they order by creation.
 */
export async function listNotifications(db: Knex, inbox: Inbox, page: { limit: number; after?: { read: boolean; id: string } }): Promise<NotificationView[]> {
  const query = db('notifications').select(VIEW_COLUMNS).where({ project_id: inbox.projectId, user_id: inbox.userId });
  if (page.after) {
    const { read, id } = page.after;
    query.whereRaw('((read_at IS NOT NULL) > ? OR ((read_at IS NOT NULL) = ? AND id < ?::uuid))', [read, read, id]);
  }
  return query.orderByRaw('read_at IS NOT NULL, id DESC').limit(page.limit + 1);
}

export async function unreadCount(db: Knex, inbox: Inbox): Promise<number> {
  const [{ n }] = await db('notifications').where({ project_id: inbox.projectId, user_id: inbox.userId }).whereNull('read_at').count({ n: '*' });
  return Number(n);
}

/** Marks the given ids (or all) read; returns how many changed. Ids of other users are ignored. */
export async function markRead(db: Knex, inbox: Inbox, ids: string[] | 'all'): Promise<number> {
  const query = db('notifications').where({ project_id: inbox.projectId, user_id: inbox.userId }).whereNull('read_at');
  if (ids !== 'all') query.whereIn('id', ids);
  return query.update({ read_at: db.fn.now() });
}

/** What arrived after `afterId` (a stream's Last-Event-ID), oldest first, bounded. */
export async function notificationsAfter(db: Knex, inbox: Inbox, afterId: string | undefined, limit: number): Promise<NotificationView[]> {
  const query = db('notifications').select(VIEW_COLUMNS).where({ project_id: inbox.projectId, user_id: inbox.userId });
  if (afterId) query.where('id', '>', afterId);
  else query.whereNull('read_at');
  return query.orderBy('id', 'asc').limit(limit);
}

/** The newest notification's id in the inbox (where a live subscription starts), if any. */
export async function latestNotificationId(db: Knex, inbox: Inbox): Promise<string | undefined> {
  const row = await db('notifications').select('id').where({ project_id: inbox.projectId, user_id: inbox.userId }).orderBy('id', 'desc').first();
  return row?.id;
}
