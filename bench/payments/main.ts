/**
 * Payments bench: authorize (manual) + capture through Settle's real API against two ceilings on the
 * same Temporal server in the same run (bench/payments/workflows.ts): the same shape with no-op
 * activities, and the minimal one. Reports ratios; nothing here is a pass/fail threshold.
 *
 *   npm run bench:payments                          N=200 per phase, C=10, 2 rounds
 *   npm run bench:payments -- --n 100 --c 1,8,32    (or BENCH_N, BENCH_C, BENCH_ROUNDS, BENCH_WARMUP)
 *   TEMPORAL_ADDRESS=127.0.0.1:7233 npm run bench:payments    reuse a running dev server
 *
 * Phase order alternates per round (Settle, same shape, minimal; then minimal, same shape, Settle),
 * so neither side always runs on a warmer or a more loaded machine. Docs: docs/benchmarks.md.
 */
import fs from 'node:fs';
import path from 'node:path';
import { ROOT } from '../../scripts/tools';
import { drive, minimalLoad, sameShapeLoad, settleLoad, type Load, type Timings } from './drivers';
import {
  mainThreadCpuMs,
  percentile,
  sampleHistories,
  selfCpuMs,
  treeCpuMs,
  type HistorySample,
} from './measure';
import { SETTLE_POOL_SIZE, setUp, type BenchEnv } from './setup';

const KINDS = ['settle', 'same-shape', 'minimal'] as const;
type Kind = (typeof KINDS)[number];

/** Hard bounds: the bench is a measurement, never a load test that can take the machine down. */
const MAX_N = 5000;
const MAX_C = 256;

function options() {
  const args = process.argv.slice(2);
  const flag = (name: string): string | undefined => {
    const i = args.findIndex((a) => a === `--${name}` || a.startsWith(`--${name}=`));
    if (i < 0) return undefined;
    const a = args[i]!;
    return a.includes('=') ? a.slice(a.indexOf('=') + 1) : args[i + 1];
  };
  const get = (name: string, dflt: string) =>
    flag(name) ?? process.env[`BENCH_${name.toUpperCase().replace(/-/g, '_')}`] ?? dflt;
  const int = (name: string, dflt: number, max: number) => {
    const v = Number(get(name, String(dflt)));
    if (!Number.isInteger(v) || v < 0 || v > max) throw new Error(`--${name} must be an integer 0..${max}`);
    return v;
  };
  const n = int('n', 200, MAX_N);
  const concurrency = get('c', '10')
    .split(',')
    .map((x) => Number(x));
  if (concurrency.some((c) => !Number.isInteger(c) || c < 1 || c > MAX_C))
    throw new Error(`--c must be integers 1..${MAX_C}, comma-separated`);
  return {
    n: Math.max(1, n),
    concurrency,
    rounds: Math.max(1, int('rounds', 2, 10)),
    /** Default max(2C, 10) for each C. */
    warmup: get('warmup', '') === '' ? undefined : int('warmup', 0, MAX_N),
    sample: Math.max(1, int('sample', 10, 200)),
    /** --minimal-queue own: the minimal ceiling's provider calls on its own queue (eager activities). */
    minimalOnOwnQueue: get('minimal-queue', 'card') === 'own',
    maxSeconds: int('max-seconds', 1800, 24 * 3600),
    out: get(
      'out',
      path.join(ROOT, '.data', 'bench', `payments-${new Date().toISOString().replace(/[:.]/g, '-')}.json`),
    ),
  };
}

interface Cpu {
  temporal?: number | undefined;
  bench: number;
  /** Of which the main thread (event loop: HTTP client, API, activities). */
  benchMain: number;
  postgres?: number | undefined;
}

function cpuNow(env: BenchEnv): Cpu {
  return {
    temporal: env.temporalPid ? treeCpuMs(env.temporalPid) : undefined,
    bench: selfCpuMs(),
    benchMain: mainThreadCpuMs(),
    postgres: env.postgresPid ? treeCpuMs(env.postgresPid) : undefined,
  };
}

const diff = (a: number | undefined, b: number | undefined) =>
  a === undefined || b === undefined ? undefined : b - a;

interface PhaseResult extends Timings {
  kind: Kind;
  round: number;
  /** Settle only: queries queued for a pooled connection, sampled every 50 ms. */
  poolWaiting?: { mean: number; max: number } | undefined;
  cpu: Cpu;
}

interface Summary {
  kind: Kind;
  payments: number;
  perSecond: number;
  perSecondByRound: number[];
  authorizeP50: number;
  authorizeP99: number;
  totalP50: number;
  totalP99: number;
  history: HistorySample;
  /** CPU ms per payment: Temporal server; this process (HTTP client, API, workers); PostgreSQL. */
  cpuPerPayment: Cpu;
}

