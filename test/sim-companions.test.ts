import t from 'tap'
import { widget } from './sim/examples.js'
import {
  CloudController,
  Cluster,
  DEFAULT_EPOCH_MS,
  type HookEntry,
  type KubeObject,
  LB_CLEANUP_FINALIZER,
  StatefulSetController,
  VirtualClock,
} from './sim/index.js'
import { startWidgetSimulation } from './sim/testing.js'

const stsRef = { apiVersion: 'apps/v1', kind: 'StatefulSet', namespace: 'default', name: 'db' }
const svcRef = { apiVersion: 'v1', kind: 'Service', namespace: 'default', name: 'lb' }

function statefulSet(image = 'example/db:1', replicas = 1): KubeObject {
  return {
    apiVersion: 'apps/v1',
    kind: 'StatefulSet',
    metadata: { name: 'db', namespace: 'default', labels: { app: 'db' } },
    spec: {
      replicas,
      serviceName: 'db',
      selector: { matchLabels: { app: 'db' } },
      template: { metadata: { labels: { app: 'db' } }, spec: { containers: [{ name: 'db', image }] } },
    },
  }
}

function loadBalancer(type = 'LoadBalancer'): KubeObject {
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name: 'lb', namespace: 'default' },
    spec: { type, selector: { app: 'db' }, ports: [{ name: 'nfs', port: 2049 }] },
  }
}

function newWorld() {
  const clock = new VirtualClock()
  const cluster = new Cluster({ clock })
  return { clock, cluster }
}

t.test('StatefulSetController: the pod becomes ready after the delay', async (t) => {
  const { clock, cluster } = newWorld()
  const sts = new StatefulSetController({ cluster, readyDelayMs: 5000 })
  t.teardown(() => sts.stop())
  cluster.create(statefulSet())
  clock.runDue()
  const starting = cluster.get(stsRef)!.status as Record<string, unknown>
  t.match(starting, {
    replicas: 1,
    availableReplicas: 0,
    observedGeneration: 1,
    updateRevision: /^db-[0-9a-f]{10}$/,
  })
  t.equal(starting.readyReplicas, undefined, 'readyReplicas is omitted while zero, as in the API')
  clock.advance(4999)
  t.equal((cluster.get(stsRef)!.status as Record<string, unknown>).readyReplicas, undefined)
  clock.advance(1)
  t.match(cluster.get(stsRef)!.status, {
    replicas: 1,
    readyReplicas: 1,
    availableReplicas: 1,
    currentReplicas: 1,
  })
  t.equal(sts.podStarts, 1)
  t.equal(sts.restarts, 0)
})

t.test(
  'StatefulSetController: a template change restarts the pod; a replicas-only change does not',
  async (t) => {
    const { clock, cluster } = newWorld()
    const sts = new StatefulSetController({ cluster, readyDelayMs: 1000 })
    t.teardown(() => sts.stop())
    cluster.create(statefulSet())
    clock.advance(1000)
    const before = cluster.get(stsRef)!.status as Record<string, unknown>

    cluster.update({ ...statefulSet('example/db:2'), metadata: { name: 'db', namespace: 'default' } })
    clock.runDue()
    const restarting = cluster.get(stsRef)!.status as Record<string, unknown>
    t.equal(sts.restarts, 1)
    t.equal(sts.restartsOf('default', 'db'), 1)
    t.equal(restarting.readyReplicas, undefined, 'unready again')
    t.equal(restarting.observedGeneration, 2)
    t.not(restarting.updateRevision, before.updateRevision)
    t.equal(
      restarting.currentRevision,
      before.currentRevision,
      'currentRevision moves once the new pod is ready',
    )
    clock.advance(1000)
    const ready = cluster.get(stsRef)!.status as Record<string, unknown>
    t.equal(ready.readyReplicas, 1)
    t.equal(ready.currentRevision, restarting.updateRevision)

    cluster.mutate(stsRef, (s) => {
      ;(s.spec as Record<string, unknown>).replicas = 1
      s.metadata.labels = { app: 'db', extra: 'label' }
    })
    clock.advance(5000)
    t.equal(sts.restarts, 1, 'metadata or unchanged spec: no restart')
  },
)

