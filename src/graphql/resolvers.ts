import { GraphQLError, GraphQLScalarType, Kind } from 'graphql';
import { Repeater } from 'graphql-yoga';
import type { Knex } from 'knex';
import { findUser, listMembers, membershipsOf } from '../accounts/queries.ts';
import { allowedActions } from '../auth/policy.ts';
import { CREDENTIAL_FIELDS, REGISTRATION_FIELDS, type Accounts, type Credentials, type Registration, type SignedIn } from '../api/accounts.ts';
import type { Acceptor } from '../api/events/accept.ts';
import { inputChecker } from '../api/middleware/validate.ts';
import { BULK_REPLAY, DISCARD_DEAD_LETTER, discardDeadLetter, replayDeadLetter, replayDeadLetters, type FilterInput } from '../api/operations/dead-letters.ts';
import { CHANGE_ROLE, changeMemberRole, INVITE, inviteMember, removeMember, type Invite } from '../api/operations/members.ts';
import { CREATE_RULE, createNotificationRule, deleteNotificationRule, PATCH_RULE, updateNotificationRule, type RuleInput } from '../api/operations/notification-rules.ts';
import {
  CREATE_WEBHOOK,
  createWebhook,
  deleteWebhook,
  PATCH_WEBHOOK,
  ROTATE_WEBHOOK_SECRET,
  rotateWebhookSecret,
  TEST_WEBHOOK,
  testWebhook,
  updateWebhook,
  type EndpointInput,
  type TestWebhookInput,
} from '../api/operations/webhooks.ts';
import type { Role } from '../auth/policy.ts';
import type { EventFlowConfig } from '../config.ts';
import type { EndpointView } from '../deliveries/endpoints.ts';
import type { RuleView } from '../deliveries/rules.ts';
import { ApiError, notFound } from '../api/errors.ts';
import { isStorableInstant } from '../api/validation.ts';
import type { TemporalClientRef } from '../api/temporal-access.ts';
import { listEndpoints } from '../deliveries/endpoints.ts';
import { listDeadLetters } from '../deliveries/records.ts';
import { latestNotificationId, listNotifications, markRead, notificationsAfter, unreadCount, type NotificationView } from '../deliveries/notifications.ts';
import type { LiveFeed } from '../live/feed.ts';
import { listRules } from '../deliveries/rules.ts';
import type { DeliveryAttemptRow, DeliveryRow } from '../deliveries/types.ts';
import { countEvents, findEvent, listEvents, type EventRow } from '../events/queries.ts';
import { listKeys } from '../keys/queries.ts';
import { findProject } from '../projects/queries.ts';
import { listLatestSchemas } from '../schemas/queries.ts';
import { projectStats } from '../stats/queries.ts';
import { decodeCursor, encodeCursor, MAX_PAGE_SIZE } from '../api/pagination.ts';
import { isUuid } from '../api/params.ts';
import type { GraphQLContext } from './context.ts';

// Resolvers map rows to the schema's camelCase and ask the one rule set (ctx.can) before every read or
// write. Queries are the same domain queries REST uses; nothing here writes SQL.

const CURSOR_TIMESTAMP = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$/;

function badInput(message: string, field: string): GraphQLError {
  return new GraphQLError(message, { extensions: { code: 'BAD_USER_INPUT', field } });
}

function pageLimit(value: number | null | undefined, field: string): number {
  const limit = value ?? 50;
  if (!Number.isInteger(limit) || limit < 1 || limit > MAX_PAGE_SIZE) throw badInput(`${field} must be between 1 and ${MAX_PAGE_SIZE}`, field);
  return limit;
}

