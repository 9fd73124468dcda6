// `node src/db/migrate-cli.ts`: brings the database at DATABASE_URL to the latest schema and exits.
// The one-shot `migrate` service in docker-compose.yml runs it before the API and worker start.
import { loadConfig } from '../config.ts';
import { createDatabase, migrateToLatest } from './connection.ts';

const config = loadConfig();
const db = createDatabase(config.databaseUrl, 1);
try {
  const applied = await migrateToLatest(db);
  console.log(applied.length ? `applied ${applied.length} migration(s):\n${applied.join('\n')}` : 'schema already up to date');
} catch (error) {
  console.error('migration failed:', error);
  process.exitCode = 1;
} finally {
  await db.destroy();
}
