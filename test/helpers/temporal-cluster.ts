import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { findExecutable, getFreePort } from '../../src/dev/process.ts';
import type { Logger } from '../../src/logging.ts';
import {
  freeNodePorts,
  startTemporalServerNode,
  type TemporalDatabases,
  type TemporalNodePorts,
  type TemporalServerNode,
} from '../../temporal/production-server.ts';

// A production Temporal cluster for tests: server nodes on databases of the test's own (random names on
// the harness's Postgres server, dropped at the end), each node on free loopback ports it keeps across
// restarts, plus the checks the cluster tests share (one membership ring, Prometheus sums).

/** The schema tool and the server are built by scripts/bootstrap.sh; without them nothing here can run. */
export async function assertClusterBinaries(): Promise<void> {
  for (const binary of ['temporal-server', 'temporal-sql-tool']) {
    assert.ok(await findExecutable(binary), `${binary} is not on PATH: scripts/bootstrap.sh builds it from temporal/go.mod (run ./scripts/test.sh)`);
  }
}

/** Fresh database names on the server of `serverUrl` (created by ensureTemporalSchema). */
export function clusterDatabases(serverUrl: string): TemporalDatabases {
  const suffix = randomBytes(4).toString('hex');
  return { serverUrl, temporal: `temporal_${suffix}`, visibility: `temporal_visibility_${suffix}` };
}

/**
 * Where one node listens. Kept for the node's whole life, restarts included: the other node finds it
 * through the membership table by these ports, and its API and worker have its frontend's address.
 */
export interface ClusterNodeSpec {
  name: string;
  ports: TemporalNodePorts;
  metricsPort: number;
  /** The cluster's address (the first node's frontend); undefined for the first node itself. */
  clusterAddress: string | undefined;
}

/** Picks free ports for one more node; pick them once the nodes before it listen, so none are shared. */
export async function newClusterNodeSpec(name: string, clusterAddress?: string): Promise<ClusterNodeSpec> {
  return { name, ports: await freeNodePorts(), metricsPort: await getFreePort(), clusterAddress };
}

/** Starts (or starts again, on the same ports) the node of `spec`. */
export function startClusterNode(databases: TemporalDatabases, spec: ClusterNodeSpec, log: Logger): Promise<TemporalServerNode> {
  return startTemporalServerNode({
    databases,
    ports: spec.ports,
    clusterAddress: spec.clusterAddress,
    namespace: process.env.TEMPORAL_NAMESPACE ?? 'default',
    metricsPort: spec.metricsPort,
    // Joining and restarting nodes log transient errors (shard ownership, membership) as warnings; a
    // failed start still reports the node's last output in the thrown error.
    logger: log.child({ component: spec.name }, { level: 'error' }),
  });
}

/**
 * Starts `count` nodes one after the other: the first creates the cluster's records, the others join it.
 * `onStarted` sees each node as soon as it runs, so a caller can stop it even if a later one fails.
 */
export async function startCluster(
  databases: TemporalDatabases,
  count: number,
  log: Logger,
  onStarted: (node: TemporalServerNode, spec: ClusterNodeSpec) => void,
): Promise<Array<{ spec: ClusterNodeSpec; node: TemporalServerNode }>> {
  const started: Array<{ spec: ClusterNodeSpec; node: TemporalServerNode }> = [];
  for (let index = 0; index < count; index++) {
    const spec = await newClusterNodeSpec(`temporal-node-${index + 1}`, started[0]?.node.address);
    const node = await startClusterNode(databases, spec, log);
    onStarted(node, spec);
    started.push({ spec, node });
  }
  return started;
}

/**
 * Every node's four services are alive in the one membership table the cluster shares. With `since`,
 * only members whose session began then or later count (a restarted node reuses its ports, so its
 * previous session's records would otherwise pass for it until they expire).
 */
export async function assertOneRing(databases: TemporalDatabases, nodeCount: number, since?: number): Promise<void> {
  const db = new pg.Client({ connectionString: databaseUrlOf(databases.serverUrl, databases.temporal) });
  await db.connect();
  try {
    const { rows } = await db.query<{ role: number; hosts: string }>(
      `SELECT role, count(DISTINCT rpc_port) AS hosts FROM cluster_membership
        WHERE record_expiry > now() AND session_start >= (to_timestamp($1::double precision / 1000) AT TIME ZONE 'UTC')
        GROUP BY role ORDER BY role`,
      [since ?? 0],
    );
    assert.deepEqual(
      rows.map((row) => Number(row.hosts)),
      [nodeCount, nodeCount, nodeCount, nodeCount],
      `frontend, history, matching and worker each have a member per node${since === undefined ? '' : ' (sessions since the restart)'}`,
    );
  } finally {
    await db.end();
  }
}

/** The sum of a Prometheus metric's samples (those whose labels include every one of `labels`). */
export async function metricSum(url: string, name: string, labels: string[] = []): Promise<number> {
  const text = await (await fetch(url)).text();
  let sum = 0;
  for (const line of text.split('\n')) {
    const match = new RegExp(`^${name}(\\{[^}]*\\})? ([0-9.e+-]+)$`).exec(line);
    if (match && labels.every((label) => (match[1] ?? '').includes(label))) sum += Number(match[2]);
  }
  return sum;
}

export function databaseUrlOf(serverUrl: string, database: string): string {
  const url = new URL(serverUrl);
  url.pathname = `/${database}`;
  return url.toString();
}

export async function dropDatabases(databases: TemporalDatabases): Promise<void> {
  const db = new pg.Client({ connectionString: databaseUrlOf(databases.serverUrl, 'postgres') });
  await db.connect();
  try {
    for (const name of [databases.temporal, databases.visibility]) {
      // FORCE: a stopped node's pool may not have closed every connection yet.
      await db.query(`DROP DATABASE IF EXISTS ${db.escapeIdentifier(name)} WITH (FORCE)`);
    }
  } finally {
    await db.end();
  }
}
