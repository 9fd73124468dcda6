import type { Knex } from 'knex';
import { v7 as uuidv7 } from 'uuid';
import type { NotificationRuleRow } from './types.ts';

// Every query on `notification_rules`.

export type RuleView = Omit<NotificationRuleRow, 'project_id'>;
const VIEW_COLUMNS = [
  'id', 'channel', 'event_types', 'recipients', 'recipient_roles', 'recipient_property', 'subject_template', 'body_template',
  'enabled', 'created_at', 'updated_at',
] as const;

export type RuleFields = Pick<
  NotificationRuleRow,
  'channel' | 'event_types' | 'recipients' | 'recipient_roles' | 'recipient_property' | 'subject_template' | 'body_template' | 'enabled'
>;

export async function listRules(db: Knex, projectId: string): Promise<RuleView[]> {
  return db('notification_rules').select(VIEW_COLUMNS).where({ project_id: projectId }).orderBy([{ column: 'created_at' }, { column: 'id' }]);
}

export async function findRule(db: Knex, projectId: string, id: string): Promise<RuleView | undefined> {
  return db('notification_rules').select(VIEW_COLUMNS).where({ project_id: projectId, id }).first();
}

export async function insertRule(db: Knex, projectId: string, rule: RuleFields): Promise<RuleView> {
  const [row] = await db('notification_rules').insert({ id: uuidv7(), project_id: projectId, ...rule }).returning(VIEW_COLUMNS);
  return row;
}

export async function updateRule(db: Knex, projectId: string, id: string, changes: Partial<RuleFields>): Promise<RuleView | undefined> {
  const update: Record<string, unknown> = { updated_at: db.fn.now() };
  for (const [field, value] of Object.entries(changes)) if (value !== undefined) update[field] = value;
  const [row] = await db('notification_rules').where({ project_id: projectId, id }).update(update).returning(VIEW_COLUMNS);
  return row;
}

export async function deleteRule(db: Knex, projectId: string, id: string): Promise<boolean> {
  return (await db('notification_rules').where({ project_id: projectId, id }).delete()) > 0;
}

export async function enabledRules(db: Knex, projectId: string): Promise<NotificationRuleRow[]> {
  return db('notification_rules').where({ project_id: projectId, enabled: true });
}

export async function ruleForDelivery(db: Knex, projectId: string, id: string): Promise<NotificationRuleRow | undefined> {
  return db('notification_rules').where({ project_id: projectId, id }).first();
}
