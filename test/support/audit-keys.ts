/**
 * Every integration test file writes the audit chain with the run's keys (global setup), as a
 * process root would; stacks (test/support/stack.ts) configure the same keys.
 */
import { configureAuditLog } from '../../db/audit-repo';
import { auditKeysFrom, rootKeyFrom } from '../../security/purpose-keys';

const root = process.env.SETTLE_TEST_SECRET_ROOT_KEY;
if (root) configureAuditLog({ keys: auditKeysFrom(rootKeyFrom(root)) });
