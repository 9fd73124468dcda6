import { Connection } from '@temporalio/client';
import { hasExited, waitUntil, type ManagedProcess } from '../src/dev/process.ts';

// Readiness of a Temporal server we started (the CLI's dev server or a production node): its frontend
// answers GetSystemInfo. Shared so both wait, prepare and give up the same way.

export interface ReadyServer {
  /** Settles if the server exits, expectedly or not. */
  exited: Promise<unknown>;
  /** SIGTERM, then SIGKILL after the grace period; calling it again waits for the same stop. */
  stop(): Promise<void>;
  /** SIGKILL at once, as a crash would (fault tests); settles when the process is gone. */
  kill(): Promise<void>;
}

export interface FrontendReadyOptions {
  what: string;
  timeoutMs: number;
  stopGraceMs: number;
  /** What EventFlow registers once it answers (namespace, search attributes). */
  prepare(connection: Connection): Promise<void>;
}

/**
 * Waits until the server's frontend at `address` answers, runs `prepare` over a connection to it, and hands
 * the server over. If it dies, does not answer in time or `prepare` fails, the server is stopped.
 */
export async function whenFrontendReady(server: ManagedProcess, address: string, options: FrontendReadyOptions): Promise<ReadyServer> {
  let connection: Connection | undefined;
  try {
    connection = await waitUntil(
      async () => {
        const candidate = await Connection.connect({ address, connectTimeout: '1s' });
        try {
          await candidate.workflowService.getSystemInfo({});
          return candidate;
        } catch (error) {
          await candidate.close();
          throw error;
        }
      },
      {
        what: `${options.what} on ${address}`,
        timeoutMs: options.timeoutMs,
        intervalMs: 250,
        gaveUp: () => (hasExited(server) ? `exited during start-up:\n${server.recentOutput()}` : undefined),
      },
    );
    await options.prepare(connection);
  } catch (error) {
    await server.stop('SIGTERM', options.stopGraceMs);
    throw error;
  } finally {
    await connection?.close();
  }

  let stopping: Promise<void> | undefined;
  return {
    exited: server.exited,
    stop() {
      stopping ??= server.stop('SIGTERM', options.stopGraceMs).then(() => undefined);
      return stopping;
    },
    kill() {
      stopping ??= server.stop('SIGKILL', 0).then(() => undefined);
      return stopping;
    },
  };
}
