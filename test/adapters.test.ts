import t from 'tap'
import type { KubeObject } from '../hooks/metacontroller/types.js'
import { planAdapters, readAdapterStatus } from '../hooks/reconcile/adapters.js'
import {
  child,
  entry,
  inputOf,
  MINUTE,
  makeSpec,
  newWorld,
  nfs,
  readyCondition,
  resetWrites,
  rfc3339,
  SECOND,
  serviceNames,
  smb,
  svcName,
  sync,
  T0,
} from './adapters-helpers.js'

// Adapter resolution, removal grace and status.adapters (rules 1-3, 6, 8, 9 of the adapter Services issue).

const portOf = (service: KubeObject) => (service.spec as { ports: Array<{ port: number }> }).ports[0]?.port

t.test('added: an enabled adapter gets a Service and a status entry', async (t) => {
  const world = newWorld()
  const plan = sync(world, [smb(), nfs()])
  t.same(serviceNames(plan), [svcName('nfs'), svcName('smb')])
  t.same(plan.status, [
    {
      type: 'nfs',
      port: 12049,
      enabled: true,
      running: true,
      serviceName: svcName('nfs'),
      serviceType: 'LoadBalancer',
      endpoints: [],
    },
    {
      type: 'smb',
      port: 1445,
      enabled: true,
      running: true,
      serviceName: svcName('smb'),
      serviceType: 'LoadBalancer',
      endpoints: [],
    },
  ])
  t.equal(plan.nextEventAt, undefined, 'nothing is pending on a clock yet (the Services are not observed)')
  t.same(world.creates, [`Service/${svcName('nfs')}`, `Service/${svcName('smb')}`])
})

t.test('a disabled adapter is reported and gets no Service', async (t) => {
  const plan = sync(newWorld(), [nfs(), smb({ enabled: false, running: false })])
  t.same(serviceNames(plan), [svcName('nfs')])
  t.same(entry(plan, 'smb'), { type: 'smb', port: 1445, enabled: false, running: false })
})

t.test('running:false is reported, never a reason to delete', async (t) => {
  const world = newWorld()
  sync(world, [nfs(), smb()])
  world.now += MINUTE
  resetWrites(world)
  const plan = sync(world, [nfs(), smb({ running: false })])
  t.same(serviceNames(plan), [svcName('nfs'), svcName('smb')])
  t.equal(entry(plan, 'smb')?.running, false)
  t.equal(entry(plan, 'smb')?.enabled, true)
  t.equal(entry(plan, 'smb')?.missingSince, undefined)
  t.match(readyCondition(plan).message, /Enabled but not running \(Service kept\): smb\./)
  t.same(world.deletes, [])
})

t.test('removed: a vanished adapter keeps its Service until the grace period has passed', async (t) => {
  const world = newWorld(makeSpec({ adapterServices: { removalGracePeriod: '60s' } }))
  sync(world, [nfs(), smb()])
  world.now = T0 + 10 * SECOND + 400 // sub-second part is dropped from missingSince
  let plan = sync(world, [nfs()])
  const since = rfc3339(T0 + 10 * SECOND)
  t.same(serviceNames(plan), [svcName('nfs'), svcName('smb')], 'kept during the grace period')
  t.same(entry(plan, 'smb'), {
    type: 'smb',
    port: 1445,
    enabled: false,
    running: false,
    serviceName: svcName('smb'),
    serviceType: 'LoadBalancer',
    endpoints: [],
    missingSince: since,
  })
  t.equal(plan.nextEventAt, T0 + 70 * SECOND, 'the grace end is the next event')
  t.match(
    readyCondition(plan).message,
    `Removed or disabled, Service kept: smb until ${rfc3339(T0 + 70 * SECOND)}.`,
  )

  world.now = T0 + 40 * SECOND
  plan = sync(world, [nfs()])
  t.equal(entry(plan, 'smb')?.missingSince, since, 'written once, carried over')
  t.same(serviceNames(plan), [svcName('nfs'), svcName('smb')])

  world.now = T0 + 70 * SECOND
  resetWrites(world)
  plan = sync(world, [nfs()])
  t.same(serviceNames(plan), [svcName('nfs')], 'grace over: the Service goes')
  t.equal(entry(plan, 'smb'), undefined, 'and so does the status entry')
  t.same(world.deletes, [`Service/${svcName('smb')}`])
  t.equal(plan.nextEventAt, T0 + 5 * MINUTE, 'only the load-balancer deadline of nfs is left')
})

