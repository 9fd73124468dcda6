import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import type { Knex } from 'knex';
import { loadStoredEvents } from '../../src/events/queries.ts';
import { createDatabase } from '../../src/db/connection.ts';
import { createTestProject } from '../helpers/projects.ts';

let db: Knex;

before(() => {
  db = createDatabase(process.env.DATABASE_URL as string, 2);
});
after(() => db.destroy());

async function insertEvent(projectId: string, id: string): Promise<string> {
  const [row] = await db('events')
    .insert({ project_id: projectId, id, batch_id: 'b', type: 'signup', timestamp: new Date(), received_at: new Date(), properties: { n: id }, context: {}, enrichment: {} })
    .returning(db.raw('ctid::text AS row_ref'));
  return row.row_ref;
}

test('reads a stored batch back by row refs, never taking another project\'s row, and by id where a ref is stale', async () => {
  const project = await createTestProject(db, 'row-refs');
  const other = await createTestProject(db, 'row-refs-other');
  const [a, b, moved] = [randomUUID(), randomUUID(), randomUUID()];
  const refs = [await insertEvent(project, a), await insertEvent(project, b)];
  const movedRef = await insertEvent(project, moved);
  // An update writes a new row version elsewhere: the old ref no longer points at a visible row.
  await db('events').where({ project_id: project, id: moved }).update({ type: 'signup_moved' });
  // A ref to another project's row (as after a table rewrite) must not be returned for ours.
  const foreignRef = await insertEvent(other, randomUUID());

  const events = await loadStoredEvents(db, project, [a, b, moved], [refs[0], foreignRef, movedRef]);
  assert.deepEqual(events.map((event) => event.id).sort(), [a, b, moved].sort());
  assert.equal(events.find((event) => event.id === moved)?.type, 'signup_moved');
  assert.deepEqual(events.find((event) => event.id === a)?.properties, { n: a });
  assert.match(events[0].timestamp, /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/);
});
