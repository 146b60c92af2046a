// The DittoFS emulator itself: tokens expire on its clock, roles are enforced, errors have DittoFS's shapes,
// faults do what they say.
import { readFileSync } from 'node:fs'
import path from 'node:path'
import t, { type Test } from 'tap'
import { virtualClock } from './emulator/clock.js'
import { type Emulator, type EmulatorOptions, startEmulator } from './emulator/index.js'
import { dittofsFixturesDir, sharedMissing } from './support/tools.js'

const ADMIN_PASSWORD = 'emulator-test-admin-pw'
/** DittoFS' 409 answer to POST /api/v1/users (reference/fixtures/dittofs/error-problem.json). */
const USER_EXISTS = { type: 'about:blank', title: 'Conflict', status: 409, detail: 'User already exists' }

async function start(t: Test, opts: EmulatorOptions = {}): Promise<Emulator> {
  const emulator = await startEmulator({ adminPassword: ADMIN_PASSWORD, ...opts })
  t.teardown(() => emulator.close())
  return emulator
}

interface Answer {
  status: number
  contentType: string
  text: string
  json: unknown
}

async function call(
  emu: Emulator,
  method: string,
  path: string,
  opts: { token?: string; body?: unknown } = {},
) {
  const headers: Record<string, string> = {}
  if (opts.token !== undefined) headers.authorization = `Bearer ${opts.token}`
  if (opts.body !== undefined) headers['content-type'] = 'application/json'
  const res = await fetch(emu.url + path, {
    method,
    headers,
    redirect: 'manual',
    ...(opts.body === undefined ? {} : { body: JSON.stringify(opts.body) }),
  })
  const text = await res.text()
  let json: unknown
  try {
    json = JSON.parse(text)
  } catch {
    json = undefined
  }
  return {
    status: res.status,
    contentType: res.headers.get('content-type') ?? '',
    text,
    json,
  } satisfies Answer
}

async function login(emu: Emulator, username: string, password: string) {
  const answer = await call(emu, 'POST', '/api/v1/auth/login', { body: { username, password } })
  const body = answer.json as {
    access_token: string
    refresh_token: string
    expires_in: number
    expires_at: string
  }
  return { answer, ...body }
}

function payload(token: string): Record<string, unknown> {
  return JSON.parse(Buffer.from(token.split('.')[1] ?? '', 'base64url').toString('utf8'))
}

async function createOperator(emu: Emulator, password = 'operator-pw') {
  const admin = await login(emu, 'admin', ADMIN_PASSWORD)
  await call(emu, 'POST', '/api/v1/users', {
    token: admin.access_token,
    body: { username: 'k8s-operator', password, role: 'operator' },
  })
  return admin
}

t.test('login issues HS256 tokens with the DittoFS claims, expiring on the emulator clock', async (t) => {
  const clock = virtualClock()
  const emu = await start(t, { now: clock.now, accessTtlSec: 900 })
  const { answer, access_token, refresh_token, expires_in, expires_at } = await login(
    emu,
    'admin',
    ADMIN_PASSWORD,
  )
  t.equal(answer.status, 200)
  t.match(answer.contentType, /^application\/json/)
  t.ok(answer.text.endsWith('\n'), 'json.Encoder style trailing newline')
  t.equal(expires_in, 900)
  t.equal(Date.parse(expires_at), clock.now() + 900_000)
  const claims = payload(access_token)
  t.match(claims, { iss: 'dittofs', sub: 'admin', username: 'admin', role: 'admin', token_type: 'access' })
  t.equal(claims.exp, (claims.iat as number) + 900)
  t.equal(JSON.parse(Buffer.from(access_token.split('.')[0] ?? '', 'base64url').toString()).alg, 'HS256')
  t.equal(payload(refresh_token).token_type, 'refresh')
  t.equal(payload(refresh_token).exp, (claims.iat as number) + 604_800)
  t.same((answer.json as { user: unknown }).user, {
    id: claims.uid,
    username: 'admin',
    role: 'admin',
    enabled: true,
    must_change_password: false,
  })
  t.equal(emu.counters.login, 1)
  t.equal(emu.counters['login:admin'], 1)

  t.equal((await call(emu, 'GET', '/api/v1/adapters', { token: access_token })).status, 200)
  clock.advance(899_000)
  t.equal(
    (await call(emu, 'GET', '/api/v1/adapters', { token: access_token })).status,
    200,
    'valid 1 s before exp',
  )
  clock.advance(1_000)
  const expired = await call(emu, 'GET', '/api/v1/adapters', { token: access_token })
  t.equal(expired.status, 401, 'expired at exp')
  t.equal(expired.text, 'Invalid or expired token\n')
  t.match(expired.contentType, /^text\/plain/)
})

