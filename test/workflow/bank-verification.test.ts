/**
 * BankVerificationWorkflow on the time-skipping test server with fake activities typed from
 * createBankActivities and createBankProviderActivities: the 10-day window and the 2-/7-day reminders
 * run in seconds. Driven by signals, queries, env.sleep and results (Updates can hang on the
 * time-skipping server; the verify Update and its attempt limit are covered on the dev server in
 * test/integration/bank-accounts.test.ts).
 */
import { ApplicationFailure } from '@temporalio/common';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import type { createBankActivities, ProjectBankAccountArgs } from '../../activities/bank-activities';
import type { createBankProviderActivities } from '../../activities/bank-provider-activities';
import type { InstantVerifyResult } from '../../activities/providers/bank-types';
import { bankEventId } from '../../domain/bank-account';
import { FAILURE_TYPES } from '../../domain/errors';

import {
  bankVerificationWorkflow,
  depositEventSignal,
  getBankAccountQuery,
  type BankVerificationInput,
} from '../../workflows/bank-verification';
import { createTimeSkippingEnv, runTestWorker, teardownTimeSkippingEnv } from '../support/temporal-test-env';

type AllActivities = ReturnType<typeof createBankActivities> &
  ReturnType<typeof createBankProviderActivities>;

jest.setTimeout(60_000);

const DAY = 24 * 60 * 60 * 1000;
const MAC = 'A'.repeat(43);
let env: TestWorkflowEnvironment;

beforeAll(async () => {
  env = await createTimeSkippingEnv();
}, 120_000);
afterAll(async () => {
  await teardownTimeSkippingEnv(env);
});

function fakes(instant: () => Promise<InstantVerifyResult>) {
  const projections: ProjectBankAccountArgs[] = [];
  const reminders: Array<{ n: number; id: string; at: string }> = [];
  const calls: string[] = [];
  const acts: AllActivities = {
    projectBankAccount(a) {
      projections.push(a);
      return Promise.resolve();
    },
    recordBankReminder(a) {
      reminders.push({ n: a.n, id: bankEventId(a.view.id, `reminder${a.n}`), at: a.at });
      return Promise.resolve();
    },
    async instantVerifyBankAccount() {
      calls.push('instant');
      return instant();
    },
    sendBankMicrodeposits(a) {
      calls.push(`send:${a.nonce.length}`);
      return Promise.resolve({ providerReference: 'sbmd_ref1', amountsMac: MAC });
    },
    clawBackBankMicrodeposits(a) {
      calls.push(`clawback:${a.providerReference}`);
      return Promise.resolve();
    },
  };
  const statuses = () => projections.filter((p) => p.statusChanged).map((p) => p.view.status);
  return { acts, projections, reminders, calls, statuses };
}

let n = 0;
async function run(
  instant: () => Promise<InstantVerifyResult>,
  body: (ctx: {
    input: BankVerificationInput;
    taskQueue: string;
    f: ReturnType<typeof fakes>;
  }) => Promise<void>,
) {
  const taskQueue = `bank-wf-test-${process.pid}-${++n}`;
  const f = fakes(instant);
  const input: BankVerificationInput = {
    bankAccountId: `ba_wftest${process.pid}x${n}aaaaaaaaaaaa`,
    clientId: 'cli_test',
    provider: 'sandbox',
    accountType: 'checking',
    last4: '6789',
    createdAt: new Date(await env.currentTimeMs()).toISOString(),
    cardTaskQueue: taskQueue,
  };
  await runTestWorker(env, { taskQueue, activities: f.acts }, () => body({ input, taskQueue, f }));
  return f;
}

const start = (input: BankVerificationInput, taskQueue: string) =>
  env.client.workflow.start(bankVerificationWorkflow, {
    args: [input],
    taskQueue,
    workflowId: `bank-verification-${input.bankAccountId}`,
  });

/** Poll a query until it satisfies `ok` (workflow progress is asynchronous to the test). */
async function until<T>(read: () => Promise<T>, ok: (v: T) => boolean, ms = 20_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await read();
    if (ok(v)) return v;
    if (Date.now() > deadline) throw new Error(`condition not reached; last value ${JSON.stringify(v)}`);
    await new Promise((r) => setImmediate(r));
  }
}

test('instant verification succeeds: verified by the instant method, no deposits sent', async () => {
  const f = await run(
    () => Promise.resolve({ outcome: 'verified' }),
    async ({ input, taskQueue }) => {
      const view = await (await start(input, taskQueue)).result();
      expect(view).toMatchObject({ status: 'verified', verificationMethod: 'instant', last4: '6789' });
      expect(view.attemptsRemaining).toBeUndefined();
    },
  );
  expect(f.calls).toEqual(['instant']);
  expect(f.statuses()).toEqual(['pending', 'verified']);
});

