import t from 'tap'
import { widget } from './sim/examples.js'
import { type HookEntry, type KubeObject, type ScriptedCall, type TimelineEntry, total } from './sim/index.js'
import { startWidgetSimulation } from './sim/testing.js'

const FINALIZER = 'metacontroller.io/compositecontroller-widget-controller'
const parentRef = { apiVersion: 'example.com/v1', kind: 'Widget', namespace: 'default', name: 'w' }
const cmRef = (name: string) => ({ apiVersion: 'v1', kind: 'ConfigMap', namespace: 'default', name })

function configMap(name: string): KubeObject {
  return { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name }, data: { name } }
}

type Request = {
  parent: KubeObject
  children: Record<string, Record<string, KubeObject>>
  finalizing: boolean
}

const observedConfigMaps = (call: ScriptedCall) =>
  Object.keys((call.body as Request).children['ConfigMap.v1'] ?? {})
const hookCalls = (timeline: TimelineEntry[]) => timeline.filter((e): e is HookEntry => e.type === 'hook')

t.test(
  'ordered teardown: finalizer first, finalizing calls keep managing children, finalized removes it',
  async (t) => {
    const sim = await startWidgetSimulation(t, {
      controller: { finalize: true },
      handler: (call) => {
        if (call.path === '/sync')
          return { body: { status: { phase: 'Running' }, children: [configMap('a'), configMap('b')] } }
        // Finalize: drop b first, then a, then report done once nothing is observed.
        const observed = observedConfigMaps(call)
        const keep = observed.includes('b') ? [configMap('a')] : []
        return {
          body: { status: { phase: 'Terminating' }, children: keep, finalized: observed.length === 0 },
        }
      },
    })
    sim.cluster.create(widget('w'))
    await sim.mc.runUntilIdle()

    const [first] = sim.hook.callsTo('/sync')
    t.same(
      (first!.body as Request).parent.metadata.finalizers,
      [FINALIZER],
      'the first hook call sees our finalizer',
    )
    t.equal(sim.mc.timeline[0]?.type, 'finalizer', 'the finalizer is added before the first hook call')
    t.ok(sim.cluster.get(cmRef('a')) && sim.cluster.get(cmRef('b')))

    sim.cluster.delete(parentRef)
    t.ok(sim.cluster.get(parentRef)?.metadata.deletionTimestamp, 'held by our finalizer')
    await sim.mc.runUntilIdle()

    const finalizeCalls = sim.hook.callsTo('/finalize')
    t.ok(finalizeCalls.length >= 3)
    t.ok(finalizeCalls.every((call) => (call.body as Request).finalizing === true))
    t.same(
      finalizeCalls.map(observedConfigMaps).slice(0, 3),
      [['a', 'b'], ['a'], []],
      'children torn down in order',
    )
    t.equal(
      sim.cluster.get(parentRef),
      undefined,
      'finalized: true removed the finalizer; the parent is gone',
    )
    t.equal(sim.hook.callsTo('/sync').length, 2, 'no sync call while finalizing')
    const removal = sim.mc.timeline.find((e) => e.type === 'finalizer' && e.action === 'remove')
    t.ok(removal)
  },
)

t.test(
  'finalized: true with children: those children are not applied; the rest is garbage-collected',
  async (t) => {
    let deleting = false
    const sim = await startWidgetSimulation(t, {
      controller: { finalize: true },
      handler: () =>
        deleting
          ? { body: { status: {}, children: [configMap('a'), configMap('late')], finalized: true } }
          : { body: { status: {}, children: [configMap('a'), configMap('b')] } },
    })
    sim.cluster.create(widget('w'))
    await sim.mc.runUntilIdle()
    deleting = true
    sim.cluster.delete(parentRef)
    await sim.mc.runUntilIdle()
    t.equal(sim.cluster.get(parentRef), undefined)
    t.equal(sim.cluster.get(cmRef('late')), undefined, 'not created after the finalizer was removed')
    t.equal(sim.cluster.get(cmRef('a')), undefined, 'owned children garbage-collected with the parent')
    t.equal(sim.cluster.get(cmRef('b')), undefined)
    t.equal(sim.mc.counters.finalizeCalls, 1)
  },
)

