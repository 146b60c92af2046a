import t from 'tap'
import { widget, widgetController, widgetCrd } from './sim/examples.js'
import {
  type ChildEntry,
  Cluster,
  DEFAULT_EPOCH_MS,
  type EventEntry,
  type HookEntry,
  type KubeObject,
  LAST_APPLIED_ANNOTATION,
  Metacontroller,
  type ScriptedCall,
  type TimelineEntry,
  total,
  VirtualClock,
} from './sim/index.js'
import { startWidgetSimulation } from './sim/testing.js'

const parentRef = (name = 'w', namespace = 'default') => ({
  apiVersion: 'example.com/v1',
  kind: 'Widget',
  namespace,
  name,
})
const cmRef = (name: string, namespace = 'default') => ({
  apiVersion: 'v1',
  kind: 'ConfigMap',
  namespace,
  name,
})

function configMap(name: string, data: Record<string, string> = { key: 'value' }): KubeObject {
  return { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, labels: { app: 'widget' } }, data }
}

function syncBody(children: unknown[], status: Record<string, unknown> = { phase: 'Running' }) {
  return { body: { status, children } }
}

const hookEntries = (timeline: TimelineEntry[], hook = 'sync') =>
  timeline.filter((e): e is HookEntry => e.type === 'hook' && e.hook === hook)
const events = (timeline: TimelineEntry[]) => timeline.filter((e): e is EventEntry => e.type === 'event')
const offsets = (entries: TimelineEntry[]) => entries.map((e) => e.at - DEFAULT_EPOCH_MS)

t.test(
  'first sync: request shape, children created with last-applied and ownerReference, status',
  async (t) => {
    const sim = await startWidgetSimulation(t, {
      handler: () => syncBody([configMap('w-config')]),
    })
    const parent = sim.cluster.create(widget('w'))
    const result = await sim.mc.runUntilIdle()
    t.equal(result.stoppedBy, 'idle')

    const first = sim.hook.callsTo('/sync')[0]!.body
    t.same(Object.keys(first).sort(), ['children', 'controller', 'finalizing', 'parent', 'related'])
    t.same(first.children, {
      'ConfigMap.v1': {},
      'Secret.v1': {},
      'Service.v1': {},
      'StatefulSet.apps/v1': {},
    })
    t.same(first.related, {})
    t.equal(first.finalizing, false)
    t.match(
      first.controller,
      { spec: { hooks: { sync: { version: 'v1' } } } },
      'CRD default version v1 is filled in',
    )

    const cm = sim.cluster.get(cmRef('w-config'))!
    t.same(cm.metadata.ownerReferences, [
      {
        apiVersion: 'example.com/v1',
        kind: 'Widget',
        name: 'w',
        uid: parent.metadata.uid,
        controller: true,
        blockOwnerDeletion: true,
      },
    ])
    t.same(cm.metadata.labels, { app: 'widget', 'controller-uid': parent.metadata.uid })
    t.same(JSON.parse(cm.metadata.annotations![LAST_APPLIED_ANNOTATION]!), {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: {
        name: 'w-config',
        namespace: 'default',
        labels: { app: 'widget', 'controller-uid': parent.metadata.uid },
      },
      data: { key: 'value' },
    })
    t.same(sim.cluster.get(parentRef())!.status, { phase: 'Running', observedGeneration: 1 })

    const second = sim.hook.callsTo('/sync')[1]!.body as {
      children: Record<string, Record<string, KubeObject>>
    }
    t.ok(second.children['ConfigMap.v1']!['w-config'], 'v1 keys: the bare name')
    t.equal(sim.mc.counters.syncs, 2, 'the status write triggered exactly one more sync')
    t.equal(total(sim.mc.counters.updates), 0, 'a steady hook causes no update')
  },
)

t.test('a stable status reaches a fixed point: no sync without a trigger', async (t) => {
  const sim = await startWidgetSimulation(t, { handler: () => syncBody([configMap('c')]) })
  sim.cluster.create(widget('w'))
  await sim.mc.runUntilIdle()
  const syncs = sim.mc.counters.syncs
  const writes = sim.mc.counters.statusWrites
  t.equal(writes, 1)
  const later = await sim.mc.runFor(3_600_000)
  t.equal(later.syncs, 0)
  t.equal(sim.mc.counters.syncs, syncs)
  t.equal(sim.clock.now(), DEFAULT_EPOCH_MS + 3_600_000, 'runFor leaves the clock at the end of the window')
})

