import { CancelledFailure, type Context } from '@temporalio/activity';
import type { ActivityExecuteInput, ActivityInboundCallsInterceptor, InjectedSinks, Next } from '@temporalio/worker';
import { recordActivityOutcome, recordWorkflowOutcome } from './metrics.ts';
import type { WorkflowOutcomeSinks } from './workflow-outcomes.ts';

/** Counts every activity attempt's outcome per activity type (`eventflow_activity_outcomes_total`). */
class ActivityOutcomeInterceptor implements ActivityInboundCallsInterceptor {
  private readonly activityType: string;

  constructor(ctx: Context) {
    this.activityType = ctx.info.activityType;
  }

  async execute(input: ActivityExecuteInput, next: Next<ActivityInboundCallsInterceptor, 'execute'>): Promise<unknown> {
    try {
      const result = await next(input);
      recordActivityOutcome(this.activityType, 'completed');
      return result;
    } catch (error) {
      recordActivityOutcome(this.activityType, error instanceof CancelledFailure ? 'cancelled' : 'failed');
      throw error;
    }
  }
}

export function activityMetricsInterceptor(ctx: Context): { inbound: ActivityInboundCallsInterceptor } {
  return { inbound: new ActivityOutcomeInterceptor(ctx) };
}

/** The worker side of `workflow-outcomes.ts`: turns its sink calls into `eventflow_workflow_outcomes_total`. */
export const workflowOutcomeSinks: InjectedSinks<WorkflowOutcomeSinks> = {
  eventflowMetrics: {
    workflowEnded: { fn: (info, outcome) => recordWorkflowOutcome(info.workflowType, outcome) },
  },
};
