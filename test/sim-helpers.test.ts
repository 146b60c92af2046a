import { fileURLToPath } from 'node:url'
import t from 'tap'
import { widget, widgetCrd } from './sim/examples.js'
import {
  Cluster,
  DEFAULT_EPOCH_MS,
  type KubeObject,
  loadCompositeController,
  loadCrds,
  Metacontroller,
  objectKey,
  parseGoDuration,
  parseRetryAfter,
  parseYamlObjects,
  selectorMatches,
  VirtualClock,
} from './sim/index.js'
import { relatedObjects } from './sim/related.js'
import { hookUrl } from './sim/webhook.js'

const manifest = (name: string) => fileURLToPath(new URL(`../manifests/${name}`, import.meta.url))

t.test('label selectors: matchLabels and every matchExpressions operator', async (t) => {
  const labels = { app: 'x', tier: 'db' }
  t.ok(selectorMatches(undefined, labels))
  t.ok(selectorMatches({}, labels), 'an empty selector matches everything')
  t.ok(selectorMatches({ matchLabels: { app: 'x' } }, labels))
  t.notOk(selectorMatches({ matchLabels: { app: 'y' } }, labels))
  t.ok(
    selectorMatches({ matchExpressions: [{ key: 'tier', operator: 'In', values: ['db', 'web'] }] }, labels),
  )
  t.notOk(selectorMatches({ matchExpressions: [{ key: 'tier', operator: 'NotIn', values: ['db'] }] }, labels))
  t.ok(selectorMatches({ matchExpressions: [{ key: 'zone', operator: 'NotIn', values: ['a'] }] }, labels))
  t.ok(selectorMatches({ matchExpressions: [{ key: 'app', operator: 'Exists' }] }, labels))
  t.notOk(selectorMatches({ matchExpressions: [{ key: 'app', operator: 'DoesNotExist' }] }, labels))
})

t.test('ObjectMap keys: v1 bare names, v2 namespace/name, v1 under a cluster-scoped parent', async (t) => {
  const obj: KubeObject = { apiVersion: 'v1', kind: 'Secret', metadata: { name: 's', namespace: 'ns' } }
  const clusterScoped: KubeObject = { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'ns' } }
  t.equal(objectKey(obj, true, 'v1'), 's')
  t.equal(objectKey(obj, true, 'v2'), 'ns/s')
  t.equal(objectKey(obj, false, 'v1'), 'ns/s')
  t.equal(objectKey(clusterScoped, true, 'v2'), 'ns')
})

t.test('related rules: names, labelSelector, namespaceSelector, v1 namespace filtering', async (t) => {
  const cluster = new Cluster({ clock: new VirtualClock() })
  cluster.registerCrd(widgetCrd())
  cluster.create({
    apiVersion: 'v1',
    kind: 'Namespace',
    metadata: { name: 'shared', labels: { share: 'yes' } },
  })
  const secret = (name: string, namespace: string, labels: Record<string, string> = {}) =>
    cluster.create({ apiVersion: 'v1', kind: 'Secret', metadata: { name, namespace, labels } })
  secret('a', 'home', { pick: 'me' })
  secret('b', 'home')
  secret('c', 'shared', { pick: 'me' })
  secret('d', 'other', { pick: 'me' })
  const parent = cluster.create(widget('w', 'home'))
  const ctx = (version: 'v1' | 'v2') => ({ cluster, parent, customizeVersion: version, syncVersion: version })
  const keys = (map: Record<string, Record<string, unknown>>) =>
    Object.fromEntries(Object.entries(map).map(([k, v]) => [k, Object.keys(v).sort()]))

  t.same(keys(relatedObjects([{ apiVersion: 'v1', resource: 'secrets', names: ['a', 'c'] }], ctx('v1'))), {
    'Secret.v1': ['a'],
  })
  t.same(
    keys(
      relatedObjects(
        [{ apiVersion: 'v1', resource: 'secrets', labelSelector: { matchLabels: { pick: 'me' } } }],
        ctx('v1'),
      ),
    ),
    { 'Secret.v1': ['a'] },
    'v1 with a namespaced parent sees its own namespace only',
  )
  t.same(
    keys(
      relatedObjects(
        [{ apiVersion: 'v1', resource: 'secrets', labelSelector: { matchLabels: { pick: 'me' } } }],
        ctx('v2'),
      ),
    ),
    { 'Secret.v1': ['home/a', 'other/d', 'shared/c'] },
    'v2: any namespace',
  )
  t.same(
    keys(
      relatedObjects(
        [{ apiVersion: 'v1', resource: 'secrets', namespaceSelector: { matchLabels: { share: 'yes' } } }],
        ctx('v2'),
      ),
    ),
    { 'Secret.v1': ['shared/c'] },
  )
  t.same(keys(relatedObjects([{ apiVersion: 'v1', resource: 'secrets' }], ctx('v1'))), {
    'Secret.v1': ['a', 'b'],
  })
  t.same(keys(relatedObjects([{ apiVersion: 'v1', resource: 'configmaps', names: ['none'] }], ctx('v1'))), {
    'ConfigMap.v1': [],
  })

  const invalid: Array<[object, RegExp, 'v1' | 'v2']> = [
    [{ names: ['a'], labelSelector: {} }, /"names" cannot be combined/, 'v2'],
    [{ namespace: 'x', namespaceSelector: {} }, /"namespace" cannot be combined/, 'v2'],
    [{ namespace: 'shared', names: ['c'] }, /differs from parent object namespace home/, 'v1'],
    [{ namespaceSelector: {} }, /needs hook v2/, 'v1'],
  ]
  for (const [rule, message, version] of invalid) {
    t.throws(() => relatedObjects([{ apiVersion: 'v1', resource: 'secrets', ...rule }], ctx(version)), {
      message,
    })
  }
  t.throws(() => relatedObjects([{ apiVersion: 'v1', resource: 'nothings' }], ctx('v2')), {
    message: /can't find resource/,
  })
})

