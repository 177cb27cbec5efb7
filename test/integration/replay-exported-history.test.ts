/**
 * A history downloaded with the real Temporal CLI (`temporal workflow show -o json`, the format the
 * UI's Download writes too) replays with `cli workflows replay --file`: its payloads are encrypted,
 * the CLI decrypts them with the stack's keys. A tampered copy (activities reordered, or one
 * ActivityTaskScheduled dropped) fails with a nondeterminism message naming the event.
 */
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { workflowIdOf } from '../../api/payments-service';
import { getPaymentQuery } from '../../workflows/payment';
import { toolPath } from '../../scripts/tools';
import { startStack, testEnv, testKeyEnv, type Stack } from '../support/stack';
import { apiFor } from './payments-support';
import { JSONToPayload, payloadToJSON, type JSONPayload } from '@temporalio/common/lib/proto-utils';
import { displayCodec } from '../../security/payload-codec';
import { findCardNumber } from '../../security/redaction';
import { loadCorpus } from '../replay/corpus';

jest.setTimeout(120_000);

interface JsonEvent {
  eventId: string;
  eventType: string;
  activityTaskScheduledEventAttributes?: { activityType: { name: string } };
  [attributes: string]: unknown;
}

let stack: Stack;
const keys = testKeyEnv();
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'settle-replay-'));
let workflowId: string;
let exported: string;

/** Runs a command to its end: exit code and output, never a throw (the failures are the point). */
function run(file: string, args: string[], env: NodeJS.ProcessEnv) {
  return new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
    execFile(
      file,
      args,
      { cwd: path.resolve(__dirname, '../..'), env, maxBuffer: 64 * 1024 * 1024 },
      (err, stdout, stderr) => {
        const code = err ? (typeof err.code === 'number' ? err.code : 1) : 0;
        resolve({ code, stdout, stderr });
      },
    );
  });
}

/** The workflows CLI as an operator runs it, with the stack's key variables (or without the database). */
const workflowsCli = (args: string[], opts: { keys: boolean } = { keys: true }) => {
  const { temporalAddress, databaseUrl } = testEnv();
  return run(process.execPath, ['--import', 'tsx', 'cli/index.ts', 'workflows', ...args], {
    PATH: process.env.PATH ?? '',
    TEMPORAL_ADDRESS: temporalAddress,
    SETTLE_KEY_PROVIDER: keys.SETTLE_KEY_PROVIDER,
    SETTLE_LOCAL_MASTER_KEY: keys.SETTLE_LOCAL_MASTER_KEY,
    AWS_REGION: keys.AWS_REGION,
    ...(opts.keys ? { DATABASE_URL: databaseUrl } : {}),
  });
};
const replayFile = (file: string, opts?: { keys: boolean }) => workflowsCli(['replay', '--file', file], opts);

const readEvents = () => (JSON.parse(exported) as { events: JsonEvent[] }).events;
const writeHistory = (name: string, events: JsonEvent[]) => {
  const file = path.join(dir, name);
  fs.writeFileSync(file, JSON.stringify({ events }, null, 2));
  return file;
};
const scheduled = (events: JsonEvent[], activity: string) =>
  events.findIndex((e) => e.activityTaskScheduledEventAttributes?.activityType.name === activity);

beforeAll(async () => {
  stack = await startStack({ keys });
  const api = apiFor(stack, (await stack.serviceAuth()).authorization);
  const id = (await api.pay(3100)).body.id as string;
  expect((await api.capture(id, { amount: 1000 })).status).toBe(200);
  expect((await api.capture(id, { amount: 100, final: true })).body).toMatchObject({ status: 'captured' });
  workflowId = workflowIdOf(id);
  await stack.client.workflow.getHandle(workflowId).query(getPaymentQuery);

  const show = await run(
    toolPath('TEMPORAL_CLI'),
    ['workflow', 'show', '-w', workflowId, '-o', 'json', '--address', testEnv().temporalAddress],
    { PATH: process.env.PATH ?? '', HOME: dir },
  );
  expect([show.code, show.stderr]).toEqual([0, '']);
  exported = show.stdout;
}, 180_000);
afterAll(async () => {
  await stack?.stop();
  fs.rmSync(dir, { recursive: true, force: true });
});

test('a history exported with `temporal workflow show -o json` replays with the CLI', async () => {
  const file = path.join(dir, 'exported.json');
  fs.writeFileSync(file, exported); // byte for byte what the Temporal CLI wrote
  // Encrypted in Temporal, as the workers wrote it: replay has to decrypt with the keys.
  expect(exported).toContain(Buffer.from('binary/encrypted').toString('base64'));
  expect(scheduled(readEvents(), 'authorizePayment')).toBeGreaterThan(0);
  expect(scheduled(readEvents(), 'capturePayment')).toBeGreaterThan(0);

  const replayed = await replayFile(file);
  expect(replayed).toMatchObject({ code: 0, stderr: '' });
  expect(replayed.stdout).toContain(`${workflowId}: replayed ${readEvents().length} events`);
  expect(replayed.stdout).toContain('OK');
});

