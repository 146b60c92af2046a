import t from 'tap'
import {
  canonicalJson,
  type KubeObject,
  LAST_APPLIED_ANNOTATION,
  mergeForUpdate,
  threeWayMerge,
} from './sim/index.js'

t.test('fields in last-applied but not in desired are removed; unmanaged fields are kept', async (t) => {
  const observed = { spec: { a: 1, b: 2, serverDefault: 'x' } }
  const lastApplied = { spec: { a: 1, b: 2 } }
  const desired = { spec: { a: 5 } }
  t.same(threeWayMerge(observed, lastApplied, desired), { spec: { a: 5, serverDefault: 'x' } })
})

t.test('without last-applied nothing is removed', async (t) => {
  t.same(threeWayMerge({ spec: { a: 1, b: 2 } }, undefined, { spec: { a: 3 } }), { spec: { a: 3, b: 2 } })
})

t.test('lists of objects sharing a known key merge item by item, keeping server-added fields', async (t) => {
  const observed = {
    ports: [
      { name: 'http', port: 80, protocol: 'TCP', targetPort: 80 },
      { name: 'old', port: 81, protocol: 'TCP', targetPort: 81 },
    ],
  }
  const lastApplied = {
    ports: [
      { name: 'http', port: 80 },
      { name: 'old', port: 81 },
    ],
  }
  const desired = {
    ports: [
      { name: 'web', port: 80 },
      { name: 'new', port: 82 },
    ],
  }
  t.same(threeWayMerge(observed, lastApplied, desired), {
    ports: [
      { name: 'web', port: 80, protocol: 'TCP', targetPort: 80 },
      { name: 'new', port: 82 },
    ],
  })
})

t.test('merge key priority: containerPort, port, mountPath, name, uid, ip, path', async (t) => {
  // Items have both name and mountPath: mountPath wins, so a renamed mount stays one item.
  const observed = { volumeMounts: [{ name: 'data', mountPath: '/data', readOnly: false }] }
  const desired = { volumeMounts: [{ name: 'renamed', mountPath: '/data' }] }
  t.same(threeWayMerge(observed, undefined, desired), {
    volumeMounts: [{ name: 'renamed', mountPath: '/data', readOnly: false }],
  })
})

t.test('lists without a shared known key are replaced wholesale', async (t) => {
  const observed = {
    volumeClaimTemplates: [
      {
        apiVersion: 'v1',
        kind: 'PersistentVolumeClaim',
        metadata: { name: 'data' },
        status: { phase: 'Pending' },
      },
    ],
    args: ['--a', '--b'],
  }
  const desired = { volumeClaimTemplates: [{ metadata: { name: 'data' } }], args: ['--c'] }
  t.same(threeWayMerge(observed, undefined, desired), {
    volumeClaimTemplates: [{ metadata: { name: 'data' } }],
    args: ['--c'],
  })
})

t.test('a list where one item lacks the key is replaced', async (t) => {
  const observed = { items: [{ name: 'a', x: 1 }, { other: 'b' }] }
  t.same(threeWayMerge(observed, undefined, { items: [{ name: 'a' }] }), { items: [{ name: 'a' }] })
})

t.test('a desired value of another type than the observed object is an error', async (t) => {
  t.throws(() => threeWayMerge({ spec: { a: { b: 1 } } }, undefined, { spec: { a: 'text' } }), {
    name: 'MergeError',
  })
})

t.test('mergeForUpdate reverts system metadata and status, and records the new last-applied', async (t) => {
  const observed: KubeObject = {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: {
      name: 'svc',
      namespace: 'default',
      uid: 'u-1',
      resourceVersion: '7',
      creationTimestamp: '2026-01-01T00:00:00Z',
      labels: { app: 'x' },
      annotations: { [LAST_APPLIED_ANNOTATION]: canonicalJson({ metadata: { labels: { app: 'x' } } }) },
    },
    spec: { clusterIP: '10.96.0.10', sessionAffinity: 'None' },
    status: { loadBalancer: {} },
  }
  const desired: KubeObject = {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: {
      name: 'svc',
      namespace: 'default',
      uid: 'forged',
      resourceVersion: '1',
      labels: { app: 'y' },
    },
    spec: { type: 'ClusterIP' },
    status: { loadBalancer: { ingress: [{ ip: '1.2.3.4' }] } },
  }
  const merged = mergeForUpdate(observed, desired)
  t.equal(merged.metadata.uid, 'u-1')
  t.equal(merged.metadata.resourceVersion, '7')
  t.same(merged.status, { loadBalancer: {} }, 'the hook can never change a child status')
  t.same(merged.spec, { clusterIP: '10.96.0.10', sessionAffinity: 'None', type: 'ClusterIP' })
  t.same(merged.metadata.labels, { app: 'y' })
  t.equal(merged.metadata.annotations?.[LAST_APPLIED_ANNOTATION], canonicalJson(desired))
})

t.test('mergeForUpdate of an unchanged desired object equals the observed one', async (t) => {
  const desired: KubeObject = {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name: 'cm', namespace: 'default', labels: { b: '2', a: '1' } },
    data: { k: 'v' },
  }
  const observed: KubeObject = {
    ...desired,
    metadata: {
      ...desired.metadata,
      uid: 'u',
      resourceVersion: '3',
      annotations: { [LAST_APPLIED_ANNOTATION]: canonicalJson(desired) },
    },
  }
  // Key order in the hook's JSON must not matter: Go sorts map keys when it writes the annotation.
  const reordered: KubeObject = {
    kind: 'ConfigMap',
    data: { k: 'v' },
    apiVersion: 'v1',
    metadata: { labels: { a: '1', b: '2' }, namespace: 'default', name: 'cm' },
  }
  t.same(mergeForUpdate(observed, reordered), observed)
})
