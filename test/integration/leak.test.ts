/**
 * LEAK TEST: the full payment flow (tokenize a known test card with a CVC, authorize, capture,
 * refund, plus a rejected tokenization) through the API on the real stack, then a search for the
 * card number and the CVC in everything the run left behind:
 *   - every log line the API, the workers and the SDK runtime wrote (captured), and the Temporal
 *     dev server's log;
 *   - a dump of the run's PostgreSQL database (pg_dump, or every row through SQL);
 *   - every Temporal history of the run exported as JSON, and the payloads' decoded bytes; with the
 *     codec on, every payload in history must be encrypted (metadata encoding binary/encrypted);
 *   - the Temporal dev server's SQLite file (and its WAL).
 * The number is searched as digits, with separators, as hex and as base64 (all three alignments);
 * the CVC is only 3 digits, so it is searched where it would appear as a value (JSON/key=value/quoted).
 */
import fs from 'node:fs';
import { temporal } from '@temporalio/proto';
import { ENCODING_ENCRYPTED } from '../../security/payload-codec';
import { dumpDatabase } from '../support/pg-dump';
import { startStack, testEnv, type Stack } from '../support/stack';

const PAN = '4242424242424242'; // Stripe's documented Visa test number
const CVC = '739';

let stack: Stack;
const lines: string[] = [];
let n = 0;
const key = () => `leak-${Date.now()}-${++n}`;

beforeAll(async () => {
  stack = await startStack({ logSink: (l) => void lines.push(l) });
}, 120_000);
afterAll(async () => {
  await stack?.stop();
});

/** Base64 of `s` at each of the three byte alignments, trimmed to the characters that are stable. */
function base64Forms(s: string): string[] {
  const out: string[] = [];
  for (let pad = 0; pad < 3; pad++) {
    const b64 = Buffer.concat([Buffer.alloc(pad, 0x20), Buffer.from(s)]).toString('base64');
    const start = pad === 0 ? 0 : pad === 1 ? 2 : 3;
    const end = b64.replace(/=+$/, '').length - 2;
    out.push(b64.slice(start, end));
  }
  return out;
}

const PAN_NEEDLES = [
  PAN,
  PAN.replace(/(\d{4})(?=\d)/g, '$1 '),
  PAN.replace(/(\d{4})(?=\d)/g, '$1-'),
  Buffer.from(PAN).toString('hex'),
  ...base64Forms(PAN),
];
const CVC_PATTERNS = [
  new RegExp(`cvc["'\\\\]*\\s*[:=]\\s*["'\\\\]*${CVC}`, 'i'),
  new RegExp(`cvv["'\\\\]*\\s*[:=]\\s*["'\\\\]*${CVC}`, 'i'),
  new RegExp(`["']${CVC}["']`),
];
/**
 * The CVC is too short for base64 fragments (4 characters match random ciphertext by chance in a
 * large dump): base64 runs are decoded whole and searched with the patterns above instead.
 */
const BASE64_RUN = /[A-Za-z0-9+/]{16,}={0,2}/g;
const decodedBase64 = (text: string) =>
  (text.match(BASE64_RUN) ?? []).map((b) => Buffer.from(b, 'base64').toString('latin1')).join('\n');

function hits(where: string, text: string): string[] {
  const found: string[] = [];
  for (const needle of PAN_NEEDLES)
    if (text.includes(needle)) found.push(`${where}: card number (${needle})`);
  const decoded = decodedBase64(text);
  for (const re of CVC_PATTERNS) {
    if (re.test(text)) found.push(`${where}: CVC (${re.source})`);
    else if (re.test(decoded)) found.push(`${where}: CVC in base64 (${re.source})`);
  }
  return found;
}

/**
 * History exported as JSON, bytes as base64 (what `temporal workflow show --output json` gives).
 * Not the SDK's historyToJSON: its protobufjs instance differs from @temporalio/proto's under jest.
 */
function historyJson(h: temporal.api.history.v1.IHistory): string {
  const H = temporal.api.history.v1.History;
  return JSON.stringify(H.toObject(H.fromObject(h), { bytes: String, longs: String, enums: String }));
}

async function api(method: 'post' | 'get', path: string, auth: string, body?: unknown) {
  const req = method === 'post' ? stack.http.post(path).set('Idempotency-Key', key()) : stack.http.get(path);
  return req.set('Authorization', auth).send(body as object);
}

/**
 * Every payload in an exported history. Three kinds are written in clear by design and only checked
 * for card data: search attributes (indexed by the server), the SDK's own patch markers
 * (`core_patch`, written by the Rust core with the patch id only) and the bookkeeping of a local
 * activity marker (`core_local_activity` detail `data`: sequence, attempt, activity id and type,
 * times, written by the core). A local activity's `result` goes through the codec like any payload.
 */
type JsonPayload = { metadata: Record<string, string>; data?: string };
function payloadsOf(
  node: unknown,
  clearByDesign = false,
  out: Array<{ p: JsonPayload; clear: boolean }> = [],
) {
  if (Array.isArray(node)) for (const x of node) payloadsOf(x, clearByDesign, out);
  else if (node && typeof node === 'object') {
    const o = node as Record<string, unknown>;
    const clear = clearByDesign || o.markerName === 'core_patch';
    if (o.metadata && typeof o.metadata === 'object' && 'data' in o) out.push({ p: o as JsonPayload, clear });
    const localActivity = o.markerName === 'core_local_activity';
    for (const [k, v] of Object.entries(o)) {
      if (localActivity && k === 'details' && v && typeof v === 'object') {
        for (const [dk, dv] of Object.entries(v as Record<string, unknown>))
          payloadsOf(dv, clear || dk === 'data', out);
      } else payloadsOf(v, clear || k === 'searchAttributes', out);
    }
  }
  return out;
}