t.test('webhook helpers: URL path on the base URL, Go durations, Retry-After', async (t) => {
  t.equal(
    hookUrl('http://127.0.0.1:8080/', { webhook: { url: 'http://hooks.ns/sync?x=1' } }),
    'http://127.0.0.1:8080/sync?x=1',
  )
  t.equal(
    hookUrl('http://127.0.0.1:8080', {
      webhook: { service: { name: 'h', namespace: 'n' }, path: '/finalize' },
    }),
    'http://127.0.0.1:8080/finalize',
  )
  t.equal(hookUrl('http://127.0.0.1:8080', { webhook: {} }), undefined)
  t.equal(parseGoDuration('15s'), 15_000)
  t.equal(parseGoDuration('1m30s'), 90_000)
  t.equal(parseGoDuration('250ms'), 250)
  t.equal(parseGoDuration('15'), undefined)
  t.equal(parseGoDuration('abc'), undefined)
  t.equal(parseRetryAfter('3', DEFAULT_EPOCH_MS), 3000)
  t.equal(parseRetryAfter(null, DEFAULT_EPOCH_MS), 0)
  t.equal(parseRetryAfter('soon', DEFAULT_EPOCH_MS), 0)
  t.equal(parseRetryAfter(new Date(DEFAULT_EPOCH_MS + 4000).toUTCString(), DEFAULT_EPOCH_MS), 4000)
})

t.test('YAML: multi-document text, empty documents and List flattening', async (t) => {
  const objects = parseYamlObjects(
    [
      'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}',
      '',
      'apiVersion: v1\nkind: List\nitems:\n  - {apiVersion: v1, kind: Secret, metadata: {name: b}}',
    ].join('\n---\n'),
  )
  t.same(
    objects.map((o) => `${o.kind}/${o.metadata.name}`),
    ['ConfigMap/a', 'Secret/b'],
  )
  t.throws(() => parseYamlObjects('a: [unclosed'), { message: /invalid YAML/ })
})

t.test("the project's CompositeController and CRD load into the simulator", async (t) => {
  const cluster = new Cluster({ clock: new VirtualClock() })
  for (const crd of loadCrds(manifest('crd/dittoservers.yaml'))) cluster.registerCrd(crd)
  const controller = loadCompositeController(manifest('compositecontroller.yaml'))
  const mc = new Metacontroller({ baseUrl: 'http://127.0.0.1:1', controller, cluster })
  t.teardown(() => mc.stop())
  t.equal(mc.finalizerName, `metacontroller.io/compositecontroller-${controller.metadata.name}`)
  t.ok(cluster.resources.byKind('dittofs.dittofs.com/v1alpha1', 'DittoServer')?.statusSubresource)
})

t.test('a parent type without the status subresource is refused, as Metacontroller ignores it', async (t) => {
  const cluster = new Cluster({ clock: new VirtualClock() })
  const crd = widgetCrd()
  const versions = (crd.spec as { versions: Array<Record<string, unknown>> }).versions
  delete versions[0]!.subresources
  cluster.registerCrd(crd)
  const controller = loadCompositeController(manifest('compositecontroller.yaml'))
  controller.spec.parentResource = { apiVersion: 'example.com/v1', resource: 'widgets' }
  t.throws(() => new Metacontroller({ baseUrl: 'http://127.0.0.1:1', controller, cluster }), {
    message: /does not have subresource 'Status'/,
  })
})
