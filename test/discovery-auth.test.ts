// Discovery against the emulator: provisioning, the token cache, refresh, re-login, single flight, and
// what reaches messages and logs.
import t, { type Test } from 'tap'
import { Discovery, type DiscoveryOptions, OPERATOR_USERNAME } from '../hooks/discovery/discovery.js'
import type { PollOutcome, PollTarget } from '../hooks/discovery/types.js'
import { type VirtualClock, virtualClock } from './emulator/clock.js'
import { type Emulator, type EmulatorOptions, startEmulator } from './emulator/index.js'

const ADMIN_PASSWORD = 'admin-Pw-0123456789'
const OPERATOR_PASSWORD = 'operator-Pw-9876543210'
const MINUTE = 60_000

interface Setup {
  emu: Emulator
  clock: VirtualClock
  discovery: Discovery
  target: PollTarget
  logs: string[]
}

async function setup(
  t: Test,
  opts: { emulator?: EmulatorOptions; discovery?: Partial<DiscoveryOptions>; provisioned?: boolean } = {},
): Promise<Setup> {
  const clock = virtualClock()
  const emu = await startEmulator({ now: clock.now, adminPassword: ADMIN_PASSWORD, ...opts.emulator })
  t.teardown(() => emu.close())
  const logs: string[] = []
  const record = (level: string) => (obj: object, msg: string) =>
    logs.push(`${level} ${msg} ${JSON.stringify(obj)}`)
  const discovery = new Discovery({
    timeoutMs: 1_000,
    now: clock.now,
    log: { warn: record('warn'), info: record('info'), debug: record('debug') },
    ...opts.discovery,
  })
  const target: PollTarget = {
    apiUrl: emu.url,
    operator: { username: OPERATOR_USERNAME, password: OPERATOR_PASSWORD },
    admin: { username: 'admin', password: ADMIN_PASSWORD },
  }
  if (opts.provisioned === true) {
    t.ok((await discovery.poll(target)).ok, 'provisioned')
    emu.resetCounters()
  }
  return { emu, clock, discovery, target, logs }
}

function adaptersOf(outcome: PollOutcome) {
  return outcome.ok ? outcome.adapters : outcome
}

t.test('fresh provisioning: the operator user is created with role operator, one admin login', async (t) => {
  const { emu, discovery, target } = await setup(t)
  t.same(emu.users(), [{ username: 'admin', role: 'admin' }])
  const outcome = await discovery.poll(target)
  t.same(outcome, {
    ok: true,
    adapters: [
      { type: 'nfs', port: 12049, enabled: true, running: true },
      { type: 'smb', port: 1445, enabled: true, running: true },
    ],
    rejected: [],
  })
  t.same(emu.users(), [
    { username: 'admin', role: 'admin' },
    { username: 'k8s-operator', role: 'operator' },
  ])
  t.equal(emu.counters['login:admin'], 1, 'one admin login')
  t.equal(emu.counters['login:k8s-operator'], 1)
  t.equal(emu.counters.loginFailed, 1, 'the first operator login was refused')
  t.equal(emu.counters.usersCreate, 1)
  t.equal(emu.counters.usersPassword, 0)
  t.equal(emu.counters.adaptersList, 1)
  t.same(discovery.counters(), { logins: 3, refreshes: 0, provisions: 1, polls: 1, snapshotPushes: 0 })

  emu.resetCounters()
  t.ok((await discovery.poll(target)).ok)
  t.same(
    [emu.counters.requests, emu.counters.adaptersList],
    [1, 1],
    'next poll: the cached token, one request',
  )
})

t.test('existing operator user with another password: 409 → password reset → login works', async (t) => {
  const { emu, discovery, target } = await setup(t, { provisioned: true })
  const rotated: PollTarget = {
    ...target,
    operator: { username: OPERATOR_USERNAME, password: 'a-new-password' },
  }
  const outcome = await discovery.poll(rotated)
  t.equal(outcome.ok, true)
  t.equal(emu.counters.usersCreate, 0, 'create answered 409')
  t.equal(emu.counters.usersPassword, 1)
  t.equal(emu.counters['login:admin'], 1)
  t.equal(emu.counters['login:k8s-operator'], 1)
  t.equal(emu.counters.loginFailed, 1)
  t.equal(discovery.counters().provisions, 2)
  // The old password's cached token is not reused for the new password, and vice versa.
  emu.resetCounters()
  t.equal((await discovery.poll(rotated)).ok, true)
  t.equal(emu.counters.requests, 1)
})

