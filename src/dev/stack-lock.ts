import { readFile, rm, writeFile } from 'node:fs/promises';
import type { Logger } from '../logging.ts';
import { commandLineOf, isProcessAlive, runningProcesses, terminatePid } from './process.ts';

// The launcher's services run in process groups of their own (see process.ts), so when the launcher
// is killed outright (SIGKILL, OOM) they keep running and hold their ports and data files; the next
// run would fail on them. This record of who runs what lets the next run clear such leftovers, and
// refuse to start while another launcher is really running.

interface StackRecord {
  launcher: number;
  processes: Array<{ pid: number; argv0: string }>;
}

export interface StackLock {
  /** Writes down the processes running now; call after starting some. */
  update(): Promise<void>;
  release(): Promise<void>;
}

export async function claimStackLock(file: string, log: Logger): Promise<StackLock> {
  const previous = await readRecord(file);
  if (previous && previous.launcher !== process.pid && isProcessAlive(previous.launcher)) {
    const argv = await commandLineOf(previous.launcher);
    if (argv === undefined || argv.some((arg) => arg.endsWith('stack.ts'))) {
      throw new Error(`another dev stack is running (pid ${previous.launcher}); stop it first`);
    }
  }
  if (previous) {
    // Newest first: the API and worker before the services they use.
    for (const { pid, argv0 } of [...previous.processes].reverse()) {
      if (!isProcessAlive(pid) || (await commandLineOf(pid))?.[0] !== argv0) continue;
      log.warn({ pid, argv0 }, 'stopping a service left running by a dev stack that was killed');
      // SIGINT is a clean stop for all of them, and Postgres' fast shutdown.
      await terminatePid(pid, 'SIGINT', 15_000);
    }
  }

  const write = () =>
    writeFile(file, JSON.stringify({ launcher: process.pid, processes: runningProcesses() } satisfies StackRecord));
  await write();
  return { update: write, release: () => rm(file, { force: true }) };
}

async function readRecord(file: string): Promise<StackRecord | undefined> {
  try {
    return JSON.parse(await readFile(file, 'utf8')) as StackRecord;
  } catch {
    return undefined;
  }
}
