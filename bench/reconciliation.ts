/**
 * Reconciliation bench: the real reconciliation (the workflow the API and the Schedule start, its
 * activities on the stack's payment and card-data workers, page size 100) over a window of 1,000 and
 * of 10,000 sandbox payments, seeded directly into the ledger and the sandbox's books (clean data,
 * plus one injected discrepancy of each kind so the run has something to find). Reports per size:
 * wall time, payments checked per second, and the peak heap and RSS growth of this process (which
 * hosts both workers) over its level before the run, sampled every 25 ms, and where the time went
 * (each activity, queue waits, the workflow's own turns, from the run's history); then the means of
 * two rounds per size and the 10k/1k ratios.
 * Linear cost means ~10x time and memory growth far below 10x (a run holds one page, not the window).
 *
 *   npm run bench:reconciliation                 sizes 1000,10000
 *   npm run bench:reconciliation -- 500,5000     other sizes (at most 50,000)
 *
 * Uses bench/payments/setup.ts (Temporal dev server, fresh database, Settle's stack). Docs:
 * docs/benchmarks.md, docs/reconciliation.md.
 */
import { randomBytes, randomInt } from 'node:crypto';
import { createReconciliationRepo } from '../db/reconciliation-repo';
import { reconciliationWorkflow, reconciliationWorkflowId } from '../workflows/reconciliation';
import { seedLedgerPayments, seedSandboxBooks } from '../test/support/reconciliation-seed';
import { setUp, type BenchEnv } from './payments/setup';

const MAX = 50_000;
const PAGE_SIZE = 100;
const log = (line: string) => process.stdout.write(`${line}\n`);

interface Result {
  n: number;
  ms: number;
  checked: number;
  discrepancies: number;
  heapPeakMb: number;
  rssPeakMb: number;
  status: string;
  /** Total ms per activity type, from the run's history (started -> completed). */
  byActivity: Record<string, number>;
}

const gc = (): void => (globalThis as { gc?: () => void }).gc?.();
const mb = (bytes: number) => Math.round((bytes / 1_048_576) * 10) / 10;

/** N payments in a window of their own: N-1 clean, one amount off by one, one only in the ledger... */
async function seed(env: BenchEnv, clientId: string, n: number): Promise<{ from: string; to: string }> {
  const base = Date.UTC(2032, 0, 1) + randomInt(80_000) * 3_600_000;
  const spanMs = 3_600_000;
  const tag = randomBytes(4).toString('hex');
  const rows = Array.from({ length: n }, (_, i) => ({
    id: `pay_bench${tag}${i.toString().padStart(6, '0')}`,
    reference: `sbx_bench${tag}${i.toString().padStart(6, '0')}`,
    at: new Date(base + Math.floor((i * spanMs) / n)).toISOString(),
    captured: 1000 + (i % 500),
    refunded: i % 10 === 0 ? 100 : 0,
  }));
  const ledger = rows.slice(0, n - 1); // the last one is only at the provider
  await seedLedgerPayments(
    env.stack.pool,
    ledger.map((r) => ({
      id: r.id,
      clientId,
      provider: 'sandbox' as const,
      reference: r.reference,
      currency: 'USD',
      captured: r.captured,
      refunded: r.refunded,
      createdAt: r.at,
    })),
  );
  const books = rows
    .filter((_, i) => i !== 1) // the second is only in the ledger
    .map((r, i) => ({
      reference: r.reference,
      paymentId: r.id,
      currency: 'USD',
      captured: i === 0 ? r.captured - 1 : r.captured, // the first is off by one minor unit
      refunded: i === 2 ? r.captured : r.refunded, // the third was refunded at the provider only
      createdAt: r.at,
    }));
  await seedSandboxBooks(env.stack.pool, books);
  return { from: new Date(base).toISOString(), to: new Date(base + spanMs).toISOString() };
}

async function measure(env: BenchEnv, clientId: string, n: number): Promise<Result> {
  const window = await seed(env, clientId, n);
  const runId = `rc_bench${randomBytes(10).toString('hex')}`;
  await createReconciliationRepo(env.stack.pool).createRun({
    id: runId,
    provider: 'sandbox',
    ...window,
    requestedBy: 'bench',
  });
  gc();
  const heap0 = process.memoryUsage().heapUsed;
  const rss0 = process.memoryUsage().rss;
  let heapPeak = heap0;
  let rssPeak = rss0;
  const sampler = setInterval(() => {
    const m = process.memoryUsage();
    heapPeak = Math.max(heapPeak, m.heapUsed);
    rssPeak = Math.max(rssPeak, m.rss);
  }, 25);
  const t0 = performance.now();
  const result = await env.stack.client.workflow.execute(reconciliationWorkflow, {
    taskQueue: env.stack.taskQueue,
    workflowId: reconciliationWorkflowId(runId),
    args: [
      {
        runId,
        provider: 'sandbox',
        ...window,
        cardTaskQueue: env.stack.cardTaskQueue,
        actor: 'bench',
        pageSize: PAGE_SIZE,
      },
    ],
  });
  const ms = performance.now() - t0;
  clearInterval(sampler);
  const byActivity = await activityTimes(env, reconciliationWorkflowId(runId));
  return {
    n,
    ms: Math.round(ms),
    checked: result.checked,
    discrepancies: result.discrepancies,
    heapPeakMb: mb(heapPeak - heap0),
    rssPeakMb: mb(rssPeak - rss0),
    status: result.status,
    byActivity,
  };
}

