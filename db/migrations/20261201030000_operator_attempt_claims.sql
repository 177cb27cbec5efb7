-- Up Migration
-- Login attempts are claimed before the secret is verified (db/operators-repo.ts claimAttempt). A
-- challenge remembers how many failures preceded the password step that issued it, so the completed
-- login forgives exactly those and not the attempts made concurrently by someone else.
ALTER TABLE operator_mfa_challenges
  ADD COLUMN prior_failures integer NOT NULL DEFAULT 0 CHECK (prior_failures >= 0);

-- Down Migration
ALTER TABLE operator_mfa_challenges DROP COLUMN prior_failures;
