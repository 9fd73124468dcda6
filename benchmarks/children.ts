import { fork, type ChildProcess } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

// The benchmark's own helper processes (load generator, webhook receiver, no-op worker): forked with an
// IPC channel, output to a log file, killed when the benchmark exits however it exits.

const children = new Set<ChildProcess>();
process.on('exit', () => {
  for (const child of children) child.kill('SIGKILL');
});

export interface BenchChild {
  pid: number;
  send(message: unknown): void;
  /** The next message of this type (messages are `{ type, … }`). */
  next<T = Record<string, unknown>>(type: string, timeoutMs: number): Promise<T>;
  onMessage(handler: (message: { type: string } & Record<string, unknown>) => void): void;
  exited: Promise<number | null>;
  stop(): Promise<void>;
}

export function forkChild(moduleFile: string, args: string[], logFile: string): BenchChild {
  const fd = openSync(logFile, 'a');
  const child = fork(fileURLToPath(new URL(moduleFile, import.meta.url)), args, { stdio: ['ignore', fd, fd, 'ipc'] });
  closeSync(fd);
  children.add(child);
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  void exited.then(() => children.delete(child));
  return {
    pid: child.pid!,
    send: (message) => child.send(message as object),
    next<T>(type: string, timeoutMs: number) {
      return new Promise<T>((resolve, reject) => {
        const timer = setTimeout(() => finish(new Error(`${moduleFile}: no "${type}" within ${timeoutMs} ms (log: ${logFile})`)), timeoutMs);
        const onMessage = (message: { type?: string }) => {
          if (message?.type === type) finish(undefined, message as T);
        };
        const onExit = (code: number | null) => finish(new Error(`${moduleFile} exited (${code}) before "${type}" (log: ${logFile})`));
        child.on('message', onMessage);
        child.once('exit', onExit);
        function finish(error?: Error, value?: T) {
          clearTimeout(timer);
          child.off('message', onMessage);
          child.off('exit', onExit);
          if (error) reject(error);
          else resolve(value!);
        }
      });
    },
    onMessage: (handler) => void child.on('message', handler as (message: unknown) => void),
    exited,
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
      await exited;
      clearTimeout(timer);
    },
  };
}
