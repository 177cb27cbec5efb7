/**
 * Disputes, the pure parts: the dispute state machine (every status x every move), the payment's
 * withdrawal and reinstatement of disputed funds and how refunds respect them, the ledger movements
 * they post and the verifier's rule, and the evidence checks (limits, type by magic bytes, card
 * numbers in file bytes).
 */
import { deflateSync } from 'node:zlib';
import { checkEvidenceFiles } from '../../api/disputes-service';
import { EvidenceBody } from '../../api/routes/disputes';
import { parse } from '../../api/validation';
import {
  DISPUTE_STATUSES,
  disputeTransition,
  EVIDENCE_LIMITS,
  evidenceContentType,
  pendingReminders,
  type DisputeMove,
  type DisputeStatus,
} from '../../domain/dispute';
import { AppError } from '../../domain/errors';
import { entryTotal, paymentLedgerProblems, stepEntries } from '../../domain/ledger';
import { transition, type Amounts, type DisputeFunds } from '../../domain/payment-state';

describe('dispute state machine', () => {
  const expected: Record<DisputeStatus, Record<string, DisputeStatus | 'refused'>> = {
    needs_response: {
      evidence: 'under_review',
      accept: 'accepted',
      deadline: 'lost',
      'provider:needs_response': 'needs_response',
      'provider:under_review': 'under_review',
      'provider:won': 'won',
      'provider:lost': 'lost',
      'provider:accepted': 'accepted',
    },
    under_review: {
      evidence: 'refused',
      accept: 'refused',
      deadline: 'under_review',
      'provider:needs_response': 'under_review',
      'provider:under_review': 'under_review',
      'provider:won': 'won',
      'provider:lost': 'lost',
      'provider:accepted': 'under_review',
    },
    won: {},
    lost: {},
    accepted: {},
  };
  for (const t of ['won', 'lost', 'accepted'] as const) {
    expected[t] = { evidence: 'refused', accept: 'refused', deadline: t };
    for (const p of DISPUTE_STATUSES) expected[t][`provider:${p}`] = t;
  }
  const moves: DisputeMove[] = [
    { kind: 'evidence' },
    { kind: 'accept' },
    { kind: 'deadline' },
    ...DISPUTE_STATUSES.map((status) => ({ kind: 'provider' as const, status })),
  ];
  for (const from of DISPUTE_STATUSES) {
    for (const move of moves) {
      const key = move.kind === 'provider' ? `provider:${move.status}` : move.kind;
      const want = expected[from][key];
      test(`${from} + ${key} -> ${want}`, () => {
        const d = disputeTransition(from, move);
        if (want === 'refused') {
          expect(d.ok).toBe(false);
          if (!d.ok) expect(d.message).toContain(from);
        } else {
          expect(d).toEqual({ ok: true, next: want, changed: want !== from });
        }
      });
    }
  }

  test('reminders 7 and 2 days before the due date; those already past are skipped', () => {
    const due = '2026-12-20T12:00:00.000Z';
    const day = 86_400_000;
    expect(pendingReminders(due, Date.parse(due) - 10 * day)).toEqual([
      { at: Date.parse(due) - 7 * day, daysBefore: 7 },
      { at: Date.parse(due) - 2 * day, daysBefore: 2 },
    ]);
    expect(pendingReminders(due, Date.parse(due) - 3 * day)).toEqual([
      { at: Date.parse(due) - 2 * day, daysBefore: 2 },
    ]);
    expect(pendingReminders(due, Date.parse(due) - day)).toEqual([]);
  });
});

