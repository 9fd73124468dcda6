import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

// The read-side benchmark refuses bad flags before it boots anything.
const script = fileURLToPath(new URL('../../benchmarks/queries.ts', import.meta.url));
const run = (...args: string[]) => spawnSync(process.execPath, [script, ...args], { encoding: 'utf8', timeout: 20_000 });

test('bench-queries: garbage flags exit 2 with a message naming the flag', () => {
  for (const [args, pattern] of [
    [['--events', 'lots'], /--events takes a whole number/],
    [['--events', '0'], /--events takes a whole number/],
    [['--requests', '-3'], /--requests|argument/],
    [['--unknown'], /Unknown option '--unknown'/],
  ] as const) {
    const result = run(...args);
    assert.equal(result.status, 2, `${args.join(' ')}: ${result.stderr}`);
    assert.match(result.stderr, pattern);
  }
  const help = run('--help');
  assert.equal(help.status, 0);
  assert.match(help.stdout, /Usage/);
});
