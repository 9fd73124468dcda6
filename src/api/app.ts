import { Router } from '@koa/router';
import type { Knex } from 'knex';
import Koa from 'koa';
import type { EventFlowConfig } from '../config.ts';
import { accessTokenSecret, createTokenSigner } from '../auth/tokens.ts';
import { createGroupCommitter } from '../ingest/group-commit.ts';
import type { RunStarter } from '../ingest/run-starter.ts';
import type { Logger } from '../logging.ts';
import { metricsRoute } from '../telemetry/metrics.ts';
import type { RouteDeps } from './deps.ts';
import type { Admission } from './events/admission.ts';
import { createAccounts } from './accounts.ts';
import { createAcceptor } from './events/accept.ts';
import type { LiveFeed } from '../live/feed.ts';
import { createAuthenticator, KEY_CACHE_TTL_MS } from './middleware/auth.ts';
import { handleErrors } from './middleware/handle-errors.ts';
import { authRouter, meRouter } from './routes/auth.ts';
import { batchesRouter } from './routes/batches.ts';
import { codecRouter } from './routes/codec.ts';
import { dashboardRouter } from './routes/dashboard.ts';
import { deadLettersRouter } from './routes/dead-letters.ts';
import { eventsRouter } from './routes/events.ts';
import { healthRouter } from './routes/health.ts';
import { keysRouter } from './routes/keys.ts';
import { membersRouter } from './routes/members.ts';
import { notificationRulesRouter } from './routes/notification-rules.ts';
import { notificationsRouter } from './routes/notifications.ts';
import { projectsRouter } from './routes/projects.ts';
import { schemasRouter } from './routes/schemas.ts';
import { segmentRouter } from './routes/segment.ts';
import { statsRouter } from './routes/stats.ts';
import { tracesRouter } from './routes/traces.ts';
import { eventDeliveriesRouter, webhooksRouter } from './routes/webhooks.ts';
import { graphqlRoute } from '../graphql/server.ts';
import type { ApiState } from './state.ts';
import type { TemporalClientRef } from './temporal-access.ts';

export interface AppDeps {
  config: EventFlowConfig;
  db: Knex;
  log: Logger;
  temporal: TemporalClientRef;
  keyCacheTtlMs?: number;
  /** Load shedding for ingestion, fed by the backlog probe. */
  admission: Admission;
  /** Told when requests were accepted, so it claims them into runs without waiting for its poll. */
  runStarter: Pick<RunStarter, 'notify'>;
  liveFeed: LiveFeed;
}

export function createApp(deps: AppDeps): Koa<ApiState> {
  const app = new Koa<ApiState>({ proxy: deps.config.api.trustProxy });
  // Errors are logged by handleErrors; Koa's own stderr printing would only duplicate them.
  app.silent = true;

  const signer = createTokenSigner(
    accessTokenSecret({ jwtSecret: deps.config.auth.jwtSecret, adminKey: deps.config.api.adminKey }),
    deps.config.auth.accessTokenTtlSeconds,
  );
  const routeDeps: RouteDeps = {
    config: deps.config,
    db: deps.db,
    log: deps.log,
    temporal: deps.temporal,
    taskQueue: deps.config.temporal.taskQueue,
    auth: createAuthenticator(deps.db, signer, deps.keyCacheTtlMs ?? KEY_CACHE_TTL_MS),
    signer,
    liveFeed: deps.liveFeed,
    accounts: createAccounts(deps.db, deps.config, signer),
    accept: createAcceptor({
      admission: deps.admission,
      taskQueue: deps.config.temporal.taskQueue,
      acceptRequests: createGroupCommitter(
        deps.db,
        { writers: deps.config.api.ingest.commitWriters, maxEvents: deps.config.api.ingest.runMaxEvents },
        () => deps.runStarter.notify(),
      ),
    }),
  };
  const resources = [
    projectsRouter,
    keysRouter,
    membersRouter,
    eventsRouter,
    schemasRouter,
    batchesRouter,
    statsRouter,
    webhooksRouter,
    eventDeliveriesRouter,
    notificationRulesRouter,
    notificationsRouter,
    deadLettersRouter,
    tracesRouter,
  ].map((resource) => resource(routeDeps));

  app.use(handleErrors(deps.log));
  // Unauthenticated, like the probes: scrapers carry no API key.
  app.use(metricsRoute());
  app.use(healthRouter(routeDeps).routes());
  // These authorize by themselves (see each router), so they sit outside the key-or-token routers.
  app.use(codecRouter(routeDeps).routes());
  // Segment's tracking API: the write key comes as Basic auth or in the body (src/api/routes/segment.ts).
  app.use(segmentRouter(routeDeps).routes());
  app.use(authRouter(routeDeps).routes());
  app.use(meRouter(routeDeps).routes());
  // The dashboard's files and its public config: the app signs in by itself once loaded.
  app.use(dashboardRouter(routeDeps).routes());
  // Authenticates per field (register/login-style operations need no caller), by the same rules.
  app.use(graphqlRoute(routeDeps));
  for (const resource of resources) {
    // Each resource behind a router of its own: router middleware (authentication here, `requires(action)` in
    // some resources) runs only when one of that router's routes matched. So it never reaches another
    // resource's routes, and an unknown path or wrong method stays a 404/405 rather than a 401.
    const authenticated = new Router<ApiState>();
    authenticated.use(routeDeps.auth.authenticate);
    authenticated.use(resource.routes());
    app.use(authenticated.routes());
  }
  // Sets 405 + Allow for known paths requested with another method (handleErrors writes the body).
  app.use(new Router<ApiState>().allowedMethods());
  return app;
}
