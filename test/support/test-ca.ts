// A throw-away CA and a server certificate for 127.0.0.1, made with the openssl CLI at test time: no private key is
// ever committed. Tests that need it skip, saying why, where openssl is missing.
import { spawnSync } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'

export interface TestPki {
  ca: string
  cert: string
  key: string
}

export const opensslMissing: string | false =
  spawnSync('openssl', ['version']).status === 0
    ? false
    : 'needs the openssl CLI to make a test CA, which is missing'

function openssl(dir: string, args: string[]): void {
  const run = spawnSync('openssl', args, { cwd: dir, encoding: 'utf8' })
  if (run.status !== 0) throw new Error(`openssl ${args[0]} failed: ${run.stderr}`)
}

/** A new CA (P-256) and a certificate it signs for IP 127.0.0.1 / localhost, valid for server and client auth. */
export function makeTestPki(): TestPki {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'dittofs-hooks-pki-'))
  try {
    const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes']
    openssl(dir, [
      'req',
      '-x509',
      ...ec,
      '-keyout',
      'ca.key',
      '-out',
      'ca.crt',
      '-days',
      '1',
      '-subj',
      '/CN=test-ca',
    ])
    openssl(dir, ['req', ...ec, '-keyout', 'tls.key', '-out', 'tls.csr', '-subj', '/CN=127.0.0.1'])
    writeFileSync(
      path.join(dir, 'ext'),
      'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth,clientAuth\n',
    )
    openssl(dir, [
      'x509',
      '-req',
      '-in',
      'tls.csr',
      '-CA',
      'ca.crt',
      '-CAkey',
      'ca.key',
      '-CAcreateserial',
      '-out',
      'tls.crt',
      '-days',
      '1',
      '-extfile',
      'ext',
    ])
    const read = (file: string) => readFileSync(path.join(dir, file), 'utf8')
    return { ca: read('ca.crt'), cert: read('tls.crt'), key: read('tls.key') }
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}