t.test('disabled: the Service stays for the grace period, then only the report remains', async (t) => {
  const world = newWorld(makeSpec({ adapterServices: { removalGracePeriod: '2m' } }))
  sync(world, [nfs()])
  world.now += MINUTE
  let plan = sync(world, [nfs({ enabled: false, running: false })])
  t.same(serviceNames(plan), [svcName('nfs')])
  t.equal(entry(plan, 'nfs')?.missingSince, rfc3339(T0 + MINUTE))
  t.equal(entry(plan, 'nfs')?.enabled, false)
  world.now += 2 * MINUTE
  plan = sync(world, [nfs({ enabled: false, running: false })])
  t.same(serviceNames(plan), [])
  t.same(entry(plan, 'nfs'), { type: 'nfs', port: 12049, enabled: false, running: false })
})

t.test('toggling within the grace period keeps the same Service throughout', async (t) => {
  const world = newWorld()
  sync(world, [nfs()])
  const created = world.services.get(svcName('nfs'))?.metadata.creationTimestamp
  resetWrites(world)
  world.now += 10 * SECOND
  let plan = sync(world, [nfs({ enabled: false, running: false })])
  t.equal(entry(plan, 'nfs')?.missingSince, rfc3339(world.now), 'disable: missingSince set')
  t.same(serviceNames(plan), [svcName('nfs')])
  world.now += 10 * SECOND
  plan = sync(world, [nfs()])
  t.equal(entry(plan, 'nfs')?.missingSince, undefined, 'enable: missingSince cleared')
  t.equal(entry(plan, 'nfs')?.enabled, true)
  t.same(serviceNames(plan), [svcName('nfs')])
  t.same(world.deletes, [], 'nothing was deleted')
  t.same(world.creates, [], 'nothing was re-created')
  t.same(world.updates, [], 'not even updated')
  t.equal(world.services.get(svcName('nfs'))?.metadata.creationTimestamp, created, 'the very same object')
  t.equal(plan.nextEventAt, T0 + 5 * MINUTE, 'no grace end pending, only the load-balancer deadline')
})

t.test('port changed: the Service is updated in place', async (t) => {
  const world = newWorld()
  sync(world, [nfs()])
  resetWrites(world)
  world.now += MINUTE
  const plan = sync(world, [nfs({ port: 2049 })])
  t.same(serviceNames(plan), [svcName('nfs')])
  t.equal(portOf(child(plan, 'Service', svcName('nfs'))), 2049)
  t.equal(entry(plan, 'nfs')?.port, 2049)
  t.same(world.updates, [`Service/${svcName('nfs')}`], 'one in-place update, same name')
  t.same(world.creates, [])
  t.same(world.deletes, [])
  const observed = world.services.get(svcName('nfs'))?.spec as { ports: Array<Record<string, unknown>> }
  t.same(
    observed.ports.map((p) => p.port),
    [2049],
    'the old port is gone from the stored object',
  )
})

t.test('disable, change port, enable within the grace period: same Service, new port', async (t) => {
  const world = newWorld()
  sync(world, [nfs()])
  world.now += 5 * SECOND
  let plan = sync(world, [nfs({ enabled: false, running: false, port: 2049 })])
  t.equal(portOf(child(plan, 'Service', svcName('nfs'))), 12049, 'kept as it was while disabled')
  t.equal(entry(plan, 'nfs')?.port, 12049)
  world.now += 5 * SECOND
  resetWrites(world)
  plan = sync(world, [nfs({ port: 2049 })])
  t.equal(portOf(child(plan, 'Service', svcName('nfs'))), 2049)
  t.same(world.updates, [`Service/${svcName('nfs')}`])
  t.same(world.creates, [])
})

