import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { test } from 'node:test';
import { REPO_ROOT } from '../../src/dev/dev-env.ts';
import { parseStackFlags } from '../../src/dev/stack-flags.ts';

test('the dev launcher takes --dashboard-hot and --temporal=dev|postgres and refuses anything else', () => {
  assert.deepEqual(parseStackFlags([]), { flags: { dashboardHot: false, temporal: 'dev' } });
  assert.deepEqual(parseStackFlags(['--dashboard-hot']), { flags: { dashboardHot: true, temporal: 'dev' } });
  assert.deepEqual(parseStackFlags(['--temporal=postgres']), { flags: { dashboardHot: false, temporal: 'postgres' } });
  assert.deepEqual(parseStackFlags(['--temporal', 'postgres', '--dashboard-hot']), { flags: { dashboardHot: true, temporal: 'postgres' } });
  assert.deepEqual(parseStackFlags(['--temporal=dev']), { flags: { dashboardHot: false, temporal: 'dev' } });
  for (const garbage of [['--bogus'], ['--dashboard-hot=yes'], ['start'], ['-x'], ['--dashboard-hot', 'extra'], ['--temporal=mysql'], ['--temporal']]) {
    const parsed = parseStackFlags(garbage);
    assert.ok('error' in parsed, `${garbage.join(' ')} is refused`);
  }
});

test('a bad flag stops the launcher with exit code 2 and its usage, before it starts anything', () => {
  const run = spawnSync(process.execPath, ['src/dev/stack.ts', '--bogus'], { cwd: REPO_ROOT, encoding: 'utf8', timeout: 30_000, env: { ...process.env, DATABASE_URL: '' } });
  assert.equal(run.status, 2);
  assert.match(run.stderr, /Unknown option '--bogus'/);
  assert.match(run.stderr, /Usage: \.\/scripts\/dev\.sh/);
  assert.doesNotMatch(run.stdout, /postgres|temporal/i, 'nothing was started');
});