test('`workflows export` writes the same format, decoded: it replays without any key', async () => {
  const file = path.join(dir, 'corpus-entry.json');
  const written = await workflowsCli(['export', '--id', workflowId, '--out', file]);
  expect(written.code).toBe(0);
  const text = fs.readFileSync(file, 'utf8');
  expect(text).not.toContain(Buffer.from('binary/encrypted').toString('base64'));
  expect((JSON.parse(text) as { events: JsonEvent[] }).events.map((e) => e.eventType)).toEqual(
    readEvents().map((e) => e.eventType),
  );
  const replayed = await replayFile(file, { keys: false });
  expect(replayed).toMatchObject({ code: 0, stderr: '' });
  expect(replayed.stdout).toContain(`${workflowId}: replayed`);
});

/**
 * A remote codec endpoint as the Temporal CLI calls it (POST /decode, payloads as proto3 JSON),
 * decoding with this stack's keys as the codec server does (clear payloads, e.g. search attributes,
 * pass as they are). Not the codec server itself: this test is about the file the
 * Temporal CLI writes with --codec-endpoint, not about who may decode.
 */
async function withCodecEndpoint<T>(fn: (url: string) => Promise<T>): Promise<T> {
  const decode = async (body: string) => {
    // proto3 JSON leaves an empty list out: `{}` is a request with no payloads.
    const { payloads = [] } = JSON.parse(body) as { payloads?: JSONPayload[] };
    const decoded = await displayCodec.decode(payloads.map((p) => JSONToPayload(p)));
    return JSON.stringify({ payloads: decoded.map(payloadToJSON) });
  };
  const server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (chunk: Buffer) => (body += chunk.toString('utf8')));
    req.on('end', () => {
      decode(body).then(
        (out) => res.setHeader('content-type', 'application/json').end(out),
        (err: unknown) => res.writeHead(500).end(String(err)),
      );
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  try {
    return await fn(`http://127.0.0.1:${(server.address() as AddressInfo).port}`);
  } finally {
    await new Promise((resolve) => server.close(resolve));
  }
}

test('`temporal workflow show -o json --codec-endpoint` output is a corpus file as it is', async () => {
  const show = await withCodecEndpoint((url) =>
    run(
      toolPath('TEMPORAL_CLI'),
      ['workflow', 'show', '-w', workflowId, '-o', 'json', '--address', testEnv().temporalAddress],
      { PATH: process.env.PATH ?? '', HOME: dir, TEMPORAL_CODEC_ENDPOINT: url },
    ),
  );
  expect([show.code, show.stderr]).toEqual([0, '']);
  expect(show.stdout).not.toContain(Buffer.from('binary/encrypted').toString('base64'));
  const corpusDir = fs.mkdtempSync(path.join(dir, 'corpus-'));
  fs.writeFileSync(path.join(corpusDir, 'decoded.json'), show.stdout);

  // What test/replay/replay.test.ts reads: same events, no card data, and the CLI replays it keyless.
  const [entry] = loadCorpus(corpusDir);
  expect(entry?.history.events?.length).toBe(readEvents().length);
  expect(findCardNumber(entry?.raw)).toBeUndefined();
  const replayed = await replayFile(path.join(corpusDir, 'decoded.json'), { keys: false });
  expect(replayed).toMatchObject({ code: 0, stderr: '' });
});

test('without the database (no payload keys) an encrypted history is refused, saying why', async () => {
  const file = writeHistory('no-keys.json', readEvents());
  const replayed = await replayFile(file, { keys: false });
  expect(replayed.code).toBe(1);
  expect(replayed.stderr).toContain('payloads are encrypted; decrypting them needs DATABASE_URL');
});

test('activities reordered: replay fails with a nondeterminism error naming the scheduled event', async () => {
  const events = readEvents();
  // The capture scheduled where the authorization was, and the other way round.
  const [a, b] = [scheduled(events, 'authorizePayment'), scheduled(events, 'capturePayment')].map(
    (i) => events[i]!.activityTaskScheduledEventAttributes as Record<string, unknown>,
  );
  for (const key of ['activityType', 'input']) [a![key], b![key]] = [b![key], a![key]];
  const replayed = await replayFile(writeHistory('reordered.json', events));
  expect(replayed.code).toBe(1);
  expect(replayed.stderr).toContain(`${workflowId}: does not replay against the current code`);
  expect(replayed.stderr).toContain(
    "Nondeterminism error: Activity type of scheduled event 'capturePayment' does not match activity type of activity command 'authorizePayment'",
  );
});

test('an ActivityTaskScheduled dropped: replay fails with a nondeterminism error naming the event', async () => {
  const events = readEvents();
  const dropped = scheduled(events, 'capturePayment');
  const droppedId = Number(events[dropped]!.eventId);
  // Event ids stay contiguous (as a real history's are): every id after the dropped one moves down.
  const shift = (v: unknown, key = ''): unknown => {
    if (Array.isArray(v)) return v.map((x) => shift(x));
    if (v && typeof v === 'object')
      return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, shift(x, k)]));
    if (/(^e|E)ventId$/.test(key) && typeof v === 'string' && Number(v) > droppedId)
      return String(Number(v) - 1);
    return v;
  };
  const tampered = events.filter((_, i) => i !== dropped).map((e) => shift(e) as JsonEvent);
  const replayed = await replayFile(writeHistory('dropped.json', tampered));
  expect(replayed.code).toBe(1);
  expect(replayed.stderr).toContain(`${workflowId}: does not replay against the current code`);
  // The event left without its scheduling: the capture's ActivityTaskStarted, now at the dropped id.
  expect(replayed.stderr).toMatch(
    new RegExp(
      `Nondeterminism error: .*HistoryEvent \\{ event_id: ${droppedId}, .*event_type: ActivityTaskStarted`,
    ),
  );
});
