// The thin DittoFS client: body validation, error shapes, classification, URL handling, redaction.
import { readFileSync } from 'node:fs'
import path from 'node:path'
import t, { type Test } from 'tap'
import {
  apiBase,
  type CallFailure,
  DittoFsClient,
  errorDetail,
  failureReason,
  MAX_ADAPTERS,
  sanitize,
} from '../hooks/discovery/client.js'
import { type Emulator, startEmulator } from './emulator/index.js'
import { dittofsFixturesDir, sharedMissing } from './support/tools.js'

const ADMIN = { username: 'admin', password: 'client-test-admin-pw' }
const BUDGET = { timeoutMs: 1_000 }
// Both adapter-list shapes and a login answer as DittoFS sends them (reference/fixtures/dittofs describes them;
// the last test checks these samples against it when ../shared is there).
const ADAPTERS_V04 = [
  {
    id: 'a1',
    type: 'nfs',
    enabled: true,
    running: true,
    port: 12049,
    created_at: '2026-02-10T20:05:01.418Z',
    updated_at: '2026-02-10T20:05:01.418Z',
  },
  {
    id: 'a2',
    type: 'smb',
    enabled: true,
    running: true,
    port: 1445,
    created_at: '2026-02-10T20:05:01.421Z',
    updated_at: '2026-02-10T20:05:01.421Z',
  },
]
const ADAPTERS_V029 = [
  { ...ADAPTERS_V04[0], status: { status: 'healthy', checked_at: '2026-07-24T09:30:02.551Z' } },
  {
    ...ADAPTERS_V04[1],
    enabled: false,
    running: false,
    config: { signing: { enabled: true, required: false } },
    status: { status: 'unknown', message: 'adapter smb not running', checked_at: '2026-07-24T09:30:02.551Z' },
  },
]
const LOGIN_ANSWER = {
  access_token: 'header.payload.signature',
  refresh_token: 'header.payload.signature2',
  token_type: 'Bearer',
  expires_in: 900,
  expires_at: '2026-02-10T20:23:28.614203511Z',
  user: { id: 'u1', username: 'k8s-operator', role: 'operator', enabled: true, must_change_password: false },
}
const samples: Record<string, unknown> = {
  'adapters-list.json': ADAPTERS_V04,
  'adapters-list.v0.29.json': ADAPTERS_V029,
  'login-response.json': LOGIN_ANSWER,
}
const fixture = (name: string) => `${JSON.stringify(samples[name], null, 2)}\n`

async function start(t: Test): Promise<Emulator> {
  const emulator = await startEmulator({ adminPassword: ADMIN.password })
  t.teardown(() => emulator.close())
  return emulator
}

/** Serve `body` as the adapter list and read it through the client. */
async function listWith(emu: Emulator, body: string, status = 200, contentType = 'application/json') {
  emu.setFault({ mode: 'raw', status, contentType, body, pathPrefix: '/api/v1/adapters' })
  return new DittoFsClient().listAdapters(emu.url, 'some.token', BUDGET)
}

t.test('both DittoFS adapter list versions parse; unknown fields are tolerated', async (t) => {
  const emu = await start(t)
  const old = await listWith(emu, fixture('adapters-list.json'))
  t.same(old, {
    ok: true,
    value: {
      adapters: [
        { type: 'nfs', port: 12049, enabled: true, running: true },
        { type: 'smb', port: 1445, enabled: true, running: true },
      ],
      rejected: [],
    },
  })
  const v029 = await listWith(emu, fixture('adapters-list.v0.29.json'))
  t.same(v029, {
    ok: true,
    value: {
      adapters: [
        { type: 'nfs', port: 12049, enabled: true, running: true },
        { type: 'smb', port: 1445, enabled: false, running: false },
      ],
      rejected: [],
    },
  })
})

t.test('an empty list is a valid answer', async (t) => {
  const emu = await start(t)
  t.same(await listWith(emu, '[]\n'), { ok: true, value: { adapters: [], rejected: [] } })
})

t.test('a body that is not a JSON array is an invalid response', async (t) => {
  const emu = await start(t)
  for (const body of ['{"adapters":[]}', 'null', '"nfs"', '<html>', '', '[{"type":"nfs"']) {
    const result = await listWith(emu, body)
    t.equal(result.ok, false, JSON.stringify(body))
    if (!result.ok) {
      t.equal(result.failure.kind, 'invalid')
      t.equal(failureReason(result.failure), 'InvalidResponse')
      t.match(result.failure.message, `GET ${emu.url}/api/v1/adapters: response is not`)
    }
  }
})