describe('payment funds under dispute', () => {
  const captured = (over: Partial<Amounts> = {}): Amounts => ({
    status: 'captured',
    amount: 1000,
    amountCapturable: 0,
    amountCaptured: 1000,
    amountRefunded: 0,
    ...over,
  });

  test('a withdrawal takes min(amount, captured - refunded - disputed) and keeps the status', () => {
    const t = transition(captured({ status: 'partially_refunded', amountRefunded: 300 }), {
      kind: 'dispute_withdraw',
      disputeId: 'dp_a',
      amount: 900,
    });
    expect(t).toMatchObject({
      ok: true,
      amount: 700,
      next: {
        status: 'partially_refunded',
        amountDisputed: 700,
        disputes: [{ disputeId: 'dp_a', withdrawn: 700, reinstated: false }],
      },
    });
  });

  test('a second dispute takes only what is left; a repeated withdrawal changes nothing', () => {
    const one = transition(captured(), { kind: 'dispute_withdraw', disputeId: 'dp_a', amount: 600 });
    if (!one.ok) throw new Error('refused');
    const two = transition(one.next, { kind: 'dispute_withdraw', disputeId: 'dp_b', amount: 600 });
    if (!two.ok) throw new Error('refused');
    expect(two.amount).toBe(400);
    expect(two.next.amountDisputed).toBe(1000);
    const again = transition(two.next, { kind: 'dispute_withdraw', disputeId: 'dp_a', amount: 600 });
    expect(again).toEqual({ ok: true, amount: 0, next: two.next });
  });

  test('reinstatement returns exactly what that dispute withdrew, once', () => {
    const one = transition(captured({ amountRefunded: 200, status: 'partially_refunded' }), {
      kind: 'dispute_withdraw',
      disputeId: 'dp_a',
      amount: 5000,
    });
    if (!one.ok) throw new Error('refused');
    const back = transition(one.next, { kind: 'dispute_reinstate', disputeId: 'dp_a' });
    expect(back).toMatchObject({ ok: true, amount: 800, next: { amountDisputed: 0 } });
    if (!back.ok) throw new Error('refused');
    expect(back.next.disputes).toEqual([{ disputeId: 'dp_a', withdrawn: 800, reinstated: true }]);
    expect(transition(back.next, { kind: 'dispute_reinstate', disputeId: 'dp_a' })).toEqual({
      ok: true,
      amount: 0,
      next: back.next,
    });
    // A dispute that never withdrew reinstates nothing.
    expect(transition(one.next, { kind: 'dispute_reinstate', disputeId: 'dp_other' })).toEqual({
      ok: true,
      amount: 0,
      next: one.next,
    });
  });

  test('refunds never exceed captured - refunded - disputed (422 amount_exceeds_captured)', () => {
    const s = captured({ amountDisputed: 600 });
    expect(transition(s, { kind: 'refund', amount: 401 })).toMatchObject({
      ok: false,
      rejection: { kind: 'amount', code: 'amount_exceeds_captured' },
    });
    expect(transition(s, { kind: 'refund', amount: 400 })).toMatchObject({
      ok: true,
      next: { amountRefunded: 400, amountDisputed: 600 },
    });
    // A full refund without an amount takes only what is not disputed.
    expect(transition(s, { kind: 'refund' })).toMatchObject({ ok: true, amount: 400 });
  });

  test('a state from before disputes (no amountDisputed) reads as 0 disputed', () => {
    expect(transition(captured(), { kind: 'refund' })).toMatchObject({ ok: true, amount: 1000 });
  });

  test('a malformed disputed amount is refused, never applied', () => {
    expect(transition(captured(), { kind: 'dispute_withdraw', disputeId: 'dp_a', amount: -1 }).ok).toBe(
      false,
    );
    expect(transition(captured(), { kind: 'dispute_withdraw', disputeId: 'dp_a', amount: 1.5 }).ok).toBe(
      false,
    );
  });
});

