import { BlockList, isIP, isIPv4, type LookupFunction } from 'node:net';
import { lookup as dnsLookup, type LookupAddress, type LookupOptions } from 'node:dns';
import { promisify } from 'node:util';

// SSRF guard for webhook targets. A URL is checked twice: when an endpoint is saved (a clear 400 for the
// owner) and again at connect time through `createGuardedLookup`, because DNS can change between the two
// (rebinding): the address actually dialled is the one checked.

export type UnsafeUrlReason =
  | 'invalid_url'
  | 'unsupported_protocol'
  | 'credentials_in_url'
  | 'blocked_address'
  | 'unresolvable';

export class UnsafeUrlError extends Error {
  readonly reason: UnsafeUrlReason;
  /** The offending resolved address, when the refusal is about one. */
  readonly address: string | undefined;

  constructor(reason: UnsafeUrlReason, message: string, address?: string) {
    super(message);
    this.name = 'UnsafeUrlError';
    this.reason = reason;
    this.address = address;
  }
}

// Everything that is not the public internet: RFC 6890 special-purpose registries, trimmed to what can
// reach something of ours (loopback, private, link-local incl. cloud metadata 169.254.169.254, CGNAT,
// multicast, reserved and documentation ranges).
const FORBIDDEN_IPV4: Array<[string, number]> = [
  ['0.0.0.0', 8],
  ['10.0.0.0', 8],
  ['100.64.0.0', 10],
  ['127.0.0.0', 8],
  ['169.254.0.0', 16],
  ['172.16.0.0', 12],
  ['192.0.0.0', 24],
  ['192.0.2.0', 24],
  ['192.88.99.0', 24],
  ['192.168.0.0', 16],
  ['198.18.0.0', 15],
  ['198.51.100.0', 24],
  ['203.0.113.0', 24],
  ['224.0.0.0', 4],
  ['240.0.0.0', 4],
];

const FORBIDDEN_IPV6: Array<[string, number]> = [
  ['::', 128],
  ['::1', 128],
  ['64:ff9b:1::', 48], // local-use NAT64
  ['100::', 64], // discard-only
  ['2001::', 32], // Teredo: tunnels to an obfuscated IPv4 we cannot vet
  ['2001:db8::', 32],
  ['fc00::', 7], // unique local
  ['fe80::', 10], // link-local
  ['fec0::', 10], // deprecated site-local
  ['ff00::', 8], // multicast
];

const forbidden = new BlockList();
for (const [network, prefix] of FORBIDDEN_IPV4) forbidden.addSubnet(network, prefix, 'ipv4');
for (const [network, prefix] of FORBIDDEN_IPV6) forbidden.addSubnet(network, prefix, 'ipv6');

