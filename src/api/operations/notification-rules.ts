import type { Knex } from 'knex';
import { ROLES } from '../../auth/policy.ts';
import { checkTemplates, MAX_TEMPLATE_LENGTH, recipientPropertyProblem, TemplateError } from '../../deliveries/channels/email/render.ts';
import { eventTypePatternProblem } from '../../deliveries/channels/webhook/filters.ts';
import { deleteRule, findRule, insertRule, updateRule, type RuleFields } from '../../deliveries/rules.ts';
import { ApiError, invalidBody, notFound } from '../errors.ts';
import { uuidParam } from '../params.ts';
import type { FieldDetail } from '../validation.ts';

// Managing notification rules, for REST (src/api/routes/notification-rules.ts) and GraphQL alike: which
// event types mail whom (`email`) or notify which members in the app (`in_app`), with what text.
// Templates are checked here, once, so delivery never meets one that cannot render.

const RULE_FIELDS = {
  channel: { enum: ['email', 'in_app'] },
  recipient_roles: { type: 'array', maxItems: ROLES.length, uniqueItems: true, items: { enum: ROLES } },
  event_types: { type: 'array', minItems: 1, maxItems: 100, items: { type: 'string' } },
  recipients: { type: 'array', maxItems: 50, items: { type: 'string', format: 'email', maxLength: 254 } },
  recipient_property: { type: ['string', 'null'], minLength: 1, maxLength: 200 },
  subject_template: { type: 'string', minLength: 1, maxLength: 1000 },
  body_template: { type: 'string', minLength: 1, maxLength: MAX_TEMPLATE_LENGTH },
  enabled: { type: 'boolean' },
};
export const CREATE_RULE = {
  type: 'object',
  additionalProperties: false,
  required: ['event_types', 'subject_template', 'body_template'],
  properties: RULE_FIELDS,
};
export const PATCH_RULE = { type: 'object', additionalProperties: false, minProperties: 1, properties: RULE_FIELDS };

export type RuleInput = Partial<RuleFields>;

/** What a schema cannot say: pattern and property-path syntax. Dedupes the lists. */
function checkRule(input: RuleInput): RuleInput {
  const details: FieldDetail[] = [];
  input.event_types?.forEach((pattern, index) => {
    const problem = eventTypePatternProblem(pattern);
    if (problem) details.push({ field: `event_types.${index}`, message: problem });
  });
  if (input.recipient_property) {
    const problem = recipientPropertyProblem(input.recipient_property);
    if (problem) details.push({ field: 'recipient_property', message: problem });
  }
  if (details.length > 0) throw invalidBody(details);
  return {
    ...input,
    ...(input.event_types && { event_types: [...new Set(input.event_types)] }),
    ...(input.recipients && { recipients: [...new Set(input.recipients)] }),
  };
}

/** Checks the rule as it will be stored (for PATCH: the merge of old and new). */
function assertUsableRule(rule: Pick<RuleFields, 'channel' | 'recipients' | 'recipient_roles' | 'recipient_property' | 'subject_template' | 'body_template'>): void {
  if (rule.channel === 'in_app') {
    // In the app, recipients are the project's members: by role, or by their account's email.
    if (rule.recipient_property) throw invalidBody([{ field: 'recipient_property', message: 'applies to email rules only' }]);
    if (rule.recipients.length === 0 && rule.recipient_roles.length === 0) {
      throw invalidBody([{ field: 'recipient_roles', message: 'give at least one role or member email to notify' }]);
    }
  } else {
    if (rule.recipient_roles.length > 0) throw invalidBody([{ field: 'recipient_roles', message: 'applies to in_app rules only' }]);
    if (rule.recipients.length === 0 && !rule.recipient_property) {
      throw invalidBody([{ field: 'recipients', message: 'give at least one recipient or a recipient_property' }]);
    }
  }
  for (const [field, templates] of [
    ['subject_template', { subject: rule.subject_template, body: '' }],
    ['body_template', { subject: '', body: rule.body_template }],
  ] as const) {
    try {
      checkTemplates(templates);
    } catch (error) {
      if (!(error instanceof TemplateError)) throw error;
      throw new ApiError(400, 'invalid_template', `${field} does not render: ${error.message}`, [
        { field, message: error.message, position: error.position },
      ]);
    }
  }
}

export async function createNotificationRule(db: Knex, projectId: string, raw: RuleInput) {
  const input = checkRule(raw);
  const rule: RuleFields = {
    channel: input.channel ?? 'email',
    recipient_roles: input.recipient_roles ?? [],
    event_types: input.event_types!,
    recipients: input.recipients ?? [],
    recipient_property: input.recipient_property ?? null,
    subject_template: input.subject_template!,
    body_template: input.body_template!,
    enabled: input.enabled ?? true,
  };
  assertUsableRule(rule);
  return insertRule(db, projectId, rule);
}

export async function findNotificationRule(db: Knex, projectId: string, id: string | undefined) {
  const rule = await findRule(db, projectId, uuidParam(id, 'notification rule'));
  if (!rule) throw notFound('notification rule');
  return rule;
}

export async function updateNotificationRule(db: Knex, projectId: string, id: string | undefined, raw: RuleInput) {
  const input = checkRule(raw);
  const existing = await findNotificationRule(db, projectId, id);
  assertUsableRule({ ...existing, ...input });
  const row = await updateRule(db, projectId, existing.id, input);
  if (!row) throw notFound('notification rule');
  return row;
}

export async function deleteNotificationRule(db: Knex, projectId: string, id: string | undefined): Promise<void> {
  if (!(await deleteRule(db, projectId, uuidParam(id, 'notification rule')))) throw notFound('notification rule');
}