t.test('login errors are problem JSON and counted', async (t) => {
  const emu = await start(t)
  const wrong = await call(emu, 'POST', '/api/v1/auth/login', {
    body: { username: 'admin', password: 'nope' },
  })
  t.equal(wrong.status, 401)
  t.equal(wrong.contentType, 'application/problem+json')
  t.same(wrong.json, {
    type: 'about:blank',
    title: 'Unauthorized',
    status: 401,
    detail: 'Invalid username or password',
  })
  const unknown = await call(emu, 'POST', '/api/v1/auth/login', {
    body: { username: 'ghost', password: 'x' },
  })
  t.equal(unknown.status, 401)
  const missing = await call(emu, 'POST', '/api/v1/auth/login', { body: { username: 'admin' } })
  t.equal(missing.status, 400)
  t.match(missing.json, { detail: 'Username and password are required' })
  const res = await fetch(`${emu.url}/api/v1/auth/login`, { method: 'POST', body: '{not json' })
  t.equal(res.status, 400)
  t.match(await res.json(), { detail: 'Invalid request body' })
  t.equal(emu.counters.loginFailed, 2)
  t.equal(emu.counters.login, 0)
})

t.test('refresh re-issues tokens; refresh tokens are not access tokens and expire', async (t) => {
  const clock = virtualClock()
  const emu = await start(t, { now: clock.now, refreshTtlSec: 3600 })
  const first = await login(emu, 'admin', ADMIN_PASSWORD)
  clock.advance(60_000)
  const refreshed = await call(emu, 'POST', '/api/v1/auth/refresh', {
    body: { refresh_token: first.refresh_token },
  })
  t.equal(refreshed.status, 200)
  const next = refreshed.json as { access_token: string }
  t.not(next.access_token, first.access_token, 'new token (later iat)')
  t.equal(emu.counters.refresh, 1)

  const asAccess = await call(emu, 'GET', '/api/v1/adapters', { token: first.refresh_token })
  t.equal(asAccess.status, 401, 'a refresh token is refused as an access token')
  t.equal(asAccess.text, 'Invalid or expired token\n')
  const accessAsRefresh = await call(emu, 'POST', '/api/v1/auth/refresh', {
    body: { refresh_token: first.access_token },
  })
  t.equal(accessAsRefresh.status, 401)
  t.match(accessAsRefresh.json, { detail: 'Invalid refresh token' })
  const tampered = `${first.refresh_token.slice(0, -2)}xx`
  t.equal(
    (await call(emu, 'POST', '/api/v1/auth/refresh', { body: { refresh_token: tampered } })).status,
    401,
  )
  const empty = await call(emu, 'POST', '/api/v1/auth/refresh', { body: {} })
  t.equal(empty.status, 400)

  clock.advance(3600_000)
  const expired = await call(emu, 'POST', '/api/v1/auth/refresh', {
    body: { refresh_token: first.refresh_token },
  })
  t.equal(expired.status, 401)
  t.match(expired.json, { detail: 'Refresh token has expired' })
  t.equal(emu.counters.refreshFailed, 3)
})

t.test('a token signed with another secret is refused', async (t) => {
  const a = await start(t, { jwtSecret: 'a'.repeat(32) })
  const b = await start(t, { jwtSecret: 'b'.repeat(32) })
  const token = (await login(a, 'admin', ADMIN_PASSWORD)).access_token
  t.equal((await call(a, 'GET', '/api/v1/adapters', { token })).status, 200)
  t.equal((await call(b, 'GET', '/api/v1/adapters', { token })).status, 401)
  await t.rejects(startEmulator({ jwtSecret: 'short' }), RangeError)
})

