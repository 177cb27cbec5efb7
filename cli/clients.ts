/** `cli clients create --name N --role service`: creates an API client; the secret is shown once. */
import { createAuditLog } from '../db/audit-repo';
import { createClientsRepo, type Role } from '../db/clients-repo';
import { createPool } from '../db/pool';
import { newId } from '../domain/ids';
import { hashSecret, newClientSecret } from '../security/passwords';
import { requireVars } from '../config/shapes';
import type { Command } from './command';
import { cliActor } from './key-env';
import { parseArgs } from 'node:util';

export async function createServiceClient(
  databaseUrl: string,
  name: string,
  role: Role = 'service',
  actor = 'cli:unknown',
) {
  const pool = createPool(databaseUrl, 'settle-cli', 2);
  try {
    const repo = createClientsRepo(pool);
    const clientId = newId('cli');
    const clientSecret = newClientSecret();
    await repo.insert({ id: clientId, name, role, secretHash: await hashSecret(clientSecret) });
    // Object creation + credential issuance (PCI DSS 10.2.1.5/10.2.1.7), never the secret itself.
    await createAuditLog(pool).append({
      actor,
      action: 'client.create',
      resource: `client:${clientId}`,
      outcome: 'success',
      details: { role, name },
    });
    return { clientId, clientSecret };
  } finally {
    await pool.end();
  }
}

const create: Command = async (args, cfg) => {
  const { values } = parseArgs({
    args,
    options: { name: { type: 'string' }, role: { type: 'string', default: 'service' } },
    strict: true,
  });
  if (!values.name) throw new Error('--name is required');
  if (values.role !== 'service')
    throw new Error('--role must be service (operators are created with `cli operators create`)');
  const { DATABASE_URL } = requireVars(cfg, 'DATABASE_URL');
  const c = await createServiceClient(DATABASE_URL, values.name, 'service', cliActor(cfg));
  process.stdout.write(
    `clientId:     ${c.clientId}\nclientSecret: ${c.clientSecret}\n(the secret is shown once; store it now)\n`,
  );
};

export const clientCommands: Record<string, Command> = { create };
