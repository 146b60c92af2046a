// Secret hygiene over whole runs: every log line (debug level), every metric, every status and every error body the
// hook produces, and no password, token or derived secret anywhere but inside the Secret children's `data`.
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import got from 'got'
import t from 'tap'
import { buildApp, REDACT_PATHS } from '../hooks/app.js'
import type { SyncResponse } from '../hooks/metacontroller/types.js'
import { startEmulator } from './emulator/index.js'
import { TEST_SECRET_KEY, testSettings } from './support/app.js'
import { adapterServiceNames, hookWithEmulator } from './support/fuzz-harness.js'
import { derivedSecrets, JWT, leakedIn, withoutSecretData } from './support/fuzz-secrets.js'
import {
  advanceToNextPoll,
  conditionOf,
  LAST_APPLIED,
  minimalSpec,
  parent,
  syncRequest,
} from './support/requests.js'

const SECRETS = { ...derivedSecrets(), hooksSecretKey: TEST_SECRET_KEY }

/** An answer as text with Secret data blanked, when it is a sync answer; error bodies as they are. */
const blanked = (text: string): string => {
  try {
    return withoutSecretData(JSON.parse(text) as SyncResponse)
  } catch {
    return text
  }
}

t.test('a whole life at debug level: nothing secret outside Secret data', async (t) => {
  const h = await hookWithEmulator(t, {
    env: { BODY_LIMIT_BYTES: String(64 * 1024) },
    emulator: { accessTtlSec: 120 },
  })
  const errors: string[] = []
  const raw = async (url: string, payload: string, contentType = 'application/json') => {
    const res = await h.app.inject({ method: 'POST', url, headers: { 'content-type': contentType }, payload })
    errors.push(res.body)
    return res
  }

  // Fresh provisioning, steady polls, token refresh.
  const first = await h.sync()
  t.same(first.body.children.filter((c) => c.kind === 'Secret').length, 3, 'three generated Secrets')
  let res = await h.sync()
  t.equal(conditionOf(res.body.status, 'Authenticated')?.status, 'True', 'provisioned and polled')
  for (let i = 0; i < 6; i++) {
    advanceToNextPoll(h.clock)
    res = await h.sync()
  }
  t.ok((h.emulator.counters.refresh ?? 0) >= 1, 'a token was refreshed')
  // API down, then back.
  h.emulator.setFault({ mode: 'reset' })
  advanceToNextPoll(h.clock)
  t.equal(conditionOf((await h.sync()).body.status, 'AdaptersSynced')?.reason, 'APIUnreachable')
  h.emulator.setFault(null)
  // The admin password changes behind the hook's back and the operator account is refused: re-provisioning fails.
  h.emulator.setAdminPassword('changed-behind-our-back-1')
  h.emulator.setFault({ mode: 'unauthorized', pathPrefix: '/api/v1/adapters' })
  h.clock.advance(10 * 60_000)
  t.equal(conditionOf((await h.sync()).body.status, 'Authenticated')?.reason, 'AuthenticationFailed')
  h.emulator.setFault(null)
  // Invalid spec (echo), then finalize.
  const invalid = await h.sync({ spec: { ...h.spec, storage: { metadataSize: 'huge' } } })
  t.equal(conditionOf(invalid.body.status, 'Ready')?.reason, 'InvalidSpec')
  h.clock.advance(10 * 60_000)
  await h.sync({ finalizing: true })
  await h.sync({ finalizing: true })

  // Error answers, each with secrets in the request.
  const secretBody = JSON.stringify(
    syncRequest(parent(minimalSpec()), {
      children: {
        'Secret.v1': {
          s: {
            apiVersion: 'v1',
            kind: 'Secret',
            metadata: { name: 's' },
            data: { password: SECRETS.adminPassword },
          },
        },
      },
    }),
  )
  t.equal(
    (await raw('/sync', secretBody.slice(0, secretBody.indexOf(SECRETS.adminPassword) + 10))).statusCode,
    400,
    'truncated',
  )
  t.equal(
    (
      await raw(
        '/sync',
        secretBody.replace('"finalizing":false', `"finalizing":"${SECRETS.operatorPassword}"`),
      )
    ).statusCode,
    400,
    'wrong type',
  )
  t.equal((await raw('/sync', secretBody, 'text/x-secret')).statusCode, 415, 'content type')
  t.equal((await raw('/sync', `${secretBody}${' '.repeat(70 * 1024)}`)).statusCode, 413, 'too large')
  t.equal((await raw(`/nowhere?token=${SECRETS.jwtSecret}`, secretBody)).statusCode, 404, 'unknown route')
  const noLastApplied = syncRequest(parent({ storage: { metadataSize: 'x' } }), {
    children: {
      'Secret.v1': {
        s: {
          apiVersion: 'v1',
          kind: 'Secret',
          metadata: { name: 's' },
          data: { password: Buffer.from(SECRETS.adminPassword).toString('base64') },
        },
      },
    },
  })
  t.equal(
    (await raw('/sync', JSON.stringify(noLastApplied))).statusCode,
    422,
    'invalid spec, children unknown',
  )
  t.equal(
    (
      await raw(
        '/customize',
        JSON.stringify({ parent: { ...noLastApplied.parent, metadata: { name: SECRETS.adminPassword } } }),
      )
    ).statusCode,
    400,
  )
  t.equal(
    (await raw('/sync', `{"parent":${'['.repeat(5000)}${']'.repeat(5000)}}`)).statusCode,
    400,
    'too deep',
  )

  const metrics = (await h.app.inject({ method: 'GET', url: '/metrics' })).body
  t.match(metrics, /dittofs_hooks_requests_total\{hook="sync",outcome="ok"\}/)
  t.match(metrics, /dittofs_hooks_discovery_polls_total\{result="AuthenticationFailed"\}/)

  t.ok(h.lines.length > 20, `${h.lines.length} log lines captured`)
  t.match(h.lines.join(''), /"level":20/, 'debug lines among them')
  t.same(leakedIn(h.lines.join('\n'), SECRETS), [], 'no secret in any log line')
  t.same(leakedIn(metrics, SECRETS), [], 'no secret in the metrics')
  t.same(leakedIn(errors.join('\n'), SECRETS), [], 'no secret in any error body')
  t.same(
    leakedIn(h.answers.map(blanked).join('\n'), SECRETS),
    [],
    'no secret in any answer outside Secret data',
  )
  t.same(
    leakedIn(h.answers.join('\n'), { operatorPassword: SECRETS.operatorPassword }),
    ['operatorPassword'],
    'the check sees Secret data',
  )
})

