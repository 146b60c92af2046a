// What a tenant who can write a DittoServer (spec, metadata, and possibly its status) can make the hook do: it must
// not steer the hook to another API URL, namespace or Secret, nor reach past the annotations it may set.
import t, { type Test } from 'tap'
import { PollSchedule } from '../hooks/discovery/schedule.js'
import type { KubeObject, ObjectMap, SyncResponse } from '../hooks/metacontroller/types.js'
import { post, testApp } from './support/app.js'
import { converge, stubDiscovery } from './support/fuzz-stub.js'
import {
  asObserved,
  conditionOf,
  findChild,
  LAST_APPLIED,
  minimalSpec,
  parent,
  syncRequest,
  withReadyStatefulSet,
} from './support/requests.js'

const START = Date.parse('2026-03-01T00:00:00Z')

/** An app whose every sync may poll (the clock jumps 10 min per request), with discovery stubbed. */
function setup(t: Test, env: Record<string, string> = {}) {
  const stub = stubDiscovery()
  let clock = START
  const app = testApp(t, env, { discovery: stub.discovery, schedule: new PollSchedule(), now: () => clock })
  const advance = () => {
    clock += 600_000
  }
  return { app, stub, advance }
}

const secret = (name: string, namespace: string, data: Record<string, string>): KubeObject => ({
  apiVersion: 'v1',
  kind: 'Secret',
  metadata: { name, namespace },
  data: Object.fromEntries(Object.entries(data).map(([k, v]) => [k, Buffer.from(v).toString('base64')])),
})

t.test(
  'the API URL comes only from the template and the parent’s own name, namespace and port',
  async (t) => {
    const { app, stub, advance } = setup(t)
    const specs: Array<[string, Record<string, unknown>]> = [
      ['plain', minimalSpec()],
      [
        'url-ish fields the schema does not know',
        { ...minimalSpec(), apiUrl: 'http://evil.example', host: 'evil' },
      ],
      [
        'controlPlane extras',
        { ...minimalSpec(), controlPlane: { port: 9000, host: 'evil.example', url: 'http://x' } },
      ],
      ['database pointing elsewhere', { ...minimalSpec(), database: { sqlite: { path: '/x' } } }],
    ]
    for (const [label, spec] of specs) {
      stub.targets.splice(0)
      const p = parent(spec, {
        annotations: { 'dittofs.io/api-url': 'http://169.254.169.254/' },
      } as Partial<KubeObject['metadata']>)
      // A tenant-writable status claiming another endpoint changes nothing either.
      p.status = { apiEndpoint: 'evil.example:80' }
      await converge(app, p, { advance })
      t.ok(stub.targets.length > 0, `${label}: polled`)
      const port = (spec.controlPlane as { port?: number } | undefined)?.port ?? 8080
      for (const target of stub.targets) {
        t.equal(
          target.apiUrl,
          `http://ditto-api.storage.svc.cluster.local:${port}`,
          `${label}: ${target.apiUrl}`,
        )
      }
    }
  },
)

t.test('controlPlane.port is an integer from 1 to 65535, and nothing else is ever polled', async (t) => {
  const { app, stub, advance } = setup(t)
  const { children, status } = await converge(app, parent(minimalSpec()), { advance })
  for (const port of [
    '8080@evil.example',
    '80/../x',
    '8080',
    0,
    -1,
    65_536,
    1.5,
    1e20,
    null,
    [80],
    { port: 80 },
  ]) {
    stub.targets.splice(0)
    advance()
    const spec = { ...minimalSpec(), controlPlane: { port } }
    const res = await post(app, '/sync', syncRequest(parent(spec, {}, status), { children }))
    t.equal(res.status, 200, `port ${JSON.stringify(port)}: answered`)
    const body = res.json() as SyncResponse
    t.equal(
      conditionOf(body.status, 'Ready')?.reason,
      'InvalidSpec',
      `port ${JSON.stringify(port)}: invalid spec`,
    )
    t.match(conditionOf(body.status, 'Ready')?.message, /spec\.controlPlane\.port/)
    t.same(stub.targets, [], 'no poll with an invalid spec')
  }
})