t.test('a status that changes on every sync is a hot loop, stopped by maxSyncs', async (t) => {
  let n = 0
  const sim = await startWidgetSimulation(t, {
    handler: () => syncBody([], { phase: 'Running', message: `poll ${n++}` }),
  })
  sim.cluster.create(widget('w'))
  const result = await sim.mc.runUntilIdle({ maxSyncs: 25 })
  t.equal(result.stoppedBy, 'maxSyncs')
  t.equal(sim.mc.counters.statusWrites, 25)
  t.equal(sim.clock.now(), DEFAULT_EPOCH_MS, 'without any timer the loop spins at one instant')
})

t.test('a 200 with children: [] (or null, or missing) deletes every owned child, nothing else', async (t) => {
  for (const emptyChildren of [[], null, undefined]) {
    let children: unknown[] | null | undefined = [configMap('a'), configMap('b')]
    const sim = await startWidgetSimulation(t, {
      handler: () => ({ body: { status: {}, ...(children === undefined ? {} : { children }) } }),
    })
    sim.cluster.create({
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'unowned', namespace: 'default' },
    })
    sim.cluster.create(widget('w'))
    await sim.mc.runUntilIdle()
    t.ok(sim.cluster.get(cmRef('a')) && sim.cluster.get(cmRef('b')))
    children = emptyChildren
    sim.mc.enqueue('default/w')
    await sim.mc.runUntilIdle()
    t.equal(sim.cluster.get(cmRef('a')), undefined, `a deleted (${JSON.stringify(emptyChildren)})`)
    t.equal(sim.cluster.get(cmRef('b')), undefined)
    t.ok(sim.cluster.get(cmRef('unowned')), 'an object the parent does not own is untouched')
    t.equal(sim.mc.counters.deletes.ConfigMap, 2)
  }
})

t.test('a desired child whose labels do not match the selector aborts the whole sync', async (t) => {
  let bad = false
  const sim = await startWidgetSimulation(t, {
    handler: () => {
      if (!bad) return syncBody([configMap('keep')], { phase: 'Running' })
      const foreign = configMap('new')
      foreign.metadata.labels = { 'controller-uid': 'someone-else' }
      return syncBody([foreign], { phase: 'Changed' })
    },
  })
  sim.cluster.create(widget('w'))
  await sim.mc.runUntilIdle()
  const before = sim.cluster.get(parentRef())!
  bad = true
  sim.mc.enqueue('default/w')
  await sim.mc.step()
  t.ok(sim.cluster.get(cmRef('keep')), 'the child left out was not deleted')
  t.equal(sim.cluster.get(cmRef('new')), undefined, 'the new child was not created')
  t.same(sim.cluster.get(parentRef())!.status, before.status, 'no status written')
  const [event] = events(sim.mc.timeline)
  t.match(event, {
    reason: 'SyncError',
    message: /labels on desired child ConfigMap default\/new don't match/,
  })
})

t.test('a parent without spec.selector never syncs when generateSelector is off', async (t) => {
  const sim = await startWidgetSimulation(t, {
    controller: { generateSelector: false },
    handler: () => syncBody([configMap('c')]),
  })
  sim.cluster.create(widget('w'))
  await sim.mc.runUntilIdle({ maxSyncs: 3 })
  t.equal(sim.hook.calls.length, 0)
  t.match(events(sim.mc.timeline)[0], { message: /\.spec\.selector must have either matchLabels/ })
})

