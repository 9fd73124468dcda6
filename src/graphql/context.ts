import DataLoader from 'dataloader';
import type { Knex } from 'knex';
import { allows, type Action } from '../auth/policy.ts';
import type { Principal, UserIdentity } from '../auth/principal.ts';
import { attemptsOf, deliveriesOfEvents } from '../deliveries/records.ts';
import type { DeliveryAttemptRow, DeliveryRow } from '../deliveries/types.ts';
import { ApiError } from '../api/errors.ts';
import type { CallerHeaders, Authenticator } from '../api/middleware/auth.ts';

/** Per request: who calls (resolved once, lazily: register/login need no caller) and batched loaders. */
export interface GraphQLContext {
  /** The caller in its project, allowed `action` by the one rule set; 401/404/403 as ApiErrors. */
  can(action: Action): Promise<Principal>;
  /** The signed-in user (access tokens only). */
  user(): Promise<UserIdentity>;
  /** The caller, whatever it may do (for `projects`). */
  caller(): Promise<{ principal: Principal; user?: UserIdentity }>;
  loaders: ReturnType<typeof createLoaders>;
  clientIp?: string;
  userAgent?: string;
}

function groupBy<T>(rows: T[], key: (row: T) => string, ids: readonly string[]): T[][] {
  const groups = new Map<string, T[]>(ids.map((id) => [id, []]));
  for (const row of rows) groups.get(key(row))?.push(row);
  return ids.map((id) => groups.get(id) ?? []);
}

/**
 * One query per field per request, whatever the number of parents: `events { deliveries { attempts } }`
 * is three queries for any page size. Scoped by the caller's project like every REST query.
 */
function createLoaders(db: Knex, projectOf: () => Promise<string>) {
  return {
    deliveriesByEvent: new DataLoader<string, DeliveryRow[]>(async (eventIds) =>
      groupBy(await deliveriesOfEvents(db, await projectOf(), eventIds), (row) => row.event_id, eventIds),
    ),
    attemptsByDelivery: new DataLoader<string, DeliveryAttemptRow[]>(async (deliveryIds) =>
      groupBy(await attemptsOf(db, await projectOf(), 'delivery_id', deliveryIds), (row) => row.delivery_id, deliveryIds),
    ),
    attemptsByEvent: new DataLoader<string, DeliveryAttemptRow[]>(async (eventIds) =>
      groupBy(await attemptsOf(db, await projectOf(), 'event_id', eventIds), (row) => row.event_id, eventIds),
    ),
  };
}

export function createContext(db: Knex, auth: Authenticator, headers: CallerHeaders, client: { ip?: string; userAgent?: string }): GraphQLContext {
  let resolved: ReturnType<Authenticator['resolve']> | undefined;
  const caller = () => (resolved ??= auth.resolve(headers));
  const context: GraphQLContext = {
    caller,
    async can(action) {
      const { principal } = await caller();
      if (!allows(principal.standing, action)) {
        throw new ApiError(403, 'forbidden', `${principal.kind === 'user' ? 'your role' : `a ${principal.kind} key`} may not do this (${action})`);
      }
      return principal;
    },
    user: () => auth.resolveUser(headers.authorization),
    loaders: createLoaders(db, async () => (await context.can('project:read')).projectId),
    clientIp: client.ip,
    userAgent: client.userAgent,
  };
  return context;
}