t.test('names with slashes or a userinfo part are rejected by the request validator', async (t) => {
  const { app, stub } = setup(t)
  // A dotted name is one the API server stores: it gets a 200 with InvalidSpec (hostile-classes.test.ts, names).
  const dotted = await post(app, '/sync', syncRequest(parent(minimalSpec(), { name: 'evil.example' })))
  t.equal(dotted.status, 200)
  t.match(conditionOf(dotted.json().status, 'Ready')?.message, /metadata\.name/)
  const cases: Array<Partial<KubeObject['metadata']>> = [
    { name: 'evil..example' },
    { name: 'x/../y' },
    { name: 'x@evil' },
    { name: 'x:80' },
    { name: 'X' },
    { namespace: 'evil.example' },
    { namespace: 'a/b' },
    { namespace: 'x#frag' },
    { namespace: 'ns?q=1' },
  ]
  for (const meta of cases) {
    const res = await post(app, '/sync', syncRequest(parent(minimalSpec(), meta)))
    t.equal(res.status, 400, `${JSON.stringify(meta)} → 400`)
    t.match(res.json().detail, /body\.parent\.metadata\.(name|namespace) must match pattern/)
    const custom = await post(app, '/customize', { controller: {}, parent: parent(minimalSpec(), meta) })
    t.equal(custom.status, 400, `customize ${JSON.stringify(meta)} → 400`)
  }
  t.same(stub.targets, [])
})

t.test('customize asks for Secrets in the parent’s namespace only, by validated names', async (t) => {
  const { app } = setup(t)
  const refs = {
    ...minimalSpec(),
    identity: {
      jwt: { secretRef: { name: 'my-jwt', key: 'k' } },
      admin: { passwordSecretRef: { name: 'my-admin', key: 'password' } },
    },
    database: { postgresSecretRef: { name: 'pg', key: 'url' } },
  }
  for (const namespace of ['storage', 'team-a']) {
    const res = await post(app, '/customize', { controller: {}, parent: parent(refs, { namespace }) })
    t.same(res.json(), {
      relatedResources: [
        {
          apiVersion: 'v1',
          resource: 'secrets',
          namespace,
          // The Postgres Secret too (the pod reads it; its values go into the config hash) and the operator
          // account's name (a Go operator Secret of that name is adopted).
          names: ['ditto-operator-credentials', 'my-admin', 'my-jwt', 'pg'],
        },
      ],
    })
  }
  for (const name of ['../kube-system/x', 'other/my-admin', 'UPPER', 'a'.repeat(254), '', 'x..y', '*']) {
    const spec = { ...minimalSpec(), identity: { admin: { passwordSecretRef: { name, key: 'password' } } } }
    const custom = await post(app, '/customize', { controller: {}, parent: parent(spec) })
    t.same(
      custom.json(),
      { relatedResources: [] },
      `Secret name ${JSON.stringify(name.slice(0, 20))}: nothing asked`,
    )
    const sync = (await post(app, '/sync', syncRequest(parent(spec)))).json() as SyncResponse
    t.equal(conditionOf(sync.status, 'Ready')?.reason, 'InvalidSpec')
    t.match(conditionOf(sync.status, 'Ready')?.message, /spec\.identity\.admin\.passwordSecretRef\.name/)
  }
  const badKey = { ...minimalSpec(), identity: { admin: { passwordSecretRef: { name: 'a', key: '../x' } } } }
  const sync = (await post(app, '/sync', syncRequest(parent(badKey)))).json() as SyncResponse
  t.match(conditionOf(sync.status, 'Ready')?.message, /passwordSecretRef\.key/)
})

t.test('a related Secret from another namespace is never used, whatever the key says', async (t) => {
  const spec = {
    ...minimalSpec(),
    identity: { admin: { passwordSecretRef: { name: 'my-admin', key: 'password' } } },
  }
  const own = secret('my-admin', 'storage', { password: 'the-right-password' })
  const foreign = secret('my-admin', 'other', { password: 'a-foreign-password' })
  const cases: Array<[string, ObjectMap, string | undefined]> = [
    ['v2: only another namespace', { 'Secret.v1': { 'other/my-admin': foreign } }, undefined],
    [
      'v2: both, foreign last',
      { 'Secret.v1': { 'storage/my-admin': own, 'other/my-admin': foreign } },
      'the-right-password',
    ],
    [
      'v2: both, foreign first',
      { 'Secret.v1': { 'other/my-admin': foreign, 'storage/my-admin': own } },
      'the-right-password',
    ],
    ['v1 key, object from another namespace', { 'Secret.v1': { 'my-admin': foreign } }, undefined],
    [
      'v2 key of ours, object says another namespace',
      { 'Secret.v1': { 'storage/my-admin': foreign } },
      undefined,
    ],
  ]
  for (const [label, related, expected] of cases) {
    const { app, stub, advance } = setup(t)
    const { last } = await converge(app, parent(spec), { related, advance })
    const admins = stub.targets.map((target) => target.admin?.password)
    t.ok(admins.length > 0, `${label}: polled`)
    t.same(new Set(admins), new Set([expected]), `${label}: admin password ${expected ?? 'unknown'}`)
    t.notMatch(JSON.stringify(last), /a-foreign-password/, `${label}: the foreign value appears nowhere`)
    if (expected === undefined) {
      t.equal(conditionOf(last.status, 'ConfigReady')?.reason, 'SecretNotFound', `${label}: reported missing`)
    }
  }
})