t.test('with a parent selector, desired children must carry matching labels', async (t) => {
  const sim = await startWidgetSimulation(t, {
    controller: { generateSelector: false },
    handler: () =>
      syncBody([configMap('match'), { ...configMap('nolabels'), metadata: { name: 'nolabels' } }]),
  })
  sim.cluster.create(widget('w', 'default', { selector: { matchLabels: { app: 'widget' } } }))
  await sim.mc.step()
  t.equal(sim.cluster.get(cmRef('match')), undefined, 'one mismatching child aborts everything')
  t.match(events(sim.mc.timeline)[0], { message: /ConfigMap default\/nolabels don't match/ })
})

t.test('hook failures change nothing and are retried with exponential backoff', async (t) => {
  const failures: Array<[string, () => import('./sim/index.js').ScriptedReply, RegExp]> = [
    ['500', () => ({ status: 500, body: { title: 'boom' } }), /unsupported status code: 500/],
    ['201', () => ({ status: 201, body: { children: [] } }), /unsupported status code: 201/],
    ['204', () => ({ status: 204, raw: '' }), /unsupported status code: 204/],
    ['invalid JSON', () => ({ raw: '{"children": [' }), /not JSON/],
    ['wrong type', () => ({ body: { children: {} } }), /"children" must be an array/],
    ['timeout', () => ({ hang: true }), /timed out after 150 ms/],
  ]
  for (const [label, failure, message] of failures) {
    t.test(label, async (t) => {
      let failing = false
      const sim = await startWidgetSimulation(t, {
        fetchTimeoutMs: 150,
        handler: () => (failing ? failure() : syncBody([configMap('keep')], { phase: 'Good' })),
      })
      sim.cluster.create(widget('w'))
      await sim.mc.runUntilIdle()
      const parentBefore = sim.cluster.get(parentRef())!
      const childBefore = sim.cluster.get(cmRef('keep'))!
      failing = true
      sim.mc.enqueue('default/w')
      const start = sim.clock.now()
      await sim.mc.runUntilIdle({ maxSyncs: 5 })
      const failed = hookEntries(sim.mc.timeline).filter((e) => e.error)
      t.equal(failed.length, 5)
      t.match(failed[0]!.error, message)
      t.same(
        failed.map((e) => e.at - start),
        [0, 5, 15, 35, 75],
        'retried after 5, 10, 20, 40 ms of virtual time',
      )
      t.equal(events(sim.mc.timeline).length, 5, 'one SyncError event per failure')
      t.same(sim.cluster.get(parentRef()), parentBefore, 'parent (status) unchanged')
      t.same(sim.cluster.get(cmRef('keep')), childBefore, 'child unchanged')
      t.equal(sim.mc.counters.hookErrors, 5)

      failing = false
      await sim.mc.runUntilIdle()
      t.equal(sim.mc.counters.hookErrors, 5, 'recovers on the next retry')
    })
  }
})

t.test('a connection error is a failed sync too', async (t) => {
  const cluster = new Cluster({ clock: new VirtualClock() })
  cluster.registerCrd(widgetCrd())
  // Nothing listens on port 1: the connection is refused.
  const mc = new Metacontroller({ baseUrl: 'http://127.0.0.1:1', controller: widgetController(), cluster })
  t.teardown(() => mc.stop())
  cluster.create(widget('w'))
  await mc.runUntilIdle({ maxSyncs: 2 })
  const failed = hookEntries(mc.timeline)
  t.equal(failed.length, 2)
  t.equal(failed[0]?.status, undefined, 'no HTTP response')
  t.match(failed[0]?.error, /sync hook failed: fetch failed/)
  t.equal(events(mc.timeline).length, 2)
  t.equal(cluster.get(parentRef())!.status, undefined)
})

t.test('429 requeues after Retry-After, with no SyncError event', async (t) => {
  let busy = true
  const sim = await startWidgetSimulation(t, {
    handler: () => (busy ? { status: 429, headers: { 'retry-after': '7' }, body: {} } : syncBody([])),
  })
  sim.cluster.create(widget('w'))
  await sim.mc.step()
  busy = false
  await sim.mc.runUntilIdle()
  const syncs = hookEntries(sim.mc.timeline)
  t.same(offsets(syncs).slice(0, 2), [0, 7000])
  t.equal(events(sim.mc.timeline).length, 0)
})

t.test('resyncAfterSeconds schedules one more sync at the right virtual time', async (t) => {
  let calls = 0
  const sim = await startWidgetSimulation(t, {
    handler: () => ({
      body: { status: {}, children: [], ...(calls++ === 0 ? { resyncAfterSeconds: 30 } : {}) },
    }),
  })
  sim.cluster.create(widget('w'))
  await sim.mc.runUntilIdle()
  const syncs = hookEntries(sim.mc.timeline)
  t.same(offsets(syncs), [0, 0, 30_000], 'initial sync, status-write sync, then the resync 30 s later')
  t.same(syncs[2]!.triggers, ['resyncAfterSeconds'])
})

t.test('fractional resyncAfterSeconds and dedupe with events', async (t) => {
  const sim = await startWidgetSimulation(t, {
    handler: () => ({ body: { status: {}, children: [], resyncAfterSeconds: 0.5 } }),
  })
  sim.cluster.create(widget('w'))
  await sim.mc.runFor(2000)
  // t=0 sync (+status write -> sync at 0), then one every 500 ms: 500, 1000, 1500, 2000.
  t.same(offsets(hookEntries(sim.mc.timeline)), [0, 0, 500, 1000, 1500, 2000])
})

t.test('resyncPeriodSeconds resyncs every parent; runUntilIdle does not wait for it', async (t) => {
  const sim = await startWidgetSimulation(t, {
    controller: { resyncPeriodSeconds: 60 },
    handler: () => syncBody([]),
  })
  sim.cluster.create(widget('a'))
  sim.cluster.create(widget('b'))
  const settle = await sim.mc.runUntilIdle()
  t.equal(settle.stoppedBy, 'idle')
  t.equal(sim.clock.now(), DEFAULT_EPOCH_MS, 'the periodic tick alone does not keep it busy')
  const window = await sim.mc.runFor(180_000)
  t.equal(window.syncs, 6, 'two parents x three periods')
})

t.test('v1 and v2 inner keys for children and related', async (t) => {
  for (const version of ['v1', 'v2'] as const) {
    const sim = await startWidgetSimulation(t, {
      controller: { version, customize: true },
      handler: (call: ScriptedCall) =>
        call.path === '/customize'
          ? { body: { relatedResources: [{ apiVersion: 'v1', resource: 'secrets', names: ['creds'] }] } }
          : syncBody([configMap('c')]),
    })
    sim.cluster.create({
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name: 'creds', namespace: 'ns' },
      stringData: { password: 'p' },
    })
    sim.cluster.create(widget('w', 'ns'))
    await sim.mc.runUntilIdle()
    const last = sim.mc.lastRequest as { children: Record<string, object>; related: Record<string, object> }
    const key = version === 'v1' ? 'c' : 'ns/c'
    t.same(Object.keys(last.children['ConfigMap.v1']!), [key], `${version} children key`)
    t.same(
      Object.keys(last.related['Secret.v1']!),
      [version === 'v1' ? 'creds' : 'ns/creds'],
      `${version} related`,
    )
  }
})

t.test('customize: cached per generation, related changes trigger a sync, v1 namespace rule', async (t) => {
  let namespace: string | undefined
  const sim = await startWidgetSimulation(t, {
    controller: { customize: true },
    handler: (call) =>
      call.path === '/customize'
        ? {
            body: {
              relatedResources: [{ apiVersion: 'v1', resource: 'secrets', names: ['creds'], namespace }],
            },
          }
        : syncBody([]),
  })
  sim.cluster.create(widget('w'))
  await sim.mc.runUntilIdle()
  t.equal(sim.mc.counters.customizeCalls, 1, 'one customize call for several syncs of one generation')
  t.same(
    (sim.mc.lastRequest as { related: object }).related,
    { 'Secret.v1': {} },
    'a group per rule, even empty',
  )

  const syncsBefore = sim.mc.counters.syncs
  sim.cluster.create({ apiVersion: 'v1', kind: 'Secret', metadata: { name: 'creds', namespace: 'default' } })
  sim.cluster.create({
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: { name: 'unrelated', namespace: 'default' },
  })
  await sim.mc.runUntilIdle()
  t.equal(sim.mc.counters.syncs, syncsBefore + 1, 'only the related Secret triggered a sync')
  t.ok(
    (sim.mc.lastRequest as { related: Record<string, Record<string, unknown>> }).related['Secret.v1']!.creds,
  )

  namespace = 'elsewhere'
  sim.cluster.mutate(parentRef(), (w) => {
    w.spec = { changed: true }
  })
  await sim.mc.runUntilIdle({ maxSyncs: 1 })
  t.equal(sim.mc.counters.customizeCalls, 2, 'a new generation calls customize again')
  t.match(events(sim.mc.timeline).at(-1), {
    message: /requested related object namespace elsewhere differs from parent object namespace default/,
  })
})

t.test('v2 responses are strict about unknown fields; v1 ignores them', async (t) => {
  for (const version of ['v1', 'v2'] as const) {
    const sim = await startWidgetSimulation(t, {
      controller: { version },
      handler: () => ({ body: { status: {}, children: [], extra: true } }),
    })
    sim.cluster.create(widget('w'))
    await sim.mc.runUntilIdle({ maxSyncs: 2 })
    t.equal(sim.mc.counters.hookErrors, version === 'v1' ? 0 : 2, version)
  }
})

t.test('the 3-way merge keeps server defaults and removes fields dropped from desired', async (t) => {
  let withAnnotation = true
  const service = () => ({
    apiVersion: 'v1',
    kind: 'Service',
    metadata: {
      name: 'api',
      labels: { app: 'widget' },
      ...(withAnnotation ? { annotations: { 'example.com/extra': 'yes' } } : {}),
    },
    spec: { selector: { app: 'widget' }, ports: [{ name: 'http', port: 80 }] },
  })
  const sim = await startWidgetSimulation(t, { handler: () => syncBody([service()]) })
  sim.cluster.create(widget('w'))
  await sim.mc.runUntilIdle()
  const svcRef = { apiVersion: 'v1', kind: 'Service', namespace: 'default', name: 'api' }
  const created = sim.cluster.get(svcRef)!
  t.equal(total(sim.mc.counters.updates), 0, 'server defaults alone cause no update')

  withAnnotation = false
  sim.mc.enqueue('default/w')
  await sim.mc.runUntilIdle()
  const updated = sim.cluster.get(svcRef)!
  t.equal(sim.mc.counters.updates.Service, 1)
  t.equal(updated.metadata.annotations?.['example.com/extra'], undefined, 'the dropped annotation is removed')
  t.match(updated.spec, {
    clusterIP: (created.spec as { clusterIP: string }).clusterIP,
    sessionAffinity: 'None',
    ports: [{ port: 80, protocol: 'TCP', targetPort: 80 }],
  })
  const [write] = sim.mc.childWrites('Service', 'api', 'update')
  t.match(write?.paths, ['metadata.annotations.example.com/extra', /last-applied-configuration/])
})

t.test('an out-of-band edit of a child triggers a sync that reverts it (InPlace)', async (t) => {
  const sim = await startWidgetSimulation(t, { handler: () => syncBody([configMap('c')]) })
  sim.cluster.create(widget('w'))
  await sim.mc.runUntilIdle()
  sim.cluster.mutate(cmRef('c'), (cm) => {
    cm.data = { key: 'tampered' }
  })
  await sim.mc.runUntilIdle()
  t.same(sim.cluster.get(cmRef('c'))!.data, { key: 'value' })
  t.match(hookEntries(sim.mc.timeline).at(-2)?.triggers, ['ConfigMap c modified'])
})

t.test('update strategies: OnDelete never updates, Recreate deletes and recreates', async (t) => {
  let value = 'one'
  const sim = await startWidgetSimulation(t, {
    controller: { strategies: { configmaps: 'Recreate', secrets: 'OnDelete' } },
    handler: () =>
      syncBody([
        configMap('c', { key: value }),
        { apiVersion: 'v1', kind: 'Secret', metadata: { name: 's', labels: {} }, data: { v: btoa(value) } },
      ]),
  })
  sim.cluster.create(widget('w'))
  await sim.mc.runUntilIdle()
  const firstUid = sim.cluster.get(cmRef('c'))!.metadata.uid
  value = 'two'
  sim.mc.enqueue('default/w')
  await sim.mc.runUntilIdle()
  const cm = sim.cluster.get(cmRef('c'))!
  t.not(cm.metadata.uid, firstUid, 'Recreate: a new object')
  t.same(cm.data, { key: 'two' })
  const secret = sim.cluster.get({ apiVersion: 'v1', kind: 'Secret', namespace: 'default', name: 's' })!
  t.same(secret.data, { v: btoa('one') }, 'OnDelete: left as it is')
  t.ok(sim.mc.counters.skippedUpdates.Secret! >= 1)
  t.equal(total(sim.mc.counters.updates), 0)
})

function statefulSet(vctForm: 'short' | 'stored', serviceName = 'w-headless'): KubeObject {
  const claim =
    vctForm === 'short'
      ? {
          metadata: { name: 'data' },
          spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } } },
        }
      : {
          apiVersion: 'v1',
          kind: 'PersistentVolumeClaim',
          metadata: { name: 'data' },
          spec: {
            accessModes: ['ReadWriteOnce'],
            resources: { requests: { storage: '1Gi' } },
            volumeMode: 'Filesystem',
          },
          status: { phase: 'Pending' },
        }
  return {
    apiVersion: 'apps/v1',
    kind: 'StatefulSet',
    metadata: { name: 'w', labels: { app: 'widget' } },
    spec: {
      serviceName,
      replicas: 1,
      selector: { matchLabels: { app: 'widget' } },
      template: {
        metadata: { labels: { app: 'widget' } },
        spec: {
          containers: [
            { name: 'main', image: 'example/widget:1.0', ports: [{ name: 'http', containerPort: 80 }] },
          ],
        },
      },
      volumeClaimTemplates: [claim],
    },
  }
}

