/**
 * The payment state machine, exhaustively: every status x every operation is either applied with the
 * documented effect or rejected as a conflict naming the status; amount rules at their edges.
 */
import {
  capturedStatus,
  ALLOWED,
  PAYMENT_STATUSES,
  TERMINAL_STATUSES,
  transition,
  type Amounts,
  type Operation,
  type PaymentStatus,
} from '../../domain/payment-state';

const OPS: Operation[] = [
  { kind: 'authorized', capture: 'manual' },
  { kind: 'authorized', capture: 'automatic' },
  { kind: 'declined' },
  { kind: 'failed' },
  { kind: 'capture' },
  { kind: 'capture', amount: 1 },
  { kind: 'capture', amount: 1, final: true },
  { kind: 'void' },
  { kind: 'expire' },
  { kind: 'refund' },
  { kind: 'refund', amount: 1 },
];

/** A plausible state for each status, with room for every amount operation it allows. */
function stateIn(status: PaymentStatus): Amounts {
  const base = { status, amount: 1000, amountCapturable: 0, amountCaptured: 0, amountRefunded: 0 };
  switch (status) {
    case 'authorized':
      return { ...base, amountCapturable: 1000 };
    case 'partially_captured':
      return { ...base, amountCapturable: 600, amountCaptured: 400 };
    case 'captured':
      return { ...base, amountCaptured: 1000 };
    case 'partially_refunded':
      return { ...base, amountCaptured: 1000, amountRefunded: 300 };
    case 'refunded':
      return { ...base, amountCaptured: 1000, amountRefunded: 1000 };
    default:
      return base;
  }
}

describe('every status x every operation', () => {
  for (const status of PAYMENT_STATUSES) {
    for (const op of OPS) {
      const allowed = ALLOWED[status].includes(op.kind);
      test(`${status} + ${JSON.stringify(op)} is ${allowed ? 'applied' : 'a conflict'}`, () => {
        const t = transition(stateIn(status), op);
        if (!allowed) {
          expect(t.ok).toBe(false);
          if (t.ok) return;
          expect(t.rejection).toMatchObject({ kind: 'conflict', code: 'invalid_state' });
          expect(t.rejection.message).toContain(status);
          return;
        }
        expect(t.ok).toBe(true);
        if (!t.ok) return;
        const n = t.next;
        // Invariants that hold after every legal operation.
        expect(n.amountCaptured + n.amountCapturable).toBeLessThanOrEqual(n.amount);
        expect(n.amountRefunded).toBeLessThanOrEqual(n.amountCaptured);
        expect(n.amountCapturable).toBeGreaterThanOrEqual(0);
        expect(PAYMENT_STATUSES).toContain(n.status);
      });
    }
  }

  test('terminal statuses admit nothing', () => {
    for (const status of TERMINAL_STATUSES) expect(ALLOWED[status]).toEqual([]);
    for (const status of PAYMENT_STATUSES) {
      if (!TERMINAL_STATUSES.has(status)) expect(ALLOWED[status].length).toBeGreaterThan(0);
    }
  });
});

describe('authorization outcomes', () => {
  const p = stateIn('processing');
  test('manual -> authorized with the whole amount capturable', () => {
    expect(transition(p, { kind: 'authorized', capture: 'manual' })).toMatchObject({
      ok: true,
      amount: 1000,
      next: { status: 'authorized', amountCapturable: 1000, amountCaptured: 0 },
    });
  });
  test('automatic -> captured in full', () => {
    expect(transition(p, { kind: 'authorized', capture: 'automatic' })).toMatchObject({
      ok: true,
      next: { status: 'captured', amountCapturable: 0, amountCaptured: 1000 },
    });
  });
  test('declined and failed move no money', () => {
    expect(transition(p, { kind: 'declined' })).toMatchObject({
      ok: true,
      amount: 0,
      next: { status: 'declined' },
    });
    expect(transition(p, { kind: 'failed' })).toMatchObject({
      ok: true,
      amount: 0,
      next: { status: 'failed' },
    });
  });
});

describe('capture amounts', () => {
  const a = stateIn('authorized');
  test('no amount captures everything capturable', () => {
    expect(transition(a, { kind: 'capture' })).toMatchObject({
      ok: true,
      amount: 1000,
      next: { status: 'captured', amountCaptured: 1000, amountCapturable: 0 },
    });
  });
  test('a partial capture leaves the rest capturable', () => {
    expect(transition(a, { kind: 'capture', amount: 1 })).toMatchObject({
      ok: true,
      amount: 1,
      next: { status: 'partially_captured', amountCaptured: 1, amountCapturable: 999 },
    });
  });
  test('a partial capture with final releases the rest', () => {
    expect(transition(a, { kind: 'capture', amount: 400, final: true })).toMatchObject({
      ok: true,
      next: { status: 'captured', amountCaptured: 400, amountCapturable: 0 },
    });
  });
  test('final: false with the exact remainder still completes', () => {
    const pc = stateIn('partially_captured');
    expect(transition(pc, { kind: 'capture', amount: 600, final: false })).toMatchObject({
      ok: true,
      next: { status: 'captured', amountCaptured: 1000, amountCapturable: 0 },
    });
  });
  test('several partial captures add up', () => {
    let s: Amounts = a;
    for (const amount of [100, 200, 300]) {
      const t = transition(s, { kind: 'capture', amount });
      if (!t.ok) throw new Error(t.rejection.message);
      s = t.next;
    }
    expect(s).toMatchObject({ status: 'partially_captured', amountCaptured: 600, amountCapturable: 400 });
  });
  test.each([
    [1001, 'amount_exceeds_capturable'],
    [0, 'invalid_amount'],
    [-1, 'invalid_amount'],
    [1.5, 'invalid_amount'],
    [Number.MAX_SAFE_INTEGER + 1, 'invalid_amount'],
  ])('capture %p is rejected with %s', (amount, code) => {
    expect(transition(a, { kind: 'capture', amount })).toMatchObject({
      ok: false,
      rejection: { kind: 'amount', code },
    });
  });
  test('over-capturing a partially captured payment names the remaining amount', () => {
    const t = transition(stateIn('partially_captured'), { kind: 'capture', amount: 601 });
    expect(t).toMatchObject({ ok: false, rejection: { code: 'amount_exceeds_capturable' } });
    if (!t.ok) expect(t.rejection.message).toContain('600');
  });
});

