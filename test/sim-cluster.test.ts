import t from 'tap'
import { widget, widgetCrd } from './sim/examples.js'
import {
  type ApiError,
  Cluster,
  DEFAULT_EPOCH_MS,
  type KubeObject,
  VirtualClock,
  type WatchEvent,
} from './sim/index.js'

function newCluster(): Cluster {
  const cluster = new Cluster({ clock: new VirtualClock() })
  cluster.registerCrd(widgetCrd())
  return cluster
}

const widgetRef = (name: string) => ({
  apiVersion: 'example.com/v1',
  kind: 'Widget',
  namespace: 'default',
  name,
})

function statefulSet(name: string, patch: Record<string, unknown> = {}): KubeObject {
  return {
    apiVersion: 'apps/v1',
    kind: 'StatefulSet',
    metadata: { name, namespace: 'default' },
    spec: {
      serviceName: `${name}-headless`,
      selector: { matchLabels: { app: name } },
      template: {
        metadata: { labels: { app: name } },
        spec: { containers: [{ name: 'main', image: 'example/app:1.0', ports: [{ containerPort: 8080 }] }] },
      },
      volumeClaimTemplates: [
        {
          metadata: { name: 'data' },
          spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } } },
        },
      ],
      ...patch,
    },
  }
}

t.test('virtual clock', async (t) => {
  t.test('starts at a fixed epoch and fires timers in time order, then creation order', async (t) => {
    const clock = new VirtualClock()
    t.equal(clock.now(), DEFAULT_EPOCH_MS)
    t.equal(clock.iso(), '2026-01-01T00:00:00Z')
    const fired: string[] = []
    clock.setTimer(200, 'b', () => fired.push(`b@${clock.now() - DEFAULT_EPOCH_MS}`))
    clock.setTimer(100, 'a', () => fired.push(`a@${clock.now() - DEFAULT_EPOCH_MS}`))
    clock.setTimer(100, 'a2', () => fired.push(`a2@${clock.now() - DEFAULT_EPOCH_MS}`))
    const cancelled = clock.setTimer(150, 'x', () => fired.push('cancelled'))
    clock.clearTimer(cancelled)
    clock.advance(150)
    t.same(fired, ['a@100', 'a2@100'])
    t.equal(clock.nextTimerAt(), DEFAULT_EPOCH_MS + 200)
    clock.advance(1000)
    t.same(fired, ['a@100', 'a2@100', 'b@200'])
    t.equal(clock.now(), DEFAULT_EPOCH_MS + 1150)
    t.equal(clock.nextTimerAt(), undefined)
  })

  t.test('a timer set while firing runs in the same advance when it falls due', async (t) => {
    const clock = new VirtualClock()
    const fired: number[] = []
    clock.setTimer(10, 'outer', () =>
      clock.setTimer(10, 'inner', () => fired.push(clock.now() - DEFAULT_EPOCH_MS)),
    )
    clock.advance(25)
    t.same(fired, [20])
  })

  t.test('never goes backwards; unref timers are background', async (t) => {
    const clock = new VirtualClock()
    t.throws(() => clock.set(DEFAULT_EPOCH_MS - 1), RangeError)
    clock.setTimer(5, 'tick', () => {}, { unref: true })
    t.equal(clock.hasRefTimers(), false)
    const id = clock.setTimer(5, 'work', () => {})
    t.equal(clock.hasRefTimers(), true)
    clock.clearTimer(id)
    t.equal(clock.hasRefTimers(), false)
  })
})

