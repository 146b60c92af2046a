import t, { type Test } from 'tap'
import { checkInvariants } from './scenarios/invariants.js'
import { World, type WorldOptions } from './scenarios/world.js'

// Two hook replicas behind one Service, which hands Metacontroller's calls to them in turn. Each replica keeps
// its own memory, but the poll slots are derived from the parent's uid and the interval, so the sync for a slot
// polls on whichever replica gets it and the other syncs carry the status: DittoFS sees what one replica costs.

const HOUR = 60 * 60_000

interface Measured {
  world: World
  /** DittoFS API requests over the measured hour (lists, logins, refreshes, everything). */
  calls: number
  lists: number
  /** Which replicas answered a sync during the hour. */
  answering: number[]
}

async function measuredHour(t: Test, options: WorldOptions, shares: string[] = []): Promise<Measured> {
  const world = await World.start(options)
  t.teardown(() => world.close())
  for (const share of shares) world.emulator.addShare(share)
  world.createParent()
  await world.runFor(3 * 60_000)
  t.equal(world.condition('Ready')?.status, 'True', `${options.hookReplicas ?? 1} replica(s): Ready`)
  const requests = () => world.emulator.counters.requests ?? 0
  const lists = () => world.emulator.counters.adaptersList ?? 0
  const before = { calls: requests(), lists: lists() }
  const mark = world.mark()
  await world.runFor(HOUR)
  t.same(world.statusWritesSince(mark), [], 'no status write in the hour')
  t.same(world.childWritesSince(mark), [], 'no child write in the hour')
  const answering = new Set(
    world.front.exchanges
      .slice(mark.exchanges)
      .filter((e) => e.path === '/sync')
      .map((e) => e.replica),
  )
  return {
    world,
    calls: requests() - before.calls,
    lists: lists() - before.lists,
    answering: [...answering].sort(),
  }
}

const timings: Array<[string, WorldOptions, string[]?]> = [
  ['the defaults (poll every 30 s, resync every 293 s)', {}],
  [
    'two snapshot policies, re-pushed hourly as the admin by each replica',
    {
      spec: {
        snapshotPolicies: [
          { share: '/archive', interval: '@daily' },
          { share: '/home', interval: '6h' },
        ],
      },
    },
    ['/archive', '/home'],
  ],
  [
    'the cluster suite\u2019s timing (poll every 10 s, resync every 23 s)',
    { spec: { adapterDiscovery: { pollingInterval: '10s' } }, resyncPeriodSeconds: 23 },
  ],
]

for (const [label, options, shares] of timings) {
  t.test(`two replicas cost DittoFS at most 1.1x one replica's calls: ${label}`, async (t) => {
    const one = await measuredHour(t, options, shares)
    const two = await measuredHour(t, { ...options, hookReplicas: 2 }, shares)
    t.same(two.answering, [0, 1], 'both replicas answered syncs')
    t.comment(
      `DittoFS calls per hour: one replica ${one.calls} (${one.lists} lists), two ${two.calls} (${two.lists})`,
    )
    t.ok(
      two.calls <= one.calls * 1.1,
      `two replicas ${two.calls} calls per hour, one replica ${one.calls} (${(two.calls / one.calls).toFixed(3)}x)`,
    )
    t.same(two.world.status()?.adapters, one.world.status()?.adapters, 'the same adapters in the status')
    t.same(
      two.world.adapterServices().map((s) => s.metadata.name),
      one.world.adapterServices().map((s) => s.metadata.name),
      'the same adapter Services',
    )
    await checkInvariants(t, two.world)
  })
}

t.test('two replicas: an adapter change is seen at the next slot, once', async (t) => {
  const { world } = await measuredHour(t, { hookReplicas: 2 })
  const mark = world.mark()
  world.setAdapters([{ type: 'nfs', port: 12049, enabled: true }])
  await world.runFor(45_000)
  t.ok(
    world.adapterSummary().some((a) => a.startsWith('smb:') && a.includes(' leaving')),
    'smb is seen gone within one and a half intervals and its grace period starts',
  )
  const lists = world.front.exchanges.slice(mark.exchanges).filter((e) => (e.apiRequests ?? 0) > 0)
  t.ok(
    lists.length <= 3,
    `${lists.length} polling syncs in 45 s: the slot's, and at most one per replica after the status write`,
  )
  await world.runFor(5 * 60_000)
  t.same(
    world.adapterServices().map((s) => s.metadata.name),
    ['demo-adapter-nfs'],
    'smb Service removed after its grace period',
  )
  await checkInvariants(t, world)
})

t.test('two replicas: DittoFS down for 10 minutes backs off on each, and recovers', async (t) => {
  const { world } = await measuredHour(t, { hookReplicas: 2 })
  const outage = world.mark()
  world.setApiFault({ mode: 'reset' })
  await world.runFor(10 * 60_000)
  t.equal(world.condition('AdaptersSynced')?.reason, 'APIUnreachable')
  const attempts = world.apiCallTimesSince(outage)
  // One replica backs off 2 s, 4 s … 256 s: 9 tries in 10 minutes. Each replica backs off on its own (what it
  // knows of the outage is its own), so two replicas try at most twice as often; without back-off a poll every
  // 30 s would be 20.
  t.ok(attempts.length <= 18, `${attempts.length} attempts in 10 minutes`)
  world.setApiFault(null)
  await world.runFor(6 * 60_000)
  t.equal(world.condition('AdaptersSynced')?.status, 'True', 'recovered')
  t.same(world.childWritesSince(outage), [], 'no child written through the outage and the recovery')
  await checkInvariants(t, world)
})
