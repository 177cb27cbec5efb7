/**
 * Bank-account verification through the HTTP API on the real dev server (real PostgreSQL, the
 * sandbox bank provider on the card-data worker): every status of the contract, the attempt limit
 * under parallel submissions, joining an existing verification, provider events (duplicates, out of
 * order), and the micro-deposit amounts absent from Temporal history, search attributes and errors.
 */
import { sandboxDepositEvents, sandboxStatementAmounts } from '../../activities/providers/sandbox/bank';
import { bankWorkflowIdOf } from '../../api/bank-accounts-service';
import type { Payload } from '@temporalio/common';
import { displayCodec } from '../../security/payload-codec';
import fs from 'node:fs';
import path from 'node:path';
import { decodeHistoryPayloads, historyFileText } from '../../cli/workflows';
import { startStack, type Stack } from '../support/stack';

jest.setTimeout(120_000);

const ROUTING = '110000000'; // valid ABA checksum (Stripe's documented test routing number)
let stack: Stack;
let short: Stack;
let auth: string;
let n = 0;
const key = () => `ba-it-${Date.now()}-${++n}`;
/** A fresh account number ending in the sandbox trigger `suffix` (unique per test). */
const account = (suffix: string) => `${String(Date.now()).slice(-8)}${String(++n).padStart(3, '0')}${suffix}`;

beforeAll(async () => {
  stack = await startStack();
  // Short window + reminder, and a short answer wait so `pending` is observable (sandbox ...4444 hangs).
  short = await startStack({
    authWaitMs: 1500,
    bank: { windowMs: 6000, reminderAfterMs: [2000], hangMs: 8000 },
  });
  auth = (await stack.serviceAuth()).authorization;
}, 180_000);
afterAll(async () => {
  await stack?.stop();
  await short?.stop();
});

async function create(s: Stack, authz: string, accountNumber: string, idem = key()) {
  return s.http
    .post('/v1/bank-accounts')
    .set('Authorization', authz)
    .set('Idempotency-Key', idem)
    .send({ routingNumber: ROUTING, accountNumber, holderName: 'Jenny Rosen', accountType: 'checking' });
}
const verify = (s: Stack, authz: string, id: string, amounts: unknown) =>
  s.http
    .post(`/v1/bank-accounts/${id}/verify`)
    .set('Authorization', authz)
    .set('Idempotency-Key', key())
    .send({ amounts });

