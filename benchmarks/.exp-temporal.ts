// ad-hoc experiment (deleted afterwards): temporal noop ceiling under different persistence settings
import { spawn } from 'node:child_process';
import { Client, Connection } from '@temporalio/client';
import { getFreePort, waitUntil } from '../src/dev/process.ts';
import { forkChild } from './children.ts';
import { driveNoopWorkflows } from './temporal-ceiling.ts';
import { ProcessMonitor } from './proc-stats.ts';

const mode = process.argv[2] ?? 'memory';
const port = await getFreePort();
const args = ['server', 'start-dev', '--ip', '127.0.0.1', '--port', String(port), '--headless', '--log-level', 'error'];
if (mode !== 'memory') args.push('--db-filename', `/tmp/benchexp/t-${port}.db`, '--sqlite-pragma', 'journal_mode=WAL', '--sqlite-pragma', `synchronous=${mode}`);
const server = spawn('temporal', args, { stdio: 'ignore' });
const connection = await waitUntil(async () => { const c = await Connection.connect({ address: `127.0.0.1:${port}` }); await c.workflowService.getSystemInfo({}); return c; }, { what: 'temporal', timeoutMs: 60000 });
const client = new Client({ connection });
const tq = `noop-${port}`;
const worker = forkChild('./noop-worker.ts', [`127.0.0.1:${port}`, 'default', tq], `/tmp/benchexp/noop-${port}.log`);
await worker.next('ready', 120000);
const monitor = new ProcessMonitor();
monitor.track([{ name: 'temporal', pid: server.pid!, tree: true }, { name: 'noop-worker', pid: worker.pid }, { name: 'bench', pid: process.pid }]);
const mark = monitor.mark();
const r = await driveNoopWorkflows({ client, taskQueue: tq, starters: Number(process.argv[3] ?? 64), seconds: 8, runId: 'x' });
const u = monitor.usageSince(mark);
console.log(mode, JSON.stringify({ exec: r.startedAndCompletedPerSecond, rt: r.roundTripMs.p50, starts: r.startsPerSecond, done: r.completedPerSecondOverall, during: r.completedPerSecondDuringStarts, p50: r.startLatencyMs.p50, drain: r.drainSeconds }), 'machine', u.machineBusyCores, Object.entries(u.processes).map(([k, v]) => `${k}=${v.cores}`).join(' '));
await worker.stop();
await connection.close();
server.kill('SIGTERM');