t.test('a user-supplied admin password and JWT secret stay out of everything', async (t) => {
  const adminPassword = 'my-Admin-pa55word!'
  const jwtSecret = 'a-user-jwt-signing-secret-of-40-chars!!'
  const secret = (name: string, data: Record<string, string>) => ({
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: { name, namespace: 'storage' },
    data: Object.fromEntries(Object.entries(data).map(([k, v]) => [k, Buffer.from(v).toString('base64')])),
  })
  const h = await hookWithEmulator(t, {
    spec: {
      identity: {
        jwt: { secretRef: { name: 'my-jwt', key: 'signing' } },
        admin: { passwordSecretRef: { name: 'my-admin', key: 'password' } },
      },
    },
    related: {
      'Secret.v1': {
        'my-admin': secret('my-admin', { password: adminPassword }),
        'my-jwt': secret('my-jwt', { signing: jwtSecret }),
      },
    },
    emulator: { adminPassword },
  })
  await h.sync()
  const res = await h.sync()
  t.equal(conditionOf(res.body.status, 'Authenticated')?.status, 'True')
  t.same(adapterServiceNames(res.body), ['ditto-adapter-nfs', 'ditto-adapter-smb'])
  await h.sync({ finalizing: true })
  const secrets = { adminPassword, jwtSecret, operatorPassword: SECRETS.operatorPassword }
  t.same(leakedIn(h.lines.join('\n'), secrets), [])
  t.same(leakedIn(h.answers.map(blanked).join('\n'), secrets), [])
  t.same(
    leakedIn(h.answers.join('\n'), { adminPassword, jwtSecret }),
    [],
    'not even in Secret data: the hook never copies them',
  )
})

t.test('credentials in the URL template are neither sent on nor reported', async (t) => {
  const h = await hookWithEmulator(t, {
    env: {
      DITTOFS_API_URL_TEMPLATE: 'http://user:template-secret-pw@127.0.0.1:{port}/?token=template-secret-q',
    },
  })
  await h.sync()
  const ok = await h.sync()
  t.equal(conditionOf(ok.body.status, 'Authenticated')?.status, 'True', 'polled, without the userinfo')
  h.emulator.setFault({ mode: 'status', status: 503 })
  advanceToNextPoll(h.clock)
  await h.sync()
  const all = [...h.lines, ...h.answers].join('\n')
  t.notMatch(all, /template-secret/, 'userinfo and query are dropped everywhere')
})

