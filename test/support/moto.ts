/**
 * moto's KMS server for integration tests: spawned on a free port, polled until it answers a KMS
 * ListKeys call, stopped by killing exactly that child. Keys are created per test with CreateKey;
 * moto keeps them in memory, so nothing outlives the run. The credentials are moto's dummies.
 */
import { spawn } from 'node:child_process';
import { CreateKeyCommand, KMSClient, ListKeysCommand } from '@aws-sdk/client-kms';
import { freePort, toolPath, waitFor } from '../../scripts/tools';

export const MOTO_CREDENTIALS = { accessKeyId: 'testing', secretAccessKey: 'testing' };
export const MOTO_REGION = 'us-east-1';

export interface Moto {
  endpoint: string;
  kms: KMSClient;
  createKey(description?: string): Promise<string>;
  stop(): Promise<void>;
}

export async function startMoto(): Promise<Moto> {
  const port = await freePort();
  const child = spawn(toolPath('MOTO_SERVER'), ['-H', '127.0.0.1', '-p', String(port)], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => {
    stderr = (stderr + d.toString()).slice(-2000);
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const endpoint = `http://127.0.0.1:${port}`;
  const kms = new KMSClient({ region: MOTO_REGION, endpoint, credentials: MOTO_CREDENTIALS, maxAttempts: 1 });
  const stop = async () => {
    kms.destroy();
    if (child.exitCode === null) child.kill('SIGTERM');
    await exited;
  };
  try {
    await waitFor(
      `moto_server on ${endpoint}`,
      async () => {
        if (child.exitCode !== null) throw new Error(`moto_server exited: ${stderr}`);
        await kms.send(new ListKeysCommand({}));
        return true;
      },
      60_000,
      200,
    );
  } catch (err) {
    await stop();
    throw err;
  }
  return {
    endpoint,
    kms,
    async createKey(description = 'settle test KEK') {
      const out = await kms.send(new CreateKeyCommand({ Description: description }));
      const id = out.KeyMetadata?.Arn;
      if (!id) throw new Error('moto CreateKey returned no ARN');
      return id;
    },
    stop,
  };
}
