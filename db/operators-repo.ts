/**
 * Operators (admin, auditor), their MFA challenges and server-side sessions. Every time comparison
 * takes `now` from the injected clock (security/clock.ts) so tests control lockout and idle timeout.
 * The security-relevant transitions are single conditional statements, so they hold under
 * concurrency without application locks.
 */
import type { Pool } from './pool';

export type OperatorRole = 'admin' | 'auditor';

export interface OperatorRow {
  id: string;
  username: string;
  role: OperatorRole;
  passwordHash: string;
  totpSecretCt: Buffer;
  lastTotpStep: number | null;
  failedAttempts: number;
  lockedUntil: Date | null;
  createdAt: Date;
  disabledAt: Date | null;
}

const COLS = `id, username, role, password_hash AS "passwordHash", totp_secret_ct AS "totpSecretCt",
  last_totp_step::float8 AS "lastTotpStep", failed_attempts AS "failedAttempts",
  locked_until AS "lockedUntil", created_at AS "createdAt", disabled_at AS "disabledAt"`;

export const MAX_FAILED_ATTEMPTS = 10;
export const LOCK_MS = 30 * 60_000;
export const IDLE_MS = 15 * 60_000;

export function createOperatorsRepo(pool: Pool) {
  return {
    async insert(o: {
      id: string;
      username: string;
      role: OperatorRole;
      passwordHash: string;
      totpSecretCt: Buffer;
    }): Promise<void> {
      await pool.query(
        'INSERT INTO operators (id, username, role, password_hash, totp_secret_ct) VALUES ($1, $2, $3, $4, $5)',
        [o.id, o.username, o.role, o.passwordHash, o.totpSecretCt],
      );
    },
    async findByUsername(username: string): Promise<OperatorRow | undefined> {
      const r = await pool.query<OperatorRow>(
        `SELECT ${COLS} FROM operators WHERE lower(username) = lower($1)`,
        [username],
      );
      return r.rows[0];
    },
    async findById(id: string): Promise<OperatorRow | undefined> {
      const r = await pool.query<OperatorRow>(`SELECT ${COLS} FROM operators WHERE id = $1`, [id]);
      return r.rows[0];
    },
    async list(): Promise<OperatorRow[]> {
      const r = await pool.query<OperatorRow>(`SELECT ${COLS} FROM operators ORDER BY created_at, id`);
      return r.rows;
    },

    /**
     * Claim one attempt BEFORE verifying a password or a code: a single conditional UPDATE, so N
     * parallel requests get at most MAX_FAILED_ATTEMPTS claims between them. The claim that reaches
     * the limit locks for LOCK_MS at once (a crash between claim and verdict cannot leave the account
     * open). A claim counts as a failure until releaseAttempts gives it back; after an expired lock
     * the count starts again. Undefined: locked, disabled or unknown (verify nothing).
     */
    async claimAttempt(id: string, now: Date): Promise<number | undefined> {
      const r = await pool.query<{ n: number }>(
        `UPDATE operators SET
           failed_attempts = CASE WHEN locked_until IS NULL THEN failed_attempts + 1 ELSE 1 END,
           locked_until = CASE WHEN (CASE WHEN locked_until IS NULL THEN failed_attempts + 1 ELSE 1 END) >= $3
                               THEN $2::timestamptz + make_interval(secs => $4) ELSE NULL END
         WHERE id = $1 AND disabled_at IS NULL
           AND (locked_until IS NULL OR locked_until <= $2)
           AND (locked_until IS NOT NULL OR failed_attempts < $3)
         RETURNING failed_attempts AS n`,
        [id, now, MAX_FAILED_ATTEMPTS, LOCK_MS / 1000],
      );
      return r.rows[0]?.n;
    },
    /**
     * Give back `count` claims that were not failures (a right password: its own claim; a completed
     * login: its claims and the failures before its password step). `claim` is the number this
     * request's claim got: when it was the one that reached the limit, the lock it set is lifted
     * (nine failures then the right password do not lock). A lock set by someone else's claim stays.
     */
    async releaseAttempts(id: string, count: number, claim: number): Promise<void> {
      await pool.query(
        `UPDATE operators SET
           failed_attempts = GREATEST(failed_attempts - $2, 0),
           locked_until = CASE WHEN $4::int >= $3 THEN NULL ELSE locked_until END
         WHERE id = $1`,
        [id, count, MAX_FAILED_ATTEMPTS, claim],
      );
    },
    async unlock(id: string): Promise<boolean> {
      const r = await pool.query(
        'UPDATE operators SET failed_attempts = 0, locked_until = NULL WHERE id = $1',
        [id],
      );
      return r.rowCount === 1;
    },
    async disable(id: string, now: Date): Promise<boolean> {
      const r = await pool.query(
        'UPDATE operators SET disabled_at = $2 WHERE id = $1 AND disabled_at IS NULL',
        [id, now],
      );
      return r.rowCount === 1;
    },

    /**
     * Accept a TOTP time step at most once: only the statement that moves last_totp_step forward
     * wins, so 50 concurrent submissions of one code yield exactly one `true`.
     */
    async consumeTotpStep(id: string, step: number): Promise<boolean> {
      const r = await pool.query(
        'UPDATE operators SET last_totp_step = $2 WHERE id = $1 AND (last_totp_step IS NULL OR last_totp_step < $2)',
        [id, step],
      );
      return r.rowCount === 1;
    },

    /** `priorFailures`: failures counted before the password step that issued this challenge. */
    async createChallenge(
      tokenHash: string,
      operatorId: string,
      expiresAt: Date,
      priorFailures = 0,
    ): Promise<void> {
      await pool.query(
        `INSERT INTO operator_mfa_challenges (token_hash, operator_id, expires_at, prior_failures)
         VALUES ($1, $2, $3, $4)`,
        [tokenHash, operatorId, expiresAt, priorFailures],
      );
    },
    /** The operator of a live, unused challenge. */
    async findChallenge(
      tokenHash: string,
      now: Date,
    ): Promise<{ operatorId: string; priorFailures: number } | undefined> {
      const r = await pool.query<{ operatorId: string; priorFailures: number }>(
        `SELECT operator_id AS "operatorId", prior_failures AS "priorFailures" FROM operator_mfa_challenges
          WHERE token_hash = $1 AND used_at IS NULL AND expires_at > $2`,
        [tokenHash, now],
      );
      return r.rows[0];
    },
    async useChallenge(tokenHash: string, now: Date): Promise<boolean> {
      const r = await pool.query(
        'UPDATE operator_mfa_challenges SET used_at = $2 WHERE token_hash = $1 AND used_at IS NULL AND expires_at > $2',
        [tokenHash, now],
      );
      return r.rowCount === 1;
    },

    async createSession(id: string, operatorId: string, now: Date): Promise<void> {
      await pool.query(
        'INSERT INTO operator_sessions (id, operator_id, created_at, last_seen_at) VALUES ($1, $2, $3, $3)',
        [id, operatorId, now],
      );
    },
    /**
     * Marks activity on a live session. False when revoked, unknown, or idle for more than 15
     * minutes (an idle session is revoked on the spot so it cannot come back).
     */
    async touchSession(id: string, operatorId: string, now: Date): Promise<boolean> {
      const r = await pool.query(
        `UPDATE operator_sessions SET last_seen_at = GREATEST(last_seen_at, $3)
          WHERE id = $1 AND operator_id = $2 AND revoked_at IS NULL
            AND last_seen_at >= $3::timestamptz - make_interval(secs => $4)`,
        [id, operatorId, now, IDLE_MS / 1000],
      );
      if (r.rowCount === 1) return true;
      await pool.query('UPDATE operator_sessions SET revoked_at = $2 WHERE id = $1 AND revoked_at IS NULL', [
        id,
        now,
      ]);
      return false;
    },
    async revokeSession(id: string, now: Date): Promise<boolean> {
      const r = await pool.query(
        'UPDATE operator_sessions SET revoked_at = $2 WHERE id = $1 AND revoked_at IS NULL',
        [id, now],
      );
      return r.rowCount === 1;
    },
    async revokeAllSessions(operatorId: string, now: Date): Promise<number> {
      const r = await pool.query(
        'UPDATE operator_sessions SET revoked_at = $2 WHERE operator_id = $1 AND revoked_at IS NULL',
        [operatorId, now],
      );
      return r.rowCount ?? 0;
    },
  };
}
export type OperatorsRepo = ReturnType<typeof createOperatorsRepo>;
