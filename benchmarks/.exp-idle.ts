import { ProcessMonitor } from './proc-stats.ts';
const m = new ProcessMonitor(); m.track([]); const mark = m.mark();
await new Promise((r) => setTimeout(r, Number(process.argv[2] ?? 5) * 1000));
const u = m.usageSince(mark); console.log(u.machineBusyCores, JSON.stringify(u.machineSplitCores), JSON.stringify(u.untrackedTop));
