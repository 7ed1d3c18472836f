/**
 * Masks secrets that hide inside free text (messages, URLs, stack traces), where key-based redaction
 * cannot see them: bearer credentials, this service's API keys, Authorization header values, and any
 * card-like number (13 to 19 digits, optionally grouped by spaces or dashes), of which the last four stay.
 */
const PATTERNS: [RegExp, (match: string, ...groups: string[]) => string][] = [
  [/\b(authorization|x-api-key)(["']?\s*[:=]\s*["']?)(?:(?:Bearer|Basic|Token)\s+)?[^\s"',;}]+/gi, (_m, name: string, sep: string) => `${name}${sep}[REDACTED]`],
  [/\bBearer\s+[^\s"',;}]+/gi, () => 'Bearer [REDACTED]'],
  [/\bpsk_[A-Za-z0-9_-]+/g, () => 'psk_[REDACTED]'],
];
const CARD_LIKE = /(?<!\d)\d(?:[ -]?\d){12,18}(?!\d)/g;
/** paymentIds are everywhere in logs, and two all-digit groups of one would look like a card number. */
const UUID = /([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})/i;

export function scrubText(text: string): string {
  let result = text;
  for (const [pattern, replace] of PATTERNS) result = result.replace(pattern, replace);
  return result
    .split(UUID)
    .map((part, index) => (index % 2 === 1 ? part : part.replace(CARD_LIKE, (match) => `[PAN …${match.replace(/\D/g, '').slice(-4)}]`)))
    .join('');
}

/** A copy of `value` with every string in it scrubbed (objects and arrays walked, cycles left alone). */
export function scrubDeep<T>(value: T, seen = new WeakSet<object>()): T {
  if (typeof value === 'string') return scrubText(value) as T;
  if (value === null || typeof value !== 'object' || seen.has(value)) return value;
  seen.add(value);
  if (Array.isArray(value)) return value.map((item: unknown) => scrubDeep(item, seen)) as T;
  if (value instanceof Error) return value;
  if (Object.getPrototypeOf(value) !== Object.prototype && Object.getPrototypeOf(value) !== null) return value;
  return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, scrubDeep(item, seen)])) as T;
}
