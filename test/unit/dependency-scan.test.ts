/**
 * scripts/dependency-scan.sh never passes silently: an unreachable advisory database is exit 2 with
 * the reason, advisories are exit 1, a clean audit is 0. `npm` is replaced by a stub on PATH that
 * answers like the real one in each case.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const script = path.join(__dirname, '../../scripts/dependency-scan.sh');

function scan(audit: { json: unknown; status: number }, lsStatus = 0) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'settle-deps-'));
  fs.writeFileSync(path.join(dir, 'audit.json'), JSON.stringify(audit.json));
  fs.writeFileSync(
    path.join(dir, 'npm'),
    [
      '#!/usr/bin/env bash',
      `case "$1" in`,
      `  ls) [ ${lsStatus} -eq 0 ] || echo "npm error missing: left-pad@1.0.0" >&2; exit ${lsStatus} ;;`,
      `  audit) cat "${dir}/audit.json"; exit ${audit.status} ;;`,
      'esac',
    ].join('\n'),
    { mode: 0o755 },
  );
  const r = spawnSync('bash', [script], {
    env: { ...process.env, PATH: `${dir}:${process.env.PATH}` },
    encoding: 'utf8',
  });
  fs.rmSync(dir, { recursive: true, force: true });
  return { status: r.status, out: r.stdout + r.stderr };
}

const summary = (high: number) => ({
  metadata: { vulnerabilities: { info: 0, low: 1, moderate: 0, high, critical: 0, total: 1 + high } },
});

test('an unreachable advisory database is exit 2 "NOT SCANNED" with the registry answer', () => {
  const r = scan({
    json: {
      message: '405 Method Not Allowed - POST https://registry.example/-/npm/v1/security/advisories/bulk',
      statusCode: 405,
    },
    status: 1,
  });
  expect(r.status).toBe(2);
  expect(r.out).toContain('NOT SCANNED');
  expect(r.out).toContain('405 Method Not Allowed');
});

test('high advisories fail with exit 1; a clean audit passes with the counts', () => {
  expect(scan({ json: summary(2), status: 1 }).status).toBe(1);
  const clean = scan({ json: summary(0), status: 0 });
  expect(clean.status).toBe(0);
  expect(clean.out).toContain('critical=0 high=0 moderate=0 low=1');
});

test('a tree that does not match the lock file fails before any audit', () => {
  const r = scan({ json: summary(0), status: 0 }, 1);
  expect(r.status).toBe(1);
  expect(r.out).toContain('does not match package-lock.json');
});