t.test('malformed entries are skipped and noted without their content; valid ones kept', async (t) => {
  const emu = await start(t)
  const entries = [
    { type: 'nfs', port: 12049, enabled: true },
    { type: 'nfs', port: 2049, enabled: true, running: true },
    { type: 'NFS', port: 2050, enabled: true, running: true },
    { type: 'smb', port: 0, enabled: true, running: true },
    { type: 'smb', port: 1.5, enabled: true, running: true },
    { type: '', port: 1, enabled: true },
    { type: '-x', port: 1, enabled: true },
    { type: 'a'.repeat(64), port: 1, enabled: true },
    { type: 'x y', port: 1, enabled: true },
    { type: 'evil\nline', port: 1, enabled: true },
    { port: 1, enabled: true },
    { type: 'ok', port: 1 },
    { type: 'ok', port: 1, enabled: true, running: 'yes' },
    { type: 'webdav', port: 8081, enabled: false, running: true },
    { type: 'a'.repeat(63), port: 65535, enabled: true, running: false },
  ]
  const result = await listWith(emu, JSON.stringify(entries))
  t.ok(result.ok)
  if (!result.ok) return
  t.same(result.value.adapters, [
    { type: 'nfs', port: 12049, enabled: true, running: true },
    // Types compare exactly, as everywhere else: NFS is a second adapter with a Service of its own.
    { type: 'NFS', port: 2050, enabled: true, running: true },
    { type: 'webdav', port: 8081, enabled: false, running: true },
    { type: 'a'.repeat(63), port: 65535, enabled: true, running: false },
  ])
  t.equal(result.value.rejected.length, 11)
  t.match(result.value.rejected[0], /^entry 1 rejected: duplicate adapter type$/)
  t.match(result.value.rejected[1], /^entry 3 rejected: \/port must be >= 1$/)
  const joined = result.value.rejected.join('\n')
  t.notMatch(joined, 'evil', 'offending values are not echoed')
  t.notMatch(joined, 'x y')
})

t.test('a missing `running` reads as `enabled`', async (t) => {
  const emu = await start(t)
  const result = await listWith(
    emu,
    JSON.stringify([
      { type: 'nfs', port: 12049, enabled: true },
      { type: 'smb', port: 1445, enabled: false },
    ]),
  )
  t.same(result.ok && result.value.adapters, [
    { type: 'nfs', port: 12049, enabled: true, running: true },
    { type: 'smb', port: 1445, enabled: false, running: false },
  ])
})

t.test('more adapters than the bound are rejected; notes are capped', async (t) => {
  const emu = await start(t)
  const entries = Array.from({ length: MAX_ADAPTERS + 30 }, (_, i) => ({
    type: `a${i}`,
    port: 1000 + i,
    enabled: true,
  }))
  const result = await listWith(emu, JSON.stringify(entries))
  t.ok(result.ok)
  if (!result.ok) return
  t.equal(result.value.adapters.length, MAX_ADAPTERS)
  t.equal(result.value.rejected.length, 21)
  t.match(result.value.rejected[0], `more than ${MAX_ADAPTERS} adapters`)
  t.equal(result.value.rejected[20], '10 more entries rejected')
})

t.test('token responses: validated, expires_in or expires_at required', async (t) => {
  const emu = await start(t)
  const client = new DittoFsClient()
  const loginAnswer = (body: unknown) => {
    emu.setFault({
      mode: 'raw',
      status: 200,
      contentType: 'application/json',
      body: JSON.stringify(body),
      pathPrefix: '/api/v1/auth/login',
    })
    return client.login(emu.url, ADMIN, BUDGET)
  }
  const fromFixture = await loginAnswer(JSON.parse(fixture('login-response.json')))
  t.ok(fromFixture.ok)
  if (fromFixture.ok) {
    t.equal(fromFixture.value.expiresInMs, 900_000)
    t.equal(fromFixture.value.expiresAtMs, Date.parse('2026-02-10T20:23:28.614Z'))
    t.equal(fromFixture.value.mustChangePassword, false)
  }
  const atOnly = await loginAnswer({
    access_token: 'a.b.c',
    refresh_token: 'd.e.f',
    expires_at: '2030-01-01T00:00:00Z',
  })
  t.same(atOnly.ok && [atOnly.value.expiresInMs, atOnly.value.expiresAtMs], [undefined, Date.UTC(2030, 0, 1)])
  const mustChange = await loginAnswer({
    access_token: 'a',
    refresh_token: 'b',
    expires_in: 60,
    user: { must_change_password: true },
  })
  t.equal(mustChange.ok && mustChange.value.mustChangePassword, true)

  for (const [why, body] of [
    ['no expiry', { access_token: 'a', refresh_token: 'b' }],
    ['no refresh token', { access_token: 'a', expires_in: 900 }],
    ['empty token', { access_token: '', refresh_token: 'b', expires_in: 900 }],
    ['header injection', { access_token: 'a\r\nx: y', refresh_token: 'b', expires_in: 900 }],
    ['numeric token', { access_token: 1, refresh_token: 'b', expires_in: 900 }],
    ['string expires_in', { access_token: 'a', refresh_token: 'b', expires_in: '900' }],
    ['zero expires_in', { access_token: 'a', refresh_token: 'b', expires_in: 0 }],
    ['bad expires_at', { access_token: 'a', refresh_token: 'b', expires_at: 'tomorrow' }],
    ['impossible date', { access_token: 'a', refresh_token: 'b', expires_at: '2026-13-45T99:99:99Z' }],
    ['array', [{ access_token: 'a' }]],
  ] as const) {
    const result = await loginAnswer(body)
    t.equal(result.ok, false, why)
    if (!result.ok) {
      t.equal(failureReason(result.failure), 'InvalidResponse', why)
      t.notMatch(result.failure.message, ADMIN.password)
    }
  }
})