t.test('a token is only reused by a caller with the same password', async (t) => {
  const { emu, discovery, target } = await setup(t, { provisioned: true })
  const impostor: PollTarget = {
    apiUrl: target.apiUrl,
    operator: { username: OPERATOR_USERNAME, password: 'guessed' },
  }
  const outcome = await discovery.poll(impostor)
  t.match(outcome, { ok: false, reason: 'AuthenticationFailed', httpStatus: 401 })
  t.equal(emu.counters.adaptersList, 0, 'the cached token was not lent out')
})

t.test('expired access token → refresh, no new login', async (t) => {
  const { emu, clock, discovery, target } = await setup(t, { provisioned: true })
  clock.advance(16 * MINUTE)
  t.equal((await discovery.poll(target)).ok, true)
  t.equal(emu.counters.refresh, 1)
  t.equal(emu.counters.login, 0)
  t.equal(emu.counters.adaptersList, 1)
})

t.test('the token is renewed 60 s before it expires, not earlier', async (t) => {
  const { emu, clock, discovery, target } = await setup(t, { provisioned: true })
  clock.advance(14 * MINUTE - 1_000)
  await discovery.poll(target)
  t.equal(emu.counters.refresh, 0, '61 s before expiry: cached token')
  clock.advance(1_000)
  await discovery.poll(target)
  t.equal(emu.counters.refresh, 1, '60 s before expiry: refreshed')
})

t.test('expired refresh token → login', async (t) => {
  const { emu, clock, discovery, target } = await setup(t, {
    emulator: { refreshTtlSec: 3_600 },
    provisioned: true,
  })
  clock.advance(2 * 60 * MINUTE)
  t.equal((await discovery.poll(target)).ok, true)
  t.equal(emu.counters.refreshFailed, 1)
  t.equal(emu.counters.login, 1)
  t.equal(emu.counters['login:admin'], undefined, 'no provisioning needed')
})

t.test('refresh failing transiently while the old token is still valid keeps polling', async (t) => {
  const { emu, clock, discovery, target } = await setup(t, { provisioned: true })
  clock.advance(14 * MINUTE + 30_000)
  emu.setFault({ mode: 'status', status: 503, pathPrefix: '/api/v1/auth/refresh' })
  t.equal((await discovery.poll(target)).ok, true, 'the token has 30 s left')
  t.equal(emu.counters.login, 0)
  clock.advance(60_000)
  const expired = await discovery.poll(target)
  t.match(expired, { ok: false, reason: 'APIUnreachable', httpStatus: 503 }, 'token gone and refresh failing')
})

t.test('a 401 on GET /adapters drops the token, logs in once and retries once', async (t) => {
  const { emu, discovery, target } = await setup(t, { provisioned: true })
  emu.setFault({ mode: 'unauthorized', pathPrefix: '/api/v1/adapters', count: 1 })
  t.equal((await discovery.poll(target)).ok, true)
  t.equal(emu.counters.login, 1)
  t.equal(emu.counters.requests, 3, 'GET (401), login, GET')
  emu.resetCounters()
  t.equal((await discovery.poll(target)).ok, true)
  t.equal(emu.counters.requests, 1, 'the new token is cached')
})

t.test('persistent 401 on GET /adapters after a fresh login → AuthenticationFailed, no loop', async (t) => {
  const { emu, discovery, target } = await setup(t, { provisioned: true })
  emu.setFault({ mode: 'unauthorized', pathPrefix: '/api/v1/adapters' })
  const outcome = await discovery.poll(target)
  t.match(outcome, { ok: false, reason: 'AuthenticationFailed', httpStatus: 401 })
  t.equal(emu.counters.requests, 3, 'GET, login, GET — then it stops')
})

