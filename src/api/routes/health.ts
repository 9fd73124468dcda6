import { Router } from '@koa/router';
import { withDeadline } from '../../deadline.ts';
import type { RouteDeps } from '../deps.ts';
import { ApiError } from '../errors.ts';
import type { ApiState } from '../state.ts';
import { callTemporal } from '../temporal-access.ts';

// A readiness probe must answer even when a dependency hangs, so each check gets its own time limit.
const CHECK_TIMEOUT_MS = 2_000;

/** Unauthenticated probes: /health says the process serves HTTP, /ready that it can do its work. */
export function healthRouter({ db, temporal, log }: RouteDeps): Router<ApiState> {
  const router = new Router<ApiState>();

  router.get('/health', (ctx) => {
    ctx.body = { status: 'ok' };
  });

  router.get('/ready', async (ctx) => {
    const checks = {
      postgres: () => withDeadline(db.raw('SELECT 1'), CHECK_TIMEOUT_MS, () => new CheckTimeout(`no answer within ${CHECK_TIMEOUT_MS} ms`)),
      // Describing our namespace proves the frontend answers and the namespace exists.
      temporal: () =>
        temporal.current
          ? callTemporal(temporal, (client) => client.workflowService.describeNamespace({ namespace: client.options.namespace }), CHECK_TIMEOUT_MS)
          : Promise.reject(new NotConnected('not connected yet')),
    };
    const results = await Promise.all(
      Object.entries(checks).map(async ([component, check]) => {
        try {
          await check();
          return { component, message: 'ok' };
        } catch (error) {
          // The cause (addresses, driver messages) goes to the log; the probe only says what is down.
          log.warn({ err: error, component }, 'readiness check failed');
          return { component, message: error instanceof NotConnected || error instanceof CheckTimeout ? error.message : 'unreachable', down: true };
        }
      }),
    );
    const down = results.filter((result) => result.down);
    if (down.length > 0) {
      throw new ApiError(
        503,
        'not_ready',
        `not ready: ${down.map(({ component }) => `${component} is down`).join(', ')}`,
        down.map(({ component, message }) => ({ component, message })),
      );
    }
    ctx.body = { status: 'ready', checks: Object.fromEntries(results.map(({ component }) => [component, 'ok'])) };
  });

  return router;
}

class CheckTimeout extends Error {}
class NotConnected extends Error {}