const DateTime: GraphQLScalarType<string, string> = new GraphQLScalarType<string, string>({
  name: 'DateTime',
  description: 'An ISO-8601 instant with a time zone, e.g. 2026-12-03T10:00:00Z',
  serialize: (value) => (value instanceof Date ? value.toISOString() : String(value)),
  parseValue(value): string {
    if (typeof value !== 'string' || !isStorableInstant(value) || !/[zZ]|[+-]\d{2}:?\d{2}$/.test(value)) throw new TypeError('must be an ISO-8601 date-time with a time zone');
    return new Date(value).toISOString();
  },
  parseLiteral(ast): string {
    if (ast.kind !== Kind.STRING) throw new TypeError('must be an ISO-8601 date-time string');
    return DateTime.parseValue(ast.value);
  },
});

const JSONScalar = new GraphQLScalarType({
  name: 'JSON',
  description: 'Any JSON value',
  serialize: (value) => value,
  parseValue: (value) => value,
  parseLiteral: function literal(ast): unknown {
    switch (ast.kind) {
      case Kind.STRING:
      case Kind.BOOLEAN:
        return ast.value;
      case Kind.INT:
      case Kind.FLOAT:
        return Number(ast.value);
      case Kind.NULL:
        return null;
      case Kind.LIST:
        return ast.values.map((item) => literal(item));
      case Kind.OBJECT:
        return Object.fromEntries(ast.fields.map((field) => [field.name.value, literal(field.value)]));
      default:
        throw new TypeError('variables are not allowed inside JSON literals');
    }
  },
});

function eventNode(row: EventRow) {
  return {
    id: row.id,
    type: row.type,
    userId: row.user_id,
    anonymousId: row.anonymous_id,
    timestamp: row.timestamp,
    receivedAt: row.received_at,
    properties: row.properties,
    context: row.context,
    enrichment: row.enrichment,
    batchId: row.batch_id,
  };
}

function deliveryNode(row: DeliveryRow) {
  return {
    id: row.delivery_id,
    channel: row.channel,
    targetId: row.target_id,
    eventId: row.event_id,
    eventType: row.event_type,
    status: row.status,
    lastError: row.last_error,
    workflowId: row.workflow_id,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}

function attemptNode(row: DeliveryAttemptRow) {
  return {
    attempt: row.attempt,
    attemptedAt: row.attempted_at,
    statusCode: row.status_code,
    durationMs: row.duration_ms,
    outcome: row.outcome,
    error: row.error,
  };
}

interface Deps {
  accounts: Accounts;
  config: Pick<EventFlowConfig, 'webhooks'>;
  db: Knex;
  temporal: TemporalClientRef;
  accept: Acceptor;
  liveFeed: LiveFeed;
}

const MAX_SUBSCRIBED_TYPES = 100;

function webhookNode(row: EndpointView) {
  return { id: row.id, url: row.url, eventTypes: row.event_types, description: row.description, enabled: row.enabled, createdAt: row.created_at };
}

function ruleNode(row: RuleView) {
  return {
    id: row.id,
    channel: row.channel,
    eventTypes: row.event_types,
    recipients: row.recipients,
    recipientRoles: row.recipient_roles,
    recipientProperty: row.recipient_property,
    subjectTemplate: row.subject_template,
    bodyTemplate: row.body_template,
    enabled: row.enabled,
  };
}

/** GraphQL's camelCase input as the REST body it mirrors (snake_case), keeping only what was given. */
function asBody(input: Record<string, unknown>, names: Record<string, string>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(input).filter(([key]) => key in names).map(([key, value]) => [names[key], value]));
}
const WEBHOOK_NAMES = { url: 'url', eventTypes: 'event_types', description: 'description', enabled: 'enabled', headers: 'headers', retrySchedule: 'retry_schedule' };
const RULE_NAMES = {
  channel: 'channel',
  eventTypes: 'event_types',
  recipients: 'recipients',
  recipientRoles: 'recipient_roles',
  recipientProperty: 'recipient_property',
  subjectTemplate: 'subject_template',
  bodyTemplate: 'body_template',
  enabled: 'enabled',
};