function summarize(kind: Kind, phases: PhaseResult[], history: HistorySample): Summary {
  const mine = phases.filter((p) => p.kind === kind);
  const payments = mine.reduce((a, p) => a + p.total.length, 0);
  const all = (f: (p: PhaseResult) => number[]) => mine.flatMap(f);
  const cpuSum = (f: (c: Cpu) => number | undefined) => {
    const xs = mine.map((p) => f(p.cpu));
    return xs.some((x) => x === undefined) ? undefined : xs.reduce<number>((a, x) => a + x!, 0) / payments;
  };
  return {
    kind,
    payments,
    perSecond: payments / (mine.reduce((a, p) => a + p.wallMs, 0) / 1000),
    perSecondByRound: mine.map((p) => p.total.length / (p.wallMs / 1000)),
    authorizeP50: percentile(
      all((p) => p.authorize),
      0.5,
    ),
    authorizeP99: percentile(
      all((p) => p.authorize),
      0.99,
    ),
    totalP50: percentile(
      all((p) => p.total),
      0.5,
    ),
    totalP99: percentile(
      all((p) => p.total),
      0.99,
    ),
    history,
    cpuPerPayment: {
      temporal: cpuSum((c) => c.temporal),
      bench: cpuSum((c) => c.bench)!,
      benchMain: cpuSum((c) => c.benchMain)!,
      postgres: cpuSum((c) => c.postgres),
    },
  };
}

const fmt = (x: number | undefined, digits = 0) =>
  x === undefined || Number.isNaN(x) ? '–' : x.toFixed(digits);

function table(c: number, rows: Summary[], phases: PhaseResult[]): string {
  const head = [
    '',
    'pay/s',
    'auth p50',
    'auth p99',
    'total p50',
    'total p99',
    'events',
    'KB',
    'temporal',
    'bench',
    'main',
    'pg',
  ];
  const cells = (s: Summary) => [
    s.kind,
    fmt(s.perSecond, 1),
    fmt(s.authorizeP50),
    fmt(s.authorizeP99),
    fmt(s.totalP50),
    fmt(s.totalP99),
    fmt(s.history.events, 1),
    fmt(s.history.bytes / 1024, 1),
    fmt(s.cpuPerPayment.temporal, 1),
    fmt(s.cpuPerPayment.bench, 1),
    fmt(s.cpuPerPayment.benchMain, 1),
    fmt(s.cpuPerPayment.postgres, 1),
  ];
  const settle = rows.find((r) => r.kind === 'settle')!;
  const ratio = (to: Summary) => {
    const r = (a: number | undefined, b: number | undefined, d = 2) =>
      a === undefined || b === undefined ? '–' : fmt(a / b, d);
    return [
      `settle/${to.kind}`,
      r(settle.perSecond, to.perSecond),
      r(settle.authorizeP50, to.authorizeP50),
      r(settle.authorizeP99, to.authorizeP99),
      r(settle.totalP50, to.totalP50),
      r(settle.totalP99, to.totalP99),
      r(settle.history.events, to.history.events),
      r(settle.history.bytes, to.history.bytes),
      r(settle.cpuPerPayment.temporal, to.cpuPerPayment.temporal),
      r(settle.cpuPerPayment.bench, to.cpuPerPayment.bench),
      r(settle.cpuPerPayment.benchMain, to.cpuPerPayment.benchMain),
      '',
    ];
  };
  const lines = [head, ...rows.map(cells), ...rows.filter((r) => r !== settle).map(ratio)];
  const widths = head.map((_, i) => Math.max(...lines.map((l) => l[i]!.length)));
  const text = lines.map((l) =>
    l.map((x, i) => (i === 0 ? x.padEnd(widths[i]!) : x.padStart(widths[i]!))).join('  '),
  );
  return [
    `C = ${c}: ${rows[0]!.payments} payments per kind; latency in ms; history per payment; CPU ms per payment`,
    ...text,
    `pay/s by round: ${rows.map((r) => `${r.kind} ${r.perSecondByRound.map((x) => x.toFixed(1)).join('/')}`).join(', ')}`,
    `settle's shared PostgreSQL pool (${SETTLE_POOL_SIZE}), queries waiting by round: ${phases
      .filter((p) => p.poolWaiting)
      .map((p) => `mean ${fmt(p.poolWaiting!.mean, 1)} max ${p.poolWaiting!.max}`)
      .join(', ')}`,
    `mean ms per task, dispatch (scheduled -> started) / run (started -> completed): ${rows
      .map(
        (r) =>
          `${r.kind} workflow ${fmt(r.history.workflowTask.dispatch, 1)}/${fmt(r.history.workflowTask.run, 1)}` +
          ` activity ${fmt(r.history.activityTask.dispatch, 1)}/${fmt(r.history.activityTask.run, 1)}`,
      )
      .join('; ')}`,
    'shape (events by type, one history each):',
    ...rows.map(
      (r) =>
        `  ${r.kind}: ${Object.entries(r.history.shape)
          .map(([k, v]) => `${k} ${v}`)
          .join(', ')}`,
    ),
  ].join('\n');
}

