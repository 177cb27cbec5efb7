/**
 * Card-number scrubbing for anything that leaves the process as text (log lines, error messages).
 * Any Luhn-valid run of 13-19 digits (optionally separated by single spaces or dashes) is replaced by
 * BIN (first 6) + '…' + last 4. Luhn-invalid digit runs (order numbers, amounts) are left alone.
 */
const CANDIDATE = /(?<![0-9])(?:[0-9][ -]?){12,18}[0-9](?![0-9])/g;

export function luhnValid(digits: string): boolean {
  let sum = 0;
  for (let i = 0; i < digits.length; i++) {
    let d = digits.charCodeAt(digits.length - 1 - i) - 48;
    if (i % 2 === 1) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
  }
  return digits.length > 0 && sum % 10 === 0;
}

export function maskPan(digits: string): string {
  return `${digits.slice(0, 6)}…${digits.slice(-4)}`;
}

export function scrubCardNumbers(text: string): string {
  return text.replace(CANDIDATE, (match) => {
    const digits = match.replace(/[ -]/g, '');
    if (digits.length < 13 || digits.length > 19 || !luhnValid(digits)) return match;
    return maskPan(digits);
  });
}

/** Deep-scrub any JSON-like value (strings scrubbed; known secret keys replaced). */
const SECRET_KEYS =
  /^(number|pan|cardNumber|cvc|cvv|cvv2|password|clientSecret|secret|accessToken|mfaToken|code|authorization|privateKey|amounts)$/i;

export function scrubValue(value: unknown, depth = 0): unknown {
  if (depth > 8) return '[depth]';
  if (typeof value === 'string') return scrubCardNumbers(value);
  if (Array.isArray(value)) return value.map((v) => scrubValue(v, depth + 1));
  // Errors keep message and stack in non-enumerable properties: serialize them here (pino runs
  // formatters.log before serializers), or the error would reach the log as `{}`.
  if (value instanceof Error) {
    const e = value as Error & { code?: unknown; type?: unknown; cause?: unknown };
    return {
      type: e.name,
      message: scrubCardNumbers(e.message),
      stack: e.stack === undefined ? undefined : scrubCardNumbers(e.stack),
      ...(typeof e.code === 'string' ? { code: e.code } : {}),
      ...(e.cause !== undefined ? { cause: scrubValue(e.cause, depth + 1) } : {}),
    };
  }
  if (value && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
      out[k] = SECRET_KEYS.test(k) ? '[redacted]' : scrubValue(v, depth + 1);
    }
    return out;
  }
  return value;
}

/**
 * Server- and SDK-made identifiers whose hex digits can pass Luhn by chance: UUIDs (run and request
 * ids) and hex digests of 32+ characters (the worker build id in every workflow task event).
 */
const HEX_IDS = /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}|[0-9a-f]{32,}/gi;
const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/;

/**
 * Whether free text holds a card number: a Luhn-valid run of 13-19 digits outside identifiers such
 * as UUIDs (about 1 random UUID in 400 has digit groups that form a Luhn-valid run across hyphens).
 */
export function containsCardNumber(text: string): boolean {
  const scanned = text.replace(HEX_IDS, (id) => (/[a-f]/i.test(id) ? ' ' : id));
  return scrubCardNumbers(scanned) !== scanned;
}

/**
 * JSON path of the first string that holds a card number (a Luhn-valid run of 13-19 digits), also
 * looking inside base64 values (payload data); undefined when the value is clean. Used wherever a
 * Temporal history is written out (CLI export, the replay corpus and its tests).
 */
export function findCardNumber(value: unknown, at = '$'): string | undefined {
  if (typeof value === 'string') {
    if (containsCardNumber(value)) return at;
    if (value.length >= 16 && BASE64.test(value)) {
      if (containsCardNumber(Buffer.from(value, 'base64').toString('utf8'))) return `${at} (base64)`;
    }
    return undefined;
  }
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const hit = findCardNumber(value[i], `${at}[${i}]`);
      if (hit) return hit;
    }
    return undefined;
  }
  if (value && typeof value === 'object') {
    for (const [k, v] of Object.entries(value)) {
      const hit = findCardNumber(v, `${at}.${k}`);
      if (hit) return hit;
    }
  }
  return undefined;
}