function notificationNode(row: NotificationView) {
  return {
    id: row.id,
    ruleId: row.rule_id,
    eventId: row.event_id,
    eventType: row.event_type,
    title: row.title,
    body: row.body,
    createdAt: row.created_at,
    readAt: row.read_at,
  };
}

type Args<T> = Record<string, never> & T;

const checkWebhook = inputChecker<EndpointInput>(CREATE_WEBHOOK);
const checkWebhookPatch = inputChecker<EndpointInput>(PATCH_WEBHOOK);
const checkRotation = inputChecker<{ grace_seconds?: number }>(ROTATE_WEBHOOK_SECRET);
const checkWebhookTest = inputChecker<TestWebhookInput>(TEST_WEBHOOK);
const checkRule = inputChecker<RuleInput>(CREATE_RULE);
const checkRulePatch = inputChecker<RuleInput>(PATCH_RULE);
const checkInvite = inputChecker<Invite>(INVITE);
const checkRole = inputChecker<{ role: Role }>(CHANGE_ROLE);
const checkDiscard = inputChecker<{ reason?: string }>(DISCARD_DEAD_LETTER);
const checkBulkReplay = inputChecker<FilterInput & { dry_run?: boolean; retry_schedule?: number[] }>(BULK_REPLAY);
const checkRegistration = inputChecker<Registration>({ type: 'object', additionalProperties: false, required: ['email', 'password', 'name'], properties: REGISTRATION_FIELDS });
const checkCredentials = inputChecker<Credentials>({ type: 'object', additionalProperties: false, required: ['email', 'password'], properties: CREDENTIAL_FIELDS });
const checkRefreshToken = inputChecker<string>({ type: 'string', minLength: 1, maxLength: 512 });

