import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { access, constants, readFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { delimiter, join } from 'node:path';
import { createInterface } from 'node:readline';
import type { Logger } from '../logging.ts';

// Child-process plumbing shared by the dev launcher and the test harness: every service they run is a
// ManagedProcess, so start, log routing, crash detection and stop work the same way for all of them.

export interface ExitStatus {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface ManagedProcess {
  child: ChildProcess;
  /** Settles when the process has exited, whoever stopped it. */
  exited: Promise<ExitStatus>;
  /** The last lines it wrote, for error messages when it dies during start-up. */
  recentOutput(): string;
  /** Sends `signal`, then SIGKILL if it is still running after `graceMs`. */
  stop(signal?: NodeJS.Signals, graceMs?: number): Promise<ExitStatus>;
}

export type LineLevel = 'debug' | 'info' | 'warn' | 'error';

export interface ManagedProcessOptions extends Pick<SpawnOptions, 'cwd' | 'env' | 'uid' | 'gid'> {
  logger: Logger;
  /** Level for each output line; lines go to the logger unless `inheritOutput` is set. */
  classify?: (line: string, stream: 'stdout' | 'stderr') => LineLevel;
  /** Pass the child's stdout/stderr straight through, e.g. for services that already log JSON. */
  inheritOutput?: boolean;
}

const RECENT_LINES = 30;
const running = new Set<ChildProcess>();

// A launcher that fails or exits without stopping its services must not leave detached ones behind.
// `exit` handlers can only act synchronously, and sending a signal is all that is needed.
process.on('exit', () => {
  for (const child of running) child.kill('SIGTERM');
});

/** The processes started here that are still running, for a launcher's crash-recovery record. */
export function runningProcesses(): Array<{ pid: number; argv0: string }> {
  return [...running].flatMap((child) => (child.pid ? [{ pid: child.pid, argv0: child.spawnfile }] : []));
}

export function startManagedProcess(
  command: string,
  args: string[],
  options: ManagedProcessOptions,
): ManagedProcess {
  const { logger, classify = () => 'debug', inheritOutput = false, ...spawnOptions } = options;
  const child = spawn(command, args, {
    ...spawnOptions,
    // A process group of its own: Ctrl-C in the terminal signals the whole foreground group, and the
    // launcher must decide the stop order (API and worker before the services they depend on).
    detached: true,
    stdio: ['ignore', inheritOutput ? 'inherit' : 'pipe', inheritOutput ? 'inherit' : 'pipe'],
  });
  running.add(child);
  const recent: string[] = [];
  let stopRequested = false;
  for (const stream of ['stdout', 'stderr'] as const) {
    const source = child[stream];
    if (!source) continue;
    createInterface({ input: source, crlfDelay: Infinity }).on('line', (line) => {
      if (line.trim() === '') return;
      recent.push(line);
      if (recent.length > RECENT_LINES) recent.shift();
      const level = classify(line, stream);
      // Services complain about vanishing peers while they shut down; only errors still matter then.
      logger[stopRequested && level === 'warn' ? 'debug' : level]({ stream }, line);
    });
  }

  const exited = new Promise<ExitStatus>((resolve) => {
    child.once('error', (error) => {
      logger.error({ err: error }, `could not run ${command}`);
      resolve({ code: null, signal: null });
    });
    child.once('exit', (code, signal) => resolve({ code, signal }));
  });

  void exited.then(() => running.delete(child));

  return {
    child,
    exited,
    recentOutput: () => recent.join('\n'),
    async stop(signal = 'SIGTERM', graceMs = 10_000) {
      if (child.exitCode !== null || child.signalCode !== null || child.pid === undefined) return exited;
      stopRequested = true;
      child.kill(signal);
      const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
      const status = await exited;
      clearTimeout(timer);
      return status;
    },
  };
}

/** The first executable called `name` on PATH, like `command -v`. */
export async function findExecutable(name: string, path = process.env.PATH ?? ''): Promise<string | undefined> {
  for (const directory of path.split(delimiter).filter(Boolean)) {
    const candidate = join(directory, name);
    try {
      await access(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not in this directory
    }
  }
  return undefined;
}

/** A port that was free a moment ago; good enough for tests that start servers right away. */
export function getFreePort(host = '127.0.0.1'): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.once('error', reject);
    server.listen(0, host, () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}

export function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

export interface WaitOptions {
  what: string;
  timeoutMs: number;
  intervalMs?: number;
  /** Stops waiting early when the thing being waited for has died. */
  gaveUp?: () => string | undefined;
}

/** Polls `probe` until it returns a value; readiness checks for services we cannot get events from. */
export async function waitUntil<T>(probe: () => Promise<T | undefined>, options: WaitOptions): Promise<T> {
  const deadline = Date.now() + options.timeoutMs;
  let lastError: unknown;
  for (;;) {
    const reason = options.gaveUp?.();
    if (reason) throw new Error(`${options.what}: ${reason}`);
    try {
      const value = await probe();
      if (value !== undefined) return value;
    } catch (error) {
      lastError = error;
    }
    if (Date.now() > deadline) {
      const cause = lastError instanceof Error ? `: ${lastError.message}` : '';
      throw new Error(`${options.what} not ready after ${options.timeoutMs} ms${cause}`);
    }
    await delay(options.intervalMs ?? 200);
  }
}

/**
 * Awaits services started side by side. Failures are thrown only once every start has settled, so
 * the caller has been handed everything that did start and can stop it.
 */
export async function settleAll<T extends readonly unknown[]>(starting: T): Promise<{ -readonly [K in keyof T]: Awaited<T[K]> }> {
  const results = await Promise.allSettled(starting);
  const failures = results.flatMap((result) => (result.status === 'rejected' ? [result.reason as unknown] : []));
  if (failures.length === 1) throw failures[0];
  if (failures.length > 1) throw new AggregateError(failures, `${failures.length} services failed to start: ${failures.join('; ')}`);
  return results.map((result) => (result as PromiseFulfilledResult<unknown>).value) as { -readonly [K in keyof T]: Awaited<T[K]> };
}

/** Whether the process has exited, for callers that only have `exited`. */
export function hasExited(managed: ManagedProcess): boolean {
  return managed.child.exitCode !== null || managed.child.signalCode !== null;
}

/** Whether a process we did not necessarily start is still running (zombies count as gone). */
export function isProcessAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
  try {
    // Field 3 of /proc/<pid>/stat, after the parenthesised command name.
    return !/\)\s+Z\s/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return true;
  }
}

/** argv of a running process, or undefined where there is no /proc (macOS) or it is gone. */
export async function commandLineOf(pid: number): Promise<string[] | undefined> {
  try {
    return (await readFile(`/proc/${pid}/cmdline`, 'utf8')).split('\0').filter(Boolean);
  } catch {
    return undefined;
  }
}

/** Signals a process we do not own a handle for and waits until it is gone. */
export async function terminatePid(pid: number, signal: NodeJS.Signals, graceMs: number): Promise<void> {
  try {
    process.kill(pid, signal);
  } catch {
    return;
  }
  const deadline = Date.now() + graceMs;
  while (isProcessAlive(pid)) {
    if (Date.now() > deadline) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        return;
      }
    }
    await delay(100);
  }
}
