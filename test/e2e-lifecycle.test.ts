import t, { type Test } from 'tap'
import { checkInvariants } from './scenarios/invariants.js'
import { World } from './scenarios/world.js'

// End to end, on virtual time: the real hook server behind the simulated Metacontroller, with the DittoFS
// emulator as the pod's API. A DittoServer's life: first deploy, stop and start, deletion.

const names = (objects: Array<{ kind: string; metadata: { name: string } }>) =>
  objects.map((o) => `${o.kind}/${o.metadata.name}`).sort()

async function startWorld(t: Test, options: Parameters<typeof World.start>[0] = {}): Promise<World> {
  const world = await World.start(options)
  t.teardown(() => world.close())
  return world
}

t.test(
  'fresh deploy: no API call before the pod is ready, then Ready with adapter Services and LB endpoints',
  async (t) => {
    const world = await startWorld(t)
    const start = world.clock.now()
    world.createParent()

    await world.runFor(10_000)
    t.equal(world.emulator.counters.requests, 0, 'the API is not called while the pod starts')
    t.equal(world.condition('AdaptersSynced')?.reason, 'WaitingForPod')
    t.equal(world.condition('Ready')?.status, 'False')
    t.equal(world.status().phase, 'Pending')
    t.same(world.adapterServices(), [], 'no adapter Service before discovery')
    t.same(
      names(world.owned()),
      [
        'ConfigMap/demo-config',
        'Secret/demo-admin-credentials',
        'Secret/demo-jwt-secret',
        'Secret/demo-operator-credentials',
        'Service/demo-api',
        'Service/demo-headless',
        'StatefulSet/demo',
      ],
      'the infrastructure is created at once',
    )

    await world.runFor(15_000) // pod ready at +20 s, load balancers not yet provisioned
    t.same(world.podReadyAt, [start + 20_000])
    t.equal(world.condition('Ready')?.status, 'True', 'Ready as soon as the pod is and the API answered')
    t.equal(world.condition('AdaptersSynced')?.reason, 'PollSucceeded')
    t.match(world.condition('AdapterServicesReady'), { status: 'False', reason: 'Provisioning' })
    t.same(
      world.adapterServices().map((s) => `${s.metadata.name}:${(s.spec as any).type}`),
      ['demo-adapter-nfs:LoadBalancer', 'demo-adapter-smb:LoadBalancer'],
    )

    await world.runFor(95_000)
    t.same(world.adapterSummary(), ['nfs:12049 203.0.113.10:12049', 'smb:1445 203.0.113.11:1445'])
    t.match(world.condition('AdapterServicesReady'), {
      status: 'True',
      reason: 'ServicesReady',
      lastTransitionTime: '2026-01-01T00:00:50Z',
    })
    t.equal(world.status().phase, 'Running')
    t.equal(world.status().apiEndpoint, `demo-api.storage.svc.cluster.local:${world.emulator.port}`)
    t.equal(world.cloud.created, 2, 'one load balancer per adapter')
    t.same(
      world.emulator
        .users()
        .map((u) => `${u.username}:${u.role}`)
        .sort(),
      ['admin:admin', 'k8s-operator:operator'],
      'polls as the least-privileged account, provisioned with the admin password the pod was given',
    )
    t.equal(world.emulator.counters['login:admin'], 1, 'the admin account is used once, to provision')
    await checkInvariants(t, world)
  },
)

