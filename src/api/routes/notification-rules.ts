import { Router } from '@koa/router';
import { checkTemplates, MAX_TEMPLATE_LENGTH, recipientPropertyProblem, TemplateError } from '../../deliveries/channels/email/render.ts';
import { eventTypePatternProblem } from '../../deliveries/channels/webhook/filters.ts';
import { deleteRule, findRule, insertRule, listRules, updateRule, type RuleFields } from '../../deliveries/rules.ts';
import { ROLES } from '../../auth/policy.ts';
import type { RouteDeps } from '../deps.ts';
import { ApiError, invalidBody, notFound } from '../errors.ts';
import { requires } from '../middleware/auth.ts';
import { jsonBody } from '../middleware/json-body.ts';
import { validateBody, type Valid } from '../middleware/validate.ts';
import { uuidParam } from '../params.ts';
import type { ApiState } from '../state.ts';
import type { FieldDetail } from '../validation.ts';

// Notification rules of the caller's project: which event types mail whom (`email`) or notify which
// members in the app (`in_app`), with what text.
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
const CREATE = {
  type: 'object',
  additionalProperties: false,
  required: ['event_types', 'subject_template', 'body_template'],
  properties: RULE_FIELDS,
};
const PATCH = { type: 'object', additionalProperties: false, minProperties: 1, properties: RULE_FIELDS };

type RuleInput = Partial<RuleFields>;

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

export function notificationRulesRouter({ db }: RouteDeps): Router<ApiState> {
  const router = new Router<ApiState>({ prefix: '/v1/notification-rules' });
  const manage = requires('rules:manage');
  const read = requires('project:read');

  async function ruleOf(projectId: string, id: string | undefined) {
    const rule = await findRule(db, projectId, uuidParam(id, 'notification rule'));
    if (!rule) throw notFound('notification rule');
    return rule;
  }

  router.post<Valid<RuleInput>>('/', manage, jsonBody, validateBody<RuleInput>(CREATE), async (ctx) => {
    const input = checkRule(ctx.state.input);
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
    const row = await insertRule(db, ctx.state.auth.projectId, rule);
    ctx.status = 201;
    ctx.set('Location', `/v1/notification-rules/${row.id}`);
    ctx.body = row;
  });

  router.get('/', read, async (ctx) => {
    ctx.body = { data: await listRules(db, ctx.state.auth.projectId) };
  });

  router.get('/:id', read, async (ctx) => {
    ctx.body = await ruleOf(ctx.state.auth.projectId, ctx.params.id);
  });

  router.patch<Valid<RuleInput>>('/:id', manage, jsonBody, validateBody<RuleInput>(PATCH), async (ctx) => {
    const input = checkRule(ctx.state.input);
    const existing = await ruleOf(ctx.state.auth.projectId, ctx.params.id);
    assertUsableRule({ ...existing, ...input });
    const row = await updateRule(db, ctx.state.auth.projectId, existing.id, input);
    if (!row) throw notFound('notification rule');
    ctx.body = row;
  });

  router.delete('/:id', manage, async (ctx) => {
    if (!(await deleteRule(db, ctx.state.auth.projectId, uuidParam(ctx.params.id, 'notification rule')))) throw notFound('notification rule');
    ctx.status = 204;
  });

  return router;
}
