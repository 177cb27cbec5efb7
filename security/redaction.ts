/**
 * Card numbers in free text, whatever their disguise. ONE normalizer (NFKC, every Unicode decimal
 * digit folded to ASCII) feeds ONE scan: digit groups joined by separators (whitespace of any length,
 * dots, slashes, underscores, dashes, other punctuation or symbols: at most 3 visible separator
 * characters between two groups) are candidates when whole groups add up to 13-19 digits and pass
 * Luhn. Letters and ':' (times of day) end a candidate. The log scrubber masks candidates to BIN +
 * last 4; validation and the history exporter ask whether any candidate exists, outside server-made
 * identifiers (UUIDs, hex digests). Luhn-invalid runs (order numbers, amounts) are left alone.
 */
import { luhnValid } from '../domain/card';

export { luhnValid };

export function maskPan(digits: string): string {
  return `${digits.slice(0, 6)}…${digits.slice(-4)}`;
}

const UNICODE_DIGIT = /\p{Nd}/u;
const NON_ASCII = /[^\p{ASCII}]/u;

/**
 * Unicode encodes every set of decimal digits as a contiguous run in order 0..9 (a stability
 * guarantee), so a digit's value is its distance from the start of its run, modulo 10 (the
 * mathematical digits are five sets back to back).
 */
function digitValue(cp: number): number {
  let start = cp;
  while (start > 0 && UNICODE_DIGIT.test(String.fromCodePoint(start - 1))) start--;
  return (cp - start) % 10;
}

/** NFKC (full-width, superscript, circled digits...), then every other decimal digit to ASCII. */
export function normalizeForCardScan(text: string): string {
  if (!NON_ASCII.test(text)) return text;
  return text
    .normalize('NFKC')
    .replace(/\p{Nd}/gu, (ch) => (ch < '\x80' ? ch : String(digitValue(ch.codePointAt(0)!))));
}

/** Characters that may sit between the digit groups of one number: anything but letters, digits, ':'. */
const JOINT = /^[^\p{L}\p{Nd}:]+$/u;
const MAX_JOINT_MARKS = 3;

function joins(between: string): boolean {
  return JOINT.test(between) && between.replace(/\s+/g, '').length <= MAX_JOINT_MARKS;
}

interface Candidate {
  start: number;
  end: number;
  digits: string;
}

/** Card-number candidates in normalized text, leftmost first and not overlapping. */
function scan(norm: string): Candidate[] {
  const out: Candidate[] = [];
  let chain: Array<{ start: number; end: number; digits: string }> = [];
  const flush = () => {
    let i = 0;
    while (i < chain.length) {
      let best: Candidate | undefined;
      let last = i;
      let digits = '';
      for (let j = i; j < chain.length && digits.length + chain[j]!.digits.length <= 19; j++) {
        digits += chain[j]!.digits;
        if (digits.length >= 13 && luhnValid(digits)) {
          best = { start: chain[i]!.start, end: chain[j]!.end, digits };
          last = j;
        }
      }
      if (best) out.push(best);
      i = last + 1;
    }
    chain = [];
  };
  for (const m of norm.matchAll(/[0-9]+/g)) {
    const group = { start: m.index, end: m.index + m[0].length, digits: m[0] };
    const prev = chain[chain.length - 1];
    if (prev && !joins(norm.slice(prev.end, group.start))) flush();
    chain.push(group);
  }
  flush();
  return out;
}

/** Masks every candidate (no identifier exemptions: a log line is better over-masked). */
export function scrubCardNumbers(text: string): string {
  const norm = normalizeForCardScan(text);
  const found = scan(norm);
  if (found.length === 0) return text;
  let out = '';
  let at = 0;
  for (const c of found) {
    out += norm.slice(at, c.start) + maskPan(c.digits);
    at = c.end;
  }
  return out + norm.slice(at);
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
 * ids) and hex digests of 32+ characters (the worker build id in every workflow task event), as
 * whole tokens. They are blanked for the scan EXCEPT their leading and trailing decimal digits: a
 * PAN with hex glued after it (`4242…4242deadbeef…`), or whose tail is a UUID's first group, is
 * still seen.
 */
const HEX_IDS =
  /(?<![0-9A-Za-z])(?:[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}|[0-9a-f]{32,})(?![0-9A-Za-z])/gi;
const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/;

function blankIds(norm: string): string {
  return norm.replace(HEX_IDS, (id) => {
    const lead = /^[0-9]*/.exec(id)![0];
    if (lead.length === id.length) return id;
    return `${lead} x ${/[0-9]*$/.exec(id)![0]}`;
  });
}

/** Whether free text holds something that could be a card number, in any disguise. */
export function containsCardNumber(text: string): boolean {
  return scan(blankIds(normalizeForCardScan(text))).length > 0;
}

/**
 * JSON path of the first string or object key that holds a card number, also looking inside base64
 * values (payload data); undefined when the value is clean. Used wherever a
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
      // The path names the object, never the key that holds the number.
      if (containsCardNumber(k)) return `${at} (key)`;
      const hit = findCardNumber(v, `${at}.${k}`);
      if (hit) return hit;
    }
  }
  return undefined;
}