t.test('a steady hook returning the stored form of every list causes zero updates', async (t) => {
  const sim = await startWidgetSimulation(t, {
    handler: () => syncBody([statefulSet('stored')]),
  })
  sim.cluster.create(widget('w'))
  await sim.mc.runUntilIdle()
  for (let i = 0; i < 5; i++) {
    sim.mc.enqueue('default/w')
    await sim.mc.runUntilIdle()
  }
  t.equal(sim.mc.counters.syncs, 7)
  t.equal(total(sim.mc.counters.updates), 0)
})

t.test('the short form of volumeClaimTemplates causes an update on every sync', async (t) => {
  const sim = await startWidgetSimulation(t, {
    handler: () => syncBody([statefulSet('short')]),
  })
  sim.cluster.create(widget('w'))
  await sim.mc.runUntilIdle()
  for (let i = 0; i < 3; i++) {
    sim.mc.enqueue('default/w')
    await sim.mc.runUntilIdle()
  }
  t.equal(
    sim.mc.counters.updates.StatefulSet,
    sim.mc.counters.syncs - 1,
    'one update per sync after the create',
  )
  const [update] = sim.mc.childWrites('StatefulSet', 'w', 'update')
  t.ok(update?.paths?.some((p) => p.startsWith('spec.volumeClaimTemplates')))
})

