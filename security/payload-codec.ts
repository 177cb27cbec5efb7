/**
 * Temporal payload encryption (compliance/key-hierarchy.md, "payload keys"). Every payload and every
 * failure's message/stack (failure converter with encodeCommonAttributes) is sealed with AES-256-GCM
 * before it leaves the process, so Temporal history and the server's database hold ciphertext only.
 * The key id travels in the payload metadata; keys are wrapping keys of purpose 'payload' under the
 * payload KEK (SETTLE_KMS_PAYLOAD_KEY_ID), from the same hierarchy and cache as the vault's.
 *
 * Processes install their keyring once at start (installPayloadKeyring); until then encoding fails
 * loudly instead of writing clear payloads. Decoding refuses unencrypted payloads (a clear signal or
 * input would come from someone who reached Temporal without our keys); only the codec server's
 * display codec and the replay keyring accept them.
 */
import type { Payload, PayloadCodec } from '@temporalio/common';
import { temporal } from '@temporalio/proto';
import { open, seal } from './envelope';

export const ENCODING_ENCRYPTED = 'binary/encrypted';
export const METADATA_KEY_ID = 'encryption-key-id';

export interface PayloadKeyring {
  current(): Promise<{ id: string; key: Buffer }>;
  byId(id: string): Promise<Buffer>;
  /**
   * Only the replay keyring (cli/workflows.ts installReplayKeyring) sets this: it replays histories
   * that were decoded when exported, so their payloads are clear by design.
   */
  acceptsClearPayloads?: boolean;
}

export interface CodecOptions {
  /**
   * `refuse` (default; every worker and client): a clear payload on decode is an error, so nobody
   * who reaches Temporal can slip an unencrypted signal or input past us. `pass`: display only
   * (the codec server shows what the UI sends; nothing acts on the result).
   */
  clearPayloads?: 'refuse' | 'pass';
}

const aad = (keyId: string) => `settle:temporal-payload:${keyId}`;
const utf8 = (s: string) => new TextEncoder().encode(s);
const str = (b: Uint8Array | null | undefined) => (b ? Buffer.from(b).toString('utf8') : undefined);

export function createEncryptionCodec(
  keyring: () => PayloadKeyring | undefined,
  opts: CodecOptions = {},
): PayloadCodec {
  const ring = () => {
    const k = keyring();
    if (!k) throw new Error('payload encryption is not configured in this process (installPayloadKeyring)');
    return k;
  };
  return {
    async encode(payloads: Payload[]): Promise<Payload[]> {
      if (payloads.length === 0) return payloads;
      const { id, key } = await ring().current();
      return payloads.map((p) => ({
        metadata: { encoding: utf8(ENCODING_ENCRYPTED), [METADATA_KEY_ID]: utf8(id) },
        data: seal(key, Buffer.from(temporal.api.common.v1.Payload.encode(p).finish()), aad(id)),
      }));
    },
    async decode(payloads: Payload[]): Promise<Payload[]> {
      return Promise.all(
        payloads.map(async (p) => {
          if (str(p.metadata?.encoding) !== ENCODING_ENCRYPTED) {
            if (opts.clearPayloads === 'pass' || keyring()?.acceptsClearPayloads) return p;
            throw new Error(
              'unencrypted payload refused: every Settle payload is sealed by the payload codec',
            );
          }
          const id = str(p.metadata?.[METADATA_KEY_ID]);
          if (!id || !p.data) throw new Error('encrypted payload without key id or data');
          const key = await ring().byId(id);
          const decoded = temporal.api.common.v1.Payload.decode(open(key, Buffer.from(p.data), aad(id)));
          return { metadata: decoded.metadata ?? {}, data: decoded.data ?? undefined };
        }),
      );
    },
  };
}

let installed: PayloadKeyring | undefined;

/** Called once per process at start (API, workers, codec server, test stacks). */
export function installPayloadKeyring(keyring: PayloadKeyring): void {
  installed = keyring;
}

/** The codec every client and worker uses (workflows/data-converter.ts). */
export const payloadCodec = createEncryptionCodec(() => installed);

/** The codec server's (api/codec-server-main.ts): decrypts for display, shows clear payloads as they are. */
export const displayCodec = createEncryptionCodec(() => installed, { clearPayloads: 'pass' });
