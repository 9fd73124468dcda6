import type { Connection } from '@temporalio/client';
// @temporalio/proto is CommonJS whose exports Node cannot name statically: import the default.
import proto from '@temporalio/proto';
import type { temporal } from '@temporalio/proto';
import { NAMESPACE, SEARCH_ATTRIBUTES, type SearchAttributeName } from '../../temporal/namespace.ts';

const { IndexedValueType } = proto.temporal.api.enums.v1;
const INDEXED_VALUE_TYPES = {
  KEYWORD: IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD,
  KEYWORD_LIST: IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD_LIST,
} as const;

/**
 * Registers the declared search attributes (temporal/namespace.ts) at runtime, and the declared
 * retention. The dev server's `--search-attribute` flag only applies to namespaces it creates, so an
 * existing database file would otherwise miss attributes added later. Called by the API, the worker
 * and the tests; safe to call concurrently.
 */
export async function ensureSearchAttributes(connection: Connection, namespace: string): Promise<void> {
  const existing = await connection.operatorService.listSearchAttributes({ namespace });
  const missing = (Object.keys(SEARCH_ATTRIBUTES) as SearchAttributeName[]).filter((name) => !(name in (existing.customAttributes ?? {})));
  if (missing.length > 0) {
    const searchAttributes: Record<string, temporal.api.enums.v1.IndexedValueType> = {};
    for (const name of missing) searchAttributes[name] = INDEXED_VALUE_TYPES[SEARCH_ATTRIBUTES[name]];
    try {
      await connection.operatorService.addSearchAttributes({ namespace, searchAttributes });
    } catch (error) {
      // Another process (API or worker) may have registered them between our list and add.
      if (!/already exists/i.test(String((error as Error).message))) throw error;
    }
  }
  await ensureRetention(connection, namespace);
}

async function ensureRetention(connection: Connection, namespace: string): Promise<void> {
  const wantedSeconds = NAMESPACE.retentionDays * 24 * 3600;
  const described = await connection.workflowService.describeNamespace({ namespace });
  const current = Number(String(described.config?.workflowExecutionRetentionTtl?.seconds ?? 0));
  if (current === wantedSeconds) return;
  await connection.workflowService.updateNamespace({
    namespace,
    // Only the fields set here change; int64 seconds are typed as Long but numbers are accepted.
    config: { workflowExecutionRetentionTtl: { seconds: wantedSeconds as never } },
  });
}
