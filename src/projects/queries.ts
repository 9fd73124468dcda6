import type { Knex } from 'knex';
import { v7 as uuidv7 } from 'uuid';

export interface ProjectRow {
  id: string;
  name: string;
  created_at: Date;
}

export async function insertProject(db: Knex, name: string): Promise<ProjectRow> {
  const [row] = await db('projects').insert({ id: uuidv7(), name }).returning(['id', 'name', 'created_at']);
  return row as ProjectRow;
}

export async function findProject(db: Knex, id: string): Promise<ProjectRow | undefined> {
  return db('projects').select('id', 'name', 'created_at').where('id', id).first();
}