test('no card number or CVC in logs, database dump, Temporal histories or the Temporal SQLite file', async () => {
  const { authorization: auth } = await stack.serviceAuth();
  const expYear = new Date().getUTCFullYear() + 2;

  // The flow: tokenize (with CVC), a rejected tokenization, authorize, capture, refund.
  const tok = await api('post', '/v1/vault/cards', auth, { number: PAN, expMonth: 12, expYear, cvc: CVC });
  expect(tok.status).toBe(201);
  const bad = await api('post', '/v1/vault/cards', auth, {
    number: PAN,
    expMonth: 1,
    expYear: 2001,
    cvc: CVC,
  });
  expect(bad.status).toBe(400);
  const pay = await api('post', '/v1/payments', auth, {
    amount: 2500,
    currency: 'USD',
    paymentMethod: { token: tok.body.token },
    capture: 'manual',
    description: 'leak test',
  });
  expect(pay.status).toBe(201);
  expect(pay.body.status).toBe('authorized');
  const paymentId = pay.body.id as string;
  const cap = await api('post', `/v1/payments/${paymentId}/capture`, auth, {});
  expect(cap.status).toBe(200);
  expect(cap.body.amountCaptured).toBe(2500);
  const ref = await api('post', `/v1/payments/${paymentId}/refunds`, auth, {
    amount: 1000,
    reason: 'requested_by_customer',
  });
  expect(ref.status).toBe(201);
  const deadline = Date.now() + 30_000;
  for (;;) {
    const p = await api('get', `/v1/payments/${paymentId}`, auth);
    if (p.body.amountRefunded === 1000) break;
    if (Date.now() > deadline) throw new Error(`refund did not complete: ${JSON.stringify(p.body)}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  // The CVC was destroyed by the first authorization.
  const cvcRow = await stack.pool.query('SELECT cvc_ct FROM cards WHERE token = $1', [tok.body.token]);
  expect(cvcRow.rows[0].cvc_ct).toBeNull();

  const found: string[] = [];
  // The test must be able to fail: the needles do match the raw inputs.
  expect(hits('self-check', JSON.stringify({ number: PAN, cvc: CVC })).length).toBeGreaterThanOrEqual(2);
  const sealedLike = Buffer.from(JSON.stringify({ holder: 'x', cvc: CVC })).toString('base64');
  expect(hits('self-check', `row\t${sealedLike}\n`).join()).toContain('self-check: CVC in base64');

  // 1. Log lines (API logger + SDK runtime/worker logs), and the Temporal server's log.
  expect(lines.length).toBeGreaterThan(0);
  lines.forEach((l, i) => found.push(...hits(`log line ${i}`, l)));
  const artifacts = process.env.SETTLE_TEST_ARTIFACTS;
  if (artifacts && fs.existsSync(`${artifacts}/temporal.log`)) {
    found.push(...hits('temporal.log', fs.readFileSync(`${artifacts}/temporal.log`, 'latin1')));
  }

  // 2. A dump of the run's database (pg_dump, or every row through SQL: see pg-dump.ts).
  const dump = await dumpDatabase(testEnv().databaseUrl);
  expect(dump.text).toContain(tok.body.token); // the dump is the right database
  found.push(...hits(`database dump (${dump.method})`, dump.text));

  // 3. Temporal histories of this run's workflows, exported as JSON.
  const ids = new Set<string>();
  for await (const wf of stack.client.workflow.list({ query: `TaskQueue = '${stack.taskQueue}'` }))
    ids.add(wf.workflowId);
  expect(ids.size).toBeGreaterThan(0);
  let payloadCount = 0;
  for (const id of ids) {
    const json = historyJson(await stack.client.workflow.getHandle(id).fetchHistory());
    found.push(...hits(`history ${id}`, json));
    for (const { p, clear } of payloadsOf(JSON.parse(json))) {
      const meta = p.metadata;
      const data = Buffer.from(String(p.data ?? ''), 'base64').toString('latin1');
      found.push(...hits(`history ${id} payload bytes`, data));
      if (clear) continue;
      payloadCount++;
      const encoding = Buffer.from(meta.encoding ?? '', 'base64').toString();
      if (encoding !== ENCODING_ENCRYPTED) found.push(`history ${id}: payload not encrypted (${encoding})`);
      if (/^\s*[[{"]/.test(data)) found.push(`history ${id}: payload data looks like plain JSON`);
    }
  }
  expect(payloadCount).toBeGreaterThan(0);

  // 4. The Temporal dev server's SQLite file (WAL mode: the latest pages may be in -wal).
  const db = process.env.SETTLE_TEST_TEMPORAL_DB;
  expect(db && fs.existsSync(db)).toBeTruthy();
  for (const f of [db!, `${db}-wal`]) {
    if (fs.existsSync(f)) found.push(...hits(f, fs.readFileSync(f).toString('latin1')));
  }

  expect(found).toEqual([]);
}, 120_000);
