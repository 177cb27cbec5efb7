/**
 * Where a payment's three accounts of itself disagree, and what may be done about it: the projection
 * (PostgreSQL row), the workflow (its state, through the getPayment query) and the provider (sync).
 * Pure, so the sweeper workflow (deciding what to ask for), the payment workflow's `repair` signal
 * (deciding what to apply, against its own current state) and the CLI share one rule.
 *
 * Repairable: the projection is behind the workflow (re-project), or the provider shows a capture,
 * refund or void the workflow lacks and the state machine accepts it (domain/payment-state.ts).
 * Everything else is reported for a person: no workflow for a live row, a payment still `processing`
 * past its window, or provider figures the state machine cannot take (more captured than capturable,
 * less than we recorded, a payment the provider does not know).
 */
import type { PaymentView } from './payment';
import { TERMINAL_STATUSES, transition, type Amounts, type PaymentStatus } from './payment-state';

/** What a provider's sync says (card-free; activities/providers/types.ts ProviderPaymentSnapshot). */
export interface ProviderObservation {
  found: boolean;
  providerReference?: string | undefined;
  status?: 'authorized' | 'captured' | 'voided' | 'declined' | 'processing' | undefined;
  amountAuthorized?: number | undefined;
  amountCaptured?: number | undefined;
  amountRefunded?: number | undefined;
  captures?:
    Array<{ providerCaptureId: string; amount: number; idempotencyKey?: string | undefined }> | undefined;
  refunds?:
    Array<{ providerRefundId: string; amount: number; idempotencyKey?: string | undefined }> | undefined;
}

/** One thing the provider did that the workflow does not show yet. */
export type RepairAction =
  | { kind: 'capture'; amount: number; final: boolean; providerCaptureId: string }
  | { kind: 'refund'; amount: number; providerRefundId?: string | undefined }
  | { kind: 'void' };

export const PROBLEMS = {
  /** A live projection row whose workflow does not exist. */
  NoWorkflow: 'no_workflow',
  /** The workflow could not be asked (query failed): nothing is concluded this run. */
  WorkflowUnreachable: 'workflow_unreachable',
  /** Still `processing` after its window. */
  ProcessingStale: 'processing_stale',
  /** The projection shows an older state than the workflow. */
  ProjectionBehind: 'projection_behind',
  ProviderCaptured: 'provider_captured',
  ProviderRefunded: 'provider_refunded',
  ProviderVoided: 'provider_voided',
  /** The provider does not know a payment we hold as authorized or captured. */
  ProviderMissing: 'provider_missing',
  /** Provider amounts the state machine cannot accept (or below what we recorded). */
  ProviderMismatch: 'provider_mismatch',
  /** The provider could not be asked this run. */
  ProviderUnreachable: 'provider_unreachable',
} as const;
export type Problem = (typeof PROBLEMS)[keyof typeof PROBLEMS];

/** Problems the sweeper can only report (a merchant event and an audit entry). */
export const UNREPAIRABLE: ReadonlySet<Problem> = new Set<Problem>([
  PROBLEMS.NoWorkflow,
  PROBLEMS.ProcessingStale,
  PROBLEMS.ProviderMissing,
  PROBLEMS.ProviderMismatch,
]);
/** Problems that conclude nothing: the next run asks again. */
export const TRANSIENT: ReadonlySet<Problem> = new Set<Problem>([
  PROBLEMS.WorkflowUnreachable,
  PROBLEMS.ProviderUnreachable,
]);

type Holding = Amounts & { status: PaymentStatus };

const HOLDS_MONEY: ReadonlySet<PaymentStatus> = new Set([
  'authorized',
  'partially_captured',
  'captured',
  'partially_refunded',
]);

/**
 * The first provider-observed change the state machine accepts, or the problem that stops it.
 * `known`: provider ids the workflow already recorded (so a repair names the capture it lacks).
 * Apply the action and ask again until it answers nothing: each step is one transition.
 */
