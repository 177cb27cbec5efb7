/**
 * Card numbers in free text, whatever their disguise. ONE normalizer (NFKC, every Unicode decimal
 * digit folded to ASCII) feeds ONE scan, in one of two modes:
 *
 * - STRICT, for anything a client sent (API input, audit fields copied from a request): digit groups
 *   joined by any run of non-letters (whitespace of any kind and length, any punctuation or symbol,
 *   ':' included) are candidates when whole groups add up to 13-19 digits and pass Luhn. Only letters
 *   end a candidate, and nothing is exempt: a UUID whose digits form such a run could be a card
 *   number, so it is one (about 1 random UUID in 400 is refused: the contract's documented cost).
 * - LENIENT, for text the system made (logs, Temporal history exports): at most 3 visible separator
 *   characters between groups, ':' (times of day) ends a candidate, and the exporter additionally
 *   exempts server-made identifiers (UUIDs, hex digests), so run ids and build ids are not flagged.
 *
 * Luhn-invalid runs (order numbers, amounts) are left alone in both modes.
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

export type CardScanMode = 'strict' | 'lenient';

/** Strict: anything but letters and digits may sit between the digit groups of one number. */
const STRICT_JOINT = /^[^\p{L}\p{Nd}]+$/u;
/** Lenient: anything but letters, digits and ':', with at most 3 visible characters. */
const LENIENT_JOINT = /^[^\p{L}\p{Nd}:]+$/u;
const MAX_LENIENT_MARKS = 3;

function joins(between: string, mode: CardScanMode): boolean {
  if (mode === 'strict') return STRICT_JOINT.test(between);
  return LENIENT_JOINT.test(between) && between.replace(/\s+/g, '').length <= MAX_LENIENT_MARKS;
}

interface Candidate {
  start: number;
  end: number;
  digits: string;
}

/** Card-number candidates in normalized text, leftmost first and not overlapping. */
function scan(norm: string, mode: CardScanMode): Candidate[] {
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
    if (prev && !joins(norm.slice(prev.end, group.start), mode)) flush();
    chain.push(group);
  }
  flush();
  return out;
}

/**
 * Masks every candidate to BIN + last 4, with no identifier exemptions in either mode. Lenient (the
 * default) for log lines; strict for text a client sent that is kept anyway (the audit trail).
 */
export function scrubCardNumbers(text: string, mode: CardScanMode = 'lenient'): string {
  const norm = normalizeForCardScan(text);
  const found = scan(norm, mode);
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

/** Strict-scrubs every string and object key in a JSON-like value a client could have supplied. */
export function scrubRequestValue(value: unknown, depth = 0): unknown {
  if (depth > 8) return '[depth]';
  if (typeof value === 'string') return scrubCardNumbers(value, 'strict');
  if (Array.isArray(value)) return value.map((v) => scrubRequestValue(v, depth + 1));
  if (value && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
      out[scrubCardNumbers(k, 'strict')] = scrubRequestValue(v, depth + 1);
    }
    return out;
  }
  return value;
}

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

/**
 * API input: whether text a client sent holds anything that could be a card number, in any
 * disguise (strict mode, no exemptions).
 */
export function containsCardNumber(text: string): boolean {
  return scan(normalizeForCardScan(text), 'strict').length > 0;
}

/**
 * System-made text (history exports, replay corpus): lenient mode, with server-made identifiers
 * (UUIDs, hex digests) exempt except for their leading and trailing digits.
 */
export function containsCardNumberLenient(text: string): boolean {
  return scan(blankIds(normalizeForCardScan(text)), 'lenient').length > 0;
}

/**
 * Whether a URL holds a card number anywhere (host, path, query, fragment), also once
 * percent-decoded: every run of %XX escapes is decoded as UTF-8, repeatedly (double encoding), and
 * the result goes through the strict scan (which applies NFKC).
 */
export function urlContainsCardNumber(url: string): boolean {
  let text = url;
  for (let round = 0; round < 8; round++) {
    if (containsCardNumber(text)) return true;
    const next = text.replace(/(?:%[0-9A-Fa-f]{2})+/g, (run) =>
      Buffer.from(run.replace(/%/g, ''), 'hex').toString('utf8'),
    );
    if (next === text) return false;
    text = next;
  }
  return true;
}

/**
 * JSON path of the first string or object key that holds a card number, also looking inside base64
 * values (payload data); undefined when the value is clean. Used wherever a
 * Temporal history is written out (CLI export, the replay corpus and its tests).
 */
export function findCardNumber(value: unknown, at = '$'): string | undefined {
  if (typeof value === 'string') {
    if (containsCardNumberLenient(value)) return at;
    if (value.length >= 16 && BASE64.test(value)) {
      if (containsCardNumberLenient(Buffer.from(value, 'base64').toString('utf8'))) return `${at} (base64)`;
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
      if (containsCardNumberLenient(k)) return `${at} (key)`;
      const hit = findCardNumber(v, `${at}.${k}`);
      if (hit) return hit;
    }
  }
  return undefined;
}
