// Event-type filters shared by webhook endpoints and notification rules. A pattern is `*` (everything),
// an exact type name, or a dotted prefix ending in `.*`: `order.*` matches `order.created` and
// `order.refund.done`, but not `order` itself.

export const MAX_EVENT_TYPE_PATTERN_LENGTH = 200;

/** Why a pattern is unusable, or undefined when it is fine. Called at the API edge only. */
export function eventTypePatternProblem(pattern: string): string | undefined {
  if (pattern.length === 0) return 'must not be empty';
  if (pattern.length > MAX_EVENT_TYPE_PATTERN_LENGTH) return `must be at most ${MAX_EVENT_TYPE_PATTERN_LENGTH} characters`;
  if (pattern !== pattern.trim()) return 'must not start or end with whitespace';
  if (/\p{Cc}/u.test(pattern)) return 'must not contain control characters';
  if (pattern === '*') return undefined;
  const wildcard = pattern.indexOf('*');
  if (wildcard === -1) return undefined;
  if (wildcard !== pattern.length - 1 || !pattern.endsWith('.*') || pattern.length < 3) {
    return 'a wildcard is only allowed as "*" or as a final ".*" segment (e.g. "order.*")';
  }
  return undefined;
}

export function matchesEventType(patterns: readonly string[], type: string): boolean {
  for (const pattern of patterns) {
    if (pattern === '*' || pattern === type) return true;
    if (pattern.endsWith('.*')) {
      const prefix = pattern.slice(0, -1); // keeps the dot: "order."
      if (type.length > prefix.length && type.startsWith(prefix)) return true;
    }
  }
  return false;
}