export function nextProviderRepair(
  s: Holding,
  obs: ProviderObservation,
  known: { captureIds?: string[]; refundIds?: string[] } = {},
): { action?: RepairAction; problem?: Problem } {
  if (s.status === 'processing') return {};
  if (!obs.found) return HOLDS_MONEY.has(s.status) ? { problem: PROBLEMS.ProviderMissing } : {};
  const captured = obs.amountCaptured ?? 0;
  const refunded = obs.amountRefunded ?? 0;
  if (captured > s.amountCaptured) {
    const amount = captured - s.amountCaptured;
    const final = obs.status === 'captured';
    if (!transition(s, { kind: 'capture', amount, final }).ok) return { problem: PROBLEMS.ProviderMismatch };
    const ids = new Set(known.captureIds ?? []);
    const id = obs.captures?.find((c) => !ids.has(c.providerCaptureId))?.providerCaptureId;
    return { action: { kind: 'capture', amount, final, providerCaptureId: id ?? 'provider' } };
  }
  if (captured < s.amountCaptured) return { problem: PROBLEMS.ProviderMismatch };
  if (refunded > s.amountRefunded) {
    const amount = refunded - s.amountRefunded;
    if (!transition(s, { kind: 'refund', amount }).ok) return { problem: PROBLEMS.ProviderMismatch };
    const ids = new Set(known.refundIds ?? []);
    const id = obs.refunds?.find((r) => !ids.has(r.providerRefundId))?.providerRefundId;
    return { action: { kind: 'refund', amount, providerRefundId: id } };
  }
  if (refunded < s.amountRefunded) return { problem: PROBLEMS.ProviderMismatch };
  if (obs.status === 'voided' && s.status === 'authorized') return { action: { kind: 'void' } };
  if (obs.status === 'voided' && s.status !== 'voided' && !TERMINAL_STATUSES.has(s.status) && captured === 0)
    return { problem: PROBLEMS.ProviderMismatch };
  return {};
}

/** The fields a projection and its workflow must agree on (timestamps included: same source). */
export const COMPARED_FIELDS = [
  'status',
  'amountCapturable',
  'amountCaptured',
  'amountRefunded',
  'provider',
  'providerReference',
  'updatedAt',
] as const;
export type ComparedField = (typeof COMPARED_FIELDS)[number];
export type PaymentFacts = Pick<PaymentView, ComparedField>;

/** Fields where the projection differs from the workflow's view. */
export function projectionDiff(projection: PaymentFacts, view: PaymentFacts): ComparedField[] {
  return COMPARED_FIELDS.filter((f) => projection[f] !== view[f]);
}

export interface Inspection {
  paymentId: string;
  clientId: string;
  projection: PaymentFacts & { amount: number; createdAt: string; version: number };
  workflow:
    { found: false } | { found: true; view: PaymentView; running: boolean } | { found: true; error: string };
}

export interface Verdict {
  problems: Problem[];
  /** Fields where the projection differs from the workflow. */
  differs: ComparedField[];
  /** What a `repair` signal would do: re-project, and/or apply this provider change. */
  repair?: { reproject: boolean; action?: RepairAction | undefined } | undefined;
}

/**
 * Judge one payment. `staleBefore`: a payment created before this and still `processing` is past its
 * window. `obs`: what the workflow's provider (`view.provider`) says; undefined when it was not asked
 * or could not be (`providerUnreachable`).
 */
export function judge(
  i: Inspection,
  obs: ProviderObservation | undefined,
  opts: { staleBefore: string; providerUnreachable?: boolean },
): Verdict {
  const problems: Problem[] = [];
  if (opts.providerUnreachable) problems.push(PROBLEMS.ProviderUnreachable);
  const w = i.workflow;
  if (!w.found) {
    if (!TERMINAL_STATUSES.has(i.projection.status)) problems.push(PROBLEMS.NoWorkflow);
    return { problems, differs: [] };
  }
  if ('error' in w) return { problems: [...problems, PROBLEMS.WorkflowUnreachable], differs: [] };
  const differs = projectionDiff(i.projection, w.view);
  const reproject = differs.length > 0;
  if (reproject) problems.push(PROBLEMS.ProjectionBehind);
  if (w.view.status === 'processing' && Date.parse(i.projection.createdAt) < Date.parse(opts.staleBefore))
    problems.push(PROBLEMS.ProcessingStale);
  let action: RepairAction | undefined;
  if (obs) {
    const next = nextProviderRepair(w.view, obs);
    if (next.problem) problems.push(next.problem);
    action = next.action;
    if (action?.kind === 'capture') problems.push(PROBLEMS.ProviderCaptured);
    if (action?.kind === 'refund') problems.push(PROBLEMS.ProviderRefunded);
    if (action?.kind === 'void') problems.push(PROBLEMS.ProviderVoided);
  }
  return {
    problems,
    differs,
    repair: reproject || action ? { reproject, action } : undefined,
  };
}

export const isUnrepairable = (problems: readonly Problem[]) => problems.some((p) => UNREPAIRABLE.has(p));
