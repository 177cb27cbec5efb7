/**
 * `cli workflows replay --id <workflowId>`: replay a live workflow's history against the current
 * workflow code (exit 1 on non-determinism).
 * `cli workflows export --id <workflowId> --out <file>`: write a history into the replay corpus
 * (test/replay/histories), payloads decrypted so the corpus replays without the key; refuses a
 * history holding anything that looks like a card number. See docs/replay.md.
 *
 * Env: TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE, DATABASE_URL and the key variables (payloads in
 * history are encrypted: decrypting them needs the payload keys, as the workers have them).
 */
import fs from 'node:fs';
import { parseArgs } from 'node:util';
import { randomBytes } from 'node:crypto';
import { Client, Connection } from '@temporalio/client';
import type { PayloadCodec } from '@temporalio/common';
import type { History } from '@temporalio/common/lib/proto-utils';
import { temporal } from '@temporalio/proto';
import { Worker } from '@temporalio/worker';
import { createPool } from '../db/pool';
import { installPayloadKeyring, payloadCodec, ENCODING_ENCRYPTED } from '../security/payload-codec';
import { findCardNumber } from '../security/redaction';
import { ConfigError, keyProviderRefinement, type CliConfig } from '../config/shapes';
import { configurePayloadEncryption } from '../vault/vault-factory';
import { dataConverter } from '../workflows/data-converter';
import type { Command } from './command';

const HistoryMessage = temporal.api.history.v1.History;

/**
 * History -> JSON text with the generated proto classes' own toObject (enums as names, bytes as
 * base64, 64-bit numbers as strings). Not @temporalio/common's historyToJSON: with this install's
 * layout it pairs two protobufjs copies and throws "type must be a Type".
 */
export function historyToCorpusJSON(history: History): string {
  const message = HistoryMessage.fromObject(history);
  return JSON.stringify(
    HistoryMessage.toObject(message, { enums: String, bytes: String, longs: String }),
    null,
    1,
  );
}

export function historyFromCorpusJSON(raw: unknown): History {
  return HistoryMessage.fromObject(raw as Record<string, unknown>);
}

const isEncrypted = (v: Record<string, unknown>): boolean => {
  const meta = v.metadata as Record<string, Uint8Array> | undefined;
  const enc = meta?.encoding;
  return enc instanceof Uint8Array && Buffer.from(enc).toString('utf8') === ENCODING_ENCRYPTED;
};

/** Decrypt every payload in a history (inputs, results, failure attributes, search attributes). */
export async function decodeHistoryPayloads(
  history: History,
  codec: PayloadCodec = payloadCodec,
): Promise<History> {
  async function walk(v: unknown): Promise<unknown> {
    if (v === null || typeof v !== 'object' || v instanceof Uint8Array) return v;
    if (Array.isArray(v)) return Promise.all(v.map(walk));
    const o = v as Record<string, unknown>;
    if ('data' in o && 'metadata' in o && isEncrypted(o)) {
      const [p] = await codec.decode([o]);
      return p;
    }
    const out: Record<string, unknown> = {};
    for (const [k, val] of Object.entries(o)) out[k] = await walk(val);
    return out;
  }
  return HistoryMessage.fromObject(
    (await walk(HistoryMessage.toObject(HistoryMessage.fromObject(history)))) as Record<string, unknown>,
  );
}

/** A keyring with a throwaway key: replay re-encodes commands it never sends anywhere. */
export function installReplayKeyring(): void {
  const key = randomBytes(32);
  installPayloadKeyring({
    current: () => Promise.resolve({ id: 'replay', key }),
    byId: () => Promise.resolve(key),
    // Replayed histories were decoded at export: their payloads are clear.
    acceptsClearPayloads: true,
  });
}

async function withClient<T>(cfg: CliConfig, fn: (client: Client) => Promise<T>): Promise<T> {
  // Decrypting history needs the payload keys; without a database only clear histories work.
  const keyProblems = cfg.DATABASE_URL ? keyProviderRefinement(cfg) : [];
  if (keyProblems.length) throw new ConfigError(keyProblems);
  const connection = await Connection.connect({ address: cfg.TEMPORAL_ADDRESS });
  const pool = cfg.DATABASE_URL ? createPool(cfg.DATABASE_URL, 'settle-cli', 2) : undefined;
  try {
    if (pool) configurePayloadEncryption(cfg, pool);
    const client = new Client({
      connection,
      namespace: cfg.TEMPORAL_NAMESPACE,
      dataConverter,
    });
    return await fn(client);
  } finally {
    await connection.close();
    await pool?.end();
  }
}

const idFlag = (args: string[], extra: Record<string, { type: 'string' }> = {}) => {
  const { values } = parseArgs({ args, options: { id: { type: 'string' }, ...extra }, strict: true });
  if (!values.id) throw new Error('--id <workflowId> is required');
  return values as { id: string } & Record<string, string | undefined>;
};

const replay: Command = async (args, cfg) => {
  const { id } = idFlag(args);
  await withClient(cfg, async (client) => {
    const history = await decodeHistoryPayloads(await client.workflow.getHandle(id).fetchHistory());
    installReplayKeyring();
    await Worker.runReplayHistory(
      { workflowsPath: require.resolve('../workflows'), dataConverter },
      history,
      id,
    );
    process.stdout.write(
      `${id}: replayed ${history.events?.length ?? 0} events against the current code: OK\n`,
    );
  });
};

const exportHistory: Command = async (args, cfg) => {
  const { id, out } = idFlag(args, { out: { type: 'string' } });
  if (!out) throw new Error('--out <file> is required (e.g. test/replay/histories/<flow>.json)');
  await withClient(cfg, async (client) => {
    const history = await decodeHistoryPayloads(await client.workflow.getHandle(id).fetchHistory());
    const json = historyToCorpusJSON(history);
    const found = findCardNumber(JSON.parse(json));
    if (found) {
      throw new Error(
        `${id}: the history holds something that looks like a card number at ${found}; not exported`,
      );
    }
    fs.writeFileSync(out, `${json}\n`);
    process.stdout.write(`${id}: ${history.events?.length ?? 0} events written to ${out}\n`);
  });
};

export const workflowCommands: Record<string, Command> = { replay, export: exportHistory };
