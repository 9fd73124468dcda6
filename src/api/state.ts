import type { Principal, UserIdentity } from '../auth/principal.ts';

/** What middleware leaves on `ctx.state` for the handlers after it. */
export interface ApiState {
  /** Set by the auth middleware on every /v1 route. */
  auth: Principal;
  /** Set when the caller presented an access token (a signed-in user). */
  user?: UserIdentity;
  /** Set by the JSON body middleware on routes that take a body. */
  body: unknown;
  /** Length of that body as received, in characters (its size in the workflow input is about the same). */
  bodyLength?: number;
}
