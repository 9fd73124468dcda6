import Router from '@koa/router';
import type { ValidateFunction } from 'ajv';
import type { Knex } from 'knex';
import { v7 as uuidv7 } from 'uuid';
import { checkTemplates, MAX_TEMPLATE_LENGTH, recipientPropertyProblem, TemplateError } from '../../email/render.ts';
import { createSchemaCompiler } from '../../schemas/json-schema.ts';
import { eventTypePatternProblem } from '../../webhooks/filters.ts';
import { ApiError, notFound } from '../errors.ts';
import { adminOnly } from '../middleware/auth.ts';
import { jsonBody } from '../middleware/json-body.ts';
import type { ApiState } from '../state.ts';
import { validBody, type FieldDetail } from '../validation.ts';

// Email notification rules of the caller's project: which event types mail whom, with what text.
// Templates are checked here, once, so delivery never meets one that cannot render.

export interface NotificationRulesRouterDependencies {
  db: Knex;
}

const ruleFields = {
  event_types: { type: 'array', minItems: 1, maxItems: 100, items: { type: 'string' } },
  recipients: { type: 'array', maxItems: 50, items: { type: 'string', format: 'email', maxLength: 254 } },
  recipient_property: { type: ['string', 'null'], minLength: 1, maxLength: 200 },
  subject_template: { type: 'string', minLength: 1, maxLength: 1000 },
  body_template: { type: 'string', minLength: 1, maxLength: MAX_TEMPLATE_LENGTH },
  enabled: { type: 'boolean' },
};

const ajv = createSchemaCompiler();
const validateCreate = ajv.compile({
  type: 'object',
  additionalProperties: false,
  required: ['event_types', 'subject_template', 'body_template'],
  properties: ruleFields,
});
const validatePatch = ajv.compile({ type: 'object', additionalProperties: false, minProperties: 1, properties: ruleFields });

interface RuleInput {
  event_types?: string[];
  recipients?: string[];
  recipient_property?: string | null;
  subject_template?: string;
  body_template?: string;
  enabled?: boolean;
}

interface RuleRow {
  id: string;
  event_types: string[];
  recipients: string[];
  recipient_property: string | null;
  subject_template: string;
  body_template: string;
  enabled: boolean;
  created_at: Date;
  updated_at: Date;
}

const RULE_COLUMNS = [
  'id', 'event_types', 'recipients', 'recipient_property', 'subject_template', 'body_template', 'enabled',
  'created_at', 'updated_at',
];

function invalidBody(details: FieldDetail[]): ApiError {
  return new ApiError(400, 'invalid_body', 'the request body is invalid', details);
}

function parseRuleBody(body: unknown, validate: ValidateFunction): RuleInput {
  const input = validBody(validate, body) as RuleInput;
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
  if (input.event_types) input.event_types = [...new Set(input.event_types)];
  if (input.recipients) input.recipients = [...new Set(input.recipients)];
  return input;
}

/** Checks the rule as it will be stored (for PATCH: the merge of old and new). */
function assertUsableRule(rule: Pick<RuleRow, 'recipients' | 'recipient_property' | 'subject_template' | 'body_template'>): void {
  if (rule.recipients.length === 0 && !rule.recipient_property) {
    throw invalidBody([{ field: 'recipients', message: 'give at least one recipient or a recipient_property' }]);
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

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

function ruleIdParam(id: string): string {
  if (!UUID.test(id)) throw notFound('notification rule');
  return id.toLowerCase();
}

export function notificationRulesRouter({ db }: NotificationRulesRouterDependencies): Router<ApiState> {
  const router = new Router<ApiState>();
  router.use(adminOnly);

  async function findRule(projectId: string, id: string): Promise<RuleRow> {
    const row = await db('notification_rules').select(RULE_COLUMNS).where({ project_id: projectId, id: ruleIdParam(id) }).first();
    if (!row) throw notFound('notification rule');
    return row;
  }

  router.post('/v1/notification-rules', jsonBody, async (ctx) => {
    const input = parseRuleBody(ctx.state.body, validateCreate);
    const rule = {
      event_types: input.event_types!,
      recipients: input.recipients ?? [],
      recipient_property: input.recipient_property ?? null,
      subject_template: input.subject_template!,
      body_template: input.body_template!,
      enabled: input.enabled ?? true,
    };
    assertUsableRule(rule);
    const [row] = await db('notification_rules')
      .insert({ id: uuidv7(), project_id: ctx.state.auth.projectId, ...rule })
      .returning(RULE_COLUMNS);
    ctx.status = 201;
    ctx.set('Location', `/v1/notification-rules/${row.id}`);
    ctx.body = row;
  });

  router.get('/v1/notification-rules', async (ctx) => {
    const rows = await db('notification_rules')
      .select(RULE_COLUMNS)
      .where({ project_id: ctx.state.auth.projectId })
      .orderBy([{ column: 'created_at' }, { column: 'id' }]);
    ctx.body = { data: rows };
  });

  router.get('/v1/notification-rules/:id', async (ctx) => {
    ctx.body = await findRule(ctx.state.auth.projectId, ctx.params.id!);
  });

  router.patch('/v1/notification-rules/:id', jsonBody, async (ctx) => {
    const input = parseRuleBody(ctx.state.body, validatePatch);
    const existing = await findRule(ctx.state.auth.projectId, ctx.params.id!);
    assertUsableRule({ ...existing, ...input });
    const changes: Record<string, unknown> = { updated_at: db.fn.now() };
    for (const field of ['event_types', 'recipients', 'recipient_property', 'subject_template', 'body_template', 'enabled'] as const) {
      if (input[field] !== undefined) changes[field] = input[field];
    }
    const [row] = await db('notification_rules')
      .where({ project_id: ctx.state.auth.projectId, id: existing.id })
      .update(changes)
      .returning(RULE_COLUMNS);
    if (!row) throw notFound('notification rule');
    ctx.body = row;
  });

  router.delete('/v1/notification-rules/:id', async (ctx) => {
    const deleted = await db('notification_rules')
      .where({ project_id: ctx.state.auth.projectId, id: ruleIdParam(ctx.params.id!) })
      .delete();
    if (deleted === 0) throw notFound('notification rule');
    ctx.status = 204;
  });

  return router;
}
