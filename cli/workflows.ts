/**
 * `cli workflows replay --id <workflowId>`: replay a live workflow's history against the current
 * workflow code (exit 1 on non-determinism).
 * `cli workflows replay --file <history.json>`: the same for a downloaded history, in Temporal's
 * JSON export format (`temporal workflow show -o json`, the UI's Download).
 * `cli workflows export --id <workflowId> --out <file>`: write a history into the replay corpus
 * (test/replay/histories) in that same format, payloads decrypted so the corpus replays without the
 * key; refuses a history holding anything that looks like a card number. See docs/replay.md.
 *
 * Env: TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE (--id, export), DATABASE_URL and the key variables
 * (payloads in history are encrypted: decrypting them needs the payload keys, as the workers have
 * them; a history decoded before it was written needs neither).
 */
import fs from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { randomBytes } from 'node:crypto';
import { Client, Connection } from '@temporalio/client';
import type { PayloadCodec } from '@temporalio/common';
import { historyFromJSON, historyToJSON, type History } from '@temporalio/common/lib/proto-utils';
import { temporal } from '@temporalio/proto';
import { DefaultLogger, Runtime, Worker } from '@temporalio/worker';
import { createPool } from '../db/pool';
import { installPayloadKeyring, payloadCodec, ENCODING_ENCRYPTED } from '../security/payload-codec';
import { findCardNumber } from '../security/redaction';
import { ConfigError, keyProviderRefinement, type CliConfig } from '../config/shapes';
import { configurePayloadEncryption } from '../vault/vault-factory';
import { dataConverter } from '../workflows/data-converter';
import type { Command } from './command';

const HistoryMessage = temporal.api.history.v1.History;

const isEncrypted = (v: Record<string, unknown>): boolean => {
  const meta = v.metadata as Record<string, Uint8Array> | undefined;
  const enc = meta?.encoding;
  return enc instanceof Uint8Array && Buffer.from(enc).toString('utf8') === ENCODING_ENCRYPTED;
};

/** Every payload in a history (inputs, results, failure attributes, search attributes), mapped. */
async function mapPayloads(
  history: History,
  fn: (payload: Record<string, unknown>) => Promise<unknown>,
): Promise<History> {
  async function walk(v: unknown): Promise<unknown> {
    if (v === null || typeof v !== 'object' || v instanceof Uint8Array) return v;
    if (Array.isArray(v)) return Promise.all(v.map(walk));
    const o = v as Record<string, unknown>;
    if ('data' in o && 'metadata' in o) return fn(o);
    const out: Record<string, unknown> = {};
    for (const [k, val] of Object.entries(o)) out[k] = await walk(val);
    return out;
  }
  return HistoryMessage.fromObject(
    (await walk(HistoryMessage.toObject(HistoryMessage.fromObject(history)))) as Record<string, unknown>,
  );
}

function hasEncryptedPayloads(history: History): Promise<boolean> {
  let found = false;
  return mapPayloads(history, (p) => {
    found ||= isEncrypted(p);
    return Promise.resolve(p);
  }).then(() => found);
}

/** Decrypt every encrypted payload in a history; clear ones stay as they are. */
export async function decodeHistoryPayloads(
  history: History,
  codec: PayloadCodec = payloadCodec,
): Promise<History> {
  return mapPayloads(history, async (p) => (isEncrypted(p) ? (await codec.decode([p]))[0] : p));
}

/**
 * A history file in Temporal's JSON export format (proto3 JSON of temporal.api.history.v1.History:
 * what `temporal workflow show -o json` and the UI's Download write, and the replay corpus).
 */
export function readHistoryFile(file: string): History {
  let raw: unknown;
  try {
    raw = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (err) {
    throw new Error(`${file}: not a JSON history (${err instanceof Error ? err.message : String(err)})`, {
      cause: err,
    });
  }
  return historyFromJSON(raw);
}

/** The same format, as written to a file (corpus, export). */
export const historyFileText = (history: History): string => `${historyToJSON(history)}\n`;

/** A keyring with a throwaway key: replay re-encodes commands it never sends anywhere. */
export function installReplayKeyring(): void {
  const key = randomBytes(32);
  installPayloadKeyring({
    current: () => Promise.resolve({ id: 'replay', key }),
    byId: () => Promise.resolve(key),
    // Replayed histories were decoded first (here, or at export): their payloads are clear.
    acceptsClearPayloads: true,
  });
}

/**
 * Replays one decoded history against the current workflow code. A non-determinism error names
 * the event the code no longer matches, in the SDK's words.
 */
export async function replayHistory(history: History, workflowId: string): Promise<void> {
  installReplayKeyring();
  try {
    await Worker.runReplayHistory(
      { workflowsPath: require.resolve('../workflows'), dataConverter },
      history,
      workflowId,
    );
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    throw new Error(`${workflowId}: does not replay against the current code: ${coreMessage(message)}`, {
      cause: err,
    });
  }
}

/**
 * The SDK wraps core's reason (e.g. "[TMPRL1100] Nondeterminism error: Activity type of scheduled
 * event 'x' does not match ...") in a Rust debug dump of the failed activation; keep the reason.
 */
function coreMessage(message: string): string {
  const inner = /message: "((?:[^"\\]|\\.)*)"/.exec(message)?.[1];
  if (!inner) return message;
  const kind = /^[^.]*\./.exec(message)?.[0] ?? '';
  return `${kind} ${inner.replace(/\\(.)/g, '$1')}`.trim();
}

