import { Client, Connection, type ClientInterceptors } from '@temporalio/client';
import { dataConverter } from '../workflows/data-converter';

/**
 * Temporal client with the shared data converter; a clear message when the server is unreachable.
 * `interceptors`: tracing's, when on (the request's span context travels into the workflow).
 */
export async function connectClient(
  address: string,
  namespace: string,
  interceptors?: ClientInterceptors,
): Promise<Client> {
  let connection: Connection;
  try {
    connection = await Connection.connect({ address });
  } catch {
    throw new Error(`Cannot reach the Temporal server at ${address} (TEMPORAL_ADDRESS). Is it running?`);
  }
  return new Client({ connection, namespace, dataConverter, interceptors });
}