t.test('an unchanged adapter list causes no write at all', async (t) => {
  const world = newWorld(makeSpec({ adapterServices: { type: 'NodePort', externalTrafficPolicy: 'Local' } }))
  sync(world, [nfs(), smb()])
  resetWrites(world)
  for (let i = 0; i < 3; i++) {
    world.now += MINUTE
    sync(world, [nfs(), smb()])
    sync(world, undefined)
  }
  t.same([...world.creates, ...world.updates, ...world.deletes], [], 'stored form: no update on resync')
})

t.test('API down: no fresh list keeps the last known adapters exactly', async (t) => {
  const world = newWorld()
  sync(world, [nfs(), smb({ running: false })])
  world.now += 5 * SECOND
  sync(world, [nfs()]) // smb vanished: in grace
  const before = structuredClone(world.lastKnown)
  resetWrites(world)
  world.now += 20 * SECOND
  const plan = sync(world, undefined)
  t.same(
    plan.status.map(({ type, port, enabled, running, missingSince }) => ({
      type,
      port,
      enabled,
      running,
      ...(missingSince ? { missingSince } : {}),
    })),
    before.map(({ type, port, enabled, running, missingSince }) => ({
      type,
      port,
      enabled,
      running,
      ...(missingSince ? { missingSince } : {}),
    })),
  )
  t.same(serviceNames(plan), [svcName('nfs'), svcName('smb')])
  t.same(world.deletes, [])
})

t.test('API down: the grace period still ends (removal is a time event)', async (t) => {
  const world = newWorld()
  sync(world, [nfs(), smb()])
  world.now += SECOND
  sync(world, [nfs()])
  world.now += 59 * SECOND
  let plan = sync(world, undefined)
  t.same(serviceNames(plan), [svcName('nfs'), svcName('smb')], 'a second before the grace end')
  world.now += SECOND
  plan = sync(world, undefined)
  t.same(serviceNames(plan), [svcName('nfs')], 'exactly at the grace end')
  t.equal(entry(plan, 'smb'), undefined)
  t.same(world.deletes, [`Service/${svcName('smb')}`])
  world.now += MINUTE
  plan = sync(world, undefined)
  t.same(serviceNames(plan), [svcName('nfs')])
})

t.test('a Service deleted at its grace end is never resurrected by a stale view', async (t) => {
  const world = newWorld()
  sync(world, [nfs(), smb()])
  world.now += SECOND
  sync(world, [nfs()])
  const doomed = structuredClone(world.services.get(svcName('smb')))
  world.now += MINUTE
  sync(world, undefined)
  t.notOk(world.services.has(svcName('smb')), 'deleted at the grace end')
  // The next sync runs before the Service informer saw the delete: the stale copy is observed once more.
  if (doomed) world.services.set(svcName('smb'), doomed)
  resetWrites(world)
  let plan = sync(world, undefined)
  t.same(
    serviceNames(plan),
    [svcName('nfs'), svcName('smb')],
    'kept while observed (no write: it is unchanged)',
  )
  t.equal(entry(plan, 'smb'), undefined, 'but never written back into the status')
  world.services.delete(svcName('smb')) // the informer catches up
  plan = sync(world, undefined)
  t.same(serviceNames(plan), [svcName('nfs')], 'so it is not re-created')
  t.same(world.creates, [])
})

t.test('API back: the first fresh poll reconciles what changed meanwhile', async (t) => {
  const world = newWorld()
  sync(world, [nfs(), smb()])
  for (let i = 0; i < 5; i++) {
    world.now += MINUTE
    sync(world, undefined)
  }
  world.now += MINUTE
  const plan = sync(world, [nfs({ port: 2049 })])
  t.equal(portOf(child(plan, 'Service', svcName('nfs'))), 2049)
  t.equal(entry(plan, 'smb')?.missingSince, rfc3339(world.now), 'the grace period starts at the poll')
  t.same(serviceNames(plan), [svcName('nfs'), svcName('smb')])
})