t.test('roles: operator may only list adapters; middleware errors are plain text', async (t) => {
  const emu = await start(t)
  const admin = await createOperator(emu)
  t.same(emu.users(), [
    { username: 'admin', role: 'admin' },
    { username: 'k8s-operator', role: 'operator' },
  ])
  const operator = await login(emu, 'k8s-operator', 'operator-pw')
  t.equal(payload(operator.access_token).role, 'operator')
  t.equal((await call(emu, 'GET', '/api/v1/adapters', { token: operator.access_token })).status, 200)

  for (const [method, path] of [
    ['GET', '/api/v1/adapters/nfs'],
    ['GET', '/api/v1/adapters/nfs/settings'],
    ['POST', '/api/v1/adapters'],
    ['GET', '/api/v1/users'],
    ['POST', '/api/v1/users'],
    ['DELETE', '/api/v1/users/admin'],
    ['POST', '/api/v1/users/admin/password'],
  ] as const) {
    const body = method === 'GET' ? undefined : {}
    const answer = await call(emu, method, path, { token: operator.access_token, body })
    t.equal(answer.status, 403, `${method} ${path}`)
    t.equal(answer.text, 'Admin access required\n')
    t.match(answer.contentType, /^text\/plain/)
  }

  await call(emu, 'POST', '/api/v1/users', {
    token: admin.access_token,
    body: { username: 'alice', password: 'alice-pw' },
  })
  t.same(emu.users()[2], { username: 'alice', role: 'user' }, 'role defaults to user')
  const alice = await login(emu, 'alice', 'alice-pw')
  const denied = await call(emu, 'GET', '/api/v1/adapters', { token: alice.access_token })
  t.equal(denied.status, 403)
  t.equal(denied.text, 'Insufficient permissions\n')

  const noHeader = await call(emu, 'GET', '/api/v1/adapters')
  t.equal(noHeader.status, 401)
  t.equal(noHeader.text, 'Authorization header required\n')
  const wrongScheme = await fetch(`${emu.url}/api/v1/adapters`, { headers: { authorization: 'Basic abc' } })
  t.equal(wrongScheme.status, 401)
  const lowerScheme = await fetch(`${emu.url}/api/v1/adapters`, {
    headers: { authorization: `bearer ${operator.access_token}` },
  })
  t.equal(lowerScheme.status, 200, 'scheme is case-insensitive')
})

// pkg/controlplane/api/router.go: /adapters/{type}/settings is admin-only; models/adapter_settings.go: every
// optional listener is off on a fresh server. The hook (polling as an operator) cannot read these: the spec declares
// them (spec.adapterServices.listeners).
t.test('adapter settings: admin only, every optional listener off by default', async (t) => {
  const emu = await start(t)
  const admin = await login(emu, 'admin', ADMIN_PASSWORD)
  const nfs = await call(emu, 'GET', '/api/v1/adapters/nfs/settings', { token: admin.access_token })
  t.equal(nfs.status, 200)
  t.same(JSON.parse(nfs.text), {
    portmapper_enabled: false,
    portmapper_port: 10111,
    udp_enabled: false,
    mdns_enabled: false,
  })
  const smb = await call(emu, 'GET', '/api/v1/adapters/smb/settings', { token: admin.access_token })
  t.same(JSON.parse(smb.text), { mdns_enabled: false, wsdiscovery_enabled: false })
  const none = await call(emu, 'GET', '/api/v1/adapters/ftp/settings', { token: admin.access_token })
  t.equal(none.status, 404)
})

