// Workflow ids shared by the API (which starts and signals workflows) and the worker (which hosts them).
// Ids are business keys so that a retried start can never run the same work twice. Workflow types,
// signals and queries are not named here: callers use the workflow functions and the signal/query
// definitions themselves (workflows/), so a rename fails the type check rather than production.

export function batchWorkflowId(batchId: string): string {
  return `batch:${batchId}`;
}