t.test('pod restart: no poll while it is down, running:false after, nothing deleted', async (t) => {
  const world = newWorld()
  sync(world, [nfs(), smb()])
  resetWrites(world)
  for (let i = 0; i < 10; i++) {
    world.now += MINUTE // pod not ready: the lead does not poll
    sync(world, undefined)
  }
  world.now += MINUTE
  const plan = sync(world, [nfs({ running: false }), smb({ running: false })])
  t.same(serviceNames(plan), [svcName('nfs'), svcName('smb')])
  t.same(
    plan.status.map((e) => [e.type, e.enabled, e.running]),
    [
      ['nfs', true, false],
      ['smb', true, false],
    ],
  )
  t.same([...world.creates, ...world.deletes, ...world.updates], [])
})

t.test('a successful empty list is information: every adapter enters its grace period', async (t) => {
  const world = newWorld()
  sync(world, [nfs()])
  world.now += MINUTE
  const plan = sync(world, [])
  t.equal(entry(plan, 'nfs')?.missingSince, rfc3339(world.now))
  t.same(serviceNames(plan), [svcName('nfs')])
})

t.test('status lost: observed adapter Services are kept until a poll says otherwise', async (t) => {
  const world = newWorld()
  sync(world, [nfs(), smb()])
  world.lastKnown = [] // someone cleared the status
  world.now += MINUTE
  resetWrites(world)
  let plan = sync(world, undefined)
  t.same(serviceNames(plan), [svcName('nfs'), svcName('smb')], 'unknown is not empty')
  t.same(plan.status, [], 'not invented in the status')
  t.equal(readyCondition(plan).status, 'False', 'the LoadBalancers are still without an address')
  t.match(readyCondition(plan).message, `does not list them: ${svcName('nfs')}, ${svcName('smb')}.`)
  t.same([...world.creates, ...world.updates, ...world.deletes], [], 'kept exactly as they are')

  world.now += MINUTE
  plan = sync(world, [nfs()])
  t.same(serviceNames(plan), [svcName('nfs')], 'the first fresh poll rebuilds the status')
  t.same(
    plan.status.map((e) => e.type),
    ['nfs'],
  )
  t.same(world.deletes, [`Service/${svcName('smb')}`], 'and a Service the API does not list goes')
  t.same(world.creates, [], 'the listed one was adopted in place')
})

t.test('status lost: a Service already being deleted is not kept', async (t) => {
  const world = newWorld()
  sync(world, [nfs(), smb()])
  world.lastKnown = []
  const smbService = world.services.get(svcName('smb'))
  if (smbService) smbService.metadata.deletionTimestamp = rfc3339(world.now)
  const plan = sync(world, undefined)
  t.same(serviceNames(plan), [svcName('nfs')])
})

t.test('a malformed status entry does not cost its Service while the API is silent', async (t) => {
  const world = newWorld()
  sync(world, [nfs(), smb()])
  const status = {
    adapters: [
      { type: 'nfs', port: 12049, enabled: true, running: true },
      { type: 'smb', port: 'oops', enabled: true, running: true },
    ],
  }
  world.lastKnown = readAdapterStatus(status)
  const plan = sync(world, undefined)
  t.same(serviceNames(plan), [svcName('nfs'), svcName('smb')])
  t.same(
    plan.status.map((e) => e.type),
    ['nfs'],
  )
})

t.test('a missingSince in the future restarts the grace period now', async (t) => {
  const world = newWorld()
  world.lastKnown = [
    { type: 'nfs', port: 12049, enabled: false, running: false, missingSince: '2999-01-01T00:00:00Z' },
  ]
  const plan = planAdapters(inputOf(world, undefined))
  t.equal(entry(plan, 'nfs')?.missingSince, rfc3339(T0))
  t.equal(plan.nextEventAt, T0 + MINUTE)
})

t.test('same input, same output; adapter order does not matter', async (t) => {
  const world = newWorld(makeSpec({ networkPolicy: { enabled: true } }))
  const adapters = [
    nfs(),
    smb(),
    { type: 'NFS', port: 3049, enabled: true, running: false },
    smb({ type: 'x' }),
  ]
  sync(world, adapters)
  sync(world, adapters)
  world.now += 30 * SECOND
  const input = inputOf(world, [...adapters].reverse())
  const first = planAdapters(input)
  const again = planAdapters(input)
  t.same(again, first, 'deep-equal on the same input')
  t.strictSame(JSON.stringify(again), JSON.stringify(first), 'even the key order')
  const shuffled = planAdapters(inputOf(world, [adapters[2], adapters[0], adapters[3], adapters[1]] as never))
  t.strictSame(JSON.stringify(shuffled), JSON.stringify(first), 'input order does not change the output')
  t.same(
    first.status.map((e) => e.type),
    ['NFS', 'nfs', 'smb', 'x'],
    'status sorted by type',
  )
  const lastKnownShuffled = planAdapters({
    ...inputOf(world, undefined),
    lastKnown: [...world.lastKnown].reverse(),
  })
  t.strictSame(JSON.stringify(lastKnownShuffled), JSON.stringify(planAdapters(inputOf(world, undefined))))
})

