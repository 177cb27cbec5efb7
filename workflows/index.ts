// The one workflowsPath: every workflow is re-exported here.
export { paymentWorkflow } from './payment';
export { bankVerificationWorkflow } from './bank-verification';
export { webhookDispatcherWorkflow, webhookEndpointWorkflow } from './webhook-delivery';
export { releaseHoldWorkflow } from './release-hold';
export { paymentSweeperWorkflow } from './payment-sweeper';
export { reconciliationWorkflow, scheduledReconciliationWorkflow } from './reconciliation';
export { disputeWorkflow } from './dispute';
