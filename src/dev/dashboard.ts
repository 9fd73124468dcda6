import { execFile } from 'node:child_process';
import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { Logger } from '../logging.ts';
import { REPO_ROOT } from './dev-env.ts';
import { startManagedProcess, type ManagedProcess } from './process.ts';

// Builds the dashboard (src/dashboard) for the API to serve, or runs Vite's dev server for people working
// on it. Used by the dev launcher and the browser tests, so both always show the sources as they are.

const SOURCE_DIR = join(REPO_ROOT, 'src', 'dashboard');
const BUILD_DIR = join(SOURCE_DIR, 'dist');
const VITE = join(REPO_ROOT, 'node_modules', 'vite', 'bin', 'vite.js');
const VITE_CONFIG = join(SOURCE_DIR, 'vite.config.ts');
export const HOT_RELOAD_PORT = 5173;

async function newestChange(dir: string, skip: string): Promise<number> {
  let newest = 0;
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (path === skip) continue;
    newest = Math.max(newest, entry.isDirectory() ? await newestChange(path, skip) : (await stat(path)).mtimeMs);
  }
  return newest;
}

async function builtAt(): Promise<number | undefined> {
  try {
    return (await stat(join(BUILD_DIR, '.vite', 'manifest.json'))).mtimeMs;
  } catch {
    return undefined;
  }
}

/** Builds the dashboard when it was never built or a source (or the lock file) changed since. */
export async function ensureDashboardBuilt(log: Logger): Promise<'up to date' | 'built'> {
  const built = await builtAt();
  const changed = Math.max(await newestChange(SOURCE_DIR, BUILD_DIR), (await stat(join(REPO_ROOT, 'package-lock.json'))).mtimeMs);
  if (built !== undefined && built >= changed) return 'up to date';
  const startedAt = performance.now();
  await promisify(execFile)(process.execPath, [VITE, 'build', '--config', VITE_CONFIG, '--logLevel', 'warn'], { cwd: REPO_ROOT, maxBuffer: 16 * 1024 * 1024 });
  log.info({ ms: Math.round(performance.now() - startedAt) }, 'dashboard built');
  return 'built';
}

/** Vite's dev server with hot module reload, forwarding API calls to `apiUrl`. */
export function startDashboardHotReload(apiUrl: string, log: Logger): ManagedProcess {
  return startManagedProcess(process.execPath, [VITE, '--config', VITE_CONFIG, '--port', String(HOT_RELOAD_PORT), '--strictPort'], {
    cwd: REPO_ROOT,
    env: { ...process.env, EVENTFLOW_API_URL: apiUrl },
    logger: log,
    classify: (line) => (/error/i.test(line) ? 'warn' : 'info'),
  });
}
