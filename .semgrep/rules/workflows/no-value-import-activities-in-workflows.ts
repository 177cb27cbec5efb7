// Rule test (semgrep --test): positives carry `ruleid`, negatives `ok`. It lives under a
// `workflows/` folder because the rule applies only there.
// ruleid: settle-no-value-import-activities-in-workflows
import { createActivities } from '../activities';
// ruleid: settle-no-value-import-activities-in-workflows
import { createCardActivities, type AuthorizeArgs } from '../activities/card-activities';
// ruleid: settle-no-value-import-activities-in-workflows
import * as providers from '../../activities/providers/registry';
// ruleid: settle-no-value-import-activities-in-workflows
export { createBankActivities } from '../activities/bank-activities';

// ok: settle-no-value-import-activities-in-workflows
import type { createWebhookActivities } from '../activities/webhook-activities';
// ok: settle-no-value-import-activities-in-workflows
import type { AuthorizeResult } from '../activities/providers/types';
// ok: settle-no-value-import-activities-in-workflows
import { proxyActivities } from '@temporalio/workflow';
// ok: settle-no-value-import-activities-in-workflows
import { PAYMENT_STATUSES } from '../domain/payment-state';

export const used = [createActivities, createCardActivities, providers, proxyActivities, PAYMENT_STATUSES];
export type Used = [AuthorizeArgs, typeof createWebhookActivities, AuthorizeResult];
