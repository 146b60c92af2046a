import t, { type Test } from 'tap'
import { deriveSecret } from '../hooks/children/secrets.js'
import { SLOT_AIM_MS, slotStartAtOrBefore } from '../hooks/discovery/schedule.js'
import type { ObjectMap, SyncResponse } from '../hooks/metacontroller/types.js'
import { type Emulator, startEmulator, type VirtualClock, virtualClock } from './emulator/index.js'
import { post, TEST_SECRET_KEY, testApp } from './support/app.js'
import { adapterServiceNames } from './support/fuzz-harness.js'
import {
  asObserved,
  conditionOf,
  minimalSpec,
  PARENT_UID,
  parent,
  syncRequest,
  withReadyStatefulSet,
} from './support/requests.js'

// Discovery through the whole hook: the real app, the real got client, the DittoFS emulator on loopback, and a
// virtual clock shared by both so schedules and token lifetimes play out without sleeping.

const adminPassword = deriveSecret(Buffer.from(TEST_SECRET_KEY), PARENT_UID, 'admin-password')

type Shared = { clock: VirtualClock; emulator: Emulator }

async function setup(t: Test, options: { adminPassword?: string; shared?: Shared } = {}) {
  const clock = options.shared?.clock ?? virtualClock(Date.parse('2026-03-01T00:00:00Z'))
  let emulator = options.shared?.emulator
  if (!emulator) {
    const own = await startEmulator({ now: clock.now, adminPassword: options.adminPassword ?? adminPassword })
    t.teardown(() => own.close())
    emulator = own
  }
  const env = { DITTOFS_API_URL_TEMPLATE: 'http://127.0.0.1:{port}', DITTOFS_API_TIMEOUT_MS: '300' }
  const app = testApp(t, env, { now: clock.now })
  const spec = {
    ...minimalSpec(),
    controlPlane: { port: emulator.port },
    adapterServices: { type: 'ClusterIP' },
  }
  // First sync: nothing exists; then the pod is ready and every child is observed.
  const first = (await post(app, '/sync', syncRequest(parent(spec)))).json() as SyncResponse
  let children: ObjectMap = withReadyStatefulSet(asObserved(first.children))
  let status: unknown = first.status
  let last: SyncResponse = first
  /** One sync as Metacontroller would run it, feeding back status and children. */
  const sync = async (): Promise<SyncResponse> => {
    const res = await post(app, '/sync', syncRequest(parent(spec, {}, status), { children }))
    t.equal(res.status, 200, 'every sync answers 200')
    const body = res.json() as SyncResponse
    status = body.status
    children = withReadyStatefulSet(asObserved(body.children))
    last = body
    return body
  }
  /** The sync Metacontroller runs when the last answer's resyncAfterSeconds has passed. */
  const syncWhenAsked = async (): Promise<SyncResponse> => {
    clock.advance(Math.round((last.resyncAfterSeconds ?? 0) * 1000))
    return sync()
  }
  return { clock, emulator, app, spec, sync, syncWhenAsked }
}

t.test('fresh provisioning: one poll creates the operator account and reports the adapters', async (t) => {
  const { clock, emulator, sync } = await setup(t)
  const res = await sync()
  t.same(
    emulator
      .users()
      .map((u) => `${u.username}:${u.role}`)
      .sort(),
    ['admin:admin', 'k8s-operator:operator'],
    'the least-privileged account exists',
  )
  t.same(
    (res.status.adapters as Array<{ type: string; port: number }>).map((a) => `${a.type}:${a.port}`),
    ['nfs:12049', 'smb:1445'],
  )
  t.equal(conditionOf(res.status, 'Authenticated')?.status, 'True')
  t.equal(conditionOf(res.status, 'AdaptersSynced')?.reason, 'PollSucceeded')
  t.same(adapterServiceNames(res), ['ditto-adapter-nfs', 'ditto-adapter-smb'])
  const comeBackAt = clock.now() + (res.resyncAfterSeconds ?? 0) * 1000
  t.equal(
    comeBackAt,
    slotStartAtOrBefore(PARENT_UID, 30_000, comeBackAt) + SLOT_AIM_MS,
    'next poll just after the next slot of the 30 s grid',
  )
  t.ok(comeBackAt - clock.now() >= 15_000 && comeBackAt - clock.now() <= 45_000 + SLOT_AIM_MS)
  t.notMatch(JSON.stringify(res.status), new RegExp(adminPassword), 'no credential in the status')
})

t.test('status writes between polls make no API call and no status change', async (t) => {
  const { emulator, sync } = await setup(t)
  await sync()
  const before = emulator.counters.adaptersList
  // The second sync sees the adapter Services created; from then on nothing observable changes.
  const settled = await sync()
  const third = await sync()
  const fourth = await sync()
  t.equal(emulator.counters.adaptersList, before, 'not due: no poll')
  t.equal(JSON.stringify(third.status), JSON.stringify(settled.status), 'byte-identical status')
  t.equal(JSON.stringify(fourth.status), JSON.stringify(settled.status))
})