t.test('error answers: status drives the result; problem JSON and plain text give the detail', async (t) => {
  const emu = await start(t)
  const client = new DittoFsClient()
  const wrong = await client.login(emu.url, { username: 'admin', password: 'wrong-pw' }, BUDGET)
  t.same(wrong, {
    ok: false,
    failure: {
      kind: 'status',
      status: 401,
      message: `POST ${emu.url}/api/v1/auth/login: HTTP 401 (Invalid username or password)`,
    },
  })
  const plain = await client.listAdapters(emu.url, 'not-a-jwt', BUDGET)
  t.same(plain.ok === false && plain.failure, {
    kind: 'status',
    status: 401,
    message: `GET ${emu.url}/api/v1/adapters: HTTP 401 (Invalid or expired token)`,
  })
  // A success-looking body under an error status is still an error.
  const disguised = await listWith(emu, '[]', 500)
  t.same(disguised.ok === false && [disguised.failure.kind, failureReason(disguised.failure)], [
    'status',
    'APIUnreachable',
  ])
  const html = await listWith(emu, '<html><body>Bad gateway</body></html>', 502, 'text/html')
  t.same(html.ok === false && html.failure.message, `GET ${emu.url}/api/v1/adapters: HTTP 502`)
})

t.test('an echoed secret never reaches a message', async (t) => {
  const emu = await start(t)
  const client = new DittoFsClient()
  const secret = 'Sup3r-Secret-Pw'
  emu.setFault({
    mode: 'raw',
    status: 400,
    contentType: 'application/problem+json',
    body: JSON.stringify({ title: 'Bad Request', status: 400, detail: `password ${secret} is too weak` }),
  })
  const result = await client.login(emu.url, { username: 'x', password: secret }, BUDGET)
  t.equal(result.ok, false)
  if (!result.ok) {
    t.notMatch(result.failure.message, secret)
    t.match(result.failure.message, 'password [redacted] is too weak')
  }
  const token = 'eyJhbGciOi.payload.sig'
  emu.setFault({ mode: 'raw', status: 401, contentType: 'text/plain', body: `bad token ${token}\n` })
  const listed = await client.listAdapters(emu.url, token, BUDGET)
  t.equal(listed.ok, false, 'refused')
  t.notMatch(listed.ok === false && listed.failure.message, token)
})

t.test('user management calls use the admin token and escape the user name', async (t) => {
  const emu = await start(t)
  const client = new DittoFsClient()
  const admin = await client.login(emu.url, ADMIN, BUDGET)
  if (!admin.ok) throw new Error('admin login failed')
  const token = admin.value.accessToken
  const user = { username: 'we ird/name', password: 'pw-1', role: 'operator' }
  t.same(await client.createUser(emu.url, token, user, BUDGET), { ok: true, value: undefined })
  t.same(emu.users()[1], { username: 'we ird/name', role: 'operator' })
  const again = await client.createUser(emu.url, token, user, BUDGET)
  t.same(
    again.ok === false && [again.failure.kind, again.failure.kind === 'status' && again.failure.status],
    ['status', 409],
  )
  t.same(await client.resetPassword(emu.url, token, 'we ird/name', 'pw-2', BUDGET), {
    ok: true,
    value: undefined,
  })
  const asUser = await client.login(emu.url, { username: 'we ird/name', password: 'pw-2' }, BUDGET)
  t.equal(asUser.ok, true, 'the reset reached the escaped user')
  t.same(await client.deleteUser(emu.url, token, 'we ird/name', BUDGET), { ok: true, value: undefined })
  const missing = await client.deleteUser(emu.url, token, 'we ird/name', BUDGET)
  t.equal(missing.ok === false && missing.failure.kind === 'status' && missing.failure.status, 404)
  t.same([emu.counters.usersCreate, emu.counters.usersPassword, emu.counters.usersDelete], [1, 1, 1])
})

