import type { Client } from '@temporalio/client';
import proto from '@temporalio/proto';
import type pg from 'pg';

// How much one run costs Temporal's database: the size of its workflow's history (protobuf bytes, as
// stored) and what makes it up. A run is started with a reference to its accepted requests, so history
// holds ids, counts and small step results, never event bodies. A request's run is found through its
// `batches` row (workflow_id), written when the run stored it.

const { History, HistoryEvent } = proto.temporal.api.history.v1;
const { EventType } = proto.temporal.api.enums.v1;

export interface BatchHistory {
  workflowId: string;
  /** Events in the whole run (all the requests it gathered). */
  runEvents: number;
  /** Requests the run gathered. */
  runRequests: number;
  requestBodyBytes: number;
  historyEvents: number;
  historyBytes: number;
  historyBytesPerEvent: number;
  /** History bytes ÷ the bodies of every request in the run. */
  amplification: number;
  byEventType: Record<string, { count: number; bytes: number }>;
}

export async function batchHistory(client: Client, db: pg.Pool, batchId: string, requestBodyBytes: number): Promise<BatchHistory> {
  const { rows } = await db.query<{ workflow_id: string; requests: string; events: string }>(
    `SELECT b.workflow_id, count(*) AS requests, sum((r.summary->>'received')::int) AS events
       FROM batches b JOIN batches r ON r.workflow_id = b.workflow_id
      WHERE b.id = $1 GROUP BY b.workflow_id`,
    [batchId],
  );
  if (rows.length === 0) throw new Error(`batch ${batchId} has no stored run`);
  const workflowId = rows[0].workflow_id;
  const runEvents = Number(rows[0].events);
  const runRequests = Number(rows[0].requests);
  const history = await client.workflow.getHandle(workflowId).fetchHistory();
  const byEventType: BatchHistory['byEventType'] = {};
  for (const event of history.events ?? []) {
    const name = (EventType[event.eventType ?? 0] ?? String(event.eventType)).replace(/^EVENT_TYPE_/, '');
    const entry = (byEventType[name] ??= { count: 0, bytes: 0 });
    entry.count += 1;
    entry.bytes += HistoryEvent.encode(HistoryEvent.fromObject(event)).finish().length;
  }
  const historyBytes = History.encode(History.fromObject(history)).finish().length;
  return {
    workflowId,
    runEvents,
    runRequests,
    requestBodyBytes,
    historyEvents: history.events?.length ?? 0,
    historyBytes,
    historyBytesPerEvent: Math.round(historyBytes / runEvents),
    amplification: Math.round((historyBytes / (requestBodyBytes * runRequests)) * 100) / 100,
    byEventType,
  };
}