/** Decrypting history needs the payload keys (from the database); without one only clear histories work. */
async function withPayloadKeys<T>(cfg: CliConfig, fn: () => Promise<T>): Promise<T> {
  if (!cfg.DATABASE_URL) return fn();
  const keyProblems = keyProviderRefinement(cfg);
  if (keyProblems.length) throw new ConfigError(keyProblems);
  const pool = createPool(cfg.DATABASE_URL, 'settle-cli', 2);
  try {
    configurePayloadEncryption(cfg, pool);
    return await fn();
  } finally {
    await pool.end();
  }
}

async function withClient<T>(cfg: CliConfig, fn: (client: Client) => Promise<T>): Promise<T> {
  return withPayloadKeys(cfg, async () => {
    const connection = await Connection.connect({ address: cfg.TEMPORAL_ADDRESS });
    try {
      return await fn(new Client({ connection, namespace: cfg.TEMPORAL_NAMESPACE, dataConverter }));
    } finally {
      await connection.close();
    }
  });
}

/** The workflow id recorded in the history (recent servers write it), else the file's name. */
function workflowIdIn(history: History, file: string): string {
  const started = history.events?.[0]?.workflowExecutionStartedEventAttributes;
  return started?.workflowId || path.basename(file, '.json');
}

async function replayFile(file: string, cfg: CliConfig): Promise<void> {
  const history = readHistoryFile(file);
  const workflowId = workflowIdIn(history, file);
  if ((await hasEncryptedPayloads(history)) && !cfg.DATABASE_URL) {
    throw new Error(
      `${file}: the history's payloads are encrypted; decrypting them needs DATABASE_URL and the key variables`,
    );
  }
  const decoded = await withPayloadKeys(cfg, () => decodeHistoryPayloads(history));
  await replayHistory(decoded, workflowId);
  process.stdout.write(
    `${workflowId}: replayed ${decoded.events?.length ?? 0} events from ${file} against the current code: OK\n`,
  );
}

const replay: Command = async (args, cfg) => {
  const { values } = parseArgs({
    args,
    options: { id: { type: 'string' }, file: { type: 'string' } },
    strict: true,
  });
  if (!values.id === !values.file)
    throw new Error('one of --id <workflowId> or --file <history.json> is required');
  // The replay worker's bundling and state lines are noise here; the verdict is ours (stdout/exit).
  Runtime.install({ logger: new DefaultLogger('ERROR') });
  if (values.file) return replayFile(values.file, cfg);
  const id = values.id!;
  await withClient(cfg, async (client) => {
    const history = await decodeHistoryPayloads(await client.workflow.getHandle(id).fetchHistory());
    await replayHistory(history, id);
    process.stdout.write(
      `${id}: replayed ${history.events?.length ?? 0} events against the current code: OK\n`,
    );
  });
};

const exportHistory: Command = async (args, cfg) => {
  const { values } = parseArgs({
    args,
    options: { id: { type: 'string' }, out: { type: 'string' } },
    strict: true,
  });
  const { id, out } = values;
  if (!id) throw new Error('--id <workflowId> is required');
  if (!out) throw new Error('--out <file> is required (e.g. test/replay/histories/<flow>.json)');
  await withClient(cfg, async (client) => {
    const history = await decodeHistoryPayloads(await client.workflow.getHandle(id).fetchHistory());
    const text = historyFileText(history);
    const found = findCardNumber(JSON.parse(text));
    if (found) {
      throw new Error(
        `${id}: the history holds something that looks like a card number at ${found}; not exported`,
      );
    }
    fs.writeFileSync(out, text);
    process.stdout.write(`${id}: ${history.events?.length ?? 0} events written to ${out}\n`);
  });
};

export const workflowCommands: Record<string, Command> = { replay, export: exportHistory };
