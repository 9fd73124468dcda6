import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { availableParallelism } from 'node:os';

// CPU and memory of the stack's processes, read from /proc (Linux only).
//
// CPU of a process *tree* = the root's utime+stime, plus cutime+cstime (the time of children it has
// already reaped), plus utime+stime of the children alive right now. Postgres forks a backend per
// connection and reaps it when it ends, so a backend's time moves from the live sum into the root's
// cutime when it exits: the total stays continuous however often we sample. Memory of a tree is the
// sum of PSS (proportional set size: shared pages such as Postgres' shared buffers are split between the
// processes that map them, so they are counted once), sampled, since children come and go.

// USER_HZ: the unit of the /proc tick counters. 100 on every mainstream Linux build.
const TICKS_PER_SECOND = 100;

export interface TrackedProcess {
  /** A role: api, worker, temporal, postgres, load-generator, … */
  name: string;
  pid: number;
  /** Count the process's children too (Postgres' backends). Off for a process whose children are tracked on their own. */
  tree?: boolean;
}

export interface ProcessSample {
  /** CPU seconds of the whole tree since it started. */
  cpuSeconds: number;
  /** CPU seconds of the root's main thread (for Node: the event loop thread). */
  mainThreadCpuSeconds: number;
  /** Sum of PSS over the tree, MiB. */
  pssMiB: number;
  /** Sum of RSS (VmRSS) over the tree, MiB: counts shared pages once per process that maps them. */
  rssMiB: number;
  /** The root's VmHWM (peak RSS over its lifetime), MiB. */
  hwmMiB: number;
  processes: number;
  alive: boolean;
}

interface StatFields {
  utime: number;
  stime: number;
  cutime: number;
  cstime: number;
}

function readStat(path: string): StatFields | undefined {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
  // The command name (field 2) is parenthesised and may contain spaces: split after its closing paren.
  const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
  // fields[0] is field 3 (state); utime is field 14 → index 11.
  return { utime: Number(fields[11]), stime: Number(fields[12]), cutime: Number(fields[13]), cstime: Number(fields[14]) };
}

function readStatusKiB(pid: number, key: string): number {
  try {
    const match = new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return match ? Number(match[1]) : 0;
  } catch {
    return 0;
  }
}

function readPssKiB(pid: number): number {
  try {
    const match = /^Pss:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8'));
    return match ? Number(match[1]) : readStatusKiB(pid, 'VmRSS');
  } catch {
    return 0;
  }
}