t.test('403 on GET /adapters with a fresh token (e.g. DittoFS without the operator role)', async (t) => {
  const { emu, target } = await setup(t, { provisioned: true })
  const fresh = new Discovery({ timeoutMs: 1_000 })
  emu.setFault({
    mode: 'raw',
    status: 403,
    contentType: 'text/plain; charset=utf-8',
    body: 'Admin access required\n',
    pathPrefix: '/api/v1/adapters',
  })
  const outcome = await fresh.poll(target)
  t.match(outcome, { ok: false, reason: 'AuthenticationFailed', httpStatus: 403 })
  t.match(outcome.ok === false && outcome.message, 'Admin access required')
  t.match(outcome.ok === false && outcome.message, 'needs role operator or admin')
  t.equal(emu.counters.adaptersList, 0)
  t.equal(emu.counters.login, 1, 'a fresh token is not retried')
})

t.test('wrong admin password → AuthenticationFailed naming the URL, without any password', async (t) => {
  const { emu, discovery, target, logs } = await setup(t)
  const wrongAdmin = 'Wrong-Admin-Password-42'
  const outcome = await discovery.poll({ ...target, admin: { username: 'admin', password: wrongAdmin } })
  t.match(outcome, { ok: false, reason: 'AuthenticationFailed', httpStatus: 401 })
  const message = outcome.ok ? '' : outcome.message
  t.match(message, emu.url)
  t.match(message, 'admin credentials were rejected')
  for (const secret of [wrongAdmin, OPERATOR_PASSWORD, ADMIN_PASSWORD]) {
    t.notMatch(message, secret)
    t.notMatch(logs.join('\n'), secret)
  }
  t.same(emu.users(), [{ username: 'admin', role: 'admin' }], 'nothing was created')
})

t.test('operator refused and no admin credentials → AuthenticationFailed', async (t) => {
  const { emu, discovery, target } = await setup(t)
  const outcome = await discovery.poll({ apiUrl: target.apiUrl, operator: target.operator })
  t.match(outcome, { ok: false, reason: 'AuthenticationFailed', httpStatus: 401 })
  t.match(outcome.ok === false && outcome.message, 'no admin credentials')
  t.equal(emu.counters.usersCreate, 0)
})

t.test('only the k8s-operator account is ever provisioned', async (t) => {
  const { emu, discovery, target } = await setup(t)
  const outcome = await discovery.poll({ ...target, operator: { username: 'admin', password: 'guess' } })
  t.match(outcome, { ok: false, reason: 'AuthenticationFailed' })
  t.equal(emu.counters.usersPassword, 0, 'the admin password was not reset')
  t.equal(emu.counters['login:admin'], undefined)
})

t.test('admin that must change its password → AuthenticationFailed saying so', async (t) => {
  const { emu, discovery, target } = await setup(t, { emulator: { adminMustChangePassword: true } })
  const outcome = await discovery.poll(target)
  t.match(outcome, { ok: false, reason: 'AuthenticationFailed' })
  t.match(outcome.ok === false && outcome.message, 'admin account must change its password')
  t.notMatch(outcome.ok === false && outcome.message, ADMIN_PASSWORD)
  t.equal(emu.counters.usersCreate, 0, 'no doomed create request')
})

t.test('an admin that is not allowed to create users → AuthenticationFailed', async (t) => {
  const { emu, discovery, target } = await setup(t)
  emu.setFault({
    mode: 'raw',
    status: 403,
    contentType: 'text/plain; charset=utf-8',
    body: 'Admin access required\n',
    pathPrefix: '/api/v1/users',
  })
  const outcome = await discovery.poll(target)
  t.match(outcome, { ok: false, reason: 'AuthenticationFailed', httpStatus: 403 })
  t.match(
    outcome.ok === false && outcome.message,
    `POST ${emu.url}/api/v1/users: HTTP 403 (Admin access required)`,
  )
})

t.test('provisioning that fails transiently is APIUnreachable, and the next poll completes it', async (t) => {
  const { emu, discovery, target } = await setup(t)
  emu.setFault({ mode: 'status', status: 500, pathPrefix: '/api/v1/users', count: 1 })
  t.match(await discovery.poll(target), { ok: false, reason: 'APIUnreachable', httpStatus: 500 })
  t.equal((await discovery.poll(target)).ok, true)
  t.same(emu.users()[1], { username: 'k8s-operator', role: 'operator' })
})