export function createResolvers({ accounts, db, temporal, accept, liveFeed, config }: Deps) {
  const webhookDeps = { db, config };
  const deadLetterDeps = { db, temporal, config };
  async function authPayload({ user, session }: SignedIn) {
    const memberships = await membershipsOf(db, user.id);
    return {
      accessToken: session.accessToken,
      expiresAt: session.accessTokenExpiresAt,
      refreshToken: session.refreshToken,
      refreshTokenExpiresAt: session.refreshTokenExpiresAt,
      user: {
        id: user.id,
        email: user.email,
        name: user.name,
        projects: memberships.map((m) => ({ id: m.project_id, name: m.project_name, role: m.role, permissions: allowedActions({ kind: 'role', role: m.role }) })),
      },
    };
  }

  /** Notifications belong to people: a key has no inbox. */
  async function inboxOf(ctx: GraphQLContext) {
    const principal = await ctx.can('project:read');
    if (!principal.userId) throw new ApiError(403, 'forbidden', 'notifications belong to users: call with an access token, not an API key');
    return { projectId: principal.projectId, userId: principal.userId };
  }

  return {
    DateTime,
    JSON: JSONScalar,
    Query: {
      async me(_: unknown, __: unknown, ctx: GraphQLContext) {
        const identity = await ctx.user();
        const user = await findUser(db, identity.userId);
        if (!user) throw new ApiError(401, 'invalid_token', 'this account no longer exists');
        const memberships = await membershipsOf(db, user.id);
        return {
          id: user.id,
          email: user.email,
          name: user.name,
          projects: memberships.map((m) => ({ id: m.project_id, name: m.project_name, role: m.role, permissions: allowedActions({ kind: 'role', role: m.role }) })),
        };
      },
      async projects(_: unknown, __: unknown, ctx: GraphQLContext) {
        const { principal, user } = await ctx.caller();
        if (user) {
          const memberships = await membershipsOf(db, user.userId);
          return memberships.map((m) => ({ id: m.project_id, name: m.project_name, role: m.role, permissions: allowedActions({ kind: 'role', role: m.role }) }));
        }
        const project = await findProject(db, principal.projectId);
        return project ? [{ id: project.id, name: project.name, role: null, permissions: allowedActions(principal.standing) }] : [];
      },
      async events(_: unknown, args: Args<{ filter?: { type?: string; userId?: string; from?: string; to?: string }; first?: number; after?: string }>, ctx: GraphQLContext) {
        const { projectId } = await ctx.can('project:read');
        const limit = pageLimit(args.first, 'first');
        const filter = { type: args.filter?.type, userId: args.filter?.userId, from: args.filter?.from, to: args.filter?.to };
        let after: string[] | undefined;
        if (args.after) {
          try {
            after = decodeCursor(args.after, 2, ([timestamp]) => CURSOR_TIMESTAMP.test(timestamp));
          } catch {
            throw badInput('after is not a cursor returned by this field', 'after');
          }
        }
        const rows = await listEvents(db, projectId, { ...filter, after, limit });
        const page = rows.slice(0, limit);
        const edges = page.map((row) => ({ cursor: encodeCursor([row.cursor_timestamp, row.id]), node: eventNode(row) }));
        return {
          edges,
          // Counted only when asked for: from the rollups when the filter allows, else exactly.
          totalCount: () => countEvents(db, projectId, filter),
          pageInfo: { hasNextPage: rows.length > limit, endCursor: edges.at(-1)?.cursor ?? null },
        };
      },
      async event(_: unknown, { id }: Args<{ id: string }>, ctx: GraphQLContext) {
        const { projectId } = await ctx.can('project:read');
        const row = id.length <= 256 ? await findEvent(db, projectId, id) : undefined;
        return row ? eventNode(row) : null;
      },
      async eventsByType(_: unknown, { eventType, limit }: Args<{ eventType: string; limit?: number }>, ctx: GraphQLContext) {
        const { projectId } = await ctx.can('project:read');
        const count = pageLimit(limit, 'limit');
        return (await listEvents(db, projectId, { type: eventType, limit: count })).slice(0, count).map(eventNode);
      },
      async eventsByUser(_: unknown, { userId, limit }: Args<{ userId: string; limit?: number }>, ctx: GraphQLContext) {
        const { projectId } = await ctx.can('project:read');
        const count = pageLimit(limit, 'limit');
        return (await listEvents(db, projectId, { userId, limit: count })).slice(0, count).map(eventNode);
      },
      async eventStats(_: unknown, __: unknown, ctx: GraphQLContext) {
        const { projectId } = await ctx.can('project:read');
        const stats = await projectStats(db, projectId);
        return {
          totalEvents: Number(stats.total),
          eventsToday: Number(stats.today),
          eventsThisWeek: Number(stats.last_7_days),
          uniqueUsers: Number(stats.unique_users),
          topEvents: stats.top_event_types.map(({ type, count }) => ({ type, count: Number(count) })),
          eventsByType: Object.entries(stats.counts_by_type).map(([type, count]) => ({ type, count: Number(count) })),
          hourly: stats.hourly_last_24h.map(({ hour, count }) => ({ hour, count: Number(count) })),
        };
      },
      async webhooks(_: unknown, __: unknown, ctx: GraphQLContext) {
        const { projectId } = await ctx.can('project:read');
        return (await listEndpoints(db, projectId)).map(webhookNode);
      },
      async deadLetters(_: unknown, args: Args<{ filter?: { endpointId?: string; eventType?: string; from?: string; to?: string }; first?: number }>, ctx: GraphQLContext) {
        const { projectId } = await ctx.can('project:read');
        const limit = pageLimit(args.first, 'first');
        const rows = await listDeadLetters(db, projectId, { ...args.filter }, { limit });
        return rows.slice(0, limit).map(deliveryNode);
      },
      async notificationRules(_: unknown, __: unknown, ctx: GraphQLContext) {
        const { projectId } = await ctx.can('project:read');
        return (await listRules(db, projectId)).map(ruleNode);
      },
      async schemas(_: unknown, __: unknown, ctx: GraphQLContext) {
        const { projectId } = await ctx.can('project:read');
        return listLatestSchemas(db, projectId);
      },
      async apiKeys(_: unknown, __: unknown, ctx: GraphQLContext) {
        const { projectId } = await ctx.can('keys:manage');
        return (await listKeys(db, projectId)).map((row) => ({ id: row.id, kind: row.kind, name: row.name, prefix: row.prefix, createdAt: row.created_at }));
      },
      async notifications(_: unknown, { first }: Args<{ first?: number }>, ctx: GraphQLContext) {
        const limit = pageLimit(first, 'first');
        const rows = await listNotifications(db, await inboxOf(ctx), { limit });
        return rows.slice(0, limit).map(notificationNode);
      },
      async unreadNotificationCount(_: unknown, __: unknown, ctx: GraphQLContext) {
        return unreadCount(db, await inboxOf(ctx));
      },
      async members(_: unknown, __: unknown, ctx: GraphQLContext) {
        const { projectId } = await ctx.can('project:read');
        return (await listMembers(db, projectId)).map((row) => ({ userId: row.user_id, email: row.email, name: row.name, role: row.role }));
      },
    },
    Mutation: {
      register: async (_: unknown, { input }: Args<{ input: unknown }>) => authPayload(await accounts.register(checkRegistration(input))),
      login: async (_: unknown, args: Args<{ email: string; password: string }>, ctx: GraphQLContext) =>
        authPayload(await accounts.login(checkCredentials({ email: args.email, password: args.password }), ctx.clientIp ?? 'unknown')),
      refreshToken: async (_: unknown, { refreshToken }: Args<{ refreshToken: string }>) => authPayload(await accounts.refresh(checkRefreshToken(refreshToken))),
      async logout(_: unknown, { refreshToken }: Args<{ refreshToken: string }>) {
        await accounts.logout(checkRefreshToken(refreshToken));
        return true;
      },
      async markNotificationsRead(_: unknown, { ids, all }: Args<{ ids?: string[] | null; all?: boolean | null }>, ctx: GraphQLContext) {
        const inbox = await inboxOf(ctx);
        if ((ids ? 1 : 0) + (all ? 1 : 0) !== 1) throw badInput('give either ids or all: true', 'ids');
        if (ids && (ids.length > 1_000 || !ids.every(isUuid))) throw badInput('ids are at most 1,000 notification ids', 'ids');
        return markRead(db, inbox, all ? 'all' : ids!.map((id) => id.toLowerCase()));
      },
      async trackEvent(_: unknown, { event, idempotencyKey }: Args<{ event: Record<string, unknown>; idempotencyKey?: string }>, ctx: GraphQLContext) {
        const { projectId } = await ctx.can('events:ingest');
        const { userId, anonymousId, ...rest } = event;
        const body = Object.fromEntries(
          Object.entries({ ...rest, user_id: userId, anonymous_id: anonymousId }).filter(([, value]) => value !== undefined && value !== null),
        );
        const accepted = await accept({ projectId, body, idempotencyKey: idempotencyKey ?? undefined, clientIp: ctx.clientIp, userAgent: ctx.userAgent });
        return { batchId: accepted.batch_id, accepted: accepted.accepted, ids: accepted.ids };
      },
      async replayDeadLetter(_: unknown, { id }: Args<{ id: string }>, ctx: GraphQLContext) {
        const { projectId } = await ctx.can('deliveries:act');
        const done = await replayDeadLetter(deadLetterDeps, projectId, id, {});
        return { id: done.id, status: done.status, workflowId: done.workflow_id };
      },
      async discardDeadLetter(_: unknown, { id, reason }: Args<{ id: string; reason?: string | null }>, ctx: GraphQLContext) {
        const { projectId } = await ctx.can('deliveries:act');
        const request = checkDiscard(reason === undefined || reason === null ? {} : { reason });
        const done = await discardDeadLetter(deadLetterDeps, projectId, id, request);
        return { id: done.id, status: done.status, workflowId: done.workflow_id };
      },
      async replayDeadLetters(_: unknown, args: Args<{ filter?: Record<string, unknown> | null; dryRun?: boolean | null; retrySchedule?: number[] | null }>, ctx: GraphQLContext) {
        const { projectId } = await ctx.can('deliveries:act');
        const input = checkBulkReplay({
          ...asBody(args.filter ?? {}, { endpointId: 'endpoint_id', eventType: 'event_type', from: 'from', to: 'to' }),
          ...(args.dryRun ? { dry_run: true } : {}),
          ...(args.retrySchedule ? { retry_schedule: args.retrySchedule } : {}),
        });
        const result = await replayDeadLetters(deadLetterDeps, projectId, input);
        return { dryRun: result.dry_run, matched: result.matched, replayed: result.replayed, remaining: result.remaining };
      },
      async createWebhook(_: unknown, { input }: Args<{ input: Record<string, unknown> }>, ctx: GraphQLContext) {
        const { projectId } = await ctx.can('webhooks:manage');
        const row = await createWebhook(webhookDeps, projectId, checkWebhook(asBody(input, WEBHOOK_NAMES)));
        return { endpoint: webhookNode(row), secret: row.secret };
      },
      async updateWebhook(_: unknown, { id, input }: Args<{ id: string; input: Record<string, unknown> }>, ctx: GraphQLContext) {
        const { projectId } = await ctx.can('webhooks:manage');
        return webhookNode(await updateWebhook(webhookDeps, projectId, id, checkWebhookPatch(asBody(input, WEBHOOK_NAMES))));
      },
      async deleteWebhook(_: unknown, { id }: Args<{ id: string }>, ctx: GraphQLContext) {
        const { projectId } = await ctx.can('webhooks:manage');
        await deleteWebhook(webhookDeps, projectId, id);
        return true;
      },
      async rotateWebhookSecret(_: unknown, { id, graceSeconds }: Args<{ id: string; graceSeconds?: number | null }>, ctx: GraphQLContext) {
        const { projectId } = await ctx.can('webhooks:manage');
        const { grace_seconds } = checkRotation(graceSeconds === undefined || graceSeconds === null ? {} : { grace_seconds: graceSeconds });
        const row = await rotateWebhookSecret(webhookDeps, projectId, id, grace_seconds);
        return { id: row.id, secret: row.secret };
      },
      async testWebhook(_: unknown, { id, eventType }: Args<{ id: string; eventType?: string | null }>, ctx: GraphQLContext) {
        const { projectId } = await ctx.can('webhooks:manage');
        const input = checkWebhookTest(eventType === undefined || eventType === null ? {} : { event_type: eventType });
        const result = await testWebhook(webhookDeps, projectId, id, input);
        return {
          eventId: result.event_id,
          delivered: result.delivered,
          outcome: result.outcome,
          statusCode: result.status_code,
          durationMs: result.duration_ms,
          responseExcerpt: result.response_excerpt,
          error: result.error,
        };
      },
      async createNotificationRule(_: unknown, { input }: Args<{ input: Record<string, unknown> }>, ctx: GraphQLContext) {
        const { projectId } = await ctx.can('rules:manage');
        return ruleNode(await createNotificationRule(db, projectId, checkRule(asBody(input, RULE_NAMES))));
      },
      async updateNotificationRule(_: unknown, { id, input }: Args<{ id: string; input: Record<string, unknown> }>, ctx: GraphQLContext) {
        const { projectId } = await ctx.can('rules:manage');
        return ruleNode(await updateNotificationRule(db, projectId, id, checkRulePatch(asBody(input, RULE_NAMES))));
      },
      async deleteNotificationRule(_: unknown, { id }: Args<{ id: string }>, ctx: GraphQLContext) {
        const { projectId } = await ctx.can('rules:manage');
        await deleteNotificationRule(db, projectId, id);
        return true;
      },
      async inviteMember(_: unknown, args: Args<{ email: string; role: string }>, ctx: GraphQLContext) {
        const principal = await ctx.can('members:manage');
        const invited = await inviteMember(db, principal, principal.projectId, checkInvite({ email: args.email, role: args.role }));
        return { status: invited.status, email: invited.email, role: invited.role, userId: 'user_id' in invited ? invited.user_id : null };
      },
      async changeMemberRole(_: unknown, args: Args<{ userId: string; role: string }>, ctx: GraphQLContext) {
        const principal = await ctx.can('members:manage');
        const { role } = checkRole({ role: args.role });
        const changed = await changeMemberRole(db, principal, principal.projectId, args.userId, role);
        return { userId: changed.user_id, role: changed.role };
      },
      async removeMember(_: unknown, { userId }: Args<{ userId: string }>, ctx: GraphQLContext) {
        const principal = await ctx.can('project:read');
        await removeMember(db, principal, principal.projectId, userId);
        return true;
      },
    },
    Subscription: {
      notificationAdded: {
        // Fed by the same LISTEN connection as the REST stream; rows are read from Postgres after each NOTIFY.
        async subscribe(_: unknown, __: unknown, ctx: GraphQLContext) {
          const inbox = await inboxOf(ctx);
          let last = await latestNotificationId(db, inbox);
          return new Repeater<ReturnType<typeof notificationNode>>(async (push, stop) => {
            let reading: Promise<void> | undefined;
            let again = false;
            const read = async () => {
              do {
                again = false;
                const rows = await notificationsAfter(db, inbox, last, 100);
                for (const row of rows) {
                  await push(notificationNode(row));
                  last = row.id;
                }
                if (rows.length === 100) again = true;
              } while (again);
            };
            const poke = () => {
              if (reading) {
                again = true;
                return;
              }
              reading = read()
                .catch((error: unknown) => stop(error))
                .finally(() => (reading = undefined));
            };
            const unsubscribe = liveFeed.subscribe(inbox.projectId, inbox.userId, { poke, close: () => stop() });
            await stop;
            unsubscribe();
          });
        },
        resolve: (payload: unknown) => payload,
      },
      eventsStored: {
        async subscribe(_: unknown, { types }: Args<{ types?: string[] | null }>, ctx: GraphQLContext) {
          const { projectId } = await ctx.can('project:read');
          if (types && (types.length > MAX_SUBSCRIBED_TYPES || types.some((type) => type.length === 0 || type.length > 128))) {
            throw badInput(`types are at most ${MAX_SUBSCRIBED_TYPES} event types of 1–128 characters`, 'types');
          }
          const wanted = types ? new Set(types) : undefined;
          return new Repeater<{ stored: number; byType: Array<{ type: string; count: number }> | null }>(async (push, stop) => {
            const unsubscribe = liveFeed.subscribeEvents(projectId, {
              stored(change) {
                const byType = change.counts && Object.entries(change.counts).map(([type, count]) => ({ type, count }));
                if (!wanted) return void push({ stored: change.stored, byType: byType ?? null });
                if (!byType) return void push({ stored: change.stored, byType: null });
                const matching = byType.filter(({ type }) => wanted.has(type));
                if (matching.length > 0) void push({ stored: matching.reduce((sum, { count }) => sum + count, 0), byType: matching });
              },
              close: () => stop(),
            });
            await stop;
            unsubscribe();
          });
        },
        resolve: (payload: unknown) => payload,
      },
    },
    Event: {
      deliveries: async (event: { id: string }, _: unknown, ctx: GraphQLContext) => (await ctx.loaders.deliveriesByEvent.load(event.id)).map(deliveryNode),
      attempts: async (event: { id: string }, _: unknown, ctx: GraphQLContext) => (await ctx.loaders.attemptsByEvent.load(event.id)).map(attemptNode),
    },
    Delivery: {
      attempts: async (delivery: { id: string }, _: unknown, ctx: GraphQLContext) => (await ctx.loaders.attemptsByDelivery.load(delivery.id)).map(attemptNode),
    },
  };
}