t.test('an operator Secret observed in another namespace is not our credential', async (t) => {
  const { app, stub, advance } = setup(t)
  const { children, status } = await converge(app, parent(minimalSpec()), { advance, version: 'v2' })
  const secrets = children['Secret.v1'] as Record<string, KubeObject>
  const ours = secrets['storage/ditto-operator-credentials'] as KubeObject
  const planted = structuredClone(ours)
  planted.metadata.namespace = 'other'
  planted.data = {
    username: 'azgtb3BlcmF0b3I=',
    password: Buffer.from('planted-password').toString('base64'),
  }
  delete secrets['storage/ditto-operator-credentials']
  secrets['other/ditto-operator-credentials'] = planted
  stub.targets.splice(0)
  advance()
  const res = (await post(app, '/sync', syncRequest(parent(minimalSpec(), {}, status), { children }))).json()
  t.same(stub.targets, [], 'no poll: our own operator Secret is not observed yet')
  t.notMatch(
    JSON.stringify(res),
    /planted-password|cGxhbnRlZC1wYXNzd29yZA/,
    'the planted value is not taken over',
  )
  t.ok(findChild(res.children, 'Secret', 'ditto-operator-credentials'), 'our Secret is still returned')
})

t.test('spec annotations cannot touch labels, selectors or Metacontroller’s bookkeeping', async (t) => {
  const hostile: Record<string, string> = {
    app: 'evil',
    instance: 'evil',
    'app.kubernetes.io/managed-by': 'evil',
    'controller-uid': 'evil',
    'dittofs.io/adapter-service': 'false',
    'dittofs.io/adapter-type': 'evil',
    [LAST_APPLIED]: JSON.stringify({
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: 'ditto-api' },
      spec: { externalIPs: ['1.2.3.4'] },
    }),
    'metacontroller.k8s.io/decorator-controller': 'x',
    'x.example/injected': '"}: {"y',
    newline: 'line1\nline2',
  }
  const base = { ...minimalSpec(), adapterServices: { type: 'ClusterIP' } }
  const spec = {
    ...minimalSpec(),
    service: { annotations: hostile },
    adapterServices: {
      type: 'ClusterIP',
      annotations: hostile,
      overrides: { nfs: { annotations: hostile } },
    },
  }
  const { app, advance } = setup(t)
  const plain = await converge(app, parent(base), { advance })
  const tainted = await converge(app, parent(spec), { advance })
  const shape = (res: SyncResponse) =>
    res.children.map((c) => ({
      id: `${c.kind}/${c.metadata.name}`,
      labels: c.metadata.labels,
      selector: (c.spec as { selector?: unknown } | undefined)?.selector,
    }))
  t.same(
    shape(tainted.last),
    shape(plain.last),
    'same children, labels and selectors as without the annotations',
  )
  for (const name of ['ditto-api', 'ditto-adapter-nfs', 'ditto-adapter-smb']) {
    const annotations = findChild(tainted.last.children, 'Service', name)?.metadata.annotations ?? {}
    t.equal(annotations.app, 'evil', `${name}: a user annotation stays an annotation`)
    t.notOk(
      Object.keys(annotations).some((k) => k.startsWith('metacontroller.k8s.io/')),
      `${name}: none of Metacontroller's`,
    )
    t.equal(annotations['x.example/injected'], '"}: {"y', `${name}: a value is a value, not JSON`)
  }
  for (const child of tainted.last.children) {
    if (
      child.kind === 'Service' &&
      child.metadata.name !== 'ditto-api' &&
      !child.metadata.name.includes('adapter')
    )
      t.notOk(
        child.metadata.annotations?.app,
        `${child.metadata.name}: no user annotations where none belong`,
      )
  }
})

