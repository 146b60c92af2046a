import t, { type Test } from 'tap'
import { checkInvariants } from './scenarios/invariants.js'
import { World, type WorldOptions } from './scenarios/world.js'

// What the outside world does to a running DittoServer: DittoFS goes away for a while, the hook process
// restarts, hours pass and tokens expire. None of it may remove a Service, restart the pod or make the status
// churn.

async function readyWorld(t: Test, options: WorldOptions = {}): Promise<World> {
  const world = await World.start(options)
  t.teardown(() => world.close())
  world.createParent()
  await world.runFor(2 * 60_000)
  t.equal(world.condition('Ready')?.status, 'True', 'Ready before the scenario starts')
  return world
}

const serviceUids = (world: World) =>
  world.adapterServices().map((s) => `${s.metadata.name}:${s.metadata.uid}`)

t.test('DittoFS down for 10 minutes: Services kept, APIUnreachable, back-off, recovery', async (t) => {
  const world = await readyWorld(t)
  const services = serviceUids(world)
  const outage = world.mark()
  world.setApiFault({ mode: 'reset' })

  for (let minute = 1; minute <= 10; minute++) {
    await world.runFor(60_000)
    t.same(serviceUids(world), services, `minute ${minute}: every adapter Service still there`)
  }
  t.match(world.condition('AdaptersSynced'), {
    status: 'False',
    reason: 'APIUnreachable',
    message: /keeping the last known 2 adapters/,
  })
  t.match(world.condition('Authenticated'), { status: 'False', reason: 'APIUnreachable' })
  t.equal(world.condition('Ready')?.status, 'False')
  t.same(
    world.adapterSummary(),
    ['nfs:12049 203.0.113.10:12049', 'smb:1445 203.0.113.11:1445'],
    'last known kept',
  )

  // Back-off: attempts thin out (2 s, 4 s, 8 s … doubling) instead of one every 30 s polling interval.
  const attempts = world.apiCallTimesSince(outage)
  const gaps = attempts.slice(1).map((at, i) => (at - attempts[i]!) / 1000)
  t.same(gaps, [2, 4, 8, 16, 32, 64, 128, 256], 'doubling back-off, visible in the calls DittoFS saw')
  t.ok(
    attempts.length < 20,
    `${attempts.length} attempts in 10 minutes, fewer than the 20 polls without back-off`,
  )

  const recovery = world.mark()
  world.setApiFault(null)
  await world.runFor(6 * 60_000)
  t.match(world.condition('AdaptersSynced'), { status: 'True', reason: 'PollSucceeded' })
  t.equal(world.condition('Ready')?.status, 'True', 'recovers once the API answers')
  t.ok(world.apiCallTimesSince(recovery).length > 0)
  t.same(serviceUids(world), services)
  t.same(
    world.childWritesSince(outage).map((e) => `${e.action} ${e.child}`),
    [],
    'not one child written through the outage and the recovery',
  )
  t.equal(world.cloud.created, 2)
  t.equal(world.cloud.deleted, 0)
  await checkInvariants(t, world)
})

t.test('hook process restarted: state rebuilt from status, no child write, no status churn', async (t) => {
  const world = await readyWorld(t)
  const services = serviceUids(world)
  const statusBefore = JSON.stringify(world.status())
  const operatorLogins = world.emulator.counters['login:k8s-operator'] ?? 0

  const mark = world.mark()
  await world.restartHooks()
  await world.runFor(3 * 60_000)
  const afterRestart = world.front.exchanges.slice(mark.exchanges)
  t.ok(afterRestart.length > 0 && afterRestart.every((e) => e.generation === 1), 'the new process answers')
  t.ok(
    afterRestart.some((e) => (e.apiRequests ?? 0) > 0),
    'the new process polls (its memory is empty, the schedule starts over)',
  )
  t.same(world.childWritesSince(mark), [], 'zero child writes caused by the restart')
  t.same(world.statusWritesSince(mark), [], 'zero status writes: the status it rebuilds is the same')
  t.equal(JSON.stringify(world.status()), statusBefore)
  t.same(serviceUids(world), services)
  t.equal(
    world.emulator.counters['login:k8s-operator'],
    operatorLogins + 1,
    'one new login (tokens lived in memory)',
  )
  t.equal(world.emulator.counters.usersCreate, 1, 'the operator account is not provisioned again')

  // A grace period spans a restart: it is measured from status.adapters[].missingSince, not from memory.
  world.setAdapters([
    { type: 'nfs', port: 12049, enabled: true },
    { type: 'smb', port: 1445, enabled: false },
  ])
  await world.runFor(30_000)
  const missingSince = Date.parse(
    (world.status().adapters as any[]).find((a) => a.type === 'smb')?.missingSince ?? 'missing',
  )
  t.ok(Number.isFinite(missingSince), 'smb is leaving')
  await world.restartHooks()
  await world.runFor(3 * 60_000)
  const deleted = world.mc.childWrites('Service', 'demo-adapter-smb', 'delete')
  t.equal(deleted.length, 1)
  t.equal(
    deleted[0]?.at,
    missingSince + 60_000,
    'deleted when the grace period that began before the restart ends',
  )
  t.equal(world.hookRestarts, 2)
  await checkInvariants(t, world)
})

t.test('six hours of tokens expiring: refreshed, never a new login, status untouched', async (t) => {
  const world = await readyWorld(t, { spec: { adapterDiscovery: { pollingInterval: '5m' } } })
  const logins = world.emulator.counters.login ?? 0
  const refreshes = world.emulator.counters.refresh ?? 0
  t.equal(logins, 2, 'provisioning took one admin and one operator login')
  const listsBefore = world.emulator.counters.adaptersList ?? 0
  const mark = world.mark()

  await world.runFor(6 * 60 * 60_000)
  t.equal(world.emulator.counters.login, logins, 'no login in six hours: tokens are refreshed')
  const refreshed = (world.emulator.counters.refresh ?? 0) - refreshes
  // Access tokens live 15 minutes and are renewed a minute early, at the next poll (every 5 minutes): one
  // refresh every third poll, 6 h / 15 min = 24 lifetimes, of which the six-hour window may cut one at its edge.
  t.ok(refreshed === 23 || refreshed === 24, `refreshed once per token lifetime (${refreshed})`)
  t.equal(world.emulator.counters.refreshFailed, 0)
  t.equal(world.emulator.counters.loginFailed, 1, 'the only failed login is the first, before provisioning')
  t.equal(world.condition('AdaptersSynced')?.reason, 'PollSucceeded')
  t.equal(
    (world.emulator.counters.adaptersList ?? 0) - listsBefore,
    72,
    'polled every 5 minutes: 6 h / 5 min',
  )
  t.same(world.statusWritesSince(mark), [], 'six hours of polls without one status write')
  t.same(world.childWritesSince(mark), [], 'and without one child write')
  await checkInvariants(t, world)
})