t.test(
  'changing an immutable StatefulSet field fails with 422, forever, while status is still written',
  async (t) => {
    let serviceName = 'w-headless'
    let phase = 'Running'
    const sim = await startWidgetSimulation(t, {
      handler: () => syncBody([statefulSet('stored', serviceName)], { phase }),
    })
    sim.cluster.create(widget('w'))
    await sim.mc.runUntilIdle()
    serviceName = 'renamed'
    phase = 'Updating'
    sim.mc.enqueue('default/w')
    await sim.mc.runUntilIdle({ maxSyncs: 6 })
    const failedUpdates = sim.mc
      .childWrites('StatefulSet', 'w', 'update')
      .filter((e: ChildEntry) => e.result !== 'ok')
    t.ok(failedUpdates.length >= 5, 'the update is retried and fails every time')
    t.equal(failedUpdates[0]!.result, 'Invalid')
    t.match(failedUpdates[0]!.error, /spec\.serviceName: field is immutable/)
    t.match(
      events(sim.mc.timeline).at(-1)?.message,
      /can't reconcile children: update StatefulSet default\/w/,
    )
    const sts = sim.cluster.get({
      apiVersion: 'apps/v1',
      kind: 'StatefulSet',
      namespace: 'default',
      name: 'w',
    })!
    t.equal((sts.spec as { serviceName: string }).serviceName, 'w-headless')
    t.match(
      sim.cluster.get(parentRef())!.status,
      { phase: 'Updating' },
      'status is written despite child errors',
    )
  },
)

