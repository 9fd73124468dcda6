import { fileURLToPath } from 'node:url';
import { NativeConnection, Worker, bundleWorkflowCode, type WorkflowBundleWithSourceMap } from '@temporalio/worker';
import { Client } from '@temporalio/client';
import type { Knex } from 'knex';
import type { EventFlowConfig } from '../config.ts';
import { createActivities } from '../../activities/index.ts';
import { closeWebhookAgents } from '../deliveries/channels/webhook/send.ts';
import {
  temporalClientInterceptors,
  workerInterceptors,
  workerSinks,
  workflowInterceptorModules,
} from '../telemetry/temporal.ts';

export const WORKFLOWS_PATH = fileURLToPath(new URL('../../workflows/index.ts', import.meta.url));

export interface WorkerParts {
  config: EventFlowConfig;
  db: Knex;
  connection: NativeConnection;
  /** A prebuilt bundle (tests share one to save the ~seconds webpack takes per worker). */
  workflowBundle?: WorkflowBundleWithSourceMap;
}

/**
 * Builds the workflow bundle once; a Node API leaking into workflow code fails here, at build time.
 * The interceptor modules (outcome metrics, and tracing when on) must be in the bundle: with a
 * prebuilt bundle the worker ignores `interceptors.workflowModules`.
 */
export function buildWorkflowBundle(): Promise<WorkflowBundleWithSourceMap> {
  return bundleWorkflowCode({
    workflowsPath: WORKFLOWS_PATH,
    workflowInterceptorModules: workflowInterceptorModules(),
    logger: quietBundlerLogger,
  });
}

const quietBundlerLogger = {
  log() {},
  trace() {},
  debug() {},
  info() {},
  warn: (message: string) => console.warn(message),
  error: (message: string) => console.error(message),
};

export interface EventFlowWorker {
  worker: Worker;
  /** Closes what the activities hold open (SMTP pool, webhook connections); after the worker stopped. */
  release(): Promise<void>;
}

export async function createEventFlowWorker({ config, db, connection, workflowBundle }: WorkerParts): Promise<EventFlowWorker> {
  const { activities, close } = createActivities({
    db,
    config,
    // Activities start per-delivery workflows for failures; they share the worker's connection, and
    // the tracing interceptor links each delivery workflow to the batch's trace.
    temporal: new Client({ connection, namespace: config.temporal.namespace, interceptors: temporalClientInterceptors() }),
  });
  const worker = await Worker.create({
    connection,
    namespace: config.temporal.namespace,
    taskQueue: config.temporal.taskQueue,
    workflowBundle: workflowBundle ?? (await buildWorkflowBundle()),
    activities,
    interceptors: workerInterceptors(),
    sinks: workerSinks(),
    maxConcurrentActivityTaskExecutions: config.worker.maxConcurrentActivities,
    maxConcurrentWorkflowTaskExecutions: config.worker.maxConcurrentWorkflowTasks,
  });
  return {
    worker,
    async release() {
      close();
      await closeWebhookAgents();
    },
  };
}
