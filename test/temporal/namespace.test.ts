import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Connection } from '@temporalio/client';
import { dynamicConfigFlags } from '../../temporal/dev-server.ts';
import { NAMESPACE, SEARCH_ATTRIBUTES } from '../../temporal/namespace.ts';
import { ensureSearchAttributes } from '../../src/temporal/search-attributes.ts';

describe('the namespace definition and dynamic config in temporal/', () => {
  test('the dynamic-config file becomes one --dynamic-config-value flag per key, values as JSON', () => {
    const flags = dynamicConfigFlags();
    const values = new Map<string, string>();
    for (let index = 0; index < flags.length; index += 2) {
      assert.equal(flags[index], '--dynamic-config-value');
      const [key, value] = flags[index + 1].split(/=(.*)/s);
      values.set(key, value);
    }
    assert.equal(values.get('limit.blobSize.error'), '2097152');
    assert.equal(values.get('frontend.searchAttributesSizeOfValueLimit'), '32768');
    assert.equal(values.get('limit.numPendingChildExecutions.error'), '2000');
  });

  test('a constrained value (which the dev server cannot take) is refused, not silently dropped', () => {
    assert.throws(() => dynamicConfigFlags('limit.blobSize.error:\n  - value: 1\n    constraints: { namespace: x }\n'), /one unconstrained value/);
    assert.deepEqual(dynamicConfigFlags('a.b:\n  - value: "text"\n'), ['--dynamic-config-value', 'a.b="text"']);
  });

  test('registration gives the running server every declared attribute, with its type, and the retention', async () => {
    const connection = await Connection.connect({ address: process.env.TEMPORAL_ADDRESS! });
    try {
      const namespace = process.env.TEMPORAL_NAMESPACE ?? 'default';
      await ensureSearchAttributes(connection, namespace);
      await ensureSearchAttributes(connection, namespace); // a second call changes nothing and does not fail
      const { customAttributes } = await connection.operatorService.listSearchAttributes({ namespace });
      for (const name of Object.keys(SEARCH_ATTRIBUTES)) assert.ok(name in (customAttributes ?? {}), `${name} registered`);
      const described = await connection.workflowService.describeNamespace({ namespace });
      assert.equal(Number(String(described.config?.workflowExecutionRetentionTtl?.seconds)), NAMESPACE.retentionDays * 86_400);
    } finally {
      await connection.close();
    }
  });
});
