// spec.snapshotPolicies pushed to the DittoFS API (issue 13, issue 16 point 7). Facts from DittoFS v0.29.0:
// every /api/v1/shares/* route is admin-only (pkg/controlplane/api/router.go), PUT …/snapshot-policy upserts and
// answers 404 for a share that does not exist (internal/controlplane/api/handlers/snapshot_policy.go), and the
// share name is normalised to one leading slash (handlers/shares.go).
import got from 'got'
import t from 'tap'
import { Discovery } from '../hooks/discovery/discovery.js'
import { SNAPSHOT_RETRY_CAP_MS, snapshotRetryMs } from '../hooks/discovery/snapshot-schedule.js'
import type { SyncResponse } from '../hooks/metacontroller/types.js'
import {
  policyBody,
  readSnapshotStatus,
  snapshotCondition,
  snapshotStatus,
} from '../hooks/reconcile/snapshots.js'
import { startEmulator } from './emulator/index.js'
import { hookWithEmulator } from './support/fuzz-harness.js'
import { derivedSecrets } from './support/fuzz-secrets.js'
import { conditionOf } from './support/requests.js'

const POLICIES = [
  { share: '/archive', interval: '@daily', keepLast: 7, ttl: '720h', namePrefix: 'nightly' },
  { share: 'later', interval: '6h' },
]

const login = async (url: string, username: string, password: string) =>
  (
    (await got.post(`${url}/api/v1/auth/login`, { json: { username, password } }).json()) as {
      access_token: string
    }
  ).access_token

t.test('the emulator answers the snapshot-policy routes as DittoFS v0.29.0 does', async (t) => {
  const emulator = await startEmulator({ adminPassword: 'admin-password-1', shares: ['archive'] })
  t.teardown(() => emulator.close())
  const admin = await login(emulator.url, 'admin', 'admin-password-1')
  const put = (token: string, share: string, json: object) =>
    got.put(`${emulator.url}/api/v1/shares/${encodeURIComponent(share)}/snapshot-policy`, {
      json,
      headers: { authorization: `Bearer ${token}` },
      throwHttpErrors: false,
    })
  const ok = await put(admin, '/archive', { interval: '@Daily', keep_last: 3 })
  t.equal(ok.statusCode, 200)
  t.match(JSON.parse(ok.body), { share: '/archive', interval: '24h0m0s', keep_last: 3, enabled: true })
  t.equal((await put(admin, '/nope', { interval: '1h' })).statusCode, 404, 'a share that does not exist')
  t.equal((await put(admin, '/archive', { interval: '@monthly' })).statusCode, 400, 'an unknown shorthand')
  t.equal((await put(admin, '/archive', { interval: '1h', name_prefix: 'a b' })).statusCode, 400)

  // Issue 16.7: the operator role may list adapters and nothing under /shares.
  await got.post(`${emulator.url}/api/v1/users`, {
    json: { username: 'k8s-operator', password: 'operator-password-1', role: 'operator' },
    headers: { authorization: `Bearer ${admin}` },
  })
  const operator = await login(emulator.url, 'k8s-operator', 'operator-password-1')
  const refused = await put(operator, '/archive', { interval: '1h' })
  t.equal(refused.statusCode, 403)
  t.match(refused.body, /^Admin access required\s*$/, "the auth middleware's plain text")
})

t.test('policy bodies carry only what the spec sets (the server defaults the rest)', async (t) => {
  t.same(policyBody({ share: '/a', interval: '6h' }), { interval: '6h' })
  t.same(policyBody({ share: '/a', interval: '6h', keepLast: 0, ttl: '', namePrefix: '' }), {
    interval: '6h',
  })
  t.same(
    policyBody({
      share: '/a',
      interval: '@daily',
      keepLast: 7,
      ttl: '720h',
      enabled: false,
      namePrefix: 'n',
    }),
    { interval: '@daily', keep_last: 7, ttl: '720h', enabled: false, name_prefix: 'n' },
  )
  t.same(
    [1, 2, 3, 6, 7, 20].map(snapshotRetryMs),
    [30_000, 60_000, 120_000, 960_000, SNAPSHOT_RETRY_CAP_MS, SNAPSHOT_RETRY_CAP_MS],
    '30 s doubling; 32 min is capped at 30',
  )
})

/** Syncs as Metacontroller would, each at the resync the last answer asked for (at most 30 s apart). */
async function runFor(h: Awaited<ReturnType<typeof hookWithEmulator>>, ms: number, last: SyncResponse) {
  let answer = last
  let left = ms
  while (left > 0) {
    const step = Math.min((answer.resyncAfterSeconds ?? 30) * 1000, 30_000, left)
    h.clock.advance(step)
    left -= step
    answer = (await h.sync()).body
  }
  return answer
}