t.test('100 polls within one token lifetime cause exactly one login', async (t) => {
  const { emu, clock, target } = await setup(t, { provisioned: true })
  const fresh = new Discovery({ timeoutMs: 1_000, now: clock.now })
  for (let i = 0; i < 100; i++) {
    t.equal((await fresh.poll(target)).ok, true)
    clock.advance(5_000) // 100 × 5 s = 8 min 20 s, inside 15 min
  }
  t.equal(emu.counters.login, 1)
  t.equal(emu.counters.refresh, 0)
  t.equal(emu.counters.adaptersList, 100)
  t.same(fresh.counters(), { logins: 1, refreshes: 0, provisions: 0, polls: 100, snapshotPushes: 0 })
})

t.test('concurrent polls share one login (and one provisioning)', async (t) => {
  const { emu, discovery, target } = await setup(t)
  const outcomes = await Promise.all(Array.from({ length: 5 }, () => discovery.poll(target)))
  t.same(
    outcomes.map((o) => o.ok),
    [true, true, true, true, true],
  )
  t.equal(emu.counters['login:admin'], 1)
  t.equal(emu.counters['login:k8s-operator'], 1)
  t.equal(emu.counters.usersCreate, 1)
  t.equal(emu.counters.adaptersList, 5)

  const second = new Discovery({ timeoutMs: 1_000 })
  emu.resetCounters()
  await Promise.all([second.poll(target), second.poll(target)])
  t.equal(emu.counters.login, 1, 'two concurrent polls, one login')
  t.equal(emu.counters.adaptersList, 2)
})

t.test('concurrent polls of different API URLs do not share', async (t) => {
  const a = await setup(t, { provisioned: true })
  const b = await setup(t, { provisioned: true })
  const discovery = new Discovery({ timeoutMs: 1_000 })
  await Promise.all([discovery.poll(a.target), discovery.poll(b.target)])
  t.same([a.emu.counters.login, b.emu.counters.login], [1, 1])
})

t.test('two Discovery instances against one emulator see the same adapters', async (t) => {
  const { emu, target } = await setup(t, { provisioned: true })
  emu.setAdapters([
    { type: 'nfs', port: 2049, enabled: true },
    { type: 'smb', port: 445, enabled: false },
    { type: 'webdav', port: 8081, enabled: true, running: false },
  ])
  const one = await new Discovery({ timeoutMs: 1_000 }).poll(target)
  const two = await new Discovery({ timeoutMs: 1_000 }).poll(target)
  t.ok(one.ok)
  t.same(adaptersOf(one), adaptersOf(two))
  t.same(adaptersOf(one), [
    { type: 'nfs', port: 2049, enabled: true, running: true },
    { type: 'smb', port: 445, enabled: false, running: false },
    { type: 'webdav', port: 8081, enabled: true, running: false },
  ])
})

t.test('an empty adapter list is a success', async (t) => {
  const { emu, discovery, target } = await setup(t, { provisioned: true })
  emu.setAdapters([])
  t.same(await discovery.poll(target), { ok: true, adapters: [], rejected: [] })
})

t.test('wrong types: malformed entries rejected, the valid one kept', async (t) => {
  const { emu, discovery, target, logs } = await setup(t, { provisioned: true })
  emu.setFault({ mode: 'wrongTypes' })
  const outcome = await discovery.poll(target)
  t.ok(outcome.ok)
  if (!outcome.ok) return
  t.same(outcome.adapters, [{ type: 'webdav', port: 8081, enabled: true, running: true }])
  t.equal(outcome.rejected.length, 6)
  t.match(outcome.rejected, [
    /^entry 0 rejected: \/port must be integer$/,
    /^entry 1 rejected: \/port must be <= 65535$/,
  ])
  t.notMatch(outcome.rejected.join(' '), '../x')
  t.match(logs.join('\n'), /warn adapter entries rejected .*"rejected":6/)
})

