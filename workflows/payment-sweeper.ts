/**
 * PaymentSweeperWorkflow: the stuck-payment sweeper (Kill Bill's Janitor, done durably). Started by
 * the Schedule `payment-sweeper-<task queue>` (workers/sweeper.ts; overlap SKIP), one run per
 * action, or by `cli payments inspect|resync` for given payments.
 *
 * Steps (per page: first the payments with an open finding, whatever their status now, then pages
 * of at most `batchSize` live payments unchanged for `staleAfterMs`, oldest first, resuming where
 * the last scheduled run stopped; at most `maxBatches` pages per run):
 *   1. inspectPayments: each projection row with its workflow's state (query getPayment).
 *   2. syncPayment on the card-data worker: what the provider says (read-only).
 *   3. judge (domain/payment-repair.ts): projection behind the workflow, provider ahead of it,
 *      processing past its window, no workflow, provider figures the state machine refuses.
 *   4. repair: signal `repair` to the payment workflow with the observation (it applies what its
 *      current state accepts, through its own commit path); never a write of ours.
 *   5. verify: ask again until the repairs show (a TIMER between attempts, bounded); what still does
 *      not show is unrepaired.
 *   6. recordSweep: findings, a `payment.needs_attention` merchant event and an audit entry for each
 *      newly unrepaired payment, an audit entry per repair, the scan position.
 * Dry runs (inspect) stop after step 3 and record nothing. No compensation: every step is a read or
 * an idempotent signal/record.
 */
import { getExternalWorkflowHandle, proxyActivities, sleep, workflowInfo } from '@temporalio/workflow';
import type { createCardActivities } from '../activities/card-activities';
import type {
  createSweeperActivities,
  SweepCursor,
  SweepOutcome,
  SweepPage,
} from '../activities/sweeper-activities';
import {
  isUnrepairable,
  judge,
  PROBLEMS,
  TRANSIENT,
  type Inspection,
  type ProviderObservation,
  type Verdict,
} from '../domain/payment-repair';
import * as options from './activity-options';
import { onCardQueue } from './card-queue';
import { paymentWorkflowId, repairSignal } from './payment-repair';

type SweeperActs = ReturnType<typeof createSweeperActivities>;
type CardActs = ReturnType<typeof createCardActivities>;

const acts = proxyActivities<SweeperActs>(options.projection);

/** Waits between verification attempts after repair signals (the last one ends the wait). */
const VERIFY_BACKOFF_MS = [500, 1_000, 2_000, 4_000, 8_000];

export interface SweeperInput {
  /** Where its scan position and last run are kept (the schedule's id). */
  scope: string;
  cardTaskQueue: string;
  /** A payment is looked at once unchanged this long; `processing` past it is stuck. */
  staleAfterMs: number;
  batchSize: number;
  maxBatches: number;
  /** Only these payments (no scan, no staleness filter, scan position untouched). */
  paymentIds?: string[] | undefined;
  /** Scan only this merchant's payments (an operator's targeted sweep; tests on a shared database). */
  clientId?: string | undefined;
  /** Judge only: no signal, no record (`cli payments inspect`). */
  dryRun?: boolean | undefined;
  /** Audit actor: `system:payment-sweeper` or `cli:<user>`. */
  actor: string;
}

export interface SweepReport {
  paymentId: string;
  outcome: SweepOutcome['outcome'] | 'repairable';
  problems: string[];
  verdict: Verdict;
  inspection: Inspection;
  observation?: ProviderObservation | undefined;
}

export interface SweeperResult {
  runId: string;
  checked: number;
  repaired: string[];
  unrepaired: string[];
  /** Every payment with a problem; with `paymentIds`, every payment asked about. */
  reports: SweepReport[];
}

/**
 * Worker Versioning: PINNED. One run lasts minutes; the Schedule starts each next run on the
 * deployment's current build.
 */

