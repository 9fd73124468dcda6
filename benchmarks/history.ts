import type { Client } from '@temporalio/client';
import proto from '@temporalio/proto';
import { batchWorkflowId } from '../src/temporal/names.ts';

// How much one batch costs Temporal's database: the size of its workflow's history (protobuf bytes, as
// stored) and what makes it up. Event bodies enter history in the start input and again in
// persistBatch's input; local activities (validate, enrich) only add small markers.

const { History, HistoryEvent } = proto.temporal.api.history.v1;
const { EventType } = proto.temporal.api.enums.v1;

export interface BatchHistory {
  workflowId: string;
  batchSize: number;
  requestBodyBytes: number;
  historyEvents: number;
  historyBytes: number;
  historyBytesPerEvent: number;
  /** History bytes ÷ the request body's bytes. */
  amplification: number;
  byEventType: Record<string, { count: number; bytes: number }>;
}

export async function batchHistory(client: Client, batchId: string, batchSize: number, requestBodyBytes: number): Promise<BatchHistory> {
  const workflowId = batchWorkflowId(batchId);
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
    batchSize,
    requestBodyBytes,
    historyEvents: history.events?.length ?? 0,
    historyBytes,
    historyBytesPerEvent: Math.round(historyBytes / batchSize),
    amplification: Math.round((historyBytes / requestBodyBytes) * 100) / 100,
    byEventType,
  };
}
