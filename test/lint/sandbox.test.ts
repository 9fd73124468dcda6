import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { rm, writeFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { ESLint } from 'eslint';

// The lint step guards what review misses; these probes prove each rule bites. They are written into the
// real tree (type-aware rules need files the TypeScript project can see) and removed afterwards.
const root = fileURLToPath(new URL('../..', import.meta.url));

async function lintProbe(folder: string, source: string): Promise<Array<{ ruleId: string | null; message: string; line: number }>> {
  const path = `${root}${folder}/lint-probe-${randomUUID()}.ts`;
  await writeFile(path, source);
  try {
    const [result] = await new ESLint({ cwd: root }).lintFiles([path]);
    return result.messages.map(({ ruleId, message, line }) => ({ ruleId, message, line }));
  } finally {
    await rm(path, { force: true });
  }
}

const LEAKY = `import { randomUUID } from 'node:crypto';
import { readFileSync } from 'fs';
import knex from 'knex';
import pg from 'pg';
export function leak(): string {
  return [randomUUID(), readFileSync, knex, pg, process.env.HOME].join();
}
`;

test('workflow code may not import Node built-ins, knex or pg, nor read process', async () => {
  const messages = await lintProbe('workflows', LEAKY);
  const restricted = messages.filter((message) => message.ruleId === 'no-restricted-imports').map((message) => message.line);
  assert.deepEqual(restricted, [1, 2, 3, 4], JSON.stringify(messages));
  const globals = messages.filter((message) => message.ruleId === 'no-restricted-globals');
  assert.equal(globals.length, 1, JSON.stringify(messages));
  assert.match(globals[0].message, /deterministic/);
});

test('the same imports are fine outside the sandbox (activities do I/O)', async () => {
  const messages = await lintProbe('activities', LEAKY);
  assert.deepEqual(messages, []);
});

test('a promise nobody awaits is an error everywhere', async () => {
  const messages = await lintProbe(
    'src',
    `async function save(): Promise<void> {}
export function handler(): void {
  save();
}
`,
  );
  assert.deepEqual(messages.map((message) => [message.ruleId, message.line]), [['@typescript-eslint/no-floating-promises', 3]]);
});
