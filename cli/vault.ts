/**
 * `cli vault erase --card-number-stdin --reason R`: GDPR erasure (Art. 17) of a data subject's card.
 * The API contract has no customer object, so "customer" here is the cardholder, identified by the
 * card number they present: every live token with that number's keyed fingerprint, across all API
 * clients, is crypto-shredded and each deletion audited. The number is read from stdin (never argv,
 * which shows in `ps` and shell history) and never printed.
 * `cli vault shred --token T --reason R`: crypto-shred one token (e.g. on a merchant's request).
 */
import { parseArgs } from 'node:util';
import { cliActor, withKeys } from './key-env';
import type { Command } from './command';

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of process.stdin) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString('utf8').trim();
}

const erase: Command = async (args, env) => {
  const { values } = parseArgs({
    args,
    options: { 'card-number-stdin': { type: 'boolean' }, reason: { type: 'string' } },
    strict: true,
  });
  if (!values['card-number-stdin']) throw new Error('--card-number-stdin is required (pipe the number in)');
  if (!values.reason) throw new Error('--reason is required (e.g. the GDPR request reference)');
  const number = await readStdin();
  await withKeys(env, async ({ vault }) => {
    const tokens = await vault.shredByCardNumber(number, `${cliActor(env)} (${values.reason})`);
    process.stdout.write(
      `erased ${tokens.length} card token(s)${tokens.length ? `: ${tokens.join(', ')}` : ''}\n`,
    );
  });
};

const shred: Command = async (args, env) => {
  const { values } = parseArgs({
    args,
    options: { token: { type: 'string' }, reason: { type: 'string' } },
    strict: true,
  });
  if (!values.token) throw new Error('--token is required');
  if (!values.reason) throw new Error('--reason is required');
  await withKeys(env, async ({ vault }) => {
    const ok = await vault.shred(values.token!, undefined, `${cliActor(env)} (${values.reason})`);
    if (!ok) throw new Error(`no live card ${values.token}`);
    process.stdout.write(`shredded ${values.token}\n`);
  });
};

export const vaultCommands: Record<string, Command> = { erase, shred };