test('instant timeout falls back to micro-deposits; reminders after 2 and 7 days; expired after 10 days; claw-back', async () => {
  const f = await run(
    () =>
      Promise.reject(
        ApplicationFailure.create({ type: FAILURE_TYPES.ProviderUnavailable, message: 'timed out' }),
      ),
    async ({ input, taskQueue, f }) => {
      const handle = await start(input, taskQueue);
      const waiting = await until(
        () => handle.query(getBankAccountQuery),
        (v) => v.status === 'awaiting_microdeposits',
      );
      expect(waiting).toMatchObject({ verificationMethod: 'microdeposits', attemptsRemaining: 3 });
      const sentAt = Date.parse(waiting.updatedAt);
      expect(Date.parse(waiting.verificationExpiresAt ?? '') - sentAt).toBe(10 * DAY);

      await env.sleep(DAY + 23 * 60 * 60 * 1000); // 1 day 23 h: no reminder yet
      expect(f.reminders).toHaveLength(0);
      await env.sleep(2 * 60 * 60 * 1000); // past 2 days
      await until(
        () => Promise.resolve(f.reminders.length),
        (k) => k === 1,
      );
      await env.sleep(5 * DAY); // past 7 days
      await until(
        () => Promise.resolve(f.reminders.length),
        (k) => k === 2,
      );
      expect((await handle.query(getBankAccountQuery)).status).toBe('awaiting_microdeposits');

      const view = await handle.result();
      expect(view.status).toBe('expired');
      // Workflow time: each timer fired at its mark (plus the few ms of the task that ran it).
      const after = (iso: string) => Date.parse(iso) - sentAt;
      expect(after(view.updatedAt)).toBeGreaterThanOrEqual(10 * DAY);
      expect(after(view.updatedAt)).toBeLessThan(10 * DAY + 60_000);
      expect(f.reminders.map((r) => r.n)).toEqual([1, 2]);
      expect(after(f.reminders[0]!.at)).toBeGreaterThanOrEqual(2 * DAY);
      expect(after(f.reminders[0]!.at)).toBeLessThan(2 * DAY + 60_000);
      expect(after(f.reminders[1]!.at)).toBeGreaterThanOrEqual(7 * DAY);
      expect(after(f.reminders[1]!.at)).toBeLessThan(7 * DAY + 60_000);
      expect(new Set(f.reminders.map((r) => r.id)).size).toBe(2);
    },
  );
  // bankInstant allows 2 attempts, then the workflow falls back instead of failing.
  expect(f.calls).toEqual(['instant', 'instant', 'send:36', 'clawback:sbmd_ref1']);
  expect(f.statuses()).toEqual(['pending', 'awaiting_microdeposits', 'expired']);
});

test('inconclusive instant check: a returned deposit fails verification; duplicates and out-of-order events are harmless', async () => {
  const f = await run(
    () => Promise.resolve({ outcome: 'inconclusive' }),
    async ({ input, taskQueue }) => {
      const handle = await start(input, taskQueue);
      await until(
        () => handle.query(getBankAccountQuery),
        (v) => v.status === 'awaiting_microdeposits',
      );
      const at = new Date().toISOString();
      // The return arrives before the "sent" notice, and both arrive twice.
      await handle.signal(depositEventSignal, {
        eventId: 'sandbox:r1',
        kind: 'bank_account.deposit_returned',
        occurredAt: at,
      });
      await handle.signal(depositEventSignal, {
        eventId: 'sandbox:r1',
        kind: 'bank_account.deposit_returned',
        occurredAt: at,
      });
      await handle.signal(depositEventSignal, {
        eventId: 'sandbox:s1',
        kind: 'bank_account.deposits_sent',
        occurredAt: at,
      });
      await handle.signal(depositEventSignal, {
        eventId: 'sandbox:s1',
        kind: 'bank_account.deposits_sent',
        occurredAt: at,
      });
      const view = await handle.result();
      expect(view).toMatchObject({ status: 'verification_failed', failureReason: 'microdeposit_returned' });
    },
  );
  // One failure transition; nothing to claw back from a returned deposit.
  expect(f.statuses()).toEqual(['pending', 'awaiting_microdeposits', 'verification_failed']);
  expect(f.calls).toEqual(['instant', 'send:36']);
});

test('a "deposits sent" notice (even repeated) changes nothing; events after the end are ignored', async () => {
  const f = await run(
    () => Promise.resolve({ outcome: 'unavailable' }),
    async ({ input, taskQueue }) => {
      const handle = await start(input, taskQueue);
      await until(
        () => handle.query(getBankAccountQuery),
        (v) => v.status === 'awaiting_microdeposits',
      );
      const at = new Date().toISOString();
      for (let i = 0; i < 3; i++) {
        await handle.signal(depositEventSignal, {
          eventId: 'sandbox:s1',
          kind: 'bank_account.deposits_sent',
          occurredAt: at,
        });
      }
      await env.sleep(DAY);
      const mid = await handle.query(getBankAccountQuery);
      expect(mid).toMatchObject({ status: 'awaiting_microdeposits', attemptsRemaining: 3 });
      const view = await handle.result();
      expect(view.status).toBe('expired');
    },
  );
  expect(f.statuses()).toEqual(['pending', 'awaiting_microdeposits', 'expired']);
  expect(f.calls.filter((c) => c.startsWith('clawback'))).toHaveLength(1);
});
