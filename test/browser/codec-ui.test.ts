/**
 * An operator in a real browser (Debian's Chromium driven by playwright-core): the Temporal UI shows a
 * payment's encrypted payloads decoded only while the operator is signed in on the codec server's
 * sign-in page. A Temporal dev server of its own with the Web UI pointed at the codec server
 * (`--ui-codec-endpoint`, as `npm start` does), a Settle stack on it, the codec server over HTTP.
 * The operator's one step in the UI (README "Operating Settle"): Codec Server setting -> use my browser
 * setting, the endpoint, "Include cross-origin credentials" -> Apply.
 * Screenshots: test/.artifacts/browser/*.png.
 */
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { createCodecServer } from '../../api/codec-server';
import { createCodecSignIn } from '../../api/codec-sign-in';
import { createAuditLog } from '../../db/audit-repo';
import { displayCodec } from '../../security/payload-codec';
import { totpCode } from '../../security/totp';
import { startTemporalDevServer, type TemporalDevServer } from '../../scripts/temporal-dev';
import { freePort, ROOT } from '../../scripts/tools';
import { startStack, type Stack } from '../support/stack';

jest.setTimeout(180_000);

const CHROMIUM = process.env.SETTLE_TEST_CHROMIUM ?? '/usr/bin/chromium';
const SHOTS = path.join(ROOT, 'test/.artifacts/browser');
const VISA = '4242424242424242'; // Stripe's documented Visa test number
const AMOUNT = 4321;
const MARKER = `codec-ui-${Date.now().toString(36)}`;

let temporal: TemporalDevServer;
let stack: Stack;
let codec: http.Server;
let browser: Browser;
let ui: string;
let codecUrl: string;

beforeAll(async () => {
  if (!fs.existsSync(CHROMIUM))
    throw new Error(`no Chromium at ${CHROMIUM}: apt-get install -y chromium (.ci/run does it)`);
  fs.mkdirSync(SHOTS, { recursive: true });
  const [port, uiPort, codecPort] = [await freePort(), await freePort(), await freePort()];
  ui = `http://127.0.0.1:${uiPort}`;
  codecUrl = `http://127.0.0.1:${codecPort}`;
  temporal = await startTemporalDevServer({
    port,
    uiPort,
    codecEndpoint: codecUrl,
    logFile: path.join(process.env.SETTLE_TEST_ARTIFACTS ?? SHOTS, 'temporal-ui.log'),
  });
  // This file's stack runs on its own dev server (the run's shared one has no Web UI).
  const shared = process.env.SETTLE_TEST_TEMPORAL_ADDRESS;
  process.env.SETTLE_TEST_TEMPORAL_ADDRESS = temporal.address;
  try {
    stack = await startStack();
  } finally {
    process.env.SETTLE_TEST_TEMPORAL_ADDRESS = shared;
  }
  const auditLog = createAuditLog(stack.pool);
  const audit = async (e: {
    action: string;
    resource: string;
    outcome: string;
    actor: string;
    details?: Record<string, unknown>;
  }) => {
    await auditLog.append({ ...e, outcome: e.outcome === 'success' ? 'success' : 'failure' });
  };
  // As api/codec-server-main.ts composes it, with this stack's keys (the payload keyring it installed).
  const app = createCodecServer({
    codec: displayCodec,
    verify: (t) => stack.tokens.verify(t),
    sessions: { touch: (sid, sub) => stack.operators.touchSession(sid, sub, new Date()) },
    audit,
    uiOrigin: ui,
    signIn: createCodecSignIn({ operators: stack.operators, totpKey: stack.totpKey, uiOrigin: ui, audit }),
  });
  codec = http.createServer(app);
  await new Promise<void>((resolve) => codec.listen(codecPort, '127.0.0.1', resolve));
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    // CI runs as root, where Chromium's sandbox cannot start.
    args: ['--no-sandbox', '--disable-dev-shm-usage'],
  });
});

afterAll(async () => {
  await browser?.close();
  await new Promise((r) => (codec ? codec.close(r) : r(undefined)));
  await stack?.stop();
  await temporal?.stop();
});

/** A voided payment: its workflow has finished, so the UI shows both its Input and its Result. */
async function voidedPayment(): Promise<{ id: string; token: string }> {
  const auth = (await stack.serviceAuth()).authorization;
  const card = await stack.http
    .post('/v1/vault/cards')
    .set('Authorization', auth)
    .set('Idempotency-Key', `${MARKER}-card`)
    .send({ number: VISA, expMonth: 12, expYear: new Date().getUTCFullYear() + 2, cvc: '123' });
  expect(card.status).toBe(201);
  const pay = await stack.http
    .post('/v1/payments')
    .set('Authorization', auth)
    .set('Idempotency-Key', `${MARKER}-pay`)
    .send({
      amount: AMOUNT,
      currency: 'USD',
      paymentMethod: { token: card.body.token },
      capture: 'manual',
      description: MARKER,
    });
  expect(pay.body).toMatchObject({ status: 'authorized', amount: AMOUNT });
  const voided = await stack.http
    .post(`/v1/payments/${pay.body.id}/void`)
    .set('Authorization', auth)
    .set('Idempotency-Key', `${MARKER}-void`)
    .send({});
  expect(voided.body).toMatchObject({ status: 'voided' });
  await stack.client.workflow.getHandle(`payment-${pay.body.id}`).result();
  return { id: pay.body.id as string, token: card.body.token as string };
}

