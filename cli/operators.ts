/**
 * `cli operators create --username U --role admin|auditor`: creates an operator and prints, once,
 * the password (generated unless SETTLE_OPERATOR_PASSWORD is set) and the TOTP enrolment URI.
 * The TOTP secret is sealed under SETTLE_TOTP_KEY before it reaches the database.
 * `cli operators unlock --username U`, `cli operators revoke-sessions --username U`.
 */
import { randomBytes } from 'node:crypto';
import { parseArgs } from 'node:util';
import { createAuditLog } from '../db/audit-repo';
import { createOperatorsRepo, type OperatorRole, type OperatorsRepo } from '../db/operators-repo';
import { createPool } from '../db/pool';
import { newId } from '../domain/ids';
import { hashSecret } from '../security/passwords';
import { enrolmentUri, newTotpSecret, sealTotpSecret } from '../security/totp';
import { requireVars } from '../config/shapes';
import type { Command } from './command';
import { cliActor } from './key-env';

export const MIN_PASSWORD_LENGTH = 12;

export async function provisionOperator(
  deps: { operators: OperatorsRepo; totpKey: Buffer },
  o: { username: string; role: OperatorRole; password: string },
): Promise<{ id: string; totpSecret: string; enrolmentUri: string }> {
  if (o.password.length < MIN_PASSWORD_LENGTH)
    throw new Error(`the password must have at least ${MIN_PASSWORD_LENGTH} characters`);
  if (!/^[A-Za-z0-9._@-]{3,100}$/.test(o.username))
    throw new Error('--username: 3-100 characters of letters, digits, . _ @ -');
  const id = newId('op');
  const totpSecret = newTotpSecret();
  await deps.operators.insert({
    id,
    username: o.username,
    role: o.role,
    passwordHash: await hashSecret(o.password),
    totpSecretCt: sealTotpSecret(deps.totpKey, id, totpSecret),
  });
  return { id, totpSecret, enrolmentUri: enrolmentUri(totpSecret, o.username) };
}

const create: Command = async (args, cfg) => {
  const { values } = parseArgs({
    args,
    options: { username: { type: 'string' }, role: { type: 'string' } },
    strict: true,
  });
  if (!values.username) throw new Error('--username is required');
  if (values.role !== 'admin' && values.role !== 'auditor')
    throw new Error('--role must be admin or auditor');
  const need = requireVars(cfg, 'DATABASE_URL', 'SETTLE_TOTP_KEY');
  const totpKey = Buffer.from(need.SETTLE_TOTP_KEY, 'base64');
  const generated = cfg.SETTLE_OPERATOR_PASSWORD === undefined;
  const password = cfg.SETTLE_OPERATOR_PASSWORD ?? randomBytes(18).toString('base64url');
  const pool = createPool(need.DATABASE_URL, 'settle-cli', 2);
  try {
    const op = await provisionOperator(
      { operators: createOperatorsRepo(pool), totpKey },
      { username: values.username, role: values.role, password },
    );
    await createAuditLog(pool).append({
      actor: cliActor(cfg),
      action: 'operator.create',
      resource: `operator:${op.id}`,
      outcome: 'success',
      details: { role: values.role, username: values.username },
    });
    process.stdout.write(
      `operatorId: ${op.id}\n` +
        (generated ? `password:   ${password}\n` : '') +
        `totp:       ${op.enrolmentUri}\n(shown once: enrol the URI in an authenticator app now)\n`,
    );
  } finally {
    await pool.end();
  }
};

function byUsername(action: string, run: (repo: OperatorsRepo, id: string) => Promise<unknown>): Command {
  return async (args, cfg) => {
    const { values } = parseArgs({ args, options: { username: { type: 'string' } }, strict: true });
    if (!values.username) throw new Error('--username is required');
    const pool = createPool(requireVars(cfg, 'DATABASE_URL').DATABASE_URL, 'settle-cli', 2);
    try {
      const repo = createOperatorsRepo(pool);
      const op = await repo.findByUsername(values.username);
      if (!op) throw new Error('no such operator');
      await run(repo, op.id);
      await createAuditLog(pool).append({
        actor: cliActor(cfg),
        action,
        resource: `operator:${op.id}`,
        outcome: 'success',
      });
      process.stdout.write(`${action}: ${op.id}\n`);
    } finally {
      await pool.end();
    }
  };
}

export const operatorCommands: Record<string, Command> = {
  create,
  unlock: byUsername('operator.unlock', (repo, id) => repo.unlock(id)),
  'revoke-sessions': byUsername('operator.sessions.revoke', (repo, id) =>
    repo.revokeAllSessions(id, new Date()),
  ),
};
