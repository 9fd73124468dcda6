// The worker loads workflows from this file by path; every workflow type is exported here.
export { processBatch } from './process-batch.ts';
export { deliveryWorkflow } from './delivery.ts';
