import { randomUUID } from 'node:crypto';
import type { Knex } from 'knex';

/** A fresh project row, so each test works in its own tenant and never sees another test's data. */
export async function createTestProject(db: Knex, name = 'test'): Promise<string> {
  const id = randomUUID();
  await db('projects').insert({ id, name: `${name}-${id.slice(0, 8)}` });
  return id;
}

/** Polls until `check` returns a truthy value or the deadline passes (then the last error is thrown). */
export async function waitFor<T>(check: () => Promise<T | undefined | null | false>, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const value = await check();
      if (value) return value;
    } catch (error) {
      lastError = error;
    }
    if (Date.now() > deadline) {
      throw new Error(`condition not met within ${timeoutMs} ms${lastError ? `: ${String(lastError)}` : ''}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}