t.test('removeOperatorUser: best effort, never throws', async (t) => {
  const { emu, discovery, target } = await setup(t, { provisioned: true })
  t.equal(await discovery.removeOperatorUser(target), true)
  t.same(emu.users(), [{ username: 'admin', role: 'admin' }])
  t.equal(emu.counters.usersDelete, 1)
  t.equal(await discovery.removeOperatorUser(target), true, 'already gone counts as removed')
  t.equal(
    await discovery.removeOperatorUser({ apiUrl: target.apiUrl, operator: target.operator }),
    false,
    'no admin',
  )
  const wrong = { ...target, admin: { username: 'admin', password: 'wrong' } }
  t.equal(await discovery.removeOperatorUser(wrong), false)
  t.equal(await discovery.removeOperatorUser({ ...target, apiUrl: 'not a url' }), false)
  emu.setFault({ mode: 'status', status: 500, pathPrefix: '/api/v1/users' })
  t.equal(await discovery.removeOperatorUser(target), false)
  emu.setFault(null)
  // The cached token went with the user: the next poll provisions again instead of using a dead token.
  emu.resetCounters()
  t.equal((await discovery.poll(target)).ok, true)
  t.equal(emu.counters.usersCreate, 1)
})

t.test('an unusable API URL fails without a request', async (t) => {
  const { emu, discovery, target } = await setup(t)
  for (const apiUrl of ['not a url', 'ftp://127.0.0.1/', 'file:///etc/passwd']) {
    t.match(await discovery.poll({ ...target, apiUrl }), { ok: false, reason: 'APIUnreachable' })
  }
  t.equal(emu.counters.requests, 0)
})

t.test('credentials in the URL are neither sent nor shown', async (t) => {
  const { discovery, target, emu } = await setup(t)
  const outcome = await discovery.poll({
    ...target,
    apiUrl: emu.url.replace('http://', 'http://u:url-secret@'),
  })
  t.equal(outcome.ok, true)
  emu.setFault({ mode: 'status', status: 500 })
  const failed = await discovery.poll({
    ...target,
    apiUrl: emu.url.replace('http://', 'http://u:url-secret@'),
  })
  t.equal(failed.ok, false, 'the poll failed')
  t.notMatch(failed.ok === false && failed.message, 'url-secret')
})

t.test('no password or token ever appears in a log line or message', async (t) => {
  const { emu, clock, discovery, target, logs } = await setup(t)
  const messages: string[] = []
  const collect = (o: PollOutcome) => {
    if (!o.ok) messages.push(o.message)
  }
  collect(await discovery.poll(target))
  clock.advance(20 * MINUTE)
  collect(await discovery.poll(target))
  emu.setFault({ mode: 'unauthorized' })
  collect(await discovery.poll(target))
  emu.setFault(null)
  collect(
    await discovery.poll({ ...target, operator: { username: OPERATOR_USERNAME, password: 'x-Other-Pw' } }),
  )
  await discovery.removeOperatorUser(target)
  const everything = `${logs.join('\n')}\n${messages.join('\n')}`
  t.ok(logs.length > 0, 'something was logged')
  t.ok(messages.length > 0, 'something failed')
  for (const secret of [ADMIN_PASSWORD, OPERATOR_PASSWORD, 'x-Other-Pw', 'eyJ']) {
    t.notMatch(everything, secret)
  }
})

t.test('one parent over a simulated hour: 30 s polling, 15 min access tokens', async (t) => {
  const { emu, clock, discovery, target } = await setup(t)
  for (let i = 0; i < 120; i++) {
    t.equal((await discovery.poll(target)).ok, true)
    clock.advance(30_000)
  }
  const c = emu.counters
  t.comment(
    `from scratch: requests=${c.requests} adaptersList=${c.adaptersList} login=${c.login} ` +
      `loginFailed=${c.loginFailed} refresh=${c.refresh} usersCreate=${c.usersCreate}`,
  )
  t.same(
    [c.requests, c.adaptersList, c.login, c.loginFailed, c.refresh, c.usersCreate],
    [128, 120, 2, 1, 4, 1],
    'provisioning once, then one refresh every 14 min',
  )

  emu.resetCounters()
  const steady = new Discovery({ timeoutMs: 1_000, now: clock.now })
  for (let i = 0; i < 120; i++) {
    await steady.poll(target)
    clock.advance(30_000)
  }
  t.comment(
    `account exists: requests=${c.requests} adaptersList=${c.adaptersList} login=${c.login} refresh=${c.refresh}`,
  )
  t.same([c.requests, c.adaptersList, c.login, c.refresh], [125, 120, 1, 4])
})