t.test(
  'AlreadyExists for an unowned object of the same name is swallowed; it is never touched',
  async (t) => {
    const sim = await startWidgetSimulation(t, {
      handler: () => syncBody([configMap('taken')]),
    })
    const squatter = sim.cluster.create({
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'taken', namespace: 'default' },
      data: { someone: 'else' },
    })
    sim.cluster.create(widget('w'))
    await sim.mc.runUntilIdle()
    t.same(sim.cluster.get(cmRef('taken')), squatter)
    t.equal(events(sim.mc.timeline).length, 0, 'no SyncError')
    const creates = sim.mc.childWrites('ConfigMap', 'taken', 'create')
    t.ok(creates.length >= 1 && creates.every((e) => e.result === 'AlreadyExists'))
    t.same((sim.mc.lastRequest as { children: Record<string, object> }).children['ConfigMap.v1'], {})
  },
)

t.test('an orphan matching the selector is adopted; one that stops matching is released', async (t) => {
  const sim = await startWidgetSimulation(t, { handler: () => syncBody([configMap('c')]) })
  const parent = sim.cluster.create(widget('w'))
  sim.cluster.create({
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name: 'c', namespace: 'default', labels: { 'controller-uid': parent.metadata.uid! } },
  })
  await sim.mc.runUntilIdle()
  const adopted = sim.cluster.get(cmRef('c'))!
  t.equal(adopted.metadata.ownerReferences?.[0]?.uid, parent.metadata.uid)
  t.same(adopted.data, { key: 'value' }, 'then updated to the desired state')
  t.ok(sim.mc.childWrites('ConfigMap', 'c', 'adopt').length === 1)

  sim.mc.stop()
  sim.cluster.mutate(cmRef('c'), (cm) => {
    cm.metadata.labels = { 'controller-uid': 'other' }
  })
  sim.mc.start()
  await sim.mc.runUntilIdle({ maxSyncs: 1 })
  t.equal(sim.cluster.get(cmRef('c'))!.metadata.ownerReferences, undefined, 'released')
})

