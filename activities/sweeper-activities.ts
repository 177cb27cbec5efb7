/**
 * Activities of the stuck-payment sweeper (workflows/payment-sweeper.ts), on the payment worker:
 * read the projections and ask each payment's workflow for its state (the getPayment query, through
 * the `workflows` port the process root builds), judge them (domain/payment-repair.ts), and record a
 * run: findings, the merchant event (`payment.needs_attention`) and the audit entry of what it could
 * not repair. They never write a payment; repairs are the payment workflow's (signal `repair`).
 */
import { createHash } from 'node:crypto';
import type { AuditLog } from '../db/audit-repo';
import type { Projection, SweepCursor, SweeperRepo } from '../db/sweeper-repo';
import type { EventRecord } from '../domain/merchant-event';
import { judge, type Inspection, type ProviderObservation } from '../domain/payment-repair';
import { atBoundary } from './errors';

export type { SweepCursor };

/** The merchant event of a payment the sweeper could not repair. */
export const NEEDS_ATTENTION_EVENT = 'payment.needs_attention';
export const SWEEPER_ACTOR = 'system:payment-sweeper';

/** How the process root lets activities ask a payment's workflow (query getPayment). */
export interface PaymentWorkflowLookup {
  look(paymentId: string): Promise<Inspection['workflow']>;
}

export interface SweeperActivityDeps {
  sweeps: SweeperRepo;
  audit: AuditLog;
  workflows: PaymentWorkflowLookup;
}

export interface SweepPage {
  items: Inspection[];
  /** Where the next page starts; null: the scan reached the end (the next run starts over). */
  next: SweepCursor | null;
}

/** A payment's outcome in one run, as the workflow hands it to `recordSweep`. */
export interface SweepOutcome {
  paymentId: string;
  clientId: string;
  outcome: 'consistent' | 'repaired' | 'unrepaired' | 'skipped';
  problems: string[];
  detail: Record<string, unknown>;
}

const inspection = (p: Projection, workflow: Inspection['workflow']): Inspection => {
  const { paymentId, clientId, ...projection } = p;
  return { paymentId, clientId, projection, workflow };
};

/** `evt_<24 hex>` from (payment, run): one event per finding opened, stable across retries. */
const needsAttentionId = (paymentId: string, runId: string) =>
  `evt_${createHash('sha256').update(`${paymentId}\0${runId}`).digest('hex').slice(0, 24)}`;

export function createSweeperActivities(deps: SweeperActivityDeps) {
  const inspectAll = (rows: Projection[]) =>
    Promise.all(rows.map(async (p) => inspection(p, await deps.workflows.look(p.paymentId))));

  return {
    /** Where the scheduled scan stopped last time (undefined: from the start). */
    async sweepCursor(scope: string): Promise<SweepCursor | undefined> {
      return atBoundary(() => deps.sweeps.cursor(scope));
    },

    /** Payments with an open finding, longest unseen first (at most `limit`). */
    async openFindings(limit: number): Promise<string[]> {
      return atBoundary(async () => await deps.sweeps.openFindingIds(limit));
    },

    /** One bounded page of candidates (or the given payments), each with its workflow's state. */
    async inspectPayments(
      q:
        | { ids: string[] }
        | {
            after?: SweepCursor | undefined;
            limit: number;
            olderThan: string;
            clientId?: string | undefined;
          },
    ): Promise<SweepPage> {
      return atBoundary(async () => {
        if ('ids' in q) return { items: await inspectAll(await deps.sweeps.byIds(q.ids)), next: null };
        const rows = await deps.sweeps.scan(q);
        const last = rows[rows.length - 1];
        return {
          items: await inspectAll(rows),
          next: last && rows.length === q.limit ? { createdAt: last.createdAt, id: last.paymentId } : null,
        };
      });
    },

    /**
     * After repair signals: the payments whose workflow or projection still lack what was observed
     * (judged again against the same observations). Empty: every repair landed.
     */
    async pendingRepairs(q: {
      items: Array<{ paymentId: string; observation?: ProviderObservation | undefined }>;
      staleBefore: string;
    }): Promise<string[]> {
      return atBoundary(async () => {
        const obs = new Map(q.items.map((i) => [i.paymentId, i.observation]));
        const now = await inspectAll(await deps.sweeps.byIds(q.items.map((i) => i.paymentId)));
        return now
          .filter((i) => judge(i, obs.get(i.paymentId), { staleBefore: q.staleBefore }).repair)
          .map((i) => i.paymentId);
      });
    },

    /**
     * Record one run: open findings for what stays unrepaired (a merchant event and an audit entry
     * when a finding opens; a finding still open from an earlier run is not announced again), close
     * the others, store the scan position and a summary, and audit each repair.
     */
    async recordSweep(run: {
      scope: string;
      runId: string;
      actor: string;
      outcomes: SweepOutcome[];
      cursor?: SweepCursor | null | undefined;
      summary: Record<string, unknown>;
    }): Promise<{ opened: string[] }> {
      return atBoundary(async () => {
        const open = run.outcomes
          .filter((o) => o.outcome === 'unrepaired')
          .map((o) => ({ ...o, problems: [...o.problems].sort() }));
        const opened = await deps.sweeps.recordRun({
          scope: run.scope,
          runId: run.runId,
          open,
          closed: run.outcomes.flatMap((o): Array<{ paymentId: string; status: 'repaired' | 'resolved' }> =>
            o.outcome === 'repaired' || o.outcome === 'consistent'
              ? [{ paymentId: o.paymentId, status: o.outcome === 'repaired' ? 'repaired' : 'resolved' }]
              : [],
          ),
          cursor: run.cursor,
          summary: run.summary,
          opened: (f): EventRecord => ({
            id: needsAttentionId(f.paymentId, run.runId),
            clientId: f.clientId,
            type: NEEDS_ATTENTION_EVENT,
            resourceId: f.paymentId,
            data: { paymentId: f.paymentId, problems: f.problems },
            createdAt: new Date().toISOString(),
          }),
        });
        const byId = new Map(run.outcomes.map((o) => [o.paymentId, o]));
        for (const id of opened) {
          const o = byId.get(id)!;
          await deps.audit.append({
            actor: run.actor,
            action: 'payment.needs_attention',
            resource: id,
            outcome: 'failure',
            details: { runId: run.runId, problems: [...o.problems].sort(), ...o.detail },
          });
        }
        for (const o of run.outcomes.filter((x) => x.outcome === 'repaired')) {
          await deps.audit.append({
            actor: run.actor,
            action: 'payment.repair',
            resource: o.paymentId,
            outcome: 'success',
            details: { runId: run.runId, problems: o.problems, ...o.detail },
          });
        }
        return { opened };
      });
    },
  };
}
export type SweeperActivities = ReturnType<typeof createSweeperActivities>;