t.test('status is written while finalizing', async (t) => {
  let finalized = false
  const sim = await startWidgetSimulation(t, {
    controller: { finalize: true },
    handler: (call) =>
      call.path === '/sync'
        ? { body: { status: { phase: 'Running' }, children: [] } }
        : { body: { status: { phase: 'Terminating' }, children: [], finalized } },
  })
  sim.cluster.create(widget('w'))
  await sim.mc.runUntilIdle()
  sim.cluster.delete(parentRef)
  await sim.mc.runUntilIdle()
  t.match(sim.cluster.get(parentRef)?.status, { phase: 'Terminating', observedGeneration: 2 })
  finalized = true
  sim.mc.enqueue('default/w')
  await sim.mc.runUntilIdle()
  t.equal(sim.cluster.get(parentRef), undefined)
})

t.test('a failing finalize hook keeps the parent and retries with backoff', async (t) => {
  let healthy = false
  const sim = await startWidgetSimulation(t, {
    controller: { finalize: true },
    handler: (call) => {
      if (call.path === '/sync') return { body: { status: {}, children: [configMap('a')] } }
      return healthy ? { body: { status: {}, children: [], finalized: true } } : { status: 503, body: {} }
    },
  })
  sim.cluster.create(widget('w'))
  await sim.mc.runUntilIdle()
  sim.cluster.delete(parentRef)
  await sim.mc.runUntilIdle({ maxSyncs: 4 })
  t.ok(sim.cluster.get(parentRef), 'still there')
  t.ok(sim.cluster.get(cmRef('a')), 'children untouched while the hook fails')
  const failed = hookCalls(sim.mc.timeline).filter((e) => e.hook === 'finalize' && e.error)
  t.equal(failed.length, 4)
  healthy = true
  await sim.mc.runUntilIdle()
  t.equal(sim.cluster.get(parentRef), undefined)
  t.equal(sim.cluster.get(cmRef('a')), undefined)
})

t.test(
  'another finalizer keeps the parent: later calls are plain syncs that manage no children',
  async (t) => {
    let finalizing = false
    const sim = await startWidgetSimulation(t, {
      controller: { finalize: true },
      handler: (call) =>
        call.path === '/sync'
          ? { body: { status: {}, children: finalizing ? [configMap('new')] : [configMap('a')] } }
          : { body: { status: {}, children: [configMap('a')], finalized: true } },
    })
    sim.cluster.create({
      ...widget('w'),
      metadata: { name: 'w', namespace: 'default', finalizers: ['example.com/hold'] },
    })
    await sim.mc.runUntilIdle()
    finalizing = true
    const syncCallsBefore = sim.hook.callsTo('/sync').length
    sim.cluster.delete(parentRef)
    await sim.mc.runUntilIdle()
    const parent = sim.cluster.get(parentRef)
    t.same(parent?.metadata.finalizers, ['example.com/hold'], 'only our finalizer was removed')
    const laterSyncs = sim.hook.callsTo('/sync').slice(syncCallsBefore)
    t.ok(laterSyncs.length >= 1, 'without our finalizer the sync hook is called')
    t.ok(laterSyncs.every((call) => (call.body as Request).finalizing === false))
    t.ok(sim.cluster.get(cmRef('a')), 'children are kept while the parent exists')
    t.equal(sim.cluster.get(cmRef('new')), undefined, 'and not managed')
    t.equal(total(sim.mc.counters.deletes), 0)
  },
)

t.test('a finalizer left over from a removed finalize hook is removed on the next sync', async (t) => {
  const sim = await startWidgetSimulation(t, {
    handler: () => ({ body: { status: {}, children: [] } }),
  })
  sim.cluster.create({
    ...widget('w'),
    metadata: { name: 'w', namespace: 'default', finalizers: [FINALIZER] },
  })
  await sim.mc.runUntilIdle()
  t.equal(sim.cluster.get(parentRef)?.metadata.finalizers, undefined)
  t.equal(sim.hook.callsTo('/finalize').length, 0)
})
