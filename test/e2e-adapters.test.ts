import t, { type Test } from 'tap'
import { checkInvariants } from './scenarios/invariants.js'
import { World, type WorldOptions } from './scenarios/world.js'

// Adapters come and go in DittoFS; their Services (and cloud load balancers) must not churn, the pod must
// never restart for them, and with NetworkPolicies on, a port is never exposed without its policy.

const NFS = { type: 'nfs', port: 12049, enabled: true }
const SMB = { type: 'smb', port: 1445, enabled: true }

async function startWorld(t: Test, options: WorldOptions = {}): Promise<World> {
  const world = await World.start(options)
  t.teardown(() => world.close())
  return world
}

const uidOf = (world: World, type: string) =>
  world.get('Service', world.adapterServiceName(type))?.metadata.uid
const adapterEntry = (world: World, type: string) =>
  (world.status().adapters as Array<Record<string, any>>).find((a) => a.type === type)

t.test(
  'adapter added, disabled, port changed, re-enabled within grace: same Services, no LB twice',
  async (t) => {
    const world = await startWorld(t, { adapters: [NFS] })
    world.createParent()
    await world.runFor(2 * 60_000)
    t.same(world.adapterSummary(), ['nfs:12049 203.0.113.10:12049'])
    const nfsUid = uidOf(world, 'nfs')

    // Added.
    world.setAdapters([NFS, SMB])
    await world.runFor(80_000)
    const smbUid = uidOf(world, 'smb')
    t.ok(smbUid, 'a Service for the new adapter')
    t.same(world.adapterSummary(), ['nfs:12049 203.0.113.10:12049', 'smb:1445 203.0.113.11:1445'])
    t.equal(world.cloud.created, 2)

    // Disabled: kept through the grace period, reported as leaving.
    world.setAdapters([NFS, { ...SMB, enabled: false }])
    await world.runFor(35_000)
    t.equal(uidOf(world, 'smb'), smbUid, 'the disabled adapter keeps its Service during the grace period')
    t.match(adapterEntry(world, 'smb'), {
      enabled: false,
      missingSince: /^2026-01-01T00:0\d:\d\dZ$/,
      serviceName: 'demo-adapter-smb',
      endpoints: ['203.0.113.11:1445'],
    })
    t.match(world.condition('AdapterServicesReady')?.message, /Removed or disabled, Service kept: smb until/)

    // Re-enabled within grace: nothing recreated.
    world.setAdapters([NFS, SMB])
    await world.runFor(35_000)
    t.equal(uidOf(world, 'smb'), smbUid, 'same Service after re-enabling')
    t.equal(adapterEntry(world, 'smb')?.missingSince, undefined, 'no longer leaving')

    // Port changed: the Service is updated in place (same uid, same load balancer, new port).
    const mark = world.mark()
    world.setAdapters([{ ...NFS, port: 2049 }, SMB])
    await world.runFor(35_000)
    t.equal(uidOf(world, 'nfs'), nfsUid, 'same nfs Service after a port change')
    t.same(
      (world.get('Service', 'demo-adapter-nfs')!.spec as any).ports.map((p: any) => p.port),
      [2049],
    )
    t.same(adapterEntry(world, 'nfs')?.endpoints, ['203.0.113.10:2049'], 'endpoints follow the port')
    t.same(
      world.childWritesSince(mark).map((e) => `${e.action} ${e.child}`),
      ['update Service storage/demo-adapter-nfs'],
      'one in-place update, nothing else written',
    )

    t.same(world.mc.childWrites('Service', 'demo-adapter-nfs', 'delete'), [], 'nfs Service never deleted')
    t.same(world.mc.childWrites('Service', 'demo-adapter-smb', 'delete'), [], 'smb Service never deleted')
    t.same(world.mc.childWrites('StatefulSet', 'demo', 'update'), [], 'adapters never touch the StatefulSet')
    t.equal(world.cloud.created, 2, 'no load balancer created twice')
    t.equal(world.cloud.deleted, 0, 'no load balancer released')
    await checkInvariants(t, world)
  },
)

t.test('a disabled adapter loses its Service exactly when the grace period ends', async (t) => {
  const world = await startWorld(t, { spec: { adapterServices: { removalGracePeriod: '2m' } } })
  world.createParent()
  await world.runFor(2 * 60_000)
  world.setAdapters([NFS, { ...SMB, enabled: false }])
  await world.runFor(5 * 60_000)

  const deletes = world.mc.childWrites('Service', 'demo-adapter-smb', 'delete')
  t.equal(deletes.length, 1, 'deleted once')
  const leaving = world.front.exchanges
    .map((e) => (e.response?.status.adapters as any[] | undefined)?.find((a) => a.type === 'smb'))
    .find((a) => a?.missingSince)
  const missingSince = Date.parse(leaving?.missingSince)
  t.equal(
    deletes[0]!.at - missingSince,
    2 * 60_000,
    'deleted when the 2m grace period ends, not earlier or later',
  )
  t.same(world.adapterSummary(), ['nfs:12049 203.0.113.10:12049', 'smb:1445 disabled'])
  t.equal(adapterEntry(world, 'smb')?.serviceName, undefined, 'no Service reported for it')
  t.equal(world.cloud.deleted, 1, 'its load balancer is released')
  await checkInvariants(t, world)
})