/** The eight 16-bit groups of an IPv6 address already validated by `net.isIPv6`. */
function ipv6Groups(address: string): number[] {
  let text = address.split('%')[0]!.toLowerCase();
  const dotted = text.match(/^(.*:)(\d+)\.(\d+)\.(\d+)\.(\d+)$/);
  if (dotted) {
    const [a, b, c, d] = dotted.slice(2).map(Number) as [number, number, number, number];
    text = `${dotted[1]}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const parse = (part: string) => (part ? part.split(':').map((group) => parseInt(group, 16)) : []);
  const halves = text.split('::');
  if (halves.length === 1) return parse(text);
  const left = parse(halves[0]!);
  const right = parse(halves[1]!);
  return [...left, ...new Array<number>(8 - left.length - right.length).fill(0), ...right];
}

function ipv4FromGroups(high: number, low: number): string {
  return [high >> 8, high & 0xff, low >> 8, low & 0xff].join('.');
}

/**
 * The IPv4 address an IPv6 address stands for, when it embeds one: IPv4-mapped (::ffff:a.b.c.d),
 * IPv4-compatible (::a.b.c.d, which also covers :: and ::1), SIIT (::ffff:0:a.b.c.d), NAT64
 * (64:ff9b::a.b.c.d) and 6to4 (2002:AABB:CCDD::). Each of those can end up dialling the IPv4 inside.
 */
export function embeddedIPv4(address: string): string | undefined {
  const g = ipv6Groups(address);
  const zeros = (from: number, to: number) => g.slice(from, to).every((group) => group === 0);
  if (zeros(0, 5) && (g[5] === 0xffff || g[5] === 0)) return ipv4FromGroups(g[6]!, g[7]!);
  if (zeros(0, 4) && g[4] === 0xffff && g[5] === 0) return ipv4FromGroups(g[6]!, g[7]!);
  if (g[0] === 0x64 && g[1] === 0xff9b && zeros(2, 6)) return ipv4FromGroups(g[6]!, g[7]!);
  if (g[0] === 0x2002) return ipv4FromGroups(g[1]!, g[2]!);
  return undefined;
}

/** True for any address that is not plainly on the public internet. */
export function isForbiddenAddress(address: string): boolean {
  const family = isIP(address);
  if (family === 4) return forbidden.check(address, 'ipv4');
  if (family === 6) {
    const inner = embeddedIPv4(address);
    if (inner !== undefined) return forbidden.check(inner, 'ipv4');
    return forbidden.check(address.split('%')[0]!, 'ipv6');
  }
  return true; // not an IP at all: refuse rather than guess
}

interface CompiledAllowList {
  hosts: Set<string>;
  addresses: BlockList;
}

const compiledAllowLists = new Map<string, CompiledAllowList>();

function normalizeHost(host: string): string {
  return host.replace(/^\[|\]$/g, '').replace(/\.$/, '').toLowerCase();
}

/**
 * Allow-list entries are hostnames (exact, case-insensitive), IPs or CIDRs. Compiled once per distinct
 * list: in practice there is one, from config. Throws on a malformed CIDR, which surfaces at boot.
 */
export function compileAllowList(entries: readonly string[]): CompiledAllowList {
  const key = entries.join(',');
  const cached = compiledAllowLists.get(key);
  if (cached) return cached;
  const hosts = new Set<string>();
  const addresses = new BlockList();
  for (const raw of entries) {
    const entry = normalizeHost(raw.trim());
    if (!entry) continue;
    const [network, prefixText] = entry.split('/');
    const family = isIP(network!);
    if (prefixText !== undefined) {
      const prefix = Number(prefixText);
      const max = family === 4 ? 32 : 128;
      if (family === 0 || !Number.isInteger(prefix) || prefix < 0 || prefix > max) {
        throw new Error(`invalid CIDR in webhook allow-list: "${raw}"`);
      }
      addresses.addSubnet(network!, prefix, family === 4 ? 'ipv4' : 'ipv6');
    } else if (family !== 0) {
      addresses.addAddress(entry, family === 4 ? 'ipv4' : 'ipv6');
    } else {
      hosts.add(entry);
    }
  }
  const compiled = { hosts, addresses };
  compiledAllowLists.set(key, compiled);
  return compiled;
}

function isAllowedAddress(address: string, allow: CompiledAllowList): boolean {
  const family = isIP(address);
  if (family === 4) return allow.addresses.check(address, 'ipv4');
  if (family !== 6) return false;
  const bare = address.split('%')[0]!;
  if (allow.addresses.check(bare, 'ipv6')) return true;
  const inner = embeddedIPv4(bare);
  return inner !== undefined && allow.addresses.check(inner, 'ipv4');
}

function assertAddress(address: string, host: string, allow: CompiledAllowList): void {
  if (isForbiddenAddress(address) && !isAllowedAddress(address, allow)) {
    const via = address === host ? '' : ` (${host} resolves to it)`;
    throw new UnsafeUrlError('blocked_address', `refusing to deliver to private or reserved address ${address}${via}`, address);
  }
}

export interface CheckedUrl {
  url: URL;
  /** Host without IPv6 brackets or trailing dot, lower-cased. */
  host: string;
  /** True when the host is a name that still has to be resolved (and checked) before connecting. */
  needsResolution: boolean;
}

/**
 * Everything that can be checked without DNS: scheme, credentials, literal IPs. Cheap enough for every
 * send; the name → address check then happens at connect time in `createGuardedLookup`.
 */
export function assertUrlShape(rawUrl: string, allowList: readonly string[]): CheckedUrl {
  let url: URL;
  try {
    url = new URL(rawUrl);
  } catch {
    throw new UnsafeUrlError('invalid_url', 'not a valid absolute URL');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new UnsafeUrlError('unsupported_protocol', `only http and https URLs are allowed, got ${url.protocol.replace(/:$/, '')}`);
  }
  if (url.username || url.password) {
    throw new UnsafeUrlError('credentials_in_url', 'URLs must not carry credentials; use custom headers instead');
  }
  const host = normalizeHost(url.hostname);
  if (!host) throw new UnsafeUrlError('invalid_url', 'URL has no host');
  const allow = compileAllowList(allowList);
  if (allow.hosts.has(host)) return { url, host, needsResolution: false };
  if (isIP(host) !== 0) {
    assertAddress(host, host, allow);
    return { url, host, needsResolution: false };
  }
  return { url, host, needsResolution: true };
}

const lookupAll = promisify(dnsLookup);

/**
 * Full check, DNS included: every address the host resolves to must be public (or allow-listed),
 * since the connection may use any of them. Returns the parsed URL.
 */
export async function assertDeliverableUrl(rawUrl: string, allowList: readonly string[] = []): Promise<URL> {
  const checked = assertUrlShape(rawUrl, allowList);
  if (!checked.needsResolution) return checked.url;
  let addresses: LookupAddress[];
  try {
    addresses = await lookupAll(checked.host, { all: true, verbatim: true });
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? 'error';
    throw new UnsafeUrlError('unresolvable', `host ${checked.host} does not resolve (${code})`);
  }
  if (addresses.length === 0) throw new UnsafeUrlError('unresolvable', `host ${checked.host} has no addresses`);
  const allow = compileAllowList(allowList);
  for (const { address } of addresses) assertAddress(address, checked.host, allow);
  return checked.url;
}

/**
 * A `lookup` for `net.connect` (undici's `connect` option): resolves like `dns.lookup`, then refuses the
 * connection if any address is forbidden. Errors are `UnsafeUrlError`s, so callers can tell a refusal
 * from a network failure.
 */
export function createGuardedLookup(allowList: readonly string[]): LookupFunction {
  const allow = compileAllowList(allowList);
  return ((hostname: string, options: LookupOptions, callback: (...args: unknown[]) => void) => {
    const host = normalizeHost(hostname);
    const trusted = allow.hosts.has(host);
    dnsLookup(hostname, { ...options, all: true }, (error: NodeJS.ErrnoException | null, addresses: LookupAddress[]) => {
      if (error) {
        callback(error);
        return;
      }
      if (addresses.length === 0) {
        callback(new UnsafeUrlError('unresolvable', `host ${host} has no addresses`));
        return;
      }
      if (!trusted) {
        try {
          for (const { address } of addresses) assertAddress(address, host, allow);
        } catch (refusal) {
          callback(refusal);
          return;
        }
      }
      if (options.all) callback(null, addresses);
      else callback(null, addresses[0]!.address, addresses[0]!.family);
    });
  }) as LookupFunction;
}