t.test('API down for minutes: adapters and Services kept, back-off, recovery', async (t) => {
  const { clock, emulator, sync, syncWhenAsked } = await setup(t)
  await sync()
  emulator.setFault({ mode: 'reset' })
  const downAt = clock.now()
  const attempts: number[] = []
  const lost: string[] = []
  let res = await sync()
  while (clock.now() - downAt < 10 * 60_000) {
    const before = emulator.counters.requests ?? 0
    res = await syncWhenAsked()
    if ((emulator.counters.requests ?? 0) > before) attempts.push(clock.now())
    const services = adapterServiceNames(res).join(',')
    if (services !== 'ditto-adapter-nfs,ditto-adapter-smb') lost.push(`${clock.now() - downAt}: ${services}`)
    if ((res.status.adapters as unknown[]).length !== 2) lost.push(`${clock.now() - downAt}: adapters`)
  }
  t.same(lost, [], 'no Service and no known adapter lost at any sync')
  t.equal(conditionOf(res.status, 'AdaptersSynced')?.reason, 'APIUnreachable')
  t.equal(conditionOf(res.status, 'Authenticated')?.reason, 'APIUnreachable')
  t.match(conditionOf(res.status, 'AdaptersSynced')?.message, /keeping the last known 2 adapters/)
  // The first poll came mid-slot (the pod had just become ready): the next slot it did not cover is at most one
  // and a half intervals later.
  t.ok(attempts[0]! - downAt <= 45_000 + SLOT_AIM_MS, 'the outage is seen at the next slot')
  // Back-off 2 s, 4 s, … 256 s: polls thin out instead of hammering the API.
  const inTenMinutes = attempts.filter((at) => at - downAt < 10 * 60_000)
  const gaps = inTenMinutes.slice(1).map((at, i) => (at - inTenMinutes[i]!) / 1000)
  t.same(gaps, [2, 4, 8, 16, 32, 64, 128, 256], 'back-off visible in the calls')
  emulator.setFault(null)
  clock.advance(5 * 60_000)
  const back = await syncWhenAsked()
  t.equal(conditionOf(back.status, 'AdaptersSynced')?.status, 'True', 'recovers once the API is back')
  t.equal(conditionOf(back.status, 'Ready')?.status, 'True')
})

t.test('a changed adapter list replaces status.adapters; [] is a valid answer', async (t) => {
  const { emulator, sync, syncWhenAsked } = await setup(t)
  await sync()
  emulator.setAdapters([{ type: 'nfs', port: 2049, enabled: true, running: true }])
  const res = await syncWhenAsked()
  const nfs = (res.status.adapters as Array<{ type: string; port: number }>).find((a) => a.type === 'nfs')
  t.equal(nfs?.port, 2049, 'port change reported')
  emulator.setAdapters([])
  await sync() // the status write brings a sync at once: the slot's poll is done
  const empty = await syncWhenAsked()
  t.equal(conditionOf(empty.status, 'AdaptersSynced')?.message, 'no adapters configured')
})

t.test('wrong admin password: AuthenticationFailed, nothing lost, no password in the message', async (t) => {
  const { emulator, sync } = await setup(t, { adminPassword: 'not-the-one-the-hook-knows' })
  const res = await sync()
  t.equal(conditionOf(res.status, 'Authenticated')?.reason, 'AuthenticationFailed')
  t.equal(conditionOf(res.status, 'AdaptersSynced')?.reason, 'AuthenticationFailed')
  t.equal(conditionOf(res.status, 'Ready')?.status, 'False')
  t.notMatch(JSON.stringify(res), /not-the-one-the-hook-knows/)
  t.notMatch(JSON.stringify(res.status), new RegExp(adminPassword))
  t.equal(emulator.users().length, 1, 'no account created without admin rights')
})

t.test('100 syncs over a token lifetime cost one login', async (t) => {
  const { clock, emulator, sync, syncWhenAsked } = await setup(t)
  await sync()
  emulator.resetCounters()
  for (let slot = 0; slot < 25; slot++) {
    // Metacontroller comes back when asked; periodic resyncs and status writes bring more syncs in between.
    await syncWhenAsked()
    for (let i = 0; i < 3; i++) {
      clock.advance(8_000)
      await sync()
    }
  }
  t.equal(emulator.counters.login ?? 0, 0, 'no new login: the token is reused, then refreshed')
  t.equal(emulator.counters.adaptersList ?? 0, 25, 'one poll per slot, not per sync')
})

t.test('two hook instances give the same answer', async (t) => {
  // Two replicas behind one Service, one DittoFS: Metacontroller may call either.
  const a = await setup(t)
  const b = await setup(t, { shared: { clock: a.clock, emulator: a.emulator } })
  const ra = await a.sync()
  const rb = await b.sync()
  t.equal(JSON.stringify(rb.children), JSON.stringify(ra.children), 'same children')
  t.equal(JSON.stringify(rb.status.adapters), JSON.stringify(ra.status.adapters), 'same adapters')
})