t.test(
  'NetworkPolicies: enabled with adapters present, policy before Service, Service before policy',
  async (t) => {
    const world = await startWorld(t, { adapters: [NFS] })
    world.createParent()
    await world.runFor(2 * 60_000)
    const nfsUid = uidOf(world, 'nfs')

    // Enabling policies with an adapter Service present: policies appear, the Service is left alone.
    let mark = world.mark()
    world.editSpec((spec) => {
      spec.networkPolicy = { enabled: true }
    })
    await world.runFor(60_000)
    t.same(
      world.childWritesSince(mark).map((e) => `${e.action} ${e.child}`),
      ['create NetworkPolicy storage/demo-baseline', 'create NetworkPolicy storage/demo-adapter-nfs'],
      'only the policies are written',
    )
    t.equal(uidOf(world, 'nfs'), nfsUid)

    // A new adapter: its policy exists before its Service.
    mark = world.mark()
    world.setAdapters([NFS, SMB])
    await world.runFor(60_000)
    const policyAdded = world.eventIndex('ADDED', 'NetworkPolicy', 'demo-adapter-smb')
    const serviceAdded = world.eventIndex('ADDED', 'Service', 'demo-adapter-smb')
    t.ok(policyAdded >= 0 && serviceAdded > policyAdded, 'NetworkPolicy created strictly before the Service')
    const creates = world.childWritesSince(mark).filter((e) => e.action === 'create')
    const syncOf = (child: string) => world.mc.timeline.indexOf(creates.find((e) => e.child === child)!)
    t.ok(
      world.mc.timeline
        .slice(syncOf('NetworkPolicy storage/demo-adapter-smb'), syncOf('Service storage/demo-adapter-smb'))
        .some((e) => e.type === 'hook' && e.hook === 'sync'),
      'the Service is only created by a later sync, one that observed the policy',
    )

    // An adapter removed: the Service (and its load balancer) goes first, the policy only once it is gone.
    world.setAdapters([NFS])
    await world.runFor(3 * 60_000)
    const serviceGone = world.eventIndex('DELETED', 'Service', 'demo-adapter-smb')
    const serviceMarked = world.eventIndex('MODIFIED', 'Service', 'demo-adapter-smb', true)
    const policyGone = world.eventIndex('DELETED', 'NetworkPolicy', 'demo-adapter-smb')
    t.ok(serviceMarked >= 0 && serviceGone > serviceMarked, 'the Service waits for its load balancer cleanup')
    t.ok(policyGone > serviceGone, 'the NetworkPolicy is deleted strictly after the Service is gone')
    t.ok(world.get('NetworkPolicy', 'demo-adapter-nfs'), 'the remaining adapter keeps its policy')
    t.ok(world.get('NetworkPolicy', 'demo-baseline'))
    t.equal(uidOf(world, 'nfs'), nfsUid)
    await checkInvariants(t, world)
  },
)

t.test(
  'a LoadBalancer that never gets an address: LoadBalancerPending after the timeout, Service kept',
  async (t) => {
    const world = await startWorld(t, { adapters: [NFS], lbProvisionDelayMs: null })
    world.createParent()
    await world.runFor(4 * 60_000)
    t.match(world.condition('AdapterServicesReady'), { status: 'False', reason: 'Provisioning' })
    const created = Date.parse(world.get('Service', 'demo-adapter-nfs')!.metadata.creationTimestamp!)

    await world.runFor(2 * 60_000)
    const pending = world.condition('AdapterServicesReady')
    t.match(pending, {
      status: 'False',
      reason: 'LoadBalancerPending',
      message: /No external address after 5m/,
    })
    const flipped = world.mc.timeline.find(
      (e) =>
        e.type === 'status' &&
        (e.status.conditions as any[]).some(
          (c) => c.type === 'AdapterServicesReady' && c.reason === 'LoadBalancerPending',
        ),
    )
    t.equal(flipped?.at, created + 5 * 60_000, 'reported exactly when loadBalancerTimeout (5m) has passed')
    t.equal(
      pending?.lastTransitionTime,
      '2026-01-01T00:00:20Z',
      'False all along: lastTransitionTime kept from the first False',
    )
    t.same(adapterEntry(world, 'nfs')?.endpoints, [])
    t.equal(world.condition('Ready')?.status, 'True', 'the server itself is fine')

    await world.runFor(30 * 60_000)
    t.same(world.mc.childWrites('Service', 'demo-adapter-nfs', 'delete'), [], 'the Service is never deleted')
    t.equal(world.condition('AdapterServicesReady')?.reason, 'LoadBalancerPending')
    await checkInvariants(t, world)

    // The cloud catches up: the address shows up and the condition recovers.
    world.cloud.setProvisionDelay(1000)
    await world.runFor(60_000)
    t.match(world.condition('AdapterServicesReady'), { status: 'True', reason: 'ServicesReady' })
    t.same(world.adapterSummary(), ['nfs:12049 203.0.113.10:12049'])
    await checkInvariants(t, world)
  },
)