async function poll<T>(read: () => Promise<T>, ok: (v: T) => boolean, ms = 60_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await read();
    if (ok(v)) return v;
    if (Date.now() > deadline) throw new Error(`condition not reached: ${JSON.stringify(v)}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
const getAccount = (s: Stack, authz: string, id: string) =>
  s.http
    .get(`/v1/bank-accounts/${id}`)
    .set('Authorization', authz)
    .then((r) => r.body as Record<string, unknown>);

async function statement(s: Stack, id: string): Promise<[number, number]> {
  const a = await poll(
    () => sandboxStatementAmounts(s.pool, id),
    (v) => v !== undefined,
  );
  return a!;
}
/**
 * With RECORD_BANK_HISTORIES=1, each path's history is written (payloads decrypted) to the replay
 * corpus as test/replay/histories/bank-<flow>.json, replayed by test/replay/replay.test.ts.
 */
async function record(s: Stack, flow: string, id: string): Promise<void> {
  if (process.env.RECORD_BANK_HISTORIES !== '1') return;
  const handle = s.client.workflow.getHandle(bankWorkflowIdOf(id));
  const history = await decodeHistoryPayloads(await handle.fetchHistory());
  const out = path.join(__dirname, '..', 'replay', 'histories', `bank-${flow}.json`);
  fs.writeFileSync(out, historyFileText(history));
}
const wrongPair = ([a, b]: [number, number]): [number, number] => [(a % 99) + 1, b];

test('bad input is 400 in the contract shape, naming the field, never echoing the number', async () => {
  const badAba = await stack.http
    .post('/v1/bank-accounts')
    .set('Authorization', auth)
    .set('Idempotency-Key', key())
    .send({
      routingNumber: '110000001',
      accountNumber: '000123456789',
      holderName: 'J',
      accountType: 'checking',
    });
  expect(badAba.status).toBe(400);
  expect(badAba.body.error).toMatchObject({
    type: 'invalid_request',
    code: 'invalid_routing_number',
    details: { field: 'routingNumber' },
  });
  const short4 = await create(stack, auth, '123');
  expect(short4.status).toBe(400);
  expect(short4.body.error.details).toEqual({ field: 'accountNumber' });
  expect(JSON.stringify(short4.body)).not.toContain('"123"');
  const extra = await stack.http
    .post('/v1/bank-accounts')
    .set('Authorization', auth)
    .set('Idempotency-Key', key())
    .send({
      routingNumber: ROUTING,
      accountNumber: '000123456789',
      holderName: 'J',
      accountType: 'checking',
      x: 1,
    });
  expect(extra.status).toBe(400);
  const noKey = await stack.http.post('/v1/bank-accounts').set('Authorization', auth).send({});
  expect(noKey.body.error.code).toBe('idempotency_key_required');
});

test('instant verification: 201 verified, stored encrypted with only last4 in clear, merchant events', async () => {
  const number = account('1111');
  const res = await create(stack, auth, number);
  expect(res.status).toBe(201);
  expect(res.body).toMatchObject({ status: 'verified', verificationMethod: 'instant', last4: '1111' });
  expect(res.body.id).toMatch(/^ba_[0-9A-Za-z]{24}$/);
  expect(JSON.stringify(res.body)).not.toContain(number);
  expect(await getAccount(stack, auth, res.body.id)).toMatchObject({ status: 'verified', last4: '1111' });
  const row = await stack.pool.query('SELECT * FROM bank_accounts WHERE id = $1', [res.body.id]);
  const dump = JSON.stringify(row.rows[0]) + Buffer.from(row.rows[0].account_ct).toString('latin1');
  expect(dump).not.toContain(number);
  expect(dump).not.toContain(ROUTING);
  const ev = await stack.pool.query('SELECT type FROM events WHERE resource_id = $1 ORDER BY created_at', [
    res.body.id,
  ]);
  expect(ev.rows.map((r) => r.type)).toEqual(['bank_account.pending', 'bank_account.verified']);
  // Another client cannot read it; an admin can.
  const other = (await stack.serviceAuth()).authorization;
  expect((await stack.http.get(`/v1/bank-accounts/${res.body.id}`).set('Authorization', other)).status).toBe(
    404,
  );
  const admin = await stack.operatorAuth('admin');
  const adminRead = await stack.http
    .get(`/v1/bank-accounts/${res.body.id}`)
    .set('Authorization', admin.authorization);
  expect(adminRead.status).toBe(200);
  await record(stack, 'instant-verified', res.body.id as string);
});

test('micro-deposits: wrong pair is 422 with attemptsRemaining, right pair (any order) verifies, deposits clawed back, amounts never in history', async () => {
  const res = await create(stack, auth, account('6789'));
  expect(res.status).toBe(201);
  expect(res.body).toMatchObject({
    status: 'awaiting_microdeposits',
    verificationMethod: 'microdeposits',
    attemptsRemaining: 3,
  });
  const expiresIn = Date.parse(res.body.verificationExpiresAt) - Date.now();
  expect(expiresIn).toBeGreaterThan(10 * 86_400_000 - 120_000);
  expect(expiresIn).toBeLessThanOrEqual(10 * 86_400_000);
  const id = res.body.id as string;
  const amounts = await statement(stack, id);
  expect(amounts.every((a) => Number.isInteger(a) && a >= 1 && a <= 99)).toBe(true);

  const wrong = await verify(stack, auth, id, wrongPair(amounts));
  expect(wrong.status).toBe(422);
  expect(wrong.body.error).toMatchObject({
    type: 'invalid_request',
    code: 'verification_amounts_mismatch',
    details: { attemptsRemaining: 2 },
  });
  // The error carries only the count and status: no submitted or expected amount anywhere.
  expect(wrong.body.error.message).toBe('The amounts do not match the micro-deposits');
  expect(wrong.body.error.details).toEqual({
    attemptsRemaining: 2,
    status: 'awaiting_microdeposits',
    bankAccountId: id,
  });

  const ok = await verify(stack, auth, id, [amounts[1], amounts[0]]);
  expect(ok.status).toBe(200);
  expect(ok.body).toMatchObject({ id, status: 'verified', verificationMethod: 'microdeposits' });
  expect(await getAccount(stack, auth, id)).toMatchObject({ status: 'verified' });
  const claw = await poll(
    () =>
      stack.pool.query('SELECT clawback_count FROM sandbox_bank_deposits WHERE bank_account_id = $1', [id]),
    (r) => r.rows[0]?.clawback_count === 1,
  );
  expect(claw.rows).toHaveLength(1);

  // Temporal history and search attributes: no amounts, only the keyed MAC.
  const handle = stack.client.workflow.getHandle(bankWorkflowIdOf(id));
  await handle.result();
  const history = await handle.fetchHistory();
  // History payloads are encrypted by the codec; decode them so the check covers what the workflow
  // itself holds (even someone with the payload keys must not find the amounts).
  const raw: Payload[] = [];
  const walk = (v: unknown): void => {
    if (v && typeof v === 'object') {
      const o = v as Record<string, unknown>;
      if (o.data instanceof Uint8Array && o.metadata) raw.push(o);
      else for (const x of Object.values(o)) walk(x);
    }
  };
  walk(history);
  // The display codec: search attributes are clear by design (Temporal indexes them) and pass as is.
  const decoded = await displayCodec.decode(raw);
  const payloads = decoded.map((p) => Buffer.from(p.data ?? new Uint8Array()).toString('utf8'));
  expect(payloads.length).toBeGreaterThan(5);
  const all = payloads.join('\n');
  expect(all).toContain('amountsMac');
  for (const [a, b] of [amounts, [amounts[1], amounts[0]]]) {
    expect(all).not.toMatch(new RegExp(`\\[\\s*${a}\\s*,\\s*${b}\\s*\\]`));
  }
  expect(all).not.toMatch(/"amounts"|amount_?1|"amount"/);
  const desc = await handle.describe();
  const ours = desc.typedSearchAttributes
    .getAll()
    .filter((p) => p.key.name.startsWith('Settle'))
    .map((p) => [p.key.name, p.value]);
  expect(ours).toEqual([['SettleStatus', 'verified']]);
  await record(stack, 'microdeposits-verified', id);
});

test('parallel wrong submissions can never use more than 3 attempts; then verification_failed', async () => {
  const res = await create(stack, auth, account('2468'));
  const id = res.body.id as string;
  const amounts = await statement(stack, id);
  const results = await Promise.all(
    Array.from({ length: 8 }, () => verify(stack, auth, id, wrongPair(amounts))),
  );
  const mism = results.filter((r) => r.status === 422);
  const conflicts = results.filter((r) => r.status === 409);
  expect(mism).toHaveLength(3);
  expect(conflicts).toHaveLength(5);
  expect(mism.map((r) => r.body.error.details.attemptsRemaining).sort()).toEqual([0, 1, 2]);
  expect(conflicts.every((r) => r.body.error.details.status === 'verification_failed')).toBe(true);
  // Even the right pair is refused now.
  const late = await verify(stack, auth, id, amounts);
  expect(late.status).toBe(409);
  expect(await getAccount(stack, auth, id)).toMatchObject({
    status: 'verification_failed',
    attemptsRemaining: 0,
    failureReason: 'too_many_attempts',
  });
  await stack.client.workflow.getHandle(bankWorkflowIdOf(id)).result();
  await record(stack, 'too-many-attempts', id);
});

test('the same account for the same client joins the verification: same id, attempts not reset', async () => {
  const number = account('1357');
  const first = await create(stack, auth, number);
  const id = first.body.id as string;
  const amounts = await statement(stack, id);
  expect((await verify(stack, auth, id, wrongPair(amounts))).body.error.details.attemptsRemaining).toBe(2);
  const again = await create(stack, auth, number);
  expect(again.status).toBe(201);
  expect(again.body).toMatchObject({ id, status: 'awaiting_microdeposits', attemptsRemaining: 2 });
  const deposits = await stack.pool.query(
    'SELECT count(*)::int AS c FROM sandbox_bank_deposits WHERE bank_account_id = $1',
    [id],
  );
  expect(deposits.rows[0].c).toBe(1);
  // Another client with the same account gets its own verification.
  const other = (await stack.serviceAuth()).authorization;
  const theirs = await create(stack, other, number);
  expect(theirs.body.id).not.toBe(id);
  await record(stack, 'joined-awaiting', id);
});

test('a returned deposit fails verification; provider events are applied once, in any order', async () => {
  const res = await create(stack, auth, account('5555'));
  const id = res.body.id as string;
  expect(res.body.status).toBe('awaiting_microdeposits');
  const events = await poll(
    () => sandboxDepositEvents(stack.pool, id),
    (e) => e.length === 2,
  );
  const [sent, returned] = events as [(typeof events)[0], (typeof events)[0]];
  const outcomes = [];
  for (const e of [returned, returned, sent, sent])
    outcomes.push((await stack.bankAccounts.applyBankProviderEvent(e)).outcome);
  expect(outcomes).toEqual(['applied', 'duplicate', 'applied', 'duplicate']);
  const failed = await poll(
    () => getAccount(stack, auth, id),
    (v) => v.status === 'verification_failed',
  );
  expect(failed).toMatchObject({ failureReason: 'microdeposit_returned' });
  const stored = await stack.pool.query(
    'SELECT event_id, applied_at FROM bank_provider_events WHERE bank_account_id = $1',
    [id],
  );
  expect(stored.rows).toHaveLength(2);
  expect(stored.rows.every((r) => r.applied_at !== null)).toBe(true);
  // A late redelivery after the end is still harmless.
  expect((await stack.bankAccounts.applyBankProviderEvent(returned)).outcome).toBe('duplicate');
  await stack.client.workflow.getHandle(bankWorkflowIdOf(id)).result();
  await record(stack, 'deposit-returned', id);
});

test('pending while instant verification hangs, then micro-deposits; unverified past the window -> expired with a reminder', async () => {
  const sAuth = (await short.serviceAuth()).authorization;
  const res = await create(short, sAuth, account('4444'));
  expect(res.status).toBe(201);
  expect(res.body).toMatchObject({ status: 'pending', verificationMethod: 'instant' });
  const id = res.body.id as string;
  const end = await poll(
    () => getAccount(short, sAuth, id),
    (v) => v.status === 'expired',
    90_000,
  );
  expect(end).toMatchObject({ verificationMethod: 'microdeposits', attemptsRemaining: 3 });
  const ev = await short.pool.query(
    'SELECT id, type FROM events WHERE resource_id = $1 ORDER BY created_at',
    [id],
  );
  expect(ev.rows.map((r) => r.type)).toEqual([
    'bank_account.pending',
    'bank_account.awaiting_microdeposits',
    'bank_account.verification_reminder',
    'bank_account.expired',
  ]);
  const claw = await poll(
    () =>
      short.pool.query('SELECT clawback_count FROM sandbox_bank_deposits WHERE bank_account_id = $1', [id]),
    (r) => r.rows[0]?.clawback_count === 1,
  );
  expect(claw.rows).toHaveLength(1);
  // Verifying an expired account is a conflict.
  const retry = await verify(short, sAuth, id, [1, 2]);
  expect(retry.status).toBe(409);
  await record(short, 'instant-timeout-reminder-expired', id);
});
