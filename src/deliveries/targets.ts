import type { Knex } from 'knex';
import type { DeliveryChannel } from '../shared/delivery.ts';
import { matchesEventType } from './channels/webhook/filters.ts';
import { endpointForDelivery, enabledEndpoints } from './endpoints.ts';
import { enabledRules, ruleForDelivery } from './rules.ts';
import type { NotificationRuleRow, WebhookEndpointRow } from './types.ts';

// Where events go: a project's webhook endpoints and notification rules, as delivery targets.

interface TargetBase {
  id: string;
  channel: DeliveryChannel;
  retrySchedule: number[] | null;
  matches(type: string): boolean;
}

export interface WebhookTarget extends TargetBase {
  channel: 'webhook';
  url: string;
  headers: Record<string, string>;
  /** Current secret first; during a rotation's grace period the previous one too. */
  secrets: string[];
  failingSince: Date | null;
}

export interface EmailTarget extends TargetBase {
  channel: 'email';
  recipients: string[];
  recipientProperty: string | null;
  subjectTemplate: string;
  bodyTemplate: string;
}

export interface InAppTarget extends TargetBase {
  channel: 'in_app';
  projectId: string;
  recipientEmails: string[];
  recipientRoles: string[];
  subjectTemplate: string;
  bodyTemplate: string;
}

export type DeliveryTarget = WebhookTarget | EmailTarget | InAppTarget;

function webhookTarget(row: WebhookEndpointRow, now: Date): WebhookTarget {
  const previousValid = row.previous_secret && row.previous_secret_expires_at && row.previous_secret_expires_at > now;
  return {
    channel: 'webhook',
    id: row.id,
    url: row.url,
    headers: row.headers ?? {},
    secrets: previousValid ? [row.secret, row.previous_secret as string] : [row.secret],
    retrySchedule: row.retry_schedule,
    failingSince: row.failing_since,
    matches: (type) => matchesEventType(row.event_types, type),
  };
}

function ruleTarget(row: NotificationRuleRow): EmailTarget | InAppTarget {
  if (row.channel === 'in_app') {
    return {
      channel: 'in_app',
      id: row.id,
      projectId: row.project_id,
      recipientEmails: row.recipients,
      recipientRoles: row.recipient_roles,
      subjectTemplate: row.subject_template,
      bodyTemplate: row.body_template,
      retrySchedule: null,
      matches: (type) => matchesEventType(row.event_types, type),
    };
  }
  return {
    channel: 'email',
    id: row.id,
    recipients: row.recipients,
    recipientProperty: row.recipient_property,
    subjectTemplate: row.subject_template,
    bodyTemplate: row.body_template,
    retrySchedule: null,
    matches: (type) => matchesEventType(row.event_types, type),
  };
}

/** Enabled endpoints and rules of the project (filter them with `matches`). */
export async function enabledTargetsFor(db: Knex, projectId: string): Promise<DeliveryTarget[]> {
  const [endpoints, rules] = await Promise.all([enabledEndpoints(db, projectId), enabledRules(db, projectId)]);
  const now = new Date();
  return [...endpoints.map((row) => webhookTarget(row, now)), ...rules.map(ruleTarget)];
}

/**
 * Whether anything could receive this project's events. Run inside the persist transaction, so a
 * batch only carries its stored ids onward (into history) when there is somewhere to deliver them.
 */
export async function hasEnabledTargets(db: Knex, projectId: string): Promise<boolean> {
  const found = await db
    .select(db.raw('1'))
    .from('webhook_endpoints')
    .where({ project_id: projectId, enabled: true })
    .unionAll((union) => union.select(db.raw('1')).from('notification_rules').where({ project_id: projectId, enabled: true }))
    .limit(1);
  return found.length > 0;
}

/** A target by id whether enabled or not: an operator's replay is an explicit decision to send. */
export async function loadTarget(db: Knex, projectId: string, channel: DeliveryChannel, targetId: string): Promise<DeliveryTarget | undefined> {
  if (channel === 'webhook') {
    const row = await endpointForDelivery(db, projectId, targetId);
    return row && webhookTarget(row, new Date());
  }
  const row = await ruleForDelivery(db, projectId, targetId);
  return row && row.channel === channel ? ruleTarget(row) : undefined;
}
