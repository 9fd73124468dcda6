import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { bundleWorkflowCode } from '@temporalio/worker';
import { buildWorkflowBundle } from '../../src/worker/create-worker.ts';

const silent = { log() {}, trace() {}, debug() {}, info() {}, warn() {}, error() {} };

test('the workflow bundle builds, so no Node API has leaked into workflow code', async () => {
  const bundle = await buildWorkflowBundle();
  assert.ok(bundle.code.includes('processBatch'));
  assert.ok(bundle.code.includes('deliveryWorkflow'));
});

test('the bundler refuses workflow code that reaches for a Node API (the check above can fail)', async () => {
  const dir = await mkdtemp(path.join(tmpdir(), 'leaky-workflow-'));
  try {
    const file = path.join(dir, 'workflows.ts');
    await writeFile(file, `import { readFileSync } from 'node:fs';\nexport async function leaky() { return readFileSync('/etc/hostname', 'utf8'); }\n`);
    await assert.rejects(bundleWorkflowCode({ workflowsPath: file, logger: silent }));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
