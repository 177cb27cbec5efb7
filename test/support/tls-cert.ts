/** A throwaway self-signed certificate for localhost, made at test time with openssl (never committed). */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export interface TestCert {
  dir: string;
  certFile: string;
  keyFile: string;
  remove(): void;
}

export function makeTestCert(prefix = 'settle-tls-'): TestCert {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  execFileSync(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-keyout',
      'key.pem',
      '-out',
      'cert.pem',
      '-days',
      '1',
      '-subj',
      '/CN=localhost',
    ],
    { cwd: dir, stdio: 'ignore' },
  );
  return {
    dir,
    certFile: path.join(dir, 'cert.pem'),
    keyFile: path.join(dir, 'key.pem'),
    remove: () => fs.rmSync(dir, { recursive: true, force: true }),
  };
}