function childrenOf(pid: number): number[] {
  try {
    return readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

function descendantsOf(pid: number): number[] {
  const found: number[] = [];
  const queue = childrenOf(pid);
  while (queue.length > 0) {
    const next = queue.shift()!;
    found.push(next);
    queue.push(...childrenOf(next));
  }
  return found;
}

export function sampleProcess(pid: number, tree = false): ProcessSample {
  const root = readStat(`/proc/${pid}/stat`);
  if (!root) return { cpuSeconds: 0, mainThreadCpuSeconds: 0, pssMiB: 0, rssMiB: 0, hwmMiB: 0, processes: 0, alive: false };
  let ticks = root.utime + root.stime + (tree ? root.cutime + root.cstime : 0);
  const main = readStat(`/proc/${pid}/task/${pid}/stat`);
  const children = tree ? descendantsOf(pid) : [];
  let pssKiB = readPssKiB(pid);
  let rssKiB = readStatusKiB(pid, 'VmRSS');
  for (const child of children) {
    const stat = readStat(`/proc/${child}/stat`);
    if (stat) ticks += stat.utime + stat.stime;
    pssKiB += readPssKiB(child);
    rssKiB += readStatusKiB(child, 'VmRSS');
  }
  return {
    cpuSeconds: ticks / TICKS_PER_SECOND,
    mainThreadCpuSeconds: main ? (main.utime + main.stime) / TICKS_PER_SECOND : 0,
    pssMiB: pssKiB / 1024,
    rssMiB: rssKiB / 1024,
    hwmMiB: readStatusKiB(pid, 'VmHWM') / 1024,
    processes: 1 + children.length,
    alive: true,
  };
}

interface MachineSample {
  busySeconds: number;
  totalSeconds: number;
  /** Per kind of CPU time, seconds (all cores). */
  split: Record<'user' | 'system' | 'irq' | 'iowait' | 'steal', number>;
}

/** Busy and total CPU seconds of the whole machine (all cores), from /proc/stat. */
export function sampleMachine(): MachineSample {
  const [, ...values] = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/);
  const [user, nice, system, idle, iowait, irq, softirq, steal] = values.map(Number);
  const total = user + nice + system + idle + iowait + irq + softirq + steal;
  return {
    // Steal (time the hypervisor gave our vCPUs to someone else) is not ours, so it is not "busy".
    busySeconds: (total - idle - iowait - steal) / TICKS_PER_SECOND,
    totalSeconds: total / TICKS_PER_SECOND,
    split: {
      user: (user + nice) / TICKS_PER_SECOND,
      system: system / TICKS_PER_SECOND,
      irq: (irq + softirq) / TICKS_PER_SECOND,
      iowait: iowait / TICKS_PER_SECOND,
      steal: steal / TICKS_PER_SECOND,
    },
  };
}

/** CPU ticks of every process on the machine, keyed by pid, with a short name to group by. */
function allProcesses(): Map<number, { name: string; ticks: number }> {
  const found = new Map<number, { name: string; ticks: number }>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const pid = Number(entry);
    let text: string;
    try {
      text = readFileSync(`/proc/${pid}/stat`, 'utf8');
    } catch {
      continue;
    }
    const comm = text.slice(text.indexOf('(') + 1, text.lastIndexOf(')'));
    const stat = readStat(`/proc/${pid}/stat`);
    if (!stat) continue;
    // Kernel threads are grouped by kind (kworker/u4:2 → kworker); scripts by their entry file.
    let name = comm.split(/[/:]/)[0]!;
    if (comm === 'node' || comm.startsWith('node')) {
      try {
        const argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean);
        const script = argv.slice(1).find((arg) => !arg.startsWith('-') && /\.(ts|js|mjs)$/.test(arg));
        if (script) name = `node ${script.split('/').slice(-2).join('/')}`;
      } catch {
        // gone
      }
    }
    found.set(pid, { name, ticks: stat.utime + stat.stime });
  }
  return found;
}

export function loadAverage(): number[] {
  return readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).map(Number);
}

export interface ProcessUsage {
  cpuSeconds: number;
  /** CPU seconds per wall second: ≈ the number of cores the process kept busy. */
  cores: number;
  /** The same for the root's main thread; ≈ 1 means a Node event loop with no idle time left. */
  mainThreadCores: number;
  /** Highest sampled sum of PSS over the tree in the window (shared memory counted once). */
  peakPssMiB: number;
  /** Highest sampled sum of RSS over the tree in the window (shared memory counted per process). */
  peakRssMiB: number;
  /** The root process's VmHWM: its peak RSS over its whole life (single processes only). */
  hwmMiB: number | undefined;
}

export interface UsageReport {
  wallSeconds: number;
  cores: number;
  machineBusyCores: number;
  /** Machine busy share of all cores, 0–1. */
  machineBusyShare: number;
  /** Busy cores not accounted for by the tracked processes: other work on the box (and the kernel). */
  untrackedBusyCores: number;
  /** The biggest untracked consumers (other people's processes, kernel threads), cores. */
  untrackedTop: Array<{ name: string; cores: number }>;
  /** Where the machine's CPU time went, in cores (steal: taken by the hypervisor). */
  machineSplitCores: Record<string, number>;
  processes: Record<string, ProcessUsage>;
}

interface Mark {
  at: number;
  machine: MachineSample;
  samples: Map<string, ProcessSample>;
  everyone: Map<number, { name: string; ticks: number }>;
}

/**
 * Samples the tracked processes on an interval (for peak memory and for trees whose members come and
 * go) and turns two marks into per-window usage.
 */
