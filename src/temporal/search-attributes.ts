import type { Connection } from '@temporalio/client';
// @temporalio/proto is CommonJS whose exports Node cannot name statically: import the default.
import proto from '@temporalio/proto';
import type { temporal } from '@temporalio/proto';

const { IndexedValueType } = proto.temporal.api.enums.v1;

// Custom search attributes that make EventFlow's runs filterable in the Temporal Web UI, e.g.
// `EventFlowStatus="dead_lettered" AND EndpointId="…"`. SQLite visibility (dev server) allows at most
// 10 Keyword(List) attributes per namespace, and we stay well below that.
export const SEARCH_ATTRIBUTES = [
  { name: 'EventFlowStatus', type: 'Keyword' },
  { name: 'ProjectId', type: 'Keyword' },
  { name: 'EndpointId', type: 'Keyword' },
  { name: 'EventType', type: 'Keyword' },
  { name: 'BatchId', type: 'Keyword' },
  // Every batch a run carries when the API coalesced requests, so each batch's run can be found.
  { name: 'BatchIds', type: 'KeywordList' },
] as const;

export type SearchAttributeName = (typeof SEARCH_ATTRIBUTES)[number]['name'];

/**
 * Registers the attributes at runtime. The dev server's `--search-attribute` flag only applies to
 * namespaces it creates, so an existing database file would otherwise miss attributes added later.
 */
export async function ensureSearchAttributes(connection: Connection, namespace: string): Promise<void> {
  const existing = await connection.operatorService.listSearchAttributes({ namespace });
  const missing = SEARCH_ATTRIBUTES.filter(({ name }) => !(name in (existing.customAttributes ?? {})));
  if (missing.length === 0) return;
  const searchAttributes: Record<string, temporal.api.enums.v1.IndexedValueType> = {};
  for (const { name, type } of missing) {
    searchAttributes[name] = type === 'KeywordList' ? IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD_LIST : IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD;
  }
  try {
    await connection.operatorService.addSearchAttributes({ namespace, searchAttributes });
  } catch (error) {
    // Another process (API or worker) may have registered them between our list and add.
    if (!/already exists/i.test(String((error as Error).message))) throw error;
  }
}