describe('ledger movements of disputes', () => {
  const ctx = (version: number) => ({
    clientId: 'cli_ledger',
    paymentId: 'pay_disputeledger0001',
    currency: 'USD',
    version,
    at: '2026-12-05T00:00:00.000Z',
  });
  const facts = (disputes: DisputeFunds[] = []) => ({
    amountCapturable: 0,
    amountCaptured: 1000,
    amountRefunded: 0,
    refunds: [],
    disputes,
  });

  test('withdrawal Dr disputed / Cr receivable, reinstatement the reverse, keyed by the dispute', () => {
    const withdrawn = facts([{ disputeId: 'dp_abcdefgh0001', withdrawn: 700, reinstated: false }]);
    const w = stepEntries(ctx(4), facts(), withdrawn);
    expect(w).toEqual([
      expect.objectContaining({
        id: 'je_abcdefgh0001w',
        stepKey: 'dispute:dp_abcdefgh0001:withdrawal',
        kind: 'dispute_withdrawal',
        lines: [
          { account: 'disputed', amount: 700 },
          { account: 'receivable_from_provider', amount: -700 },
        ],
      }),
    ]);
    const back = facts([{ disputeId: 'dp_abcdefgh0001', withdrawn: 700, reinstated: true }]);
    const r = stepEntries(ctx(5), withdrawn, back);
    expect(r).toEqual([
      expect.objectContaining({
        id: 'je_abcdefgh0001i',
        stepKey: 'dispute:dp_abcdefgh0001:reinstatement',
        kind: 'dispute_reinstatement',
        lines: [
          { account: 'receivable_from_provider', amount: 700 },
          { account: 'disputed', amount: -700 },
        ],
      }),
    ]);
    for (const e of [...w, ...r]) expect(entryTotal(e)).toBe(0);
    // Nothing moved again: the same facts post nothing; a withdrawal of 0 posts nothing.
    expect(stepEntries(ctx(6), back, back)).toEqual([]);
    expect(
      stepEntries(
        ctx(7),
        facts(),
        facts([{ disputeId: 'dp_zero00000001', withdrawn: 0, reinstated: false }]),
      ),
    ).toEqual([]);
  });

  test('the verifier: disputed = amountDisputed and receivable = captured - refunded + pending - disputed', () => {
    const capture = stepEntries(ctx(2), { ...facts(), amountCaptured: 0 }, facts());
    const withdrawn = facts([{ disputeId: 'dp_abcdefgh0002', withdrawn: 700, reinstated: false }]);
    const lines = [...capture, ...stepEntries(ctx(3), facts(), withdrawn)].flatMap((e) => e.lines);
    const want = { amountCapturable: 0, amountCaptured: 1000, amountRefunded: 0, refundsPending: 0 };
    expect(paymentLedgerProblems(lines, { ...want, amountDisputed: 700 })).toEqual([]);
    expect(paymentLedgerProblems(lines, want)).toEqual([
      'receivable_from_provider (amountCaptured - amountRefunded + pending refunds - amountDisputed): ledger 300, expected 1000',
      'disputed (amountDisputed): ledger 700, expected 0',
    ]);
  });
});