t.test('failureReason classifies by status only', async (t) => {
  const status = (s: number): CallFailure => ({ kind: 'status', status: s, message: '' })
  const table: Array<[CallFailure, string]> = [
    [{ kind: 'transport', message: '' }, 'APIUnreachable'],
    [{ kind: 'invalid', message: '' }, 'InvalidResponse'],
    [{ kind: 'invalid', status: 200, message: '' }, 'InvalidResponse'],
    [status(500), 'APIUnreachable'],
    [status(503), 'APIUnreachable'],
    [status(302), 'APIUnreachable'],
    [status(307), 'APIUnreachable'],
    [status(408), 'APIUnreachable'],
    [status(429), 'APIUnreachable'],
    [status(401), 'AuthenticationFailed'],
    [status(403), 'AuthenticationFailed'],
    [status(404), 'InvalidResponse'],
    [status(400), 'InvalidResponse'],
    [status(409), 'InvalidResponse'],
  ]
  for (const [failure, reason] of table) {
    t.equal(failureReason(failure), reason, JSON.stringify(failure))
  }
})

t.test('apiBase keeps scheme, host, port and path only', async (t) => {
  t.equal(apiBase('http://x-api.ns.svc.cluster.local:8080'), 'http://x-api.ns.svc.cluster.local:8080')
  t.equal(apiBase('http://x:8080/'), 'http://x:8080')
  t.equal(apiBase('https://x/prefix/'), 'https://x/prefix')
  t.equal(apiBase('http://user:secret@x:8080/?q=1#f'), 'http://x:8080', 'user info, query, fragment dropped')
  t.equal(apiBase('ftp://x'), undefined)
  t.equal(apiBase('file:///etc/passwd'), undefined)
  t.equal(apiBase('not a url'), undefined)
})

t.test('errorDetail and sanitize', async (t) => {
  const problem = Buffer.from(
    '{"type":"about:blank","title":"Conflict","status":409,"detail":"User already exists"}',
  )
  t.equal(errorDetail('application/problem+json', problem, []), 'User already exists')
  t.equal(errorDetail('application/problem+json', Buffer.from('{"title":"Conflict"}'), []), 'Conflict')
  t.equal(errorDetail('application/json', Buffer.from('{"detail":42}'), []), '')
  t.equal(errorDetail('application/json', Buffer.from('nope'), []), '')
  t.equal(
    errorDetail('text/plain; charset=utf-8', Buffer.from('Insufficient permissions\n'), []),
    'Insufficient permissions',
  )
  t.equal(errorDetail('text/html', Buffer.from('<h1>x</h1>'), []), '', 'HTML is not repeated')
  t.equal(sanitize('a\u0000b\u001bc\r\nd', []), 'a b c d')
  t.equal(sanitize('x'.repeat(500), []).length, 201)
  t.equal(sanitize('token abc and abc', ['abc', '']), 'token [redacted] and [redacted]')
})

t.test('a client with a small body cap refuses larger bodies', async (t) => {
  const emu = await start(t)
  const client = new DittoFsClient({ maxBodyBytes: 100 })
  const body = JSON.stringify(
    Array.from({ length: 10 }, (_, i) => ({ type: `t${i}`, port: 1, enabled: true })),
  )
  emu.setFault({ mode: 'raw', status: 200, contentType: 'application/json', body })
  const result = await client.listAdapters(emu.url, 'tok', BUDGET)
  t.same(result.ok === false && [result.failure.kind, result.failure.message], [
    'invalid',
    `GET ${emu.url}/api/v1/adapters: response body exceeds the size limit`,
  ])
})

t.test(
  'the samples above have the shape of the DittoFS reference fixtures',
  { skip: sharedMissing(path.join(dittofsFixturesDir, 'adapters-list.json')) },
  async (t) => {
    const keysOf = (value: unknown): unknown =>
      Array.isArray(value)
        ? value.map(keysOf)
        : value && typeof value === 'object'
          ? Object.fromEntries(
              Object.entries(value)
                .map(([k, v]) => [k, keysOf(v)])
                .sort(([a], [b]) => (String(a) < String(b) ? -1 : 1)),
            )
          : typeof value
    for (const name of Object.keys(samples)) {
      const reference = JSON.parse(readFileSync(path.join(dittofsFixturesDir, name), 'utf8'))
      t.same(keysOf(samples[name]), keysOf(reference), `${name}: same fields and types`)
    }
    const v029 = JSON.parse(readFileSync(path.join(dittofsFixturesDir, 'adapters-list.v0.29.json'), 'utf8'))
    t.same(
      v029.map((a: { type: string; port: number; enabled: boolean }) => [a.type, a.port, a.enabled]),
      ADAPTERS_V029.map((a) => [a.type, a.port, a.enabled]),
    )
  },
)