t.test('StatefulSetController: replicas 0 zeroes the status; scaling up starts the pod again', async (t) => {
  const { clock, cluster } = newWorld()
  const sts = new StatefulSetController({ cluster, readyDelayMs: 1000 })
  t.teardown(() => sts.stop())
  cluster.create(statefulSet())
  clock.advance(1000)
  cluster.mutate(stsRef, (s) => {
    ;(s.spec as Record<string, unknown>).replicas = 0
  })
  clock.runDue()
  const stopped = cluster.get(stsRef)!.status as Record<string, unknown>
  t.match(stopped, { replicas: 0, availableReplicas: 0, observedGeneration: 2 })
  t.equal(stopped.readyReplicas, undefined)
  t.equal(stopped.currentReplicas, undefined)
  cluster.mutate(stsRef, (s) => {
    ;(s.spec as Record<string, unknown>).replicas = 1
  })
  clock.advance(1000)
  t.match(cluster.get(stsRef)!.status, { replicas: 1, readyReplicas: 1 })
  t.equal(sts.podStarts, 2)
  t.equal(sts.restarts, 0)
})

t.test('StatefulSetController: setPodReady simulates a failing readiness probe', async (t) => {
  const { clock, cluster } = newWorld()
  const sts = new StatefulSetController({ cluster, readyDelayMs: 10 })
  t.teardown(() => sts.stop())
  cluster.create(statefulSet())
  clock.advance(10)
  sts.setPodReady('default', 'db', false)
  clock.advance(60_000)
  t.match(cluster.get(stsRef)!.status, { replicas: 1, availableReplicas: 0 })
  sts.setPodReady('default', 'db', true)
  clock.runDue()
  t.match(cluster.get(stsRef)!.status, { readyReplicas: 1, availableReplicas: 1 })
})

t.test('CloudController: finalizer at once, ingress after the delay', async (t) => {
  const { clock, cluster } = newWorld()
  const cloud = new CloudController({ cluster, provisionDelayMs: 3000, cleanupDelayMs: 2000 })
  t.teardown(() => cloud.stop())
  cluster.create(loadBalancer())
  clock.runDue()
  const pending = cluster.get(svcRef)!
  t.same(pending.metadata.finalizers, [LB_CLEANUP_FINALIZER])
  t.same(pending.status, { loadBalancer: {} })
  clock.advance(2999)
  t.same(cluster.get(svcRef)!.status, { loadBalancer: {} })
  clock.advance(1)
  t.same(cluster.get(svcRef)!.status, { loadBalancer: { ingress: [{ ip: '203.0.113.10', ipMode: 'VIP' }] } })
  t.equal(cloud.created, 1)
  t.equal(cloud.active, 1)
})

t.test(
  'CloudController: a deleted LoadBalancer Service is held by its finalizer for the cleanup delay',
  async (t) => {
    const { clock, cluster } = newWorld()
    const cloud = new CloudController({ cluster, provisionDelayMs: 100, cleanupDelayMs: 2000 })
    t.teardown(() => cloud.stop())
    cluster.create(loadBalancer())
    clock.advance(100)
    cluster.delete(svcRef)
    clock.runDue()
    t.ok(cluster.get(svcRef)?.metadata.deletionTimestamp, 'marked, still there')
    clock.advance(1999)
    t.ok(cluster.get(svcRef))
    clock.advance(1)
    t.equal(cluster.get(svcRef), undefined)
    t.equal(cloud.deleted, 1)
    t.equal(cloud.active, 0)
  },
)

