// A workflow interceptor module: bundled into the workflow code and run inside the sandbox, so it may
// import nothing but @temporalio/workflow. It reports how each run ended through a sink; sinks are not
// called on replay, so a run is counted once, when it really ends (a retried *task* may repeat it).
import {
  ContinueAsNew,
  TemporalFailure,
  isCancellation,
  proxySinks,
  type Next,
  type Sinks,
  type WorkflowExecuteInput,
  type WorkflowInboundCallsInterceptor,
  type WorkflowInterceptorsFactory,
} from '@temporalio/workflow';

export type WorkflowOutcome = 'completed' | 'failed' | 'cancelled' | 'continued_as_new' | 'task_failed';

export interface WorkflowOutcomeSinks extends Sinks {
  eventflowMetrics: {
    workflowEnded(outcome: WorkflowOutcome): void;
  };
}

const { eventflowMetrics } = proxySinks<WorkflowOutcomeSinks>();

function outcomeOf(error: unknown): WorkflowOutcome {
  if (error instanceof ContinueAsNew) return 'continued_as_new';
  if (isCancellation(error)) return 'cancelled';
  // Only Temporal failures fail the run; any other error fails the workflow task, which is retried.
  return error instanceof TemporalFailure ? 'failed' : 'task_failed';
}

class WorkflowOutcomeInterceptor implements WorkflowInboundCallsInterceptor {
  async execute(input: WorkflowExecuteInput, next: Next<WorkflowInboundCallsInterceptor, 'execute'>): Promise<unknown> {
    try {
      const result = await next(input);
      eventflowMetrics.workflowEnded('completed');
      return result;
    } catch (error) {
      eventflowMetrics.workflowEnded(outcomeOf(error));
      throw error;
    }
  }
}

export const interceptors: WorkflowInterceptorsFactory = () => ({
  inbound: [new WorkflowOutcomeInterceptor()],
});
