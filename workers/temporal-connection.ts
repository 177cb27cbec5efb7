/** Connects a worker to Temporal with a clear, stack-free message when the server is unreachable. */
import { NativeConnection } from '@temporalio/worker';
import { dataConverter } from '../workflows/data-converter';

export { dataConverter };

export async function connectWorker(address: string): Promise<NativeConnection> {
  try {
    return await NativeConnection.connect({ address });
  } catch {
    throw new Error(`Cannot reach the Temporal server at ${address} (TEMPORAL_ADDRESS). Is it running?`);
  }
}