t.test('object bookkeeping', async (t) => {
  t.test(
    'create assigns uid, resourceVersion, generation and creationTimestamp from the clock',
    async (t) => {
      const cluster = newCluster()
      cluster.clock.advance(5000)
      const created = cluster.create(widget('a'))
      t.match(created.metadata.uid, /^[0-9a-f-]{36}$/)
      t.equal(created.metadata.generation, 1)
      t.equal(created.metadata.creationTimestamp, '2026-01-01T00:00:05Z')
      const second = cluster.create(widget('b'))
      t.ok(Number(second.metadata.resourceVersion) > Number(created.metadata.resourceVersion))
      t.not(second.metadata.uid, created.metadata.uid)
      t.throws(() => cluster.create(widget('a')), { name: 'ApiError', reason: 'AlreadyExists', code: 409 })
    },
  )

  t.test('spec changes bump generation; status writes and metadata changes do not', async (t) => {
    const cluster = newCluster()
    cluster.create(widget('a', 'default', { size: 1 }))
    const relabelled = cluster.mutate(widgetRef('a'), (w) => {
      w.metadata.labels = { team: 'x' }
    })
    t.equal(relabelled.metadata.generation, 1)
    const withStatus = cluster.mutateStatus(widgetRef('a'), (w) => {
      w.status = { phase: 'Running' }
    })
    t.equal(withStatus.metadata.generation, 1)
    t.ok(Number(withStatus.metadata.resourceVersion) > Number(relabelled.metadata.resourceVersion))
    const edited = cluster.mutate(widgetRef('a'), (w) => {
      w.spec = { size: 2 }
      w.status = { phase: 'ignored on the main resource' }
    })
    t.equal(edited.metadata.generation, 2)
    t.same(edited.status, { phase: 'Running' }, 'an update of the main resource keeps the stored status')
  })

  t.test('an update that changes nothing is a no-op: same resourceVersion, no event', async (t) => {
    const cluster = newCluster()
    const created = cluster.create(widget('a', 'default', { size: 1 }))
    const events: WatchEvent[] = []
    cluster.watch((event) => events.push(event))
    const same = cluster.update(created)
    t.equal(same.metadata.resourceVersion, created.metadata.resourceVersion)
    t.equal(events.length, 0)
  })

  t.test('a stale resourceVersion is a 409 Conflict', async (t) => {
    const cluster = newCluster()
    const created = cluster.create(widget('a', 'default', { size: 1 }))
    cluster.mutate(widgetRef('a'), (w) => {
      w.spec = { size: 2 }
    })
    t.throws(() => cluster.update({ ...created, spec: { size: 3 } }), {
      name: 'ApiError',
      reason: 'Conflict',
      code: 409,
    })
  })

  t.test('CRD pruning drops undeclared status fields', async (t) => {
    const cluster = newCluster()
    cluster.create(widget('a'))
    const written = cluster.mutateStatus(widgetRef('a'), (w) => {
      w.status = { phase: 'Running', notInSchema: true }
    })
    t.same(written.status, { phase: 'Running' })
  })

  t.test('unknown types and missing namespaces are rejected', async (t) => {
    const cluster = newCluster()
    t.throws(
      () => cluster.create({ apiVersion: 'v9', kind: 'Nope', metadata: { name: 'x', namespace: 'd' } }),
      {
        name: 'ApiError',
        reason: 'NotFound',
      },
    )
    t.throws(() => cluster.create({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'x' } }), {
      name: 'ApiError',
      reason: 'BadRequest',
    })
  })
})

