import type { Knex } from 'knex';
import type { EventFlowConfig } from '../config.ts';
import type { Logger } from '../logging.ts';
import type { TokenSigner } from '../auth/tokens.ts';
import type { LiveFeed } from '../live/feed.ts';
import type { Accounts } from './accounts.ts';
import type { Acceptor } from './events/accept.ts';
import type { Authenticator } from './middleware/auth.ts';
import type { TemporalClientRef } from './temporal-access.ts';

/** What every resource router is built from; made once in createApp. */
export interface RouteDeps {
  config: EventFlowConfig;
  db: Knex;
  log: Logger;
  temporal: TemporalClientRef;
  taskQueue: string;
  auth: Authenticator;
  /** Signs and verifies access tokens. */
  signer: TokenSigner;
  /** Sign-up, log-in, refresh, log-out (REST and GraphQL). */
  accounts: Accounts;
  /** The one ingestion path (REST and GraphQL). */
  accept: Acceptor;
  /** Live changes (in-app notifications, stored events) from Postgres LISTEN/NOTIFY. */
  liveFeed: LiveFeed;
}
