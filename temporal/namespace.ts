// What EventFlow declares to Temporal about its namespace, in one place. Everything else derives from it:
// the dev server's flags (temporal/dev-server.ts), the runtime registration by the API, the worker and the
// tests (src/temporal/search-attributes.ts), and the typed keys workflows use (workflows/search-attributes.ts).
// Workflow code imports this file, so it is data only: no Node built-ins, no environment.
import { SearchAttributeType } from '@temporalio/common';

export const NAMESPACE = {
  /** The default; TEMPORAL_NAMESPACE (src/config.ts) picks another. */
  name: 'default',
  /**
   * How long closed runs stay visible. Parked dead letters are open runs (their own expiry is
   * DEAD_LETTER_RETENTION_SECONDS), so this only bounds how long finished batches and deliveries can
   * be looked at. Applied at registration; the dev server creates namespaces with 1 day otherwise.
   */
  retentionDays: 7,
} as const;

/**
 * Custom search attributes that make runs filterable in the Web UI, e.g.
 * `EventFlowStatus="dead_lettered" AND EndpointId="…"`. SQLite visibility (the dev server) allows at
 * most 10 Keyword(List) attributes per namespace; we stay well below.
 */
export const SEARCH_ATTRIBUTES = {
  EventFlowStatus: SearchAttributeType.KEYWORD,
  ProjectId: SearchAttributeType.KEYWORD,
  EndpointId: SearchAttributeType.KEYWORD,
  EventType: SearchAttributeType.KEYWORD,
  BatchId: SearchAttributeType.KEYWORD,
  // Every request a batch run carries, so each request's run can be found (`BatchIds = "<batch_id>"`).
  BatchIds: SearchAttributeType.KEYWORD_LIST,
} as const;

export type SearchAttributeName = keyof typeof SEARCH_ATTRIBUTES;

/** The dev server's `--search-attribute Name=Type` spelling of a type. */
export const CLI_TYPE_NAMES: Record<(typeof SEARCH_ATTRIBUTES)[SearchAttributeName], string> = {
  KEYWORD: 'Keyword',
  KEYWORD_LIST: 'KeywordList',
};