t.test('users: create, conflict, password reset, delete', async (t) => {
  const emu = await start(t)
  const admin = await createOperator(emu, 'first-pw')
  const token = admin.access_token
  const again = await call(emu, 'POST', '/api/v1/users', {
    token,
    body: { username: 'k8s-operator', password: 'x', role: 'operator' },
  })
  t.equal(again.status, 409)
  t.equal(again.contentType, 'application/problem+json')
  t.same(again.json, USER_EXISTS, 'same body as DittoFS')
  const badRole = await call(emu, 'POST', '/api/v1/users', {
    token,
    body: { username: 'bob', password: 'x', role: 'root' },
  })
  t.equal(badRole.status, 400)
  t.match(badRole.json, { detail: "Invalid role. Must be 'user', 'admin', or 'operator'" })
  t.equal((await call(emu, 'POST', '/api/v1/users', { token, body: { username: 'bob' } })).status, 400)
  t.equal(emu.counters.usersCreate, 1)

  const reset = await call(emu, 'POST', '/api/v1/users/k8s-operator/password', {
    token,
    body: { new_password: 'second-pw' },
  })
  t.equal(reset.status, 204)
  t.equal(emu.counters.usersPassword, 1)
  t.equal((await login(emu, 'k8s-operator', 'first-pw')).answer.status, 401)
  t.equal((await login(emu, 'k8s-operator', 'second-pw')).answer.status, 200)
  const resetMissing = await call(emu, 'POST', '/api/v1/users/ghost/password', {
    token,
    body: { new_password: 'x' },
  })
  t.equal(resetMissing.status, 404)

  t.equal((await call(emu, 'DELETE', '/api/v1/users/k8s-operator', { token })).status, 204)
  t.equal(emu.counters.usersDelete, 1)
  const gone = await call(emu, 'DELETE', '/api/v1/users/k8s-operator', { token })
  t.equal(gone.status, 404)
  t.match(gone.json, { title: 'Not Found', detail: 'User not found' })
  const adminDelete = await call(emu, 'DELETE', '/api/v1/users/admin', { token })
  t.equal(adminDelete.status, 403)
  t.match(adminDelete.json, { detail: 'Cannot delete admin user' })
  t.same(emu.users(), [{ username: 'admin', role: 'admin' }])

  const operatorRefresh = await login(emu, 'admin', ADMIN_PASSWORD)
  await call(emu, 'DELETE', '/api/v1/users/nobody', { token: operatorRefresh.access_token })
  emu.setAdminPassword('rotated-admin-pw')
  t.equal((await login(emu, 'admin', ADMIN_PASSWORD)).answer.status, 401)
  t.equal((await login(emu, 'admin', 'rotated-admin-pw')).answer.status, 200)
})

t.test('refresh of a deleted user is refused', async (t) => {
  const emu = await start(t)
  const admin = await createOperator(emu)
  const operator = await login(emu, 'k8s-operator', 'operator-pw')
  await call(emu, 'DELETE', '/api/v1/users/k8s-operator', { token: admin.access_token })
  const answer = await call(emu, 'POST', '/api/v1/auth/refresh', {
    body: { refresh_token: operator.refresh_token },
  })
  t.equal(answer.status, 401)
  t.match(answer.json, { detail: 'User not found' })
})

t.test('admin with must_change_password is gated until it changes its password', async (t) => {
  const emu = await start(t, { adminMustChangePassword: true })
  const admin = await login(emu, 'admin', ADMIN_PASSWORD)
  t.equal((admin.answer.json as { user: { must_change_password: boolean } }).user.must_change_password, true)
  t.equal(payload(admin.access_token).must_change_password, true)
  const gated = await call(emu, 'POST', '/api/v1/users', {
    token: admin.access_token,
    body: { username: 'k8s-operator', password: 'x', role: 'operator' },
  })
  t.equal(gated.status, 403)
  t.equal(gated.text, 'Password change required. Please change your password before proceeding.\n')
  t.equal((await call(emu, 'GET', '/api/v1/adapters', { token: admin.access_token })).status, 403)
  t.equal((await call(emu, 'GET', '/api/v1/auth/me', { token: admin.access_token })).status, 200, 'exempt')
  const wrong = await call(emu, 'POST', '/api/v1/users/me/password', {
    token: admin.access_token,
    body: { current_password: 'nope', new_password: 'changed-pw' },
  })
  t.equal(wrong.status, 401)
  const changed = await call(emu, 'POST', '/api/v1/users/me/password', {
    token: admin.access_token,
    body: { current_password: ADMIN_PASSWORD, new_password: 'changed-pw' },
  })
  t.equal(changed.status, 200)
  const fresh = (changed.json as { access_token: string }).access_token
  t.equal(payload(fresh).must_change_password, undefined)
  t.equal((await call(emu, 'GET', '/api/v1/adapters', { token: fresh })).status, 200)
  t.equal((await login(emu, 'admin', 'changed-pw')).answer.status, 200)
})