t.test('pino redaction is configured and effective, also with a caller’s logger options', async (t) => {
  for (const path of [
    'req.headers.authorization',
    '*.password',
    '*.token',
    '*.options',
    '*.headers.authorization',
  ]) {
    t.ok(REDACT_PATHS.includes(path), `redacts ${path}`)
  }
  const lines: string[] = []
  const app = buildApp(testSettings(), {
    logger: { level: 'trace', stream: { write: (l: string) => lines.push(l) } },
  })
  t.teardown(() => app.close())
  const emulator = await startEmulator()
  t.teardown(() => emulator.close())
  const token = 'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJrOHMtb3BlcmF0b3IifQ.c2lnbmF0dXJlLW5vdC1mb3ItbG9ncw'
  const failing = async (fault: Parameters<typeof emulator.setFault>[0]) => {
    emulator.setFault(fault)
    try {
      await got.post(`${emulator.url}/api/v1/users`, {
        headers: { authorization: `Bearer ${token}` },
        json: { username: 'k8s-operator', password: 'body-password-in-options' },
        retry: { limit: 0 },
        timeout: { request: 500 },
      })
    } catch (error) {
      return error as Error
    }
    throw new Error('expected the request to fail')
  }
  for (const error of [await failing({ mode: 'status', status: 500 }), await failing({ mode: 'reset' })]) {
    app.log.error({ err: error }, 'a got error as err')
    app.log.error({ error }, 'a got error under another key')
    app.log.error(error, 'a got error as the object')
  }
  app.log.warn({ req: { headers: { authorization: `Bearer ${token}`, cookie: 'session=abc' } } }, 'request')
  app.log.warn({ request: { headers: { authorization: `Bearer ${token}` } } }, 'request-like')
  app.log.info({ user: { password: 'body-password-in-options', token } }, 'credentials object')
  app.log.debug({ secret: { data: { password: 'c2VjcmV0' } } }, 'a Secret')
  t.equal(lines.length, 10)
  const text = lines.join('\n')
  t.notMatch(text, /body-password-in-options|c2VjcmV0|session=abc/)
  t.notMatch(text, JWT)
  t.match(text, /\[redacted\]/)
  t.match(text, /"msg":"a got error as err"/, 'the line itself is kept')
})

t.test('forced transport errors carry codes, never credentials', async (t) => {
  // A server that answers with broken HTTP, one that closes at once, and a port with nobody listening.
  const broken = createServer()
  broken.on('connection', (socket) => socket.end('HTTP/1.1 200 OK\r\nContent-Length: nope\r\n\r\n'))
  await new Promise<void>((resolve) => broken.listen(0, '127.0.0.1', resolve))
  t.teardown(() => new Promise<void>((resolve) => broken.close(() => resolve())))
  const closed = createServer()
  await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve))
  const closedPort = (closed.address() as AddressInfo).port
  await new Promise<void>((resolve) => closed.close(() => resolve()))
  for (const [label, port, code] of [
    ['malformed HTTP', (broken.address() as AddressInfo).port, /\(HPE_[A-Z_]+\)/],
    ['connection refused', closedPort, /\(ECONNREFUSED\)/],
  ] as const) {
    const h = await hookWithEmulator(t, { spec: { controlPlane: { port } } })
    await h.sync()
    const res = await h.sync()
    const synced = conditionOf(res.body.status, 'AdaptersSynced')
    t.equal(synced?.reason, 'APIUnreachable', label)
    t.match(synced?.message, code, `${label}: the code names it`)
    t.same(leakedIn([...h.lines, ...h.answers.map(blanked)].join('\n'), SECRETS), [], `${label}: no secret`)
  }
})

t.test('an echo of a tenant-chosen last-applied annotation carries no secret of ours', async (t) => {
  // The invalid-spec echo returns children as last applied: a Secret child's last-applied holds its data, which is
  // where it belongs; no other child gets Secret data that way.
  const h = await hookWithEmulator(t)
  await h.sync()
  await h.sync()
  const res = await h.sync({ spec: { ...h.spec, storage: { metadataSize: '0' } } })
  t.equal(conditionOf(res.body.status, 'Ready')?.reason, 'InvalidSpec')
  t.same(leakedIn(withoutSecretData(res.body), SECRETS), [])
  t.notMatch(JSON.stringify(res.body.children.filter((c) => c.kind !== 'Secret')), new RegExp(LAST_APPLIED))
})