/** Where a run's time went: per activity type, the sum of its attempts' started -> completed. */
async function activityTimes(env: BenchEnv, workflowId: string): Promise<Record<string, number>> {
  const history = await env.stack.client.workflow.getHandle(workflowId).fetchHistory();
  const types = new Map<number, string>();
  const started = new Map<number, number>();
  const scheduledAt = new Map<number, number>();
  const out: Record<string, number> = {};
  let lastDone: number | undefined;
  const ms = (t: { seconds?: unknown; nanos?: number | null } | null | undefined) =>
    Number(t?.seconds ?? 0) * 1000 + (t?.nanos ?? 0) / 1e6;
  for (const e of history.events ?? []) {
    const id = Number(e.eventId);
    if (e.activityTaskScheduledEventAttributes) {
      types.set(id, e.activityTaskScheduledEventAttributes.activityType?.name ?? '?');
      scheduledAt.set(id, ms(e.eventTime));
      // Between one activity's completion and the next one's scheduling: the workflow's own turn.
      if (lastDone !== undefined)
        out['(workflow turns)'] = Math.round((out['(workflow turns)'] ?? 0) + ms(e.eventTime) - lastDone);
    }
    if (e.activityTaskStartedEventAttributes) {
      const sid = Number(e.activityTaskStartedEventAttributes.scheduledEventId);
      started.set(sid, ms(e.eventTime));
      out['(queue wait)'] = Math.round(
        (out['(queue wait)'] ?? 0) + ms(e.eventTime) - (scheduledAt.get(sid) ?? ms(e.eventTime)),
      );
    }
    const done = e.activityTaskCompletedEventAttributes;
    if (done) {
      const sid = Number(done.scheduledEventId);
      const name = types.get(sid) ?? '?';
      out[name] = Math.round((out[name] ?? 0) + ms(e.eventTime) - (started.get(sid) ?? ms(e.eventTime)));
      lastDone = ms(e.eventTime);
    }
  }
  return out;
}

async function main(): Promise<void> {
  const sizes = (process.argv[2] ?? '1000,10000').split(',').map(Number);
  if (sizes.some((n) => !Number.isSafeInteger(n) || n < 10 || n > MAX))
    throw new Error(`sizes must be integers in 10..${MAX}`);
  const env = await setUp(log);
  try {
    const { clientId } = await env.stack.serviceAuth();
    // Warm-up (bundle, connections, JIT, the database's first autovacuum after bulk seeding): the
    // first run on a fresh stack is measurably faster than every later one, whatever its size.
    await measure(env, clientId, 1000);
    // Two rounds, the second in reverse order, so no size always runs first or on a fuller database.
    const order = [...sizes, ...[...sizes].reverse()];
    const bySize = new Map<number, Result[]>();
    for (const n of order) {
      const r = await measure(env, clientId, n);
      bySize.set(n, [...(bySize.get(n) ?? []), r]);
      log(
        `n=${r.n}: ${r.status}, ${r.checked} checked, ${r.discrepancies} discrepancies, ${r.ms} ms ` +
          `(${Math.round((r.checked / r.ms) * 1000)}/s), peak heap +${r.heapPeakMb} MB, peak RSS +${r.rssPeakMb} MB`,
      );
      log(`  time by step (ms): ${JSON.stringify(r.byActivity)}`);
      if (r.discrepancies !== 4) log(`  UNEXPECTED: 4 discrepancies were injected, ${r.discrepancies} found`);
    }
    const mean = (rs: Result[], f: (r: Result) => number) => rs.reduce((a, r) => a + f(r), 0) / rs.length;
    const summary = sizes.map((n) => {
      const rs = bySize.get(n)!;
      return {
        n,
        ms: mean(rs, (r) => r.ms),
        heap: mean(rs, (r) => r.heapPeakMb),
        rss: mean(rs, (r) => r.rssPeakMb),
      };
    });
    for (const x of summary)
      log(
        `mean n=${x.n}: ${Math.round(x.ms)} ms, peak heap +${x.heap.toFixed(1)} MB, peak RSS +${x.rss.toFixed(1)} MB`,
      );
    const [small, large] = [summary[0], summary[summary.length - 1]];
    if (small && large && small !== large) {
      const x = (a: number, b: number) => (b > 0 ? (a / b).toFixed(2) : 'n/a');
      log(
        `ratio ${large.n}/${small.n} (x${large.n / small.n} payments): time x${x(large.ms, small.ms)}, ` +
          `peak heap growth x${x(large.heap, small.heap)}, peak RSS growth x${x(large.rss, small.rss)}`,
      );
    }
  } finally {
    await env.stop();
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