t.test('deletion, finalizers and garbage collection', async (t) => {
  t.test('an object with finalizers is only marked; removing the last finalizer deletes it', async (t) => {
    const cluster = newCluster()
    cluster.create({ ...widget('a'), metadata: { name: 'a', namespace: 'default', finalizers: ['x/y'] } })
    cluster.clock.advance(1000)
    const events: string[] = []
    cluster.watch((event) => events.push(`${event.type} ${event.object.metadata.name}`))
    const marked = cluster.delete(widgetRef('a'))
    t.equal(marked?.metadata.deletionTimestamp, '2026-01-01T00:00:01Z')
    t.equal(marked?.metadata.generation, 2, 'marking for deletion bumps generation')
    t.ok(cluster.get(widgetRef('a')))
    t.throws(
      () =>
        cluster.mutate(widgetRef('a'), (w) => {
          w.metadata.finalizers = ['x/y', 'new/one']
        }),
      { name: 'ApiError', reason: 'Forbidden' },
    )
    cluster.mutate(widgetRef('a'), (w) => {
      w.metadata.finalizers = []
    })
    t.equal(cluster.get(widgetRef('a')), undefined)
    t.same(events, ['MODIFIED a', 'DELETED a'])
  })

  t.test(
    'dependents are deleted in the background when the owner goes, respecting their finalizers',
    async (t) => {
      const cluster = newCluster()
      const owner = cluster.create(widget('owner'))
      const ownerRef = {
        apiVersion: 'example.com/v1',
        kind: 'Widget',
        name: 'owner',
        uid: owner.metadata.uid!,
      }
      cluster.create({
        apiVersion: 'v1',
        kind: 'ConfigMap',
        metadata: { name: 'plain', namespace: 'default', ownerReferences: [ownerRef] },
      })
      cluster.create({
        apiVersion: 'v1',
        kind: 'ConfigMap',
        metadata: {
          name: 'held',
          namespace: 'default',
          ownerReferences: [ownerRef],
          finalizers: ['hold/me'],
        },
      })
      cluster.create({
        apiVersion: 'v1',
        kind: 'ConfigMap',
        metadata: { name: 'unowned', namespace: 'default' },
      })
      cluster.delete(widgetRef('owner'))
      const cm = (name: string) =>
        cluster.get({ apiVersion: 'v1', kind: 'ConfigMap', namespace: 'default', name })
      t.equal(cm('plain'), undefined)
      t.ok(cm('held')?.metadata.deletionTimestamp, 'a dependent with a finalizer is only marked')
      t.ok(cm('unowned'))
    },
  )

  t.test('a dependent whose owner is absent or in another namespace is collected at once', async (t) => {
    const cluster = newCluster()
    const owner = cluster.create(widget('owner', 'ns-a'))
    const ownerRef = { apiVersion: 'example.com/v1', kind: 'Widget', name: 'owner', uid: owner.metadata.uid! }
    const crossNamespace = cluster.create({
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'elsewhere', namespace: 'ns-b', ownerReferences: [ownerRef] },
    })
    t.ok(crossNamespace.metadata.uid, 'the create itself succeeds')
    t.equal(
      cluster.get({ apiVersion: 'v1', kind: 'ConfigMap', namespace: 'ns-b', name: 'elsewhere' }),
      undefined,
    )
  })

  t.test('a delete with a stale uid precondition is a Conflict', async (t) => {
    const cluster = newCluster()
    cluster.create(widget('a'))
    t.throws(() => cluster.delete(widgetRef('a'), { uid: 'other' }), { name: 'ApiError', reason: 'Conflict' })
    t.throws(() => cluster.delete(widgetRef('missing')), { name: 'ApiError', reason: 'NotFound', code: 404 })
  })
})