t.test('NFS and nfs are two adapters with two Services', async (t) => {
  const plan = sync(newWorld(), [nfs(), nfs({ type: 'NFS', port: 2049 })])
  const names = serviceNames(plan)
  t.equal(names.length, 2)
  t.equal(new Set(names).size, 2)
  t.same(
    plan.status.map((e) => [e.type, e.serviceName]),
    [
      ['NFS', names.find((n) => n !== svcName('nfs'))],
      ['nfs', svcName('nfs')],
    ],
  )
})

t.test('a duplicated type in the list resolves the same way whatever the order', async (t) => {
  const a = planAdapters(inputOf(newWorld(), [nfs({ enabled: false }), nfs({ port: 2049 })]))
  const b = planAdapters(inputOf(newWorld(), [nfs({ port: 2049 }), nfs({ enabled: false })]))
  t.same(a, b)
  t.equal(entry(a, 'nfs')?.enabled, true, 'the enabled entry wins')
})

t.test('a 70-character adapter type gets valid names end to end', async (t) => {
  const type = 'x'.repeat(70)
  const plan = sync(newWorld(), [{ type, port: 4000, enabled: true, running: true }])
  const [name] = serviceNames(plan)
  t.ok(name && name.length <= 63)
  t.equal(entry(plan, type)?.serviceName, name)
})

t.test('nothing for the StatefulSet: only adapter Services and policies come out', async (t) => {
  const plan = sync(newWorld(makeSpec({ networkPolicy: { enabled: true } })), [nfs()])
  t.same([...new Set(plan.children.map((c) => c.kind))].sort(), ['NetworkPolicy'])
  const next = sync(newWorld(), [nfs()])
  t.same([...new Set(next.children.map((c) => c.kind))], ['Service'])
})

t.test('readAdapterStatus keeps only well-formed entries', async (t) => {
  t.same(readAdapterStatus(undefined), [])
  t.same(readAdapterStatus({ adapters: 'x' }), [])
  t.same(readAdapterStatus(null), [])
  const good = {
    type: 'nfs',
    port: 12049,
    enabled: true,
    running: false,
    serviceName: 'files-adapter-nfs',
    serviceType: 'LoadBalancer',
    endpoints: ['1.2.3.4:12049'],
  }
  const read = readAdapterStatus({
    adapters: [
      good,
      { ...good, type: 'smb', missingSince: '2026-03-01T10:00:00Z', endpoints: [1], serviceType: 7 },
      { ...good, type: 'nfs', port: 1 }, // duplicate type: the first wins
      { ...good, type: '' },
      { ...good, type: 'y'.repeat(254) },
      { ...good, type: 'a', port: 0 },
      { ...good, type: 'b', port: 70000 },
      { ...good, type: 'c', port: 1.5 },
      { ...good, type: 'd', enabled: 'yes' },
      { ...good, type: 'e', running: undefined },
      { ...good, type: 'f', missingSince: 'yesterday' },
      { ...good, type: 'g', missingSince: 5 },
      null,
      'nfs',
      [good],
    ],
  })
  t.same(read, [
    good,
    {
      type: 'smb',
      port: 12049,
      enabled: true,
      running: false,
      serviceName: 'files-adapter-nfs',
      missingSince: '2026-03-01T10:00:00Z',
    },
  ])
  t.not(read[0], good, 'a copy')
  const many = Array.from({ length: 100 }, (_, i) => ({ ...good, type: `t${i}` }))
  t.equal(readAdapterStatus({ adapters: many }).length, 64, 'bounded like discovery')
})