async function main(): Promise<void> {
  const opts = options();
  const log = (line: string) => process.stderr.write(`${line}\n`);
  let aborted = false;
  const abort = () => (aborted = true);
  process.once('SIGINT', abort);
  process.once('SIGTERM', abort);
  const deadline = setTimeout(() => {
    log(`bench: --max-seconds ${opts.maxSeconds} reached, stopping`);
    abort();
  }, opts.maxSeconds * 1000);
  deadline.unref();

  const env = await setUp(log);
  const started: string[] = [];
  const results: Array<{ concurrency: number; phases: PhaseResult[]; summary: Summary[] }> = [];
  try {
    const settleAuth = (await env.stack.serviceAuth()).authorization;
    const loads: Record<Kind, Load<unknown>> = {
      settle: settleLoad(env.baseUrl, settleAuth),
      'same-shape': sameShapeLoad(env.ceilingClient, env.ceilingQueue, env.ceilingCardQueue),
      minimal: minimalLoad(
        env.ceilingClient,
        env.ceilingQueue,
        opts.minimalOnOwnQueue ? undefined : env.ceilingCardQueue,
      ),
    };
    const run = async (kind: Kind, n: number, c: number, label: string): Promise<PhaseResult> => {
      let before: Cpu = { bench: 0, benchMain: 0 };
      let shown = 0;
      // test/support/stack.ts gives the API and both Settle workers ONE pool of 5 connections
      // (production: 10 per process): how often a query queued for one says whether that bounds Settle.
      const waiting: number[] = [];
      let sampler: NodeJS.Timeout | undefined;
      const t = await drive(loads[kind], n, c, {
        started: () => {
          before = cpuNow(env);
          if (kind === 'settle') sampler = setInterval(() => waiting.push(env.stack.pool.waitingCount), 50);
        },
        progress: (done) => {
          if (done === n || done >= shown + Math.ceil(n / 4)) {
            shown = done;
            log(`  ${label}: ${done}/${n}`);
          }
        },
        aborted: () => aborted,
      });
      const after = cpuNow(env);
      clearInterval(sampler);
      started.push(...t.workflowIds);
      return {
        ...t,
        kind,
        round: 0,
        poolWaiting: sampler
          ? {
              mean: waiting.reduce((a, x) => a + x, 0) / Math.max(1, waiting.length),
              max: Math.max(0, ...waiting),
            }
          : undefined,
        cpu: {
          temporal: diff(before.temporal, after.temporal),
          bench: after.bench - before.bench,
          benchMain: after.benchMain - before.benchMain,
          postgres: diff(before.postgres, after.postgres),
        },
      };
    };

    for (const c of opts.concurrency) {
      const warmup = Math.min(opts.n, opts.warmup ?? Math.max(2 * c, 10));
      if (warmup > 0) for (const kind of KINDS) await run(kind, warmup, c, `warm-up ${kind} (C=${c})`);
      const phases: PhaseResult[] = [];
      for (let round = 0; round < opts.rounds; round++) {
        const order = round % 2 === 0 ? KINDS : [...KINDS].reverse();
        for (const kind of order) {
          const p = await run(kind, opts.n, c, `${kind} round ${round + 1}/${opts.rounds} (C=${c})`);
          phases.push({ ...p, round });
        }
      }
      const summary: Summary[] = [];
      for (const kind of KINDS) {
        const ids = phases.filter((p) => p.kind === kind).flatMap((p) => p.workflowIds);
        // Settle's payloads are encrypted by its codec: its own client reads them as stored.
        const client = kind === 'settle' ? env.stack.client : env.ceilingClient;
        summary.push(summarize(kind, phases, await sampleHistories(client, ids, opts.sample)));
      }
      results.push({ concurrency: c, phases, summary });
      process.stdout.write(`${table(c, summary, phases)}\n\n`);
    }

    fs.mkdirSync(path.dirname(opts.out), { recursive: true });
    fs.writeFileSync(
      opts.out,
      JSON.stringify(
        {
          at: new Date().toISOString(),
          options: { ...opts },
          machine: { cpus: (await import('node:os')).cpus().length, node: process.version },
          temporal: { reused: env.reusedTemporal, pid: env.temporalPid },
          postgres: { sharedServer: env.sharedDatabaseServer, pid: env.postgresPid },
          results: results.map((r) => ({
            concurrency: r.concurrency,
            summary: r.summary,
            phases: r.phases.map(({ workflowIds: _ids, ...p }) => p),
          })),
        },
        null,
        2,
      ),
    );
    log(`bench: result written to ${opts.out}`);
  } finally {
    if (env.reusedTemporal) await terminate(env, started);
    await env.stop();
  }
}

/** On a server the bench did not start, leave no payment of its own waiting on a timer. */
async function terminate(env: BenchEnv, ids: string[]): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: 8 }, async () => {
      while (next < ids.length) {
        const id = ids[next++]!;
        await env.ceilingClient.workflow
          .getHandle(id)
          .terminate('payments bench finished')
          .catch(() => undefined);
      }
    }),
  );
}

main().catch((err: unknown) => {
  process.stderr.write(`bench: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