export class ProcessMonitor {
  private tracked: TrackedProcess[] = [];
  private timer: NodeJS.Timeout | undefined;
  private peaks = new Map<string, { pss: number; rss: number }>();
  /** Last VmHWM seen per role: a process that has exited by the final sample keeps its peak. */
  private hwm = new Map<string, number>();
  private readonly intervalMs: number;

  constructor(intervalMs = 1_000) {
    this.intervalMs = intervalMs;
  }

  track(processes: TrackedProcess[]): void {
    this.tracked = processes;
  }

  start(): void {
    this.timer ??= setInterval(() => this.sample(), this.intervalMs);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  private sample(): Map<string, ProcessSample> {
    const samples = new Map<string, ProcessSample>();
    for (const { name, pid, tree } of this.tracked) {
      const sample = sampleProcess(pid, tree);
      samples.set(name, sample);
      const peak = this.peaks.get(name);
      this.peaks.set(name, { pss: Math.max(peak?.pss ?? 0, sample.pssMiB), rss: Math.max(peak?.rss ?? 0, sample.rssMiB) });
      if (sample.alive) this.hwm.set(name, sample.hwmMiB);
    }
    return samples;
  }

  /** A point in time to measure a window from; also resets the peak-memory tracking for the window. */
  mark(): Mark {
    const samples = this.sample();
    this.peaks = new Map([...samples].map(([name, sample]) => [name, { pss: sample.pssMiB, rss: sample.rssMiB }]));
    return { at: performance.now(), machine: sampleMachine(), samples, everyone: allProcesses() };
  }

  /** Ours: the tracked processes, their trees, and everything this process started. */
  private ownPids(): Set<number> {
    const own = new Set<number>([process.pid, ...descendantsOf(process.pid)]);
    for (const { pid } of this.tracked) {
      own.add(pid);
      for (const child of descendantsOf(pid)) own.add(child);
    }
    return own;
  }

  private untracked(start: Mark, wallSeconds: number): Array<{ name: string; cores: number }> {
    const own = this.ownPids();
    const byName = new Map<string, number>();
    for (const [pid, now] of allProcesses()) {
      if (own.has(pid)) continue;
      const before = start.everyone.get(pid);
      const ticks = before && before.name === now.name ? now.ticks - before.ticks : now.ticks;
      if (ticks > 0) byName.set(now.name, (byName.get(now.name) ?? 0) + ticks);
    }
    return [...byName]
      .map(([name, ticks]) => ({ name, cores: round(ticks / TICKS_PER_SECOND / wallSeconds, 2) }))
      .filter((entry) => entry.cores >= 0.01)
      .sort((a, b) => b.cores - a.cores)
      .slice(0, 6);
  }

  usageSince(start: Mark): UsageReport {
    const end = this.sample();
    const wallSeconds = (performance.now() - start.at) / 1000;
    const machine = sampleMachine();
    const cores = availableParallelism();
    const busy = machine.busySeconds - start.machine.busySeconds;
    const total = machine.totalSeconds - start.machine.totalSeconds;
    const processes: Record<string, ProcessUsage> = {};
    const trees = new Set(this.tracked.filter((tracked) => tracked.tree).map((tracked) => tracked.name));
    for (const [name, sample] of end) {
      const before = start.samples.get(name);
      // A process that did not exist at the start (or was replaced) counts from zero.
      const restarted = !before || sample.cpuSeconds < before.cpuSeconds;
      const cpuSeconds = sample.cpuSeconds - (restarted ? 0 : before.cpuSeconds);
      const mainSeconds = sample.mainThreadCpuSeconds - (restarted ? 0 : before.mainThreadCpuSeconds);
      processes[name] = {
        cpuSeconds: round(cpuSeconds, 2),
        cores: round(cpuSeconds / wallSeconds, 2),
        mainThreadCores: round(mainSeconds / wallSeconds, 2),
        peakPssMiB: Math.round(this.peaks.get(name)?.pss ?? sample.pssMiB),
        peakRssMiB: Math.round(this.peaks.get(name)?.rss ?? sample.rssMiB),
        hwmMiB: trees.has(name) ? undefined : Math.round(this.hwm.get(name) ?? sample.hwmMiB),
      };
    }
    const machineBusyCores = total > 0 ? (busy / total) * cores : 0;
    const machineSplitCores = Object.fromEntries(
      Object.entries(machine.split).map(([kind, seconds]) => [
        kind,
        round(total > 0 ? ((seconds - start.machine.split[kind as keyof MachineSample['split']]) / total) * cores : 0, 2),
      ]),
    );
    const trackedCores = Object.values(processes).reduce((sum, usage) => sum + usage.cores, 0);
    return {
      wallSeconds: round(wallSeconds, 1),
      cores,
      machineBusyCores: round(machineBusyCores, 2),
      machineBusyShare: round(total > 0 ? busy / total : 0, 3),
      untrackedBusyCores: round(Math.max(0, machineBusyCores - trackedCores), 2),
      untrackedTop: this.untracked(start, wallSeconds),
      machineSplitCores,
      processes,
    };
  }
}

export function round(value: number, digits = 0): number {
  const factor = 10 ** digits;
  return Math.round(value * factor) / factor;
}

/** Pids of processes listening on a TCP port (attach mode: find the API, Temporal, Postgres). */
export function pidsListeningOn(port: number): number[] {
  const inodes = new Set<string>();
  for (const table of ['/proc/net/tcp', '/proc/net/tcp6']) {
    let text = '';
    try {
      text = readFileSync(table, 'utf8');
    } catch {
      continue;
    }
    for (const line of text.split('\n').slice(1)) {
      const fields = line.trim().split(/\s+/);
      if (fields.length < 10) continue;
      const localPort = Number.parseInt(fields[1]!.split(':')[1] ?? '', 16);
      // State 0A = LISTEN.
      if (localPort === port && fields[3] === '0A') inodes.add(fields[9]!);
    }
  }
  if (inodes.size === 0) return [];
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    let fds: string[];
    try {
      fds = readdirSync(`/proc/${entry}/fd`);
    } catch {
      continue;
    }
    for (const fd of fds) {
      const inode = /^socket:\[(\d+)\]$/.exec(readlinkSafe(`/proc/${entry}/fd/${fd}`))?.[1];
      if (inode && inodes.has(inode)) {
        pids.push(Number(entry));
        break;
      }
    }
  }
  // A forking server (Postgres) has the listening socket only in the postmaster; keep the topmost.
  return pids.filter((pid) => !pids.includes(parentOf(pid)));
}

