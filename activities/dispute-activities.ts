/**
 * Activities of the dispute workflow on the payment worker (token-only: no card data, no provider
 * credentials; the provider calls are the card-data worker's, activities/card-activities.ts).
 */
import type { DisputesRepo, DisputeStep } from '../db/disputes-repo';
import { atBoundary } from './errors';

export type { DisputeStep };

export function createDisputeActivities(deps: { disputes: DisputesRepo }) {
  return {
    /**
     * One step of a dispute in one PostgreSQL statement: its projection and its merchant events
     * (`dispute.created|updated|closed`). Run as a LOCAL activity, like the payment's steps.
     */
    async commitDisputeStep(step: DisputeStep): Promise<void> {
      await atBoundary(() => deps.disputes.commitStep(step));
    },
  };
}
export type DisputeActivities = ReturnType<typeof createDisputeActivities>;