export async function paymentSweeperWorkflow(input: SweeperInput): Promise<SweeperResult> {
  const runId = workflowInfo().workflowId;
  const card = onCardQueue<CardActs>(input.cardTaskQueue, options.providerOperation);
  const staleBefore = new Date(Date.now() - input.staleAfterMs).toISOString();
  const explicit = input.paymentIds !== undefined;
  let cursor: SweepCursor | null | undefined = explicit ? undefined : await acts.sweepCursor(input.scope);
  const reports: SweepReport[] = [];
  /** Every payment judged: a consistent one closes its open finding, if any. */
  const outcomes: SweepOutcome[] = [];
  let checked = 0;

  const seen = new Set<string>();

  /** Steps 2-5 for one page; a payment already judged this run is not judged again. */
  async function handle(page: SweepPage): Promise<void> {
    const fresh = page.items.filter((i) => !seen.has(i.paymentId));
    for (const i of fresh) seen.add(i.paymentId);
    checked += fresh.length;
    const judged = await Promise.all(fresh.map((i) => look(i)));
    const signalled: SweepReport[] = [];
    for (const r of judged) {
      if (r.outcome === 'repairable' && !input.dryRun) {
        if (await signalRepair(r)) signalled.push(r);
        else r.outcome = 'unrepaired';
      }
    }
    if (signalled.length) await verify(signalled);
    reports.push(...judged.filter((r) => explicit || r.problems.length > 0));
    for (const r of judged) {
      outcomes.push({
        paymentId: r.paymentId,
        clientId: r.inspection.clientId,
        outcome: r.outcome === 'repairable' ? 'unrepaired' : r.outcome,
        problems: r.problems,
        detail: r.outcome === 'consistent' ? {} : detailOf(r),
      });
    }
  }

  if (explicit) {
    await handle(await acts.inspectPayments({ ids: input.paymentIds! }));
  } else {
    // Open findings first, whatever their status now (a payment that ended meanwhile leaves the
    // scan): each is judged again, so it closes once consistent.
    const open = await acts.openFindings(input.batchSize);
    if (open.length) await handle(await acts.inspectPayments({ ids: open }));
    for (let batch = 0; batch < input.maxBatches; batch++) {
      const page: SweepPage = await acts.inspectPayments({
        after: cursor ?? undefined,
        limit: input.batchSize,
        olderThan: staleBefore,
        clientId: input.clientId,
      });
      await handle(page);
      cursor = page.next;
      if (page.next === null) break;
    }
  }

  const repaired = reports.filter((r) => r.outcome === 'repaired').map((r) => r.paymentId);
  const unrepaired = reports.filter((r) => r.outcome === 'unrepaired').map((r) => r.paymentId);
  if (!input.dryRun) {
    await acts.recordSweep({
      scope: input.scope,
      runId,
      actor: input.actor,
      outcomes,
      cursor,
      summary: { checked, repaired: repaired.length, unrepaired: unrepaired.length },
    });
  }
  return { runId, checked, repaired, unrepaired, reports };

  /** Steps 2-3 for one payment. */
  async function look(i: Inspection): Promise<SweepReport> {
    const provider = 'view' in i.workflow ? i.workflow.view.provider : i.projection.provider;
    const providerReference =
      ('view' in i.workflow ? i.workflow.view.providerReference : i.projection.providerReference) ??
      undefined;
    let observation: ProviderObservation | undefined;
    let unreachable = false;
    try {
      observation = await card.syncPayment({ paymentId: i.paymentId, provider, providerReference });
    } catch {
      unreachable = true;
    }
    const verdict = judge(i, observation, { staleBefore, providerUnreachable: unreachable });
    // No workflow: what the provider says is for the person who looks (nothing here can act on it).
    const problems: string[] = [...verdict.problems];
    if (problems.includes(PROBLEMS.NoWorkflow) && observation && !observation.found)
      problems.push(PROBLEMS.ProviderMissing);
    const real = verdict.problems.filter((p) => !TRANSIENT.has(p));
    const outcome: SweepReport['outcome'] = isUnrepairable(verdict.problems)
      ? 'unrepaired'
      : verdict.repair
        ? 'repairable'
        : real.length === 0 && verdict.problems.length > 0
          ? 'skipped'
          : 'consistent';
    return { paymentId: i.paymentId, outcome, problems, verdict, inspection: i, observation };
  }

  async function signalRepair(r: SweepReport): Promise<boolean> {
    const provider = 'view' in r.inspection.workflow ? r.inspection.workflow.view.provider : undefined;
    try {
      await getExternalWorkflowHandle(paymentWorkflowId(r.paymentId)).signal(repairSignal, {
        requestedBy: input.actor,
        reproject: r.verdict.repair?.reproject ?? false,
        observation: r.observation && provider ? { ...r.observation, provider } : undefined,
      });
      return true;
    } catch {
      // The workflow is gone (closed, or never existed): nothing can apply a repair now.
      return false;
    }
  }

  /** Step 5: until the signalled repairs show, with a bounded wait; the rest stay unrepaired. */
  async function verify(signalled: SweepReport[]): Promise<void> {
    let pending = signalled;
    for (const wait of VERIFY_BACKOFF_MS) {
      const left = new Set(
        await acts.pendingRepairs({
          items: pending.map((r) => ({ paymentId: r.paymentId, observation: r.observation })),
          staleBefore,
        }),
      );
      for (const r of pending) if (!left.has(r.paymentId)) r.outcome = 'repaired';
      pending = pending.filter((r) => left.has(r.paymentId));
      if (!pending.length) return;
      await sleep(wait);
    }
    for (const r of pending) r.outcome = 'unrepaired';
  }
}

/** What a finding and its audit entry say about a payment: statuses and amounts, never card data. */
function detailOf(r: SweepReport): Record<string, unknown> {
  const p = r.inspection.projection;
  const w = r.inspection.workflow;
  const o = r.observation;
  return {
    projection: { status: p.status, amountCaptured: p.amountCaptured, amountRefunded: p.amountRefunded },
    workflow:
      'view' in w
        ? {
            status: w.view.status,
            amountCaptured: w.view.amountCaptured,
            amountRefunded: w.view.amountRefunded,
          }
        : { found: w.found },
    provider: o
      ? {
          found: o.found,
          status: o.status,
          amountCaptured: o.amountCaptured,
          amountRefunded: o.amountRefunded,
        }
      : null,
    differs: r.verdict.differs,
  };
}