t.test('adapters: list shape as DittoFS writes it, admin CRUD, setAdapters', async (t) => {
  const emu = await start(t)
  const token = (await login(emu, 'admin', ADMIN_PASSWORD)).access_token
  const list = await call(emu, 'GET', '/api/v1/adapters', { token })
  t.equal(list.status, 200)
  const entries = list.json as Array<Record<string, unknown>>
  t.same(
    entries.map((a) => [a.type, a.port, a.enabled, a.running]),
    [
      ['nfs', 12049, true, true],
      ['smb', 1445, true, true],
    ],
    'fresh install defaults',
  )
  t.same(Object.keys(entries[0] ?? {}), [
    'id',
    'type',
    'enabled',
    'running',
    'port',
    'created_at',
    'updated_at',
  ])
  t.equal(emu.counters.adaptersList, 1)

  const created = await call(emu, 'POST', '/api/v1/adapters', {
    token,
    body: { type: 'webdav', port: 8081, config: { a: 1 } },
  })
  t.equal(created.status, 201)
  t.match(created.json, { type: 'webdav', port: 8081, enabled: true, running: true, config: { a: 1 } })
  t.equal((await call(emu, 'POST', '/api/v1/adapters', { token, body: { type: 'webdav' } })).status, 409)
  t.equal((await call(emu, 'POST', '/api/v1/adapters', { token, body: { port: 1 } })).status, 400)
  t.equal(
    (await call(emu, 'POST', '/api/v1/adapters', { token, body: { type: 'x', port: 70000 } })).status,
    400,
  )

  const disabled = await call(emu, 'PUT', '/api/v1/adapters/smb', { token, body: { enabled: false } })
  t.equal(disabled.status, 200)
  t.match(disabled.json, { type: 'smb', enabled: false, running: false })
  t.equal((await call(emu, 'PUT', '/api/v1/adapters/ghost', { token, body: {} })).status, 404)
  t.match((await call(emu, 'GET', '/api/v1/adapters/nfs', { token })).json, { type: 'nfs', port: 12049 })
  t.equal((await call(emu, 'GET', '/api/v1/adapters/ghost', { token })).status, 404)
  t.equal((await call(emu, 'DELETE', '/api/v1/adapters/nfs', { token })).status, 204)
  t.equal((await call(emu, 'DELETE', '/api/v1/adapters/nfs', { token })).status, 404)
  const after = (await call(emu, 'GET', '/api/v1/adapters', { token })).json as Array<{ type: string }>
  t.same(
    after.map((a) => a.type),
    ['smb', 'webdav'],
  )

  emu.setAdapters([{ type: 'nfs', port: 2049, enabled: true, running: false }])
  const replaced = (await call(emu, 'GET', '/api/v1/adapters', { token })).json
  t.match(replaced, [{ type: 'nfs', port: 2049, enabled: true, running: false }])
  emu.setAdapters([])
  const empty = await call(emu, 'GET', '/api/v1/adapters', { token })
  t.equal(empty.text, '[]\n')
})

t.test('unknown routes and methods', async (t) => {
  const emu = await start(t)
  const unknown = await call(emu, 'GET', '/api/v1/nothing')
  t.equal(unknown.status, 404)
  t.equal(unknown.text, '404 page not found\n')
  t.equal((await call(emu, 'PATCH', '/api/v1/auth/login')).status, 405)
  t.equal((await call(emu, 'GET', '/health')).status, 200)
})

