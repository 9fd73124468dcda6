import type { Knex } from 'knex';
import { notFound } from '../errors.ts';
import type { Principal } from '../../auth/principal.ts';
import { findProject, type ProjectRow } from './queries.ts';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * The project named in a path, if the caller may manage it (its own, or any for the root key).
 * Anything else is "not found", exactly like a project that does not exist, so ids cannot be probed.
 */
export async function visibleProject(db: Knex, principal: Principal, projectId: string): Promise<ProjectRow> {
  if (!UUID.test(projectId)) throw notFound('project');
  if (!principal.isRoot && principal.projectId !== projectId.toLowerCase()) throw notFound('project');
  const project = await findProject(db, projectId);
  if (!project) throw notFound('project');
  return project;
}