t.test('with a spec gone invalid, a tenant-written last-applied annotation is not echoed', async (t) => {
  // Under server-side apply Metacontroller does not rewrite the annotation, so whatever the hook returned sticks.
  const { app, advance } = setup(t)
  const evil = {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name: 'ditto-api' },
    spec: { externalIPs: ['1.2.3.4'] },
  }
  const spec = { ...minimalSpec(), service: { annotations: { [LAST_APPLIED]: JSON.stringify(evil) } } }
  const { last } = await converge(app, parent(spec), { advance })
  // What the cluster would hold if the hook's annotations were applied verbatim (SSA), then the spec breaks.
  const observed = asObserved(last.children)
  const api = (observed['Service.v1'] as Record<string, KubeObject>)['ditto-api'] as KubeObject
  t.notMatch(
    JSON.stringify(api.metadata.annotations),
    /externalIPs/,
    'the hook never returned the annotation',
  )
  const broken = { ...spec, storage: { metadataSize: 'lots' } }
  const res = (
    await post(
      app,
      '/sync',
      syncRequest(parent(broken, {}, last.status), { children: withReadyStatefulSet(observed) }),
    )
  ).json()
  t.equal(conditionOf(res.status, 'Ready')?.reason, 'InvalidSpec')
  t.notMatch(JSON.stringify(res.children), /externalIPs/, 'the echo is what the hook applied')
})

t.test('a giant annotation map is passed through without touching anything else', async (t) => {
  const { app, advance } = setup(t)
  // Just under the API server's 256 KiB for all annotations of an object (above it is an InvalidSpec).
  const annotations = Object.fromEntries(
    Array.from({ length: 2_000 }, (_, i) => [`example.com/k${i}`, 'v'.repeat(100)]),
  )
  const spec = {
    ...minimalSpec(),
    service: { annotations },
    adapterServices: { type: 'ClusterIP', annotations },
  }
  const { last } = await converge(app, parent(spec), { advance })
  const api = findChild(last.children, 'Service', 'ditto-api')
  t.equal(Object.keys(api?.metadata.annotations ?? {}).length, 2_000)
  t.same(api?.metadata.labels, findChild(last.children, 'Service', 'ditto-headless')?.metadata.labels)
  t.same((api?.spec as { selector?: unknown } | undefined)?.selector, {
    app: 'dittofs-server',
    instance: 'ditto',
  })
})

t.test('per-type overrides keyed like Object.prototype members apply to that type only', async (t) => {
  const { app, advance } = setup(t)
  const spec = {
    ...minimalSpec(),
    adapterServices: {
      type: 'ClusterIP',
      overrides: {
        constructor: { type: 'NodePort' },
        tostring: { type: 'NodePort' },
        hasownproperty: { annotations: { x: 'y' } },
      },
    },
  }
  const { last } = await converge(app, parent(spec), { advance })
  for (const name of ['ditto-adapter-nfs', 'ditto-adapter-smb']) {
    const service = findChild(last.children, 'Service', name)
    t.equal((service?.spec as { type?: string } | undefined)?.type, 'ClusterIP', `${name}: base settings`)
    t.same(
      Object.keys(service?.metadata.annotations ?? {}),
      ['dittofs.io/adapter-type-name'],
      `${name}: no annotations but the recorded type`,
    )
  }
})

t.test('a tenant-written status.adapters cannot produce invalid names or reach other parents', async (t) => {
  const { app, stub, advance } = setup(t)
  const { children } = await converge(app, parent(minimalSpec()), { advance })
  const adapters = [
    '../../kube-system/x',
    'A'.repeat(253),
    'other-parent-api',
    '-',
    'ditto-api',
    'UPPER',
    'constructor',
    '__proto__',
  ].map((type, i) => ({ type, port: 2000 + i, enabled: true, running: true }))
  // The API is down, so the last known list (the tenant's) is all the hook has.
  stub.setOk(false)
  advance()
  const p = parent(minimalSpec(), {}, { adapters })
  const res = (await post(app, '/sync', syncRequest(p, { children }))).json() as SyncResponse
  const infra = ['ditto-config', 'ditto-headless', 'ditto-api', 'ditto', 'ditto-operator-credentials']
  for (const child of res.children) {
    t.match(
      child.metadata.name,
      /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/,
      `${child.metadata.name}: a DNS label`,
    )
    if (child.metadata.labels?.['dittofs.io/adapter-service'] === 'true') {
      t.match(child.metadata.name, /^ditto-adapter-/, `${child.metadata.name}: under the parent's prefix`)
      t.notOk(infra.includes(child.metadata.name))
    }
    t.same(child.metadata.labels?.instance, 'ditto', `${child.metadata.name}: labelled for this parent`)
  }
  // The eight the status names, plus nfs and smb: observed, unaccounted for, and kept (unknown is not empty).
  const adapterServices = res.children.filter(
    (c) => c.metadata.labels?.['dittofs.io/adapter-service'] === 'true',
  )
  t.equal(adapterServices.length, 10)
})
