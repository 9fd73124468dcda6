import type { AttemptOutcome, DeliveryChannel, DeliveryStatus } from '../shared/delivery.ts';

// One row type per table of the delivery domain (migrations/20261122000100_webhooks_and_notifications.ts).

export interface WebhookEndpointRow {
  id: string;
  project_id: string;
  url: string;
  event_types: string[];
  description: string | null;
  enabled: boolean;
  headers: Record<string, string>;
  retry_schedule: number[] | null;
  /** Kept in clear: every delivery is signed with it. Shown to the owner at creation and rotation only. */
  secret: string;
  previous_secret: string | null;
  previous_secret_expires_at: Date | null;
  failing_since: Date | null;
  disabled_reason: string | null;
  disabled_at: Date | null;
  created_at: Date;
  updated_at: Date;
}

export interface NotificationRuleRow {
  id: string;
  project_id: string;
  /** `email`: mail the recipients; `in_app`: notify the project's members who match. */
  channel: 'email' | 'in_app';
  event_types: string[];
  /** Email addresses (for `in_app`: of members to notify). */
  recipients: string[];
  /** For `in_app`: members with these roles. */
  recipient_roles: string[];
  recipient_property: string | null;
  subject_template: string;
  body_template: string;
  enabled: boolean;
  created_at: Date;
  updated_at: Date;
}

/** A delivery that needed durable tracking (it failed inline): the mirror of its workflow's state. */
export interface DeliveryRow {
  delivery_id: string;
  project_id: string;
  channel: DeliveryChannel;
  target_id: string;
  event_id: string;
  event_type: string;
  workflow_id: string;
  status: DeliveryStatus;
  last_error: string | null;
  created_at: Date;
  updated_at: Date;
  /** When it was last parked as a dead letter (null: never). */
  parked_at: Date | null;
  /** When it was last replayed out of the dead letters, and how many times. */
  replayed_at: Date | null;
  replays: number;
}

export interface DeliveryAttemptRow {
  id: string;
  project_id: string;
  channel: DeliveryChannel;
  target_id: string;
  event_id: string;
  delivery_id: string;
  attempt: number;
  attempted_at: Date;
  status_code: number | null;
  duration_ms: number;
  response_excerpt: string | null;
  error: string | null;
  outcome: AttemptOutcome;
  trace_id: string | null;
}

export interface NotificationRow {
  id: string;
  project_id: string;
  user_id: string;
  rule_id: string;
  event_id: string;
  event_type: string;
  title: string;
  body: string;
  created_at: Date;
  read_at: Date | null;
}