t.test(
  'CloudController: never provisioning, then recovering; a ClusterIP Service is left alone',
  async (t) => {
    const { clock, cluster } = newWorld()
    const cloud = new CloudController({ cluster, provisionDelayMs: null })
    t.teardown(() => cloud.stop())
    cluster.create(loadBalancer())
    cluster.create({ ...loadBalancer('ClusterIP'), metadata: { name: 'plain', namespace: 'default' } })
    clock.advance(3_600_000)
    t.same(cluster.get(svcRef)!.status, { loadBalancer: {} }, 'pending for an hour')
    t.equal(cluster.get({ ...svcRef, name: 'plain' })!.metadata.finalizers, undefined)
    cloud.setProvisionDelay(500)
    clock.advance(500)
    t.match(cluster.get(svcRef)!.status, { loadBalancer: { ingress: [{ ip: String }] } })
    t.equal(cloud.created, 1)
  },
)

t.test('CloudController: switching to ClusterIP tears the load balancer down', async (t) => {
  const { clock, cluster } = newWorld()
  const cloud = new CloudController({ cluster, provisionDelayMs: 10 })
  t.teardown(() => cloud.stop())
  cluster.create(loadBalancer())
  clock.advance(10)
  cluster.mutate(svcRef, (s) => {
    ;(s.spec as Record<string, unknown>).type = 'ClusterIP'
  })
  clock.runDue()
  const svc = cluster.get(svcRef)!
  t.equal(svc.metadata.finalizers, undefined)
  t.same(svc.status, { loadBalancer: {} })
  t.match(svc.spec, { type: 'ClusterIP', ports: [{ port: 2049 }] })
  t.equal((svc.spec as { ports: Array<Record<string, unknown>> }).ports[0]!.nodePort, undefined)
  t.equal(cloud.deleted, 1)
})

t.test(
  'with Metacontroller: readiness and load balancer ingress reach the hook as child updates',
  async (t) => {
    let desired: KubeObject[] = []
    const sim = await startWidgetSimulation(t, {
      handler: () => ({ body: { status: {}, children: desired } }),
    })
    const sts = new StatefulSetController({ cluster: sim.cluster, readyDelayMs: 5000 })
    const cloud = new CloudController({ cluster: sim.cluster, provisionDelayMs: 8000, cleanupDelayMs: 3000 })
    t.teardown(() => {
      sts.stop()
      cloud.stop()
    })
    const withLabels = (obj: KubeObject) => ({ ...obj, metadata: { ...obj.metadata, namespace: undefined } })
    desired = [withLabels(statefulSet()), withLabels(loadBalancer())]
    sim.cluster.create(widget('w'))
    await sim.mc.runUntilIdle()

    type Seen = { children: Record<string, Record<string, KubeObject>> }
    const syncs = sim.mc.timeline.filter((e): e is HookEntry => e.type === 'hook')
    const at = (ms: number) => syncs.filter((e) => e.at - DEFAULT_EPOCH_MS === ms)
    t.ok(at(5000).length >= 1, 'a sync when the pod became ready')
    t.ok(at(8000).length >= 1, 'a sync when the load balancer got its address')
    const last = sim.mc.lastRequest as Seen
    t.equal((last.children['StatefulSet.apps/v1']!.db!.status as Record<string, unknown>).readyReplicas, 1)
    t.match(last.children['Service.v1']!.lb!.status, { loadBalancer: { ingress: [{ ip: '203.0.113.10' }] } })

    // The hook drops the Service: Metacontroller deletes it, the cloud finalizer holds it for 3 s.
    desired = [withLabels(statefulSet())]
    sim.mc.enqueue('default/w')
    const start = sim.clock.now()
    await sim.mc.runUntilIdle()
    t.equal(sim.cluster.get(svcRef), undefined)
    t.equal(cloud.deleted, 1)
    const held = sim.mc.timeline.filter(
      (e): e is HookEntry =>
        e.type === 'hook' && e.at > start && e.triggers?.includes('Service lb deleted') === true,
    )
    t.equal(held[0]?.at, start + 3000, 'the Service disappeared when the finalizer was released')
    t.equal(sts.restarts, 0)
  },
)
