/**
 * Benchmark: payments' latency while a merchant's webhook endpoint is dead. One real stack (Temporal
 * dev server, PostgreSQL, payment + card + webhook workers in this process, the API in memory); runs
 * BENCH_PAYMENTS automatic-capture payments, BENCH_PARALLEL at a time, first with no webhook load,
 * then again right after BENCH_DEAD deliveries to an endpoint that accepts TCP and never answers are
 * queued (production attempt timeout, breaker and concurrency), BENCH_ROUNDS such pairs. Same run,
 * same machine: the report is ratios (p50, p99 loaded / baseline). No threshold is asserted.
 *
 *   npm run bench:webhooks      (DATABASE_URL optional: a throwaway database is created either way)
 *   BENCH_DEAD=5000 BENCH_PAYMENTS=200 npm run bench:webhooks
 */
import globalSetup from '../test/support/global-setup';
import { startStack, stopAllStacks } from '../test/support/stack';
import {
  loadDeadMerchant,
  percentile,
  startDeadEndpoint,
  timePayments,
  type DeadEndpoint,
} from '../test/support/webhook-load';

const num = (name: string, dflt: number) => Number(process.env[name] ?? dflt);

async function main(): Promise<void> {
  const dead = num('BENCH_DEAD', 1000);
  const payments = num('BENCH_PAYMENTS', 100);
  const parallel = num('BENCH_PARALLEL', 10);
  const rounds = num('BENCH_ROUNDS', 3);
  await globalSetup();
  const endpoints: DeadEndpoint[] = [];
  try {
    const stack = await startStack({
      webhooks: {
        dispatcher: { pollMs: 1000 },
        urlPolicy: { allowHttp: true, allowPrivateTargets: true },
      },
    });
    const payer = await stack.serviceAuth();
    await timePayments(stack, payer.authorization, parallel * 2, parallel);
    // A-B pairs, alternated: the machine's other load drifts; each pair is measured back to back.
    // Between pairs the dead endpoint is deleted (its deliveries cancelled) and a fresh one loaded.
    const baseline: number[] = [];
    const loaded: number[] = [];
    const pairs: Array<[number, number]> = [];
    let connections = 0;
    for (let round = 0; round < rounds; round++) {
      const endpoint = await startDeadEndpoint();
      endpoints.push(endpoint);
      const a = await timePayments(stack, payer.authorization, payments, parallel);
      const started = Date.now();
      const m = await loadDeadMerchant(stack, endpoint.url, dead);
      while (endpoint.accepted() === 0 && Date.now() - started < 30_000) {
        await new Promise((r) => setTimeout(r, 100));
      }
      const b = await timePayments(stack, payer.authorization, payments, parallel);
      baseline.push(...a);
      loaded.push(...b);
      pairs.push([percentile(a, 0.99), percentile(b, 0.99)]);
      connections = Math.max(connections, endpoint.maxOpen());
      await stack.http.delete(`/v1/webhook-endpoints/${m.endpointId}`).set('Authorization', m.authorization);
    }
    const row = (label: string, xs: number[]) =>
      `${label.padEnd(28)} p50 ${percentile(xs, 0.5).toFixed(0).padStart(6)} ms   p99 ${percentile(xs, 0.99)
        .toFixed(0)
        .padStart(6)} ms`;
    process.stdout.write(
      [
        `webhook isolation: ${rounds} x ${payments} payments (${parallel} at a time) without / with ` +
          `${dead} deliveries to a dead endpoint`,
        row('without the dead endpoint', baseline),
        row('with the dead endpoint', loaded),
        `ratio p50 ${(percentile(loaded, 0.5) / percentile(baseline, 0.5)).toFixed(2)}, ` +
          `p99 ${(percentile(loaded, 0.99) / percentile(baseline, 0.99)).toFixed(2)}; p99 ratio per pair: ` +
          pairs.map(([a, b]) => (b / a).toFixed(2)).join(', '),
        `dead endpoint: at most ${connections} connections at once (breaker open, the rest waiting)`,
        '',
      ].join('\n'),
    );
  } finally {
    await stopAllStacks();
    for (const e of endpoints) await e.close();
    await (globalThis as { __settleTeardown?: () => Promise<void> }).__settleTeardown?.();
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`bench: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
