// Benchmark-only workflow (loaded by benchmarks/noop-worker.ts, never by EventFlow's worker): it does
// nothing, so starting and completing it costs exactly Temporal's per-workflow overhead.
export async function benchNoop(): Promise<void> {}