t.test('API server defaults and immutable fields', async (t) => {
  t.test('Service: clusterIP assigned and kept, port defaults, immutable clusterIP', async (t) => {
    const cluster = newCluster()
    const svc = cluster.create({
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: 'api', namespace: 'default' },
      spec: { selector: { app: 'x' }, ports: [{ name: 'http', port: 80 }] },
    })
    const spec = svc.spec as Record<string, unknown>
    t.match(spec.clusterIP, /^10\.96\.\d+\.\d+$/)
    t.same(spec.clusterIPs, [spec.clusterIP])
    t.equal(spec.sessionAffinity, 'None')
    t.equal(spec.type, 'ClusterIP')
    t.same(spec.ports, [{ name: 'http', port: 80, protocol: 'TCP', targetPort: 80 }])
    t.same(svc.status, { loadBalancer: {} })

    const ref = { apiVersion: 'v1', kind: 'Service', namespace: 'default', name: 'api' }
    const withoutIP = cluster.mutate(ref, (s) => {
      const sp = s.spec as Record<string, unknown>
      delete sp.clusterIP
      delete sp.clusterIPs
    })
    t.equal(
      (withoutIP.spec as Record<string, unknown>).clusterIP,
      spec.clusterIP,
      'a PUT without clusterIP keeps it',
    )
    const error = t.throws(() =>
      cluster.mutate(ref, (s) => {
        ;(s.spec as Record<string, unknown>).clusterIP = 'None'
      }),
    ) as unknown as ApiError
    t.equal(error.code, 422)
    t.match(error.message, /spec\.clusterIP.*field is immutable/)
  })

  t.test('Service: headless stays None; LoadBalancer gets node ports', async (t) => {
    const cluster = newCluster()
    const headless = cluster.create({
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: 'h', namespace: 'default' },
      spec: { clusterIP: 'None', ports: [{ name: 'a', port: 1 }] },
    })
    t.equal((headless.spec as Record<string, unknown>).clusterIP, 'None')
    const lb = cluster.create({
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: 'lb', namespace: 'default' },
      spec: { type: 'LoadBalancer', ports: [{ name: 'nfs', port: 2049 }] },
    })
    t.match(lb.spec, {
      externalTrafficPolicy: 'Cluster',
      allocateLoadBalancerNodePorts: true,
      ports: [{ port: 2049, nodePort: Number }],
    })
  })

  t.test('Service: more than one port needs names; a DNS-1035 name is required', async (t) => {
    const cluster = newCluster()
    t.throws(
      () =>
        cluster.create({
          apiVersion: 'v1',
          kind: 'Service',
          metadata: { name: 'two', namespace: 'default' },
          spec: { ports: [{ port: 1 }, { port: 2 }] },
        }),
      { name: 'ApiError', reason: 'Invalid', message: /spec\.ports\[0\]\.name: Required value/ },
    )
    t.throws(
      () =>
        cluster.create({
          apiVersion: 'v1',
          kind: 'Service',
          metadata: { name: `a${'b'.repeat(63)}`, namespace: 'default' },
          spec: { ports: [{ port: 1 }] },
        }),
      { name: 'ApiError', reason: 'Invalid', message: /metadata\.name/ },
    )
  })

  t.test('Secret: stringData is folded into base64 data and not stored', async (t) => {
    const cluster = newCluster()
    const secret = cluster.create({
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name: 's', namespace: 'default' },
      data: { kept: Buffer.from('one').toString('base64') },
      stringData: { password: 'two' },
    })
    t.same(secret.data, { kept: 'b25l', password: 'dHdv' })
    t.equal(secret.stringData, undefined)
    t.equal(secret.type, 'Opaque')
    t.throws(
      () =>
        cluster.create({
          apiVersion: 'v1',
          kind: 'Secret',
          metadata: { name: 'bad', namespace: 'default' },
          data: { x: 'not base64!' },
        }),
      { name: 'ApiError', reason: 'Invalid' },
    )
  })

  t.test('StatefulSet: defaults (pod template, volume claim templates) and generation', async (t) => {
    const cluster = newCluster()
    const sts = cluster.create(statefulSet('db'))
    t.match(sts.spec, {
      replicas: 1,
      podManagementPolicy: 'OrderedReady',
      revisionHistoryLimit: 10,
      updateStrategy: { type: 'RollingUpdate', rollingUpdate: { partition: 0 } },
      persistentVolumeClaimRetentionPolicy: { whenDeleted: 'Retain', whenScaled: 'Retain' },
      template: {
        spec: {
          dnsPolicy: 'ClusterFirst',
          restartPolicy: 'Always',
          schedulerName: 'default-scheduler',
          securityContext: {},
          terminationGracePeriodSeconds: 30,
          containers: [
            {
              imagePullPolicy: 'IfNotPresent',
              terminationMessagePath: '/dev/termination-log',
              terminationMessagePolicy: 'File',
              resources: {},
              ports: [{ containerPort: 8080, protocol: 'TCP' }],
            },
          ],
        },
      },
      volumeClaimTemplates: [
        {
          apiVersion: 'v1',
          kind: 'PersistentVolumeClaim',
          spec: { volumeMode: 'Filesystem' },
          status: { phase: 'Pending' },
        },
      ],
    })
    t.equal(sts.metadata.generation, 1)
    t.same(sts.status, { replicas: 0, availableReplicas: 0 })
  })

  t.test(
    'StatefulSet: selector, serviceName, volumeClaimTemplates, podManagementPolicy are immutable',
    async (t) => {
      const ref = { apiVersion: 'apps/v1', kind: 'StatefulSet', namespace: 'default', name: 'db' }
      const changes: Array<[string, (spec: Record<string, unknown>) => void]> = [
        ['selector', (spec) => (spec.selector = { matchExpressions: [{ key: 'app', operator: 'Exists' }] })],
        ['serviceName', (spec) => (spec.serviceName = 'other')],
        ['volumeClaimTemplates', (spec) => (spec.volumeClaimTemplates = [])],
        ['podManagementPolicy', (spec) => (spec.podManagementPolicy = 'Parallel')],
      ]
      for (const [fieldName, change] of changes) {
        const cluster = newCluster()
        cluster.create(statefulSet('db'))
        t.throws(
          () => cluster.mutate(ref, (sts) => change(sts.spec as Record<string, unknown>)),
          {
            name: 'ApiError',
            reason: 'Invalid',
            code: 422,
            message: new RegExp(`spec\\.${fieldName}: field is immutable`),
          },
          fieldName,
        )
      }
      const cluster = newCluster()
      cluster.create(statefulSet('db'))
      const scaled = cluster.mutate(ref, (sts) => {
        ;(sts.spec as Record<string, unknown>).replicas = 0
      })
      t.equal(scaled.metadata.generation, 2, 'replicas may change, and bumps generation')
      const shortVct = cluster.mutate(ref, (sts) => {
        ;(sts.spec as Record<string, unknown>).volumeClaimTemplates = (
          statefulSet('db').spec as Record<string, unknown>
        ).volumeClaimTemplates
      })
      t.equal(
        shortVct.metadata.resourceVersion,
        scaled.metadata.resourceVersion,
        'the short form of an unchanged VCT defaults to the stored form: allowed, and a no-op',
      )
    },
  )

  t.test('StatefulSet: a selector that does not match the template labels is invalid', async (t) => {
    const cluster = newCluster()
    t.throws(() => cluster.create(statefulSet('db', { selector: { matchLabels: { app: 'other' } } })), {
      name: 'ApiError',
      reason: 'Invalid',
      message: /selector` does not match template `labels/,
    })
  })

  t.test('labels must be valid label values', async (t) => {
    const cluster = newCluster()
    t.throws(
      () =>
        cluster.create({
          apiVersion: 'v1',
          kind: 'ConfigMap',
          metadata: { name: 'x', namespace: 'default', labels: { app: 'x'.repeat(64) } },
        }),
      { name: 'ApiError', reason: 'Invalid', message: /metadata\.labels/ },
    )
  })

  t.test('NetworkPolicy: policyTypes and port protocol defaults', async (t) => {
    const cluster = newCluster()
    const policy = cluster.create({
      apiVersion: 'networking.k8s.io/v1',
      kind: 'NetworkPolicy',
      metadata: { name: 'np', namespace: 'default' },
      spec: { podSelector: {}, ingress: [{ ports: [{ port: 8080 }] }] },
    })
    t.match(policy.spec, {
      policyTypes: ['Ingress'],
      ingress: [{ ports: [{ port: 8080, protocol: 'TCP' }] }],
    })
  })
})

t.test(
  'a status write gets the API server defaults: ipMode VIP on a load-balancer ingress with an ip',
  async (t) => {
    const cluster = new Cluster({ clock: new VirtualClock() })
    const svc = cluster.create({
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: 'lb', namespace: 'default' },
      spec: { type: 'LoadBalancer', ports: [{ port: 80 }] },
    })
    const written = cluster.updateStatus({
      ...svc,
      status: { loadBalancer: { ingress: [{ ip: '192.0.2.1' }, { hostname: 'lb.example.com' }] } },
    })
    t.same(written.status, {
      loadBalancer: { ingress: [{ ip: '192.0.2.1', ipMode: 'VIP' }, { hostname: 'lb.example.com' }] },
    })
  },
)