describe('void and expiry', () => {
  test('void releases the whole authorization', () => {
    expect(transition(stateIn('authorized'), { kind: 'void' })).toMatchObject({
      ok: true,
      amount: 1000,
      next: { status: 'voided', amountCapturable: 0 },
    });
  });
  test('void after a partial capture is a conflict (only before any capture)', () => {
    expect(transition(stateIn('partially_captured'), { kind: 'void' })).toMatchObject({
      ok: false,
      rejection: { kind: 'conflict' },
    });
  });
  test('expiry of an uncaptured authorization -> expired', () => {
    expect(transition(stateIn('authorized'), { kind: 'expire' })).toMatchObject({
      ok: true,
      amount: 1000,
      next: { status: 'expired', amountCapturable: 0, amountCaptured: 0 },
    });
  });
  test('expiry after a partial capture -> captured, the rest released', () => {
    expect(transition(stateIn('partially_captured'), { kind: 'expire' })).toMatchObject({
      ok: true,
      amount: 600,
      next: { status: 'captured', amountCapturable: 0, amountCaptured: 400 },
    });
  });
});

describe('refund amounts', () => {
  test('no amount refunds everything still refundable', () => {
    expect(transition(stateIn('partially_refunded'), { kind: 'refund' })).toMatchObject({
      ok: true,
      amount: 700,
      next: { status: 'refunded', amountRefunded: 1000 },
    });
  });
  test('several partial refunds up to exactly the captured amount', () => {
    let s: Amounts = stateIn('captured');
    const statuses: string[] = [];
    for (const amount of [1, 499, 500]) {
      const t = transition(s, { kind: 'refund', amount });
      if (!t.ok) throw new Error(t.rejection.message);
      s = t.next;
      statuses.push(s.status);
    }
    expect(statuses).toEqual(['partially_refunded', 'partially_refunded', 'refunded']);
    expect(s.amountRefunded).toBe(1000);
  });
  test('refunds are bounded by the captured amount, not the authorized amount', () => {
    const partly: Amounts = {
      status: 'captured',
      amount: 1000,
      amountCapturable: 0,
      amountCaptured: 400,
      amountRefunded: 0,
    };
    expect(transition(partly, { kind: 'refund', amount: 401 })).toMatchObject({
      ok: false,
      rejection: { kind: 'amount', code: 'amount_exceeds_captured' },
    });
    expect(transition(partly, { kind: 'refund', amount: 400 })).toMatchObject({
      ok: true,
      next: { status: 'refunded', amountRefunded: 400 },
    });
  });
  test.each([
    [701, 'amount_exceeds_captured'],
    [0, 'invalid_amount'],
    [-5, 'invalid_amount'],
    [0.5, 'invalid_amount'],
  ])('refund %p of a partially refunded payment is rejected with %s', (amount, code) => {
    expect(transition(stateIn('partially_refunded'), { kind: 'refund', amount })).toMatchObject({
      ok: false,
      rejection: { kind: 'amount', code },
    });
  });
  test('what was captured can be refunded while more may still be captured; the status follows the amounts', () => {
    const pc = stateIn('partially_captured'); // 400 captured, 600 capturable
    const refunded = transition(pc, { kind: 'refund', amount: 150 });
    expect(refunded).toMatchObject({
      ok: true,
      amount: 150,
      next: { status: 'partially_captured', amountRefunded: 150, amountCapturable: 600 },
    });
    if (!refunded.ok) throw new Error('unreachable');
    expect(transition(refunded.next, { kind: 'refund', amount: 251 })).toMatchObject({
      ok: false,
      rejection: { kind: 'amount', code: 'amount_exceeds_captured' },
    });
    const finished = transition(refunded.next, { kind: 'capture', amount: 100, final: true });
    expect(finished).toMatchObject({
      ok: true,
      next: { status: 'partially_refunded', amountCaptured: 500, amountCapturable: 0 },
    });
    const all = transition(pc, { kind: 'refund' });
    expect(all).toMatchObject({
      ok: true,
      amount: 400,
      next: { status: 'partially_captured', amountRefunded: 400 },
    });
    if (!all.ok) throw new Error('unreachable');
    expect(transition(all.next, { kind: 'expire' })).toMatchObject({
      ok: true,
      amount: 600,
      next: { status: 'refunded', amountCapturable: 0 },
    });
    expect(capturedStatus({ amountCapturable: 0, amountCaptured: 500, amountRefunded: 0 })).toBe('captured');
  });
});