t.test('faults', async (t) => {
  t.test('status, scoped to a path prefix', async (t) => {
    const emu = await start(t)
    emu.setFault({ mode: 'status', status: 503, pathPrefix: '/api/v1/adapters' })
    const token = (await login(emu, 'admin', ADMIN_PASSWORD)).access_token
    t.ok(token, 'login outside the prefix is unaffected')
    const answer = await call(emu, 'GET', '/api/v1/adapters', { token })
    t.equal(answer.status, 503)
    t.equal(answer.contentType, 'application/problem+json')
    t.equal(emu.counters.adaptersList, 0, 'the route did not run')
    emu.setFault(null)
    t.equal((await call(emu, 'GET', '/api/v1/adapters', { token })).status, 200)
  })

  t.test('count limits a fault to that many requests', async (t) => {
    const emu = await start(t)
    emu.setFault({ mode: 'status', status: 500, count: 2 })
    t.equal((await call(emu, 'GET', '/health')).status, 500)
    t.equal((await call(emu, 'GET', '/health')).status, 500)
    t.equal((await call(emu, 'GET', '/health')).status, 200)
    t.equal(emu.counters.requests, 3)
  })

  t.test('unauthorized: plain text on the API, problem JSON on auth routes', async (t) => {
    const emu = await start(t)
    const token = (await login(emu, 'admin', ADMIN_PASSWORD)).access_token
    emu.setFault({ mode: 'unauthorized' })
    const api = await call(emu, 'GET', '/api/v1/adapters', { token })
    t.equal(api.status, 401)
    t.equal(api.text, 'Invalid or expired token\n')
    const auth = await login(emu, 'admin', ADMIN_PASSWORD)
    t.equal(auth.answer.status, 401)
    t.equal(auth.answer.contentType, 'application/problem+json')
  })

  t.test('garbage, redirect, raw', async (t) => {
    const emu = await start(t)
    emu.setFault({ mode: 'garbage' })
    const garbage = await call(emu, 'GET', '/api/v1/adapters')
    t.equal(garbage.status, 200)
    t.equal(garbage.json, undefined, 'not JSON')
    emu.setFault({ mode: 'redirect', location: 'http://elsewhere.invalid/' })
    const redirect = await call(emu, 'GET', '/api/v1/adapters')
    t.equal(redirect.status, 302)
    emu.setFault({ mode: 'raw', status: 418, contentType: 'text/plain', body: 'teapot' })
    const raw = await call(emu, 'GET', '/anything')
    t.same([raw.status, raw.text], [418, 'teapot'])
  })

  t.test('wrongTypes serves malformed entries next to one valid one, only on the adapter list', async (t) => {
    const emu = await start(t)
    const token = (await login(emu, 'admin', ADMIN_PASSWORD)).access_token
    emu.setFault({ mode: 'wrongTypes' })
    const list = await call(emu, 'GET', '/api/v1/adapters', { token })
    t.equal(list.status, 200)
    t.match(list.json, [{ port: '12049' }, { port: 70000 }, { type: '../x' }])
    t.equal((await call(emu, 'GET', '/api/v1/adapters')).status, 401, 'auth still applies')
  })

  t.test('hugeBody has exactly the requested size and is valid JSON', async (t) => {
    const emu = await start(t)
    for (const bytes of [3, 4, 200_001, 200_002]) {
      emu.setFault({ mode: 'hugeBody', bytes, declareLength: true })
      const res = await fetch(`${emu.url}/api/v1/adapters`)
      t.equal(res.headers.get('content-length'), String(bytes))
      const text = await res.text()
      t.equal(Buffer.byteLength(text), bytes)
      t.ok(Array.isArray(JSON.parse(text)), `${bytes} bytes parse`)
    }
  })

  t.test('reset, latency, slowBody and blackhole', async (t) => {
    const emu = await start(t)
    emu.setFault({ mode: 'reset' })
    await t.rejects(fetch(`${emu.url}/health`), 'socket destroyed')
    emu.setFault({ mode: 'latency', ms: 30 })
    t.equal((await call(emu, 'GET', '/health')).status, 200, 'answers after the delay')
    emu.setFault({ mode: 'slowBody', bytesPerTick: 4, tickMs: 5 })
    const slow = await fetch(`${emu.url}/health`)
    t.equal(slow.status, 200)
    const reader = slow.body?.getReader()
    const chunk = await reader?.read()
    t.equal(chunk?.done, false, 'body keeps coming')
    await reader?.cancel()
    emu.setFault({ mode: 'blackhole' })
    const pending = fetch(`${emu.url}/health`, { signal: AbortSignal.timeout(100) })
    await t.rejects(pending, 'no answer before the client gives up')
  })

  t.test('close() ends hanging requests', async (t) => {
    const emu = await startEmulator()
    emu.setFault({ mode: 'blackhole' })
    const pending = fetch(`${emu.url}/health`).then(
      () => 'answered',
      () => 'failed',
    )
    await new Promise((resolve) => setTimeout(resolve, 20))
    await emu.close()
    t.equal(await pending, 'failed')
  })
})

t.test('resetCounters', async (t) => {
  const emu = await start(t)
  await login(emu, 'admin', ADMIN_PASSWORD)
  emu.resetCounters()
  t.same(emu.counters, {
    requests: 0,
    login: 0,
    loginFailed: 0,
    refresh: 0,
    refreshFailed: 0,
    adaptersList: 0,
    usersCreate: 0,
    usersPassword: 0,
    usersDelete: 0,
    snapshotPolicyPut: 0,
    snapshotPolicyGet: 0,
  })
})

t.test(
  "the 409 body above is DittoFS' own (reference fixture)",
  { skip: sharedMissing(path.join(dittofsFixturesDir, 'error-problem.json')) },
  async (t) => {
    t.same(JSON.parse(readFileSync(path.join(dittofsFixturesDir, 'error-problem.json'), 'utf8')), USER_EXISTS)
  },
)
