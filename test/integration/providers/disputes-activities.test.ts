/**
 * The card-data worker's dispute activities (activities/card-activities.ts) over the real sandbox
 * provider and PostgreSQL: evidence files are read from the evidence store by id inside the activity
 * and go to the provider; nothing of their content reaches the activity's result or its failures
 * (both land in Temporal history). The store here is an in-memory DisputeEvidenceStore (the real one,
 * vault/dispute-evidence.ts, is tested with the vault).
 */
import { MockActivityEnvironment } from '@temporalio/testing';
import { ApplicationFailure, type Logger } from '@temporalio/common';
import {
  createCardActivities,
  type AcceptDisputeArgs,
  type DisputeEvidenceArgs,
} from '../../../activities/card-activities';
import { createProviderRegistry } from '../../../activities/providers/registry';
import { createSandboxProvider } from '../../../activities/providers/sandbox/adapter';
import type { DisputeEvidenceStore, PaymentProvider } from '../../../activities/providers/types';
import { createPool, type Pool } from '../../../db/pool';
import { newId } from '../../../domain/ids';
import type { Vault } from '../../../vault/vault';
import { testEnv } from '../../support/stack';

const none = () => undefined;
const quiet: Logger = { log: none, trace: none, debug: none, info: none, warn: none, error: none };
const SECRET_CONTENT = 'CONFIDENTIAL-EVIDENCE-BYTES';

let pool: Pool;
let sandbox: PaymentProvider;
const reads: Array<{ disputeId: string; fileIds: readonly string[] }> = [];
const evidence: DisputeEvidenceStore = {
  read(disputeId, fileIds) {
    reads.push({ disputeId, fileIds });
    if (fileIds.includes('de_missing'))
      return Promise.reject(new Error('evidence file de_missing not found'));
    return Promise.resolve(
      fileIds.map((id) => ({
        name: `${id}.pdf`,
        contentType: 'application/pdf',
        content: Buffer.from(SECRET_CONTENT),
      })),
    );
  },
};
const vault = {} as Vault; // dispute activities never touch cards

beforeAll(() => {
  pool = createPool(testEnv().runtimeDatabaseUrl, 'settle-test-dispute-activities', 3);
  sandbox = createSandboxProvider({ pool });
});
afterAll(async () => {
  await pool?.end();
});

async function disputed(): Promise<AcceptDisputeArgs> {
  const paymentId = newId('pay');
  const auth = await sandbox.authorize({
    paymentId,
    idempotencyKey: `${paymentId}:authorize`,
    amount: 41300,
    currency: 'USD',
    capture: 'automatic',
    card: { number: '4242424242424242', expMonth: 12, expYear: 2030, cvc: '123' },
  });
  if (auth.outcome !== 'authorized') throw new Error('not authorized');
  const r = await pool.query<{ id: string }>('SELECT id FROM sandbox_disputes WHERE reference = $1', [
    auth.providerReference,
  ]);
  return {
    disputeId: `dp_${newId('pay').slice(4)}`,
    provider: 'sandbox',
    providerDisputeId: r.rows[0]!.id,
    paymentId,
    providerReference: auth.providerReference,
  };
}

function activities(withStore = true) {
  const acts = createCardActivities({
    vault,
    providers: createProviderRegistry([sandbox]),
    ...(withStore ? { evidence } : {}),
  });
  const env = () => new MockActivityEnvironment({ attempt: 1 }, { logger: quiet });
  return {
    submit: (a: DisputeEvidenceArgs) =>
      env().run((x: DisputeEvidenceArgs) => acts.submitDisputeEvidence(x), a),
    accept: (a: AcceptDisputeArgs) => env().run((x: AcceptDisputeArgs) => acts.acceptDispute(x), a),
  };
}

test('evidence files are read by id in the worker and sent; the result carries only the status', async () => {
  const ids = await disputed();
  const result = await activities().submit({ ...ids, text: 'a receipt', fileIds: ['de_1', 'de_2'] });
  expect(result).toEqual({ status: 'under_review' });
  expect(reads).toContainEqual({ disputeId: ids.disputeId, fileIds: ['de_1', 'de_2'] });
  const row = await pool.query<{ evidence_files: number; evidence_text: string }>(
    'SELECT evidence_files, evidence_text FROM sandbox_disputes WHERE id = $1',
    [ids.providerDisputeId],
  );
  expect(row.rows[0]).toEqual({ evidence_files: 2, evidence_text: 'a receipt' });
  expect(JSON.stringify(result)).not.toContain(SECRET_CONTENT);
});

test('accept through the activity', async () => {
  const ids = await disputed();
  await expect(activities().accept(ids)).resolves.toEqual({ status: 'accepted' });
});

test('failures are typed and carry no evidence content', async () => {
  const ids = await disputed();
  const unknown = await activities()
    .submit({ ...ids, providerDisputeId: 'sbxdp_nope', text: SECRET_CONTENT, fileIds: ['de_1'] })
    .catch((e: unknown) => e);
  expect(unknown).toBeInstanceOf(ApplicationFailure);
  expect(unknown).toMatchObject({ type: 'ProviderInvalidRequest', nonRetryable: true });
  expect(JSON.stringify(unknown) + String((unknown as Error).message)).not.toContain(SECRET_CONTENT);

  // Files but no store in this worker: a wiring fault, retried (a deploy fixes it), nothing sent.
  const noStore = await activities(false)
    .submit({ ...ids, text: 'x', fileIds: ['de_1'] })
    .catch((e: unknown) => e);
  expect(noStore).toMatchObject({ type: 'InternalError', nonRetryable: false });
  const row = await pool.query<{ evidence_requests: number }>(
    'SELECT evidence_requests FROM sandbox_disputes WHERE id = $1',
    [ids.providerDisputeId],
  );
  expect(row.rows[0]?.evidence_requests).toBe(0);
});
