import type { Knex } from 'knex';
import type { BatchSummary } from '../shared/batch.ts';

export interface BatchRow {
  id: string;
  workflow_id: string;
  /** Written by the persist activity; carries more than the API shows (e.g. stored ids). */
  summary: Omit<BatchSummary, 'batchId'>;
  received_at: Date;
  completed_at: Date;
}

/** A batch's row exists once its persist step committed, i.e. once it is completed. */
export async function findCompletedBatch(db: Knex, projectId: string, batchId: string): Promise<BatchRow | undefined> {
  return db('batches')
    .select('id', 'workflow_id', 'summary', 'received_at', 'completed_at')
    .where({ project_id: projectId, id: batchId })
    .first();
}