t.test('pushed as admin, reported per share, a missing share retried with back-off', async (t) => {
  const h = await hookWithEmulator(t, {
    spec: { snapshotPolicies: POLICIES },
    emulator: { shares: ['/archive'] },
  })
  await h.sync()
  let answer = (await h.sync()).body // the pod is ready: this sync polls adapters
  t.equal(h.emulator.counters.snapshotPolicyPut, 0, 'never in the same sync as a poll')
  t.equal(answer.resyncAfterSeconds, 1, 'called again at once for the push')
  h.clock.advance(1000)
  answer = (await h.sync()).body
  t.same(answer.status.snapshotPolicies, [
    {
      share: '/archive',
      state: 'Applied',
      applied: (answer.status.snapshotPolicies as Array<{ applied: string }>)[0]?.applied,
    },
    { share: '/later', state: 'ShareNotFound', message: 'the share does not exist yet' },
  ])
  t.match(conditionOf(answer.status, 'SnapshotPoliciesSynced'), {
    status: 'False',
    reason: 'ShareNotFound',
    message: /waiting for \/later to exist/,
  })
  t.match(h.emulator.snapshotPolicies(), [
    { share: '/archive', interval: '24h0m0s', keep_last: 7, ttl: '720h0m0s', name_prefix: 'nightly' },
  ])
  t.equal(
    h.emulator.counters['login:admin'],
    2,
    'as the admin account (the only role /shares allows): one login to provision k8s-operator, one to push',
  )

  // Ten minutes with /later missing: retried at 30 s, 60 s, 120 s, 240 s … not on every sync.
  h.emulator.resetCounters()
  answer = await runFor(h, 10 * 60_000, answer)
  t.equal(h.emulator.counters.snapshotPolicyPut, 4, '4 retries in 10 minutes (30 s, 1, 2, 4 min apart)')
  t.ok((h.emulator.counters.adaptersList ?? 0) >= 19, 'polls went on as usual')

  h.emulator.addShare('later')
  answer = await runFor(h, 10 * 60_000, answer)
  t.match(answer.status.snapshotPolicies, [{ state: 'Applied' }, { share: '/later', state: 'Applied' }])
  t.match(conditionOf(answer.status, 'SnapshotPoliciesSynced'), { status: 'True', reason: 'PoliciesApplied' })
  t.equal(h.emulator.snapshotPolicies().length, 2)

  // Steady state: what snapshot policies add to an hour of DittoFS calls.
  h.emulator.resetCounters()
  answer = await runFor(h, 60 * 60_000, answer)
  const c = h.emulator.counters
  t.equal(c.snapshotPolicyPut, 2, 'each policy re-asserted once an hour')
  t.equal(c['login:admin'], 1, 'one admin login: the re-assertions are batched')
  t.comment(
    `one hour, 2 snapshot policies, 30 s polling: ${c.requests} DittoFS calls = ${c.adaptersList} adapter lists, ` +
      `${c.snapshotPolicyPut} policy upserts, ${c.login} logins, ${c.refresh} refreshes`,
  )
  t.ok(
    (c.requests ?? 0) <= (c.adaptersList ?? 0) + 10,
    'snapshot policies add a handful of calls per hour, not one per sync',
  )

  // A spec edit is pushed once (digest changed), then quiet again.
  h.emulator.resetCounters()
  const edited = POLICIES.map((p) => (p.share === '/archive' ? { ...p, keepLast: 14 } : p))
  h.clock.advance(1000)
  answer = (await h.sync({ spec: { ...h.spec, snapshotPolicies: edited } })).body
  for (let i = 0; i < 4 && h.emulator.counters.snapshotPolicyPut === 0; i++) {
    h.clock.advance(1000)
    answer = (await h.sync({ spec: { ...h.spec, snapshotPolicies: edited } })).body
  }
  t.equal(h.emulator.counters.snapshotPolicyPut, 1, 'only the edited policy')
  t.match(h.emulator.snapshotPolicies(), [{ share: '/archive', keep_last: 14 }, { share: '/later' }])
})

t.test('a refused admin login or an unreachable API is a condition; nothing applied is lost', async (t) => {
  const h = await hookWithEmulator(t, {
    spec: { snapshotPolicies: [POLICIES[0]] },
    emulator: { shares: ['/archive'] },
  })
  await h.sync()
  await h.sync()
  h.clock.advance(1000)
  let answer = (await h.sync()).body
  t.match(answer.status.snapshotPolicies, [{ share: '/archive', state: 'Applied' }])

  // The admin password changed behind the hook's back: the hourly re-assertion fails, the entry stays Applied.
  h.emulator.setAdminPassword('changed-behind-our-back-1')
  answer = await runFor(h, 62 * 60_000, answer)
  t.match(answer.status.snapshotPolicies, [{ share: '/archive', state: 'Applied' }])
  const verdict = conditionOf(answer.status, 'SnapshotPoliciesSynced')
  t.match(verdict, {
    status: 'False',
    reason: 'AuthenticationFailed',
    message: /admin credentials were rejected/,
  })
  t.notMatch(verdict?.message, /changed-behind-our-back-1/)
  t.notMatch(JSON.stringify(answer), new RegExp(derivedSecrets().adminPassword), 'no admin password anywhere')

  h.emulator.setAdminPassword(derivedSecrets().adminPassword)
  answer = await runFor(h, 35 * 60_000, answer)
  t.match(conditionOf(answer.status, 'SnapshotPoliciesSynced'), { status: 'True' }, 'recovers by itself')

  // A policy DittoFS refuses (a zero interval passes the CRD's duration syntax; schedule.ParseInterval wants it
  // positive) is Rejected, with the server's message.
  const zero = { ...h.spec, snapshotPolicies: [{ ...POLICIES[0], interval: '0s' }] }
  for (let i = 0; i < 4; i++) {
    h.clock.advance(1000)
    answer = (await h.sync({ spec: zero })).body
  }
  t.match(answer.status.snapshotPolicies, [
    { share: '/archive', state: 'Rejected', message: /invalid interval/ },
  ])
  t.match(conditionOf(answer.status, 'SnapshotPoliciesSynced'), { status: 'False', reason: 'PolicyRejected' })
})

