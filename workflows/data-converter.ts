/**
 * The data converter shared by every client and worker: the one place that decides what enters
 * Temporal history. Payloads are encrypted by the payload codec (security/payload-codec.ts, keys from
 * the KMS hierarchy) and failure messages/stack traces are encoded as payloads so they are encrypted
 * too (workflows/failure-converter.ts). Each process installs its payload keyring at start.
 * Not imported by workflow code (the codec runs outside the workflow sandbox).
 */
import type { DataConverter } from '@temporalio/common';
// This module is loaded by clients and workers, never by workflow code (not re-exported from index.ts).
// eslint-disable-next-line no-restricted-imports
import { payloadCodec } from '../security/payload-codec';

export const dataConverter: DataConverter = {
  payloadCodecs: [payloadCodec],
  failureConverterPath: require.resolve('./failure-converter'),
};
