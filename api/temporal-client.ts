import { Client, Connection } from '@temporalio/client';
import { dataConverter } from '../workflows/data-converter';

/** Temporal client with the shared data converter; a clear message when the server is unreachable. */
export async function connectClient(address: string, namespace: string): Promise<Client> {
  let connection: Connection;
  try {
    connection = await Connection.connect({ address });
  } catch {
    throw new Error(`Cannot reach the Temporal server at ${address} (TEMPORAL_ADDRESS). Is it running?`);
  }
  return new Client({ connection, namespace, dataConverter });
}
