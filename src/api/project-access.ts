import type { Knex } from 'knex';
import { notFound } from './errors.ts';
import type { Principal } from '../auth/principal.ts';
import { findProject, type ProjectRow } from '../projects/queries.ts';
import { uuidParam } from './params.ts';

/**
 * The project named in a path, if the caller may manage it (its own, or any for the root key).
 * Anything else is "not found", exactly like a project that does not exist, so ids cannot be probed.
 */
export async function visibleProject(db: Knex, principal: Principal, projectId: string): Promise<ProjectRow> {
  const id = uuidParam(projectId, 'project');
  if (!principal.isRoot && principal.projectId !== id) throw notFound('project');
  const project = await findProject(db, id);
  if (!project) throw notFound('project');
  return project;
}
