import t, { type Test } from 'tap'
import { checkInvariants } from './scenarios/invariants.js'
import { World, type WorldOptions } from './scenarios/world.js'

// Whole-loop scenarios (simulated Metacontroller, API server, cloud and StatefulSet controllers, the real hook) for
// what DittoFS v0.29.0 really opens and reads: listener ports on adapter Services (pkg/adapter/nfs/portmap.go,
// udp.go), load balancers that cannot mix TCP and UDP, and Secrets the pod reads at start-up
// (cmd/dfs/commands/start.go).

const NFS = { type: 'nfs', port: 12049, enabled: true }
const SMB = { type: 'smb', port: 1445, enabled: true }

async function startWorld(t: Test, options: WorldOptions = {}): Promise<World> {
  const world = await World.start(options)
  t.teardown(() => world.close())
  return world
}

const portsOf = (world: World, name: string) =>
  ((world.get('Service', name)?.spec as any)?.ports ?? []).map(
    (p: any) => `${p.name} ${p.port}->${p.targetPort}/${p.protocol}`,
  )
const writesOf = (world: World, mark: ReturnType<World['mark']>) =>
  world.childWritesSince(mark).map((w) => `${w.action} ${w.kind}/${w.name}`)

t.test(
  'declaring NFS listeners: the Service and policy updated in place, a UDP Service added, no pod restart',
  async (t) => {
    const world = await startWorld(t, { adapters: [NFS], spec: { networkPolicy: { enabled: true } } })
    world.createParent()
    await world.runFor(2 * 60_000)
    const uid = world.get('Service', 'demo-adapter-nfs')?.metadata.uid
    t.ok(uid)
    const mark = world.mark()
    world.editSpec((spec) => {
      spec.adapterServices = { listeners: { nfs: { portmapper: true, udp: true } } }
    })
    await world.runFor(2 * 60_000)
    t.same(writesOf(world, mark).sort(), [
      'create Service/demo-adapter-nfs-udp',
      'update NetworkPolicy/demo-adapter-nfs',
      'update Service/demo-adapter-nfs',
    ])
    t.equal(world.get('Service', 'demo-adapter-nfs')?.metadata.uid, uid, 'the same Service and load balancer')
    t.same(portsOf(world, 'demo-adapter-nfs'), ['nfs 12049->12049/TCP', 'portmap 111->10111/TCP'])
    t.same(portsOf(world, 'demo-adapter-nfs-udp'), ['portmap-udp 111->10111/UDP', 'nfs-udp 12049->12049/UDP'])
    t.equal(world.statefulSets.restarts, 0, 'no pod restart')
    t.equal(world.cloud.created, 2, 'the adapter load balancer kept, one more for UDP')
    t.match(world.condition('AdapterServicesReady'), { status: 'True' })
    await checkInvariants(t, world)
  },
)

t.test(
  'a cloud without mixed-protocol load balancers: pending with a hint, then splitProtocols',
  async (t) => {
    const world = await startWorld(t, {
      adapters: [SMB],
      mixedProtocolLoadBalancers: false,
      spec: { adapterServices: { listeners: { smb: { wsDiscovery: true } } } },
    })
    world.createParent()
    await world.runFor(7 * 60_000)
    t.match(world.condition('AdapterServicesReady'), {
      status: 'False',
      reason: 'LoadBalancerPending',
      message: /demo-adapter-smb mix TCP and UDP ports.*splitProtocols/,
    })
    t.equal(world.cloud.created, 0, 'this cloud builds no load balancer for it')
    const uid = world.get('Service', 'demo-adapter-smb')?.metadata.uid

    world.editSpec((spec) => {
      spec.adapterServices.splitProtocols = true
    })
    await world.runFor(2 * 60_000)
    t.equal(
      world.get('Service', 'demo-adapter-smb')?.metadata.uid,
      uid,
      'the adapter Service keeps its name and uid',
    )
    t.same(portsOf(world, 'demo-adapter-smb'), ['smb 1445->1445/TCP', 'wsd-meta 5357->5357/TCP'])
    t.same(portsOf(world, 'demo-adapter-smb-udp'), ['wsd 3702->3702/UDP'])
    t.equal(world.cloud.created, 2, 'a load balancer for each Service')
    t.match(world.condition('AdapterServicesReady'), { status: 'True', reason: 'ServicesReady' })
    t.equal(world.statefulSets.restarts, 0)

    world.deleteParent()
    await world.runFor(5 * 60_000)
    t.equal(world.parent(), undefined, 'finalized')
    t.equal(world.cloud.active, 0, 'both load balancers torn down')
  },
)

t.test('Postgres password rotated: one pod restart; its Secret deleted: none, SecretNotFound', async (t) => {
  const world = await startWorld(t, {
    adapters: [NFS],
    spec: { database: { type: 'postgres', postgresSecretRef: { name: 'pg', key: 'dsn' } } },
  })
  const pg = (password: string) => ({
    host: Buffer.from('pg.db').toString('base64'),
    database: Buffer.from('dittofs').toString('base64'),
    user: Buffer.from('ditto').toString('base64'),
    password: Buffer.from(password).toString('base64'),
  })
  const ref = { apiVersion: 'v1', kind: 'Secret', namespace: world.namespace, name: 'pg' }
  world.cluster.create({ ...ref, metadata: { name: 'pg', namespace: world.namespace }, data: pg('one') })
  world.createParent()
  await world.runFor(2 * 60_000)
  t.match(world.condition('Ready'), { status: 'True' })
  t.equal(world.statefulSets.restarts, 0)

  world.cluster.mutate(ref, (draft) => {
    draft.data = pg('two')
  })
  await world.runFor(2 * 60_000)
  t.equal(world.statefulSets.restarts, 1, 'the server reads the password at start-up: restarted once')

  world.cluster.delete(ref)
  await world.runFor(2 * 60_000)
  t.equal(world.statefulSets.restarts, 1, 'a Secret the hook cannot see never restarts the pod')
  t.match(world.condition('ConfigReady'), { status: 'False', reason: 'SecretNotFound', message: /pg\/host/ })
})