const shot = (page: Page, name: string) =>
  page.screenshot({ path: path.join(SHOTS, `${name}.png`), fullPage: true });

/** The operator's one step: the UI's Codec Server setting, browser override with credentials. */
async function includeCredentialsInUi(page: Page): Promise<void> {
  await page.goto(`${ui}/namespaces/default/workflows`);
  await page
    .getByTestId(/^data-encoder-status/)
    .first()
    .click();
  const modal = page.locator('#data-encoder-settings');
  await modal.getByTestId('use-local-endpoint-input').check({ force: true });
  await modal.locator('#data-encoder-endpoint-input').fill(codecUrl);
  await modal.getByTestId('data-encoder-include-credentials').check({ force: true });
  await shot(page, '1-codec-setting');
  await modal.getByRole('button', { name: 'Apply' }).click();
}

test('signed in, the UI shows the payment decoded; signed out, ciphertext; the codec answers 401', async () => {
  const { id, token } = await voidedPayment();
  const workflowId = `payment-${id}`;
  const handle = stack.client.workflow.getHandle(workflowId);
  const runId = (await handle.describe()).runId;
  // The workflow input as Temporal stores it (encrypted), base64 as the UI prints an undecoded payload.
  const started = (await handle.fetchHistory()).events?.[0]?.workflowExecutionStartedEventAttributes;
  const storedInput = Buffer.from(started?.input?.payloads?.[0]?.data ?? new Uint8Array()).toString('base64');
  expect(storedInput.length).toBeGreaterThan(100);
  const operator = await stack.createOperator('auditor');
  const context = await browser.newContext({ viewport: { width: 1400, height: 1000 } });
  const page = await context.newPage();
  const decodes: number[] = [];
  page.on('response', (r) => {
    if (r.url().startsWith(`${codecUrl}/decode`)) decodes.push(r.status());
  });

  await includeCredentialsInUi(page);

  // Sign in on the codec server's page: password + TOTP, as for the API.
  await page.goto(`${codecUrl}/sign-in`);
  await page.getByLabel('Username').fill(operator.username);
  await page.getByLabel('Password').fill(operator.password);
  await page.getByLabel('Authenticator code').fill(await totpCode(operator.totpSecret, new Date()));
  await shot(page, '2-sign-in');
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.locator('#signed-in').waitFor();
  const cookies = await context.cookies(codecUrl);
  expect(cookies.find((c) => c.name === 'settle_codec_session')).toMatchObject({
    httpOnly: true,
    sameSite: 'Strict',
  });

  // Decoded: the input's amount, card token and description, the result's status.
  await page.goto(`${ui}/namespaces/default/workflows/${workflowId}/${runId}/history`);
  await page.getByText(MARKER).first().waitFor({ timeout: 30_000 });
  const decoded = await page.locator('body').innerText();
  await shot(page, '3-decoded');
  expect(decoded).toContain(MARKER);
  expect(decoded).toContain(token);
  expect(decoded).toMatch(new RegExp(`"amount":\\s*${AMOUNT}`));
  expect(decoded).toMatch(/"status":\s*"voided"/);
  expect(decoded).not.toContain(VISA);
  expect(decodes).toContain(200);

  // Every decode is audited: who, the namespace, how many payloads, which payment.
  const audited = await stack.pool.query<{ details: { paymentIds: string[]; via: string } }>(
    `SELECT details FROM audit_events WHERE action = 'codec.decode' AND actor = $1 AND outcome = 'success'`,
    [operator.id],
  );
  expect(audited.rows.length).toBeGreaterThan(0);
  expect(audited.rows.some((r) => r.details.paymentIds.includes(id) && r.details.via === 'session')).toBe(
    true,
  );

  // Sign out, reload: the codec answers 401 and the UI shows the payload as stored (ciphertext).
  await page.goto(`${codecUrl}/sign-out`);
  await page.getByRole('button', { name: 'Sign out' }).click();
  await page.locator('#signed-out').waitFor();
  decodes.length = 0;
  const refused = page.waitForResponse((r) => r.url().startsWith(`${codecUrl}/decode`) && r.status() === 401);
  await page.goto(`${ui}/namespaces/default/workflows/${workflowId}/${runId}/history`);
  await refused;
  await page.getByText(storedInput.slice(0, 24)).first().waitFor();
  await shot(page, '4-signed-out');
  const cipher = await page.locator('body').innerText();
  expect(cipher).toContain('Codec Server could not connect');
  expect(decodes).toContain(401);
  expect(decodes).not.toContain(200);
  expect(cipher).not.toContain(MARKER);
  expect(cipher).not.toContain(token);
  expect(cipher).not.toMatch(new RegExp(`"amount":\\s*${AMOUNT}`));
  await context.close();
});