describe('evidence files', () => {
  const PNG = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 13]);
  const pdf = (body: Buffer | string) =>
    Buffer.concat([Buffer.from('%PDF-1.4\n1 0 obj\n'), Buffer.from(body), Buffer.from('\nendobj\n')]);
  const b64 = (b: Buffer) => b.toString('base64');
  const refusal = (fn: () => unknown): AppError => {
    try {
      fn();
    } catch (err) {
      if (err instanceof AppError) return err;
      throw err;
    }
    throw new Error('not refused');
  };

  test('types by magic bytes, never by name', () => {
    expect(evidenceContentType(pdf('x'))).toBe('application/pdf');
    expect(evidenceContentType(PNG)).toBe('image/png');
    expect(evidenceContentType(Buffer.from([0xff, 0xd8, 0xff, 0xe0]))).toBe('image/jpeg');
    expect(evidenceContentType(Buffer.from('GIF89a'))).toBeUndefined();
    const e = refusal(() =>
      checkEvidenceFiles([{ name: 'a.pdf', contentBase64: b64(Buffer.from('hello')) }]),
    );
    expect(e).toMatchObject({
      status: 400,
      code: 'unsupported_file_type',
      details: { field: 'files.0.contentBase64' },
    });
  });

  test('a file over 4 MiB, or over 8 MiB in all, is refused naming the limit', () => {
    const big = Buffer.alloc(EVIDENCE_LIMITS.fileBytes + 1, 0x20);
    PNG.copy(big);
    expect(refusal(() => checkEvidenceFiles([{ name: 'big.png', contentBase64: b64(big) }]))).toMatchObject({
      status: 400,
      code: 'file_too_large',
    });
    const three = Buffer.alloc(3 * 1024 * 1024, 0x20);
    PNG.copy(three);
    const files = [0, 1, 2].map((i) => ({ name: `p${i}.png`, contentBase64: b64(three) }));
    expect(refusal(() => checkEvidenceFiles(files))).toMatchObject({
      status: 400,
      code: 'evidence_too_large',
    });
    expect(checkEvidenceFiles(files.slice(0, 2))).toHaveLength(2);
  });

  test('a card number in a file is refused: plain, spaced, UTF-16, or inside a compressed PDF stream', () => {
    const pan = '4242424242424242';
    const cases: Buffer[] = [
      pdf(`BT (${pan}) Tj ET`),
      pdf('BT (4242 4242 4242 4242) Tj ET'),
      pdf(Buffer.from(`(${pan})`, 'utf16le')),
      pdf(
        Buffer.concat([
          Buffer.from('stream\n'),
          deflateSync(`BT (${pan}) Tj ET`),
          Buffer.from('\nendstream'),
        ]),
      ),
      Buffer.concat([PNG, Buffer.from(`tEXtComment\u0000card ${pan}`)]),
    ];
    for (const [i, c] of cases.entries()) {
      const e = refusal(() => checkEvidenceFiles([{ name: 'f', contentBase64: b64(c) }]));
      expect([i, e.status, e.details]).toEqual([i, 400, { field: 'files.0.contentBase64' }]);
      expect(e.message).not.toContain(pan);
    }
  });

  test('binary content and Luhn-invalid numbers pass; a measured 4 MiB file scans quickly', () => {
    const noise = Buffer.alloc(EVIDENCE_LIMITS.fileBytes);
    let x = 12345;
    for (let i = 0; i < noise.length; i++) {
      x = (x * 1103515245 + 12345) & 0x7fffffff;
      noise[i] = x >> 16;
    }
    PNG.copy(noise);
    const started = Date.now();
    expect(checkEvidenceFiles([{ name: 'noise.png', contentBase64: b64(noise) }])).toHaveLength(1);
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(
      checkEvidenceFiles([{ name: 'order.pdf', contentBase64: b64(pdf('(Order 4242424242424241)')) }]),
    ).toEqual([expect.objectContaining({ contentType: 'application/pdf', name: 'order.pdf' })]);
  });
});

describe('the evidence body', () => {
  const refusedField = (body: unknown): unknown => {
    try {
      parse(EvidenceBody, body);
    } catch (err) {
      return (err as AppError).details?.field;
    }
    return undefined;
  };
  const file = { name: 'a.pdf', contentBase64: 'JVBERi0=' };

  test('text 1-20,000 characters, free of card numbers; at most 5 files; base64 only; no unknown field', () => {
    expect(refusedField({ text: 'x'.repeat(EVIDENCE_LIMITS.textChars) })).toBeUndefined();
    expect(refusedField({ text: 'x'.repeat(EVIDENCE_LIMITS.textChars + 1) })).toBe('text');
    expect(refusedField({ text: '' })).toBe('text');
    expect(refusedField({ text: 'card 4242-4242-4242-4242' })).toBe('text');
    expect(refusedField({ text: 'ok', files: Array(5).fill(file) })).toBeUndefined();
    expect(refusedField({ text: 'ok', files: Array(6).fill(file) })).toBe('files');
    expect(refusedField({ text: 'ok', files: [{ ...file, contentBase64: 'not base64!' }] })).toBe(
      'files.0.contentBase64',
    );
    expect(refusedField({ text: 'ok', files: [{ ...file, name: '' }] })).toBe('files.0.name');
    expect(refusedField({ text: 'ok', files: [{ ...file, type: 'application/pdf' }] })).toBe('files.0.type');
    expect(refusedField({ text: 'ok', extra: 1 })).toBe('extra');
  });
});