t.test('replicas 0 and back: adapter Services kept, no poll while stopped, Ready again', async (t) => {
  const world = await startWorld(t)
  world.createParent()
  await world.runFor(2 * 60_000)
  const uids = world.adapterServices().map((s) => s.metadata.uid)
  t.equal(uids.length, 2)
  const requestsBefore = world.emulator.counters.requests ?? 0
  const listsBefore = world.emulator.counters.adaptersList ?? 0

  world.editSpec((spec) => {
    spec.replicas = 0
  })
  await world.runFor(10 * 60_000)
  t.equal(world.status().phase, 'Stopped')
  t.match(world.condition('Available'), { status: 'True', reason: 'Stopped' })
  t.match(world.condition('AdaptersSynced'), {
    status: 'False',
    reason: 'WaitingForPod',
    message: /replicas is 0/,
  })
  t.equal(world.emulator.counters.requests, requestsBefore, 'no DittoFS call while stopped')
  t.same(
    world.adapterServices().map((s) => s.metadata.uid),
    uids,
    'the adapter Services (and their load balancers) stay while stopped',
  )
  t.same(world.adapterSummary(), ['nfs:12049 203.0.113.10:12049', 'smb:1445 203.0.113.11:1445'])

  world.editSpec((spec) => {
    spec.replicas = 1
  })
  await world.runFor(2 * 60_000)
  t.equal(world.podReadyAt.length, 2, 'the pod started again')
  t.equal(world.condition('Ready')?.status, 'True')
  t.equal(world.condition('AdaptersSynced')?.reason, 'PollSucceeded')
  t.ok((world.emulator.counters.adaptersList ?? 0) > listsBefore, 'polls resume')
  t.same(
    world.adapterServices().map((s) => s.metadata.uid),
    uids,
  )
  t.same(world.mc.childWrites('Service', 'demo-adapter-nfs', 'delete'), [])
  t.equal(world.cloud.created, 2, 'no load balancer created twice')
  t.equal(world.cloud.deleted, 0)
  t.same(
    world.mc
      .childWrites('StatefulSet', 'demo', 'update')
      .map((e) => e.paths?.filter((path) => !path.includes('last-applied-configuration'))),
    [['spec.replicas'], ['spec.replicas']],
    'only replicas changed on the StatefulSet',
  )
  await checkInvariants(t, world)
})

t.test(
  'DittoServer deleted: adapter Services go first, then the parent; nothing left; operator user removed',
  async (t) => {
    const world = await startWorld(t, { spec: { networkPolicy: { enabled: true } } })
    world.createParent()
    await world.runFor(2 * 60_000)
    t.equal(world.adapterServices().length, 2)
    const mark = world.mark()

    world.deleteParent()
    const run = await world.settle()
    t.equal(run.stoppedBy, 'idle')

    const deletes = world.childWritesSince(mark).filter((e) => e.action === 'delete')
    t.same(
      deletes.map((e) => e.child),
      ['Service storage/demo-adapter-nfs', 'Service storage/demo-adapter-smb'],
      'Metacontroller deletes only the adapter Services; the rest goes with the parent',
    )
    const parentGone = world.eventIndex('DELETED', 'DittoServer', 'demo')
    t.ok(parentGone > 0, 'the parent is gone')
    for (const type of ['nfs', 'smb']) {
      const name = world.adapterServiceName(type)
      const marked = world.eventIndex('MODIFIED', 'Service', name, true)
      const removed = world.eventIndex('DELETED', 'Service', name)
      t.ok(marked >= 0 && marked < removed, `${name} waits for its load balancer (cleanup finalizer)`)
      t.ok(removed < parentGone, `${name} is gone before the parent is finalized`)
      t.ok(
        world.eventIndex('DELETED', 'NetworkPolicy', name) > removed,
        `the NetworkPolicy of ${name} outlives the Service`,
      )
    }
    const finalizeCalls = world.front.exchanges.filter((e) => e.path === '/finalize' && e.response)
    t.ok(finalizeCalls.length >= 2, 'finalize is called until the adapter Services are gone')
    t.notOk(finalizeCalls[0]?.response?.finalized, 'not finalized while adapter Services exist')
    t.equal(finalizeCalls.at(-1)?.response?.finalized, true)
    t.same(world.owned(), [], 'nothing owned by the DittoServer is left')
    t.equal(world.cloud.active, 0, 'every cloud load balancer released')

    // The operator account is removed in the background of the finalize answer: give it real time.
    for (let i = 0; i < 250 && world.emulator.users().length > 1; i++)
      await new Promise((r) => setTimeout(r, 20))
    t.same(
      world.emulator.users().map((u) => u.username),
      ['admin'],
      'the k8s-operator DittoFS user is deleted',
    )
    await checkInvariants(t, world)
  },
)
