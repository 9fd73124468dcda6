/** Node reports IPv4 clients of a dual-stack socket as "::ffff:a.b.c.d"; store the plain IPv4. */
export function clientIp(ip: string): string | undefined {
  if (!ip) return undefined;
  return ip.startsWith('::ffff:') && ip.includes('.') ? ip.slice(7) : ip;
}