t.test('a status write triggers exactly one more sync; ignoreStatusChanges drops it', async (t) => {
  for (const ignoreStatusChanges of [false, true]) {
    const sim = await startWidgetSimulation(t, {
      controller: { ignoreStatusChanges },
      handler: () => syncBody([]),
    })
    sim.cluster.create(widget('w'))
    await sim.mc.runUntilIdle()
    t.equal(sim.mc.counters.statusWrites, 1)
    t.equal(sim.mc.counters.syncs, ignoreStatusChanges ? 1 : 2, `ignoreStatusChanges: ${ignoreStatusChanges}`)
  }
})

t.test('status: null writes just observedGeneration; a spec edit updates observedGeneration', async (t) => {
  const sim = await startWidgetSimulation(t, {
    handler: () => ({ body: { status: null, children: [] } }),
  })
  sim.cluster.create(widget('w'))
  await sim.mc.runUntilIdle()
  t.same(sim.cluster.get(parentRef())!.status, { observedGeneration: 1 })
  sim.cluster.mutate(parentRef(), (w) => {
    w.spec = { size: 2 }
  })
  await sim.mc.runUntilIdle()
  t.same(sim.cluster.get(parentRef())!.status, { observedGeneration: 2 })
})

t.test('status fields the CRD does not declare are pruned; the write is recorded as unchanged', async (t) => {
  const sim = await startWidgetSimulation(t, {
    handler: () => syncBody([], { phase: 'Running', undeclared: 1 }),
  })
  sim.cluster.create(widget('w'))
  await sim.mc.runUntilIdle()
  t.same(sim.cluster.get(parentRef())!.status, { phase: 'Running', observedGeneration: 1 })
  const writes = sim.mc.timeline.filter((e) => e.type === 'status')
  t.match(
    writes,
    [{ changed: true }, { changed: false }],
    'the second sync writes again, the server stores nothing new',
  )
})

t.test('the hook is called at the path of each webhook url, on the base URL', async (t) => {
  const sim = await startWidgetSimulation(t, { handler: () => syncBody([]) })
  sim.cluster.create(widget('w'))
  await sim.mc.runUntilIdle()
  t.same(
    sim.hook.calls.map((c) => c.path),
    ['/sync', '/sync'],
  )
})

t.test(
  'a child in another namespace is created, never observed, and garbage-collected each time',
  async (t) => {
    const elsewhere = { ...configMap('far'), metadata: { name: 'far', namespace: 'other', labels: {} } }
    const sim = await startWidgetSimulation(t, { handler: () => syncBody([elsewhere]) })
    sim.cluster.create(widget('w'))
    await sim.mc.runUntilIdle()
    sim.mc.enqueue('default/w')
    await sim.mc.runUntilIdle()
    t.equal(sim.cluster.get(cmRef('far', 'other')), undefined, 'the garbage collector removed it')
    t.ok(sim.mc.counters.creates.ConfigMap! >= 2, 'created again on every sync')
    t.same((sim.mc.lastRequest as { children: Record<string, object> }).children['ConfigMap.v1'], {})
  },
)
