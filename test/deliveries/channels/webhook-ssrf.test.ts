import { test } from 'node:test';
import assert from 'node:assert/strict';
import { lookup } from 'node:dns/promises';
import { hostname } from 'node:os';
import { promisify } from 'node:util';
import {
  UnsafeUrlError,
  assertDeliverableUrl,
  compileAllowList,
  createGuardedLookup,
  isForbiddenAddress,
  type UnsafeUrlReason,
} from '../../../src/deliveries/channels/webhook/ssrf.ts';

async function refusal(url: string, allowList: string[] = []): Promise<UnsafeUrlError> {
  try {
    await assertDeliverableUrl(url, allowList);
  } catch (error) {
    assert.ok(error instanceof UnsafeUrlError, `expected UnsafeUrlError, got ${String(error)}`);
    return error;
  }
  assert.fail(`${url} was accepted`);
}

async function assertRefused(url: string, reason: UnsafeUrlReason, allowList: string[] = []): Promise<void> {
  const error = await refusal(url, allowList);
  assert.equal(error.reason, reason, `${url}: ${error.message}`);
}

test('loopback, private, link-local and metadata addresses are refused', async () => {
  for (const url of [
    'http://127.0.0.1/hook',
    'http://127.1.2.3:8080/hook',
    'http://10.0.0.1/hook',
    'http://172.16.5.4/',
    'http://192.168.1.1/',
    'http://169.254.169.254/latest/meta-data/',
    'http://100.64.0.1/',
    'http://0.0.0.0/',
    'http://224.0.0.1/',
    'http://[::1]/hook',
    'http://[::]/',
    'http://[fd00::1]/',
    'http://[fe80::1]/',
    'http://[ff02::1]/',
  ]) {
    await assertRefused(url, 'blocked_address');
  }
});

test('IPv4 hidden in IPv6 or in odd IPv4 spellings is still refused', async () => {
  for (const url of [
    'http://[::ffff:127.0.0.1]/',
    'http://[::ffff:7f00:1]/',
    'http://[::ffff:169.254.169.254]/',
    'http://[64:ff9b::a00:1]/', // NAT64 of 10.0.0.1
    'http://[2002:7f00:1::]/', // 6to4 of 127.0.0.1
    'http://2130706433/', // 127.0.0.1 as one number
    'http://0x7f.1/',
    'http://017700000001/',
  ]) {
    await assertRefused(url, 'blocked_address');
  }
});

test('hostnames resolving to loopback are refused', async (t) => {
  await assertRefused('http://localhost:3000/hook', 'blocked_address');
  await assertRefused('http://LOCALHOST./hook', 'blocked_address');

  const machine = hostname();
  const addresses = await lookup(machine, { all: true }).catch(() => []);
  if (addresses.length === 0 || !addresses.every(({ address }) => isForbiddenAddress(address))) {
    t.diagnostic(`${machine} does not resolve to a private address here; only localhost was checked`);
    return;
  }
  const error = await refusal(`https://${machine}/hook`);
  assert.equal(error.reason, 'blocked_address');
  assert.match(error.message, new RegExp(`${machine} resolves to it`));
});

test('an allow-listed address, CIDR or hostname may be targeted', async () => {
  assert.equal((await assertDeliverableUrl('http://127.0.0.1:8080/hook', ['127.0.0.1'])).port, '8080');
  await assertDeliverableUrl('http://10.1.2.3/hook', ['10.0.0.0/8']);
  await assertDeliverableUrl('http://localhost:9000/hook', ['localhost']);
  await assertDeliverableUrl('http://[::ffff:127.0.0.1]/hook', ['127.0.0.0/8']);
  // The allow-list is exact: a neighbour stays refused.
  await assertRefused('http://127.0.0.2/hook', 'blocked_address', ['127.0.0.1']);
  await assertRefused('http://10.1.2.3/hook', 'blocked_address', ['localhost']);
});

test('public addresses pass', async () => {
  await assertDeliverableUrl('https://93.184.215.14/hook');
  await assertDeliverableUrl('https://[2606:4700:4700::1111]/hook');
  assert.equal(isForbiddenAddress('8.8.8.8'), false);
  assert.equal(isForbiddenAddress('::ffff:8.8.8.8'), false);
});

test('only http and https without credentials are accepted', async () => {
  await assertRefused('ftp://93.184.215.14/file', 'unsupported_protocol');
  await assertRefused('file:///etc/passwd', 'unsupported_protocol');
  await assertRefused('gopher://93.184.215.14/', 'unsupported_protocol');
  await assertRefused('https://user:secret@93.184.215.14/hook', 'credentials_in_url');
  await assertRefused('https://user@93.184.215.14/hook', 'credentials_in_url');
  await assertRefused('not a url', 'invalid_url');
});

test('a host that does not resolve is reported as unresolvable', async () => {
  await assertRefused('https://no-such-host.invalid/hook', 'unresolvable');
});

test('a malformed CIDR in the allow-list is a configuration error', () => {
  assert.throws(() => compileAllowList(['10.0.0.0/33']), /invalid CIDR/);
  assert.throws(() => compileAllowList(['example.com/8']), /invalid CIDR/);
});

test('the connect-time lookup refuses a name that resolves to a private address', async () => {
  const guarded = promisify(createGuardedLookup([])) as unknown as (host: string, options: object) => Promise<unknown>;
  await assert.rejects(guarded('localhost', { all: true }), (error: unknown) => {
    assert.ok(error instanceof UnsafeUrlError);
    assert.equal(error.reason, 'blocked_address');
    return true;
  });
});

test('the connect-time lookup answers like dns.lookup for allowed names', async () => {
  const loopback = ['127.0.0.1', '::1'];
  const lookupFn = createGuardedLookup(loopback);
  const [address, family] = await new Promise<[string, number]>((resolve, reject) =>
    lookupFn('localhost', {}, (error, found, foundFamily) => (error ? reject(error) : resolve([found as string, foundFamily as number]))),
  );
  assert.ok(loopback.includes(address));
  assert.equal(family, address.includes(':') ? 6 : 4);
  const all = await new Promise<Array<{ address: string }>>((resolve, reject) =>
    lookupFn('localhost', { all: true }, (error, found) => (error ? reject(error) : resolve(found as unknown as Array<{ address: string }>))),
  );
  assert.ok(all.length > 0 && all.every((entry) => loopback.includes(entry.address)));
});