t.test('two entries for one share are an invalid spec', async (t) => {
  const h = await hookWithEmulator(t, {
    spec: {
      snapshotPolicies: [
        { share: '/a', interval: '1h' },
        { share: 'a', interval: '2h' },
      ],
    },
  })
  const answer = (await h.sync()).body
  t.match(conditionOf(answer.status, 'Ready'), {
    reason: 'InvalidSpec',
    message: /snapshotPolicies\[1\]\.share/,
  })
})

t.test('the status is read defensively and says Pending until a push', async (t) => {
  const observed = readSnapshotStatus({
    snapshotPolicies: [
      { share: '/a', state: 'Applied', applied: 'x', message: 1 },
      { share: '/b', state: 'Bogus' },
      'garbage',
      { state: 'Applied' },
    ],
  })
  t.same([...observed.values()], [{ share: '/a', state: 'Applied', applied: 'x' }])
  t.same(readSnapshotStatus({ snapshotPolicies: 'no' }).size, 0)
  const entries = snapshotStatus([{ share: '/a', interval: '1h' }], observed, { kind: 'none' })
  t.same(entries, [{ share: '/a', state: 'Pending' }], 'an Applied entry for another body is Pending again')
  t.match(snapshotCondition(entries, { kind: 'none' }, []), { reason: 'Pending', message: /\/a/ })
  t.equal(snapshotCondition([], { kind: 'none' }, []), undefined, 'no policies, no condition')
})

t.test(
  'the push refuses to run without an admin account, a usable URL or an admin that must change its password',
  async (t) => {
    const emulator = await startEmulator({ adminPassword: 'admin-password-1', adminMustChangePassword: true })
    t.teardown(() => emulator.close())
    const discovery = new Discovery({ timeoutMs: 500 })
    const operator = { username: 'k8s-operator', password: 'operator-password-1' }
    const pushes = [{ share: '/a', body: { interval: '1h' } }]
    t.match(await discovery.pushSnapshotPolicies({ apiUrl: emulator.url, operator }, pushes), {
      ok: false,
      reason: 'AuthenticationFailed',
      message: /admin credentials are not known/,
    })
    const admin = { username: 'admin', password: 'admin-password-1' }
    t.match(await discovery.pushSnapshotPolicies({ apiUrl: 'ftp://x', operator, admin }, pushes), {
      ok: false,
      reason: 'APIUnreachable',
    })
    t.match(await discovery.pushSnapshotPolicies({ apiUrl: emulator.url, operator, admin }, pushes), {
      ok: false,
      reason: 'AuthenticationFailed',
      message: /must change its password/,
    })
    t.equal(emulator.counters.snapshotPolicyPut, 0)
  },
)

t.test('a cached admin token the server no longer accepts is replaced once', async (t) => {
  const emulator = await startEmulator({ adminPassword: 'admin-password-1', shares: ['/a'] })
  t.teardown(() => emulator.close())
  const discovery = new Discovery({ timeoutMs: 500 })
  const target = {
    apiUrl: emulator.url,
    operator: { username: 'k8s-operator', password: 'operator-password-1' },
    admin: { username: 'admin', password: 'admin-password-1' },
  }
  const pushes = [{ share: '/a', body: { interval: '1h' } }]
  t.match(await discovery.pushSnapshotPolicies(target, pushes), { ok: true, results: [{ state: 'Applied' }] })
  emulator.setFault({ mode: 'unauthorized', pathPrefix: '/api/v1/shares', count: 1 })
  t.match(await discovery.pushSnapshotPolicies(target, pushes), { ok: true, results: [{ state: 'Applied' }] })
  t.equal(emulator.counters['login:admin'], 2, 'one more login after the refusal')
  t.equal(discovery.counters().snapshotPushes, 3)
  emulator.setFault({ mode: 'reset', pathPrefix: '/api/v1/shares' })
  t.match(await discovery.pushSnapshotPolicies(target, pushes), { ok: false, reason: 'APIUnreachable' })
})
