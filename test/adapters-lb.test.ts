import t from 'tap'
import { planAdapters } from '../hooks/reconcile/adapters.js'
import {
  entry,
  inputOf,
  MINUTE,
  makeSpec,
  newWorld,
  nfs,
  readyCondition,
  SECOND,
  serviceNames,
  setIngress,
  smb,
  svcName,
  sync,
  T0,
} from './adapters-helpers.js'

// Load-balancer status and the AdapterServicesReady condition (rule 4).

t.test('no adapter: ready, nothing to wait for', async (t) => {
  const plan = sync(newWorld(), [])
  t.same(readyCondition(plan), {
    type: 'AdapterServicesReady',
    status: 'True',
    reason: 'NoAdapterServices',
    message: 'No adapter needs a Service.',
  })
  t.equal(plan.nextEventAt, undefined)
})

t.test('a LoadBalancer not yet observed is being created', async (t) => {
  const plan = sync(newWorld(), [nfs()])
  t.equal(readyCondition(plan).status, 'False')
  t.equal(readyCondition(plan).reason, 'Provisioning')
  t.match(readyCondition(plan).message, `Creating ${svcName('nfs')}.`)
})

t.test('LB pending before the timeout: Provisioning, with the deadline as next event', async (t) => {
  const world = newWorld(makeSpec({ adapterServices: { loadBalancerTimeout: '3m' } }))
  sync(world, [nfs()]) // created at T0
  world.now = T0 + 2 * MINUTE
  const plan = sync(world, [nfs()])
  t.equal(readyCondition(plan).reason, 'Provisioning')
  t.match(readyCondition(plan).message, `Waiting for an external address for ${svcName('nfs')}.`)
  t.equal(plan.nextEventAt, T0 + 3 * MINUTE, 'the load-balancer deadline')
  t.same(entry(plan, 'nfs')?.endpoints, [], 'no endpoint while pending')
})

t.test('LB pending after the timeout: LoadBalancerPending, the Service stays', async (t) => {
  const world = newWorld(makeSpec({ adapterServices: { loadBalancerTimeout: '3m' } }))
  sync(world, [nfs(), smb()])
  setIngress(world, svcName('smb'), [{ ip: '10.0.0.7' }])
  world.now = T0 + 3 * MINUTE
  const plan = sync(world, [nfs(), smb()])
  const ready = readyCondition(plan)
  t.equal(ready.status, 'False')
  t.equal(ready.reason, 'LoadBalancerPending')
  t.match(ready.message, `No external address after 3m for LoadBalancer Service(s) ${svcName('nfs')}.`)
  t.match(ready.message, /On bare metal, install a load-balancer implementation such as MetalLB/)
  t.match(ready.message, /spec\.adapterServices\.type .*NodePort/)
  t.notMatch(ready.message, svcName('smb'), 'the ready one is not named')
  t.same(serviceNames(plan), [svcName('nfs'), svcName('smb')], 'never deleted for it')
  t.equal(plan.nextEventAt, undefined, 'nothing left to wait for on the clock')
  const again = planAdapters(inputOf(world, undefined))
  t.same(again.conditions, plan.conditions, 'stable while nothing changes (no time in the message)')
})

t.test('the deadline counts from the observed creationTimestamp', async (t) => {
  const world = newWorld()
  sync(world, [nfs()])
  const service = world.services.get(svcName('nfs'))
  if (service) service.metadata.creationTimestamp = '2026-03-01T09:00:00Z' // an hour before T0
  const plan = sync(world, [nfs()])
  t.equal(readyCondition(plan).reason, 'LoadBalancerPending')
  if (service) delete service.metadata.creationTimestamp
  const unknown = sync(world, [nfs()])
  t.equal(readyCondition(unknown).reason, 'Provisioning', 'no timestamp: never declared timed out')
  t.equal(unknown.nextEventAt, undefined)
})

t.test('ingress makes the Service ready and gives its endpoints', async (t) => {
  const world = newWorld()
  sync(world, [nfs(), smb()])
  setIngress(world, svcName('nfs'), [{ ip: '1.2.3.4' }])
  setIngress(world, svcName('smb'), [{ hostname: 'smb.example.com' }])
  world.now += 10 * SECOND
  const plan = sync(world, [nfs(), smb()])
  t.same(entry(plan, 'nfs')?.endpoints, ['1.2.3.4:12049'])
  t.same(entry(plan, 'smb')?.endpoints, ['smb.example.com:1445'], 'hostname ingress')
  t.same(readyCondition(plan), {
    type: 'AdapterServicesReady',
    status: 'True',
    reason: 'ServicesReady',
    message: 'All 2 adapter Service(s) are ready.',
  })
  t.equal(plan.nextEventAt, undefined)
})

t.test('a port change keeps the ingress and reports the new port', async (t) => {
  const world = newWorld()
  sync(world, [nfs()])
  setIngress(world, svcName('nfs'), [{ ip: '1.2.3.4' }])
  const plan = sync(world, [nfs({ port: 2049 })])
  t.same(entry(plan, 'nfs')?.endpoints, ['1.2.3.4:2049'])
})

t.test('non-LoadBalancer types are ready at once', async (t) => {
  const world = newWorld(
    makeSpec({ adapterServices: { type: 'ClusterIP', overrides: { smb: { type: 'NodePort' } } } }),
  )
  sync(world, [nfs(), smb()])
  const plan = sync(world, [nfs(), smb()])
  t.equal(readyCondition(plan).status, 'True')
  t.equal(entry(plan, 'nfs')?.serviceType, 'ClusterIP')
  t.equal(entry(plan, 'smb')?.serviceType, 'NodePort')
  t.same(entry(plan, 'nfs')?.endpoints, [], 'no namespace given: no cluster address')
  t.equal(plan.nextEventAt, undefined)

  world.namespace = 'storage'
  const withNamespace = sync(world, [nfs(), smb()])
  t.same(entry(withNamespace, 'nfs')?.endpoints, [`${svcName('nfs')}.storage.svc.cluster.local:12049`])
  t.same(entry(withNamespace, 'smb')?.endpoints, [`${svcName('smb')}.storage.svc.cluster.local:1445`])
})

t.test('a LoadBalancer that exists keeps its endpoints out of the cluster address', async (t) => {
  const world = newWorld()
  world.namespace = 'storage'
  sync(world, [nfs()])
  const plan = sync(world, [nfs()])
  t.same(entry(plan, 'nfs')?.endpoints, [], 'pending LoadBalancer: empty, not the cluster name')
})

t.test('switching the type from LoadBalancer to NodePort makes it ready', async (t) => {
  const world = newWorld()
  sync(world, [nfs()])
  world.now += 10 * MINUTE
  t.equal(readyCondition(sync(world, [nfs()])).reason, 'LoadBalancerPending')
  world.spec = makeSpec({ adapterServices: { type: 'NodePort' } })
  const plan = sync(world, [nfs()])
  t.equal(readyCondition(plan).status, 'True')
  t.match(world.services.get(svcName('nfs')), { spec: { type: 'NodePort' } }, 'updated in place')
})

t.test('adapters that are not running are named in the message, not a failure', async (t) => {
  const world = newWorld(makeSpec({ adapterServices: { type: 'ClusterIP' } }))
  sync(world, [nfs(), smb()])
  const plan = sync(world, [nfs({ running: false }), smb({ running: false })])
  t.equal(readyCondition(plan).status, 'True')
  t.equal(
    readyCondition(plan).message,
    'All 2 adapter Service(s) are ready. Enabled but not running (Service kept): nfs, smb.',
  )
})
