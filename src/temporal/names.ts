// Names shared by the API (which starts and signals workflows) and the worker (which hosts them).
// Workflow ids are business keys so that a retried start can never run the same work twice.

export const BATCH_WORKFLOW = 'processBatch';

export function batchWorkflowId(batchId: string): string {
  return `batch:${batchId}`;
}

export const DELIVERY_WORKFLOW = 'deliveryWorkflow';