function parentOf(pid: number): number {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return Number(text.slice(text.lastIndexOf(')') + 2).split(' ')[1]);
  } catch {
    return 0;
  }
}

/** '' when the fd closed meanwhile. */
function readlinkSafe(path: string): string {
  try {
    return readlinkSync(path);
  } catch {
    return '';
  }
}

/** Pids whose command line contains every one of `parts` (attach mode: find the worker). */
export function pidsByCommandLine(parts: string[]): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    try {
      const argv = readFileSync(`/proc/${entry}/cmdline`, 'utf8');
      if (parts.every((part) => argv.includes(part))) pids.push(Number(entry));
    } catch {
      // gone
    }
  }
  return pids;
}

/**
 * CPU microseconds each role spent per unit of work (e.g. per stored event) over one or more windows:
 * unlike cores-in-use this does not depend on what else competed for the machine, so
 * `cores ÷ total` is the rate the box could reach if nothing else ran.
 */
export function cpuMicrosPer(units: number, ...windows: UsageReport[]): Record<string, number> {
  if (units <= 0) return {};
  const seconds: Record<string, number> = {};
  for (const window of windows) {
    for (const [name, usage] of Object.entries(window.processes)) seconds[name] = (seconds[name] ?? 0) + usage.cpuSeconds;
  }
  const perUnit = Object.fromEntries(
    Object.entries(seconds)
      .filter(([name]) => name !== 'bench' && name !== 'receiver')
      .map(([name, total]) => [name, Math.round((total / units) * 1e6)]),
  );
  return { ...perUnit, total: Object.values(perUnit).reduce((sum, value) => sum + value, 0) };
}
