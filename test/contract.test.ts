import t from 'tap'
import { PollSchedule } from '../hooks/discovery/schedule.js'
import type { KubeObject, SyncResponse } from '../hooks/metacontroller/types.js'
import { post, testApp } from './support/app.js'
import { invalidObjects } from './support/models.js'
import {
  asObserved,
  conditionOf,
  findChild,
  LAST_APPLIED,
  minimalSpec,
  PARENT_UID,
  parent,
  syncRequest,
  withReadyStatefulSet,
} from './support/requests.js'

const INFRA = [
  'ConfigMap/ditto-config',
  'Secret/ditto-jwt-secret',
  'Secret/ditto-admin-credentials',
  'Secret/ditto-operator-credentials',
  'Service/ditto-headless',
  'Service/ditto-api',
  'StatefulSet/ditto',
]
const idsOf = (response: SyncResponse) => response.children.map((c) => `${c.kind}/${c.metadata.name}`)

t.test('first sync of a minimal DittoServer returns every infrastructure child', async (t) => {
  const app = testApp(t)
  const res = await post(app, '/sync', syncRequest(parent(minimalSpec())))
  t.equal(res.status, 200)
  const body = res.json() as SyncResponse
  t.same(idsOf(body), INFRA)
  t.same(await invalidObjects(body.children), [], 'every child is a valid Kubernetes object')
  for (const child of body.children) {
    t.same(child.metadata.labels?.['app.kubernetes.io/managed-by'], 'dittofs-hooks')
    t.notOk('status' in child, `${child.kind}/${child.metadata.name} carries no status`)
    t.notOk(child.metadata.namespace, 'namespace left to Metacontroller')
  }
  t.equal(body.status.phase, 'Pending')
  t.equal(body.status.apiEndpoint, 'ditto-api.storage.svc.cluster.local:8080')
  t.match(body.status.configHash, /^[0-9a-f]{64}$/)
  t.same(body.status.adapters, [])
  t.equal(conditionOf(body.status, 'AdaptersSynced')?.reason, 'WaitingForPod')
  t.match(
    conditionOf(body.status, 'AdapterServicesReady'),
    { status: 'Unknown', reason: 'WaitingForDiscovery' },
    'not ready-by-default before any adapter list was read',
  )
  t.equal(conditionOf(body.status, 'Ready')?.status, 'False')
  t.equal(body.resyncAfterSeconds, 10, 'come back soon while the pod starts')
})

t.test('hook v1 and v2 children maps give the same answer', async (t) => {
  const app = testApp(t)
  const first = (await post(app, '/sync', syncRequest(parent(minimalSpec())))).json() as SyncResponse
  const v1 = await post(
    app,
    '/sync',
    syncRequest(parent(minimalSpec()), { children: asObserved(first.children) }),
  )
  const v2 = await post(
    app,
    '/sync',
    syncRequest(parent(minimalSpec()), { children: asObserved(first.children, { version: 'v2' }) }),
  )
  t.equal(v1.status, 200)
  t.equal(v2.text, v1.text, 'identical responses')
  t.equal(
    conditionOf(v1.json().status, 'ConfigReady')?.status,
    'True',
    'the observed ConfigMap is recognised',
  )
})

t.test('a v2 child from another namespace is not mistaken for ours', async (t) => {
  const app = testApp(t)
  const first = (await post(app, '/sync', syncRequest(parent(minimalSpec())))).json() as SyncResponse
  const foreign = asObserved(first.children, { version: 'v2', namespace: 'elsewhere' })
  const res = (await post(app, '/sync', syncRequest(parent(minimalSpec()), { children: foreign }))).json()
  t.equal(conditionOf(res.status, 'ConfigReady')?.reason, 'ConfigMapNotFound')
})

t.test('steady state is byte-identical and reaches Ready', async (t) => {
  const app = testApp(t)
  const first = (await post(app, '/sync', syncRequest(parent(minimalSpec())))).json() as SyncResponse
  const children = withReadyStatefulSet(asObserved(first.children))
  // Replicas 0 keeps discovery out of this test: it is only about infrastructure and determinism.
  const spec = { ...minimalSpec(), replicas: 0 }
  const a = await post(app, '/sync', syncRequest(parent(spec), { children }))
  const status = a.json().status
  const b = await post(app, '/sync', syncRequest(parent(spec, {}, status), { children }))
  const c = await post(app, '/sync', syncRequest(parent(spec, {}, b.json().status), { children }))
  t.same(b.json().status, c.json().status, 'status is a fixed point once written')
  t.equal(b.text, c.text, 'same request, same bytes')
})

t.test('replicas 0 stops the pod and reports Stopped', async (t) => {
  const app = testApp(t)
  const first = (await post(app, '/sync', syncRequest(parent(minimalSpec())))).json() as SyncResponse
  const children = withReadyStatefulSet(asObserved(first.children), 0)
  const res = (
    await post(app, '/sync', syncRequest(parent({ ...minimalSpec(), replicas: 0 }), { children }))
  ).json()
  t.equal((findChild(res.children, 'StatefulSet', 'ditto')!.spec as { replicas: number }).replicas, 0)
  t.equal(res.status.phase, 'Stopped')
  t.equal(conditionOf(res.status, 'Available')?.reason, 'Stopped')
  t.equal(conditionOf(res.status, 'Ready')?.status, 'True')
  t.match(conditionOf(res.status, 'AdaptersSynced')?.message, /replicas is 0/)
})

t.test('user-supplied secrets: no generated Secret, values read from related', async (t) => {
  const app = testApp(t)
  const spec = {
    ...minimalSpec(),
    identity: {
      jwt: { secretRef: { name: 'my-jwt', key: 'signing' } },
      admin: { passwordSecretRef: { name: 'my-admin', key: 'password' } },
    },
  }
  const customize = await post(app, '/customize', { controller: {}, parent: parent(spec) })
  t.same(customize.json(), {
    relatedResources: [
      {
        apiVersion: 'v1',
        resource: 'secrets',
        namespace: 'storage',
        // The operator account's Secret too: a Go operator's one of that name is adopted when not a child.
        names: ['ditto-operator-credentials', 'my-admin', 'my-jwt'],
      },
    ],
  })
  const secret = (name: string, data: Record<string, string>): KubeObject => ({
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: { name, namespace: 'storage' },
    data: Object.fromEntries(Object.entries(data).map(([k, v]) => [k, Buffer.from(v).toString('base64')])),
  })
  const related = {
    'Secret.v1': {
      'my-jwt': secret('my-jwt', { signing: 's'.repeat(40) }),
      'my-admin': secret('my-admin', { password: 'pw' }),
    },
  }
  const res = (await post(app, '/sync', syncRequest(parent(spec), { related }))).json() as SyncResponse
  t.same(
    idsOf(res).filter((id) => id.startsWith('Secret/')),
    ['Secret/ditto-operator-credentials'],
  )
  const env = (findChild(res.children, 'StatefulSet', 'ditto')!.spec as any).template.spec.containers[0].env
  t.same(env[0].valueFrom.secretKeyRef, { name: 'my-jwt', key: 'signing' })
  t.same(env[1].valueFrom.secretKeyRef, { name: 'my-admin', key: 'password' })
  t.notMatch(JSON.stringify(res), /s{40}/, 'the JWT secret value is nowhere in the answer')

  const missing = (
    await post(app, '/sync', syncRequest(parent(spec), { related: { 'Secret.v1': {} } }))
  ).json()
  t.equal(conditionOf(missing.status, 'ConfigReady')?.reason, 'SecretNotFound')
  t.match(conditionOf(missing.status, 'ConfigReady')?.message, /my-jwt\/signing, my-admin\/password/)

  const customizeDefault = await post(app, '/customize', { controller: {}, parent: parent(minimalSpec()) })
  t.same(
    customizeDefault.json().relatedResources[0].names,
    [
      'ditto-admin-bootstrap-credentials',
      'ditto-admin-credentials',
      'ditto-jwt-secret',
      'ditto-operator-credentials',
    ],
    'everything generated: the Go operator names of the generated Secrets (and its bootstrap Secret) only',
  )
})

t.test('generated secrets are identical across requests and instances', async (t) => {
  // One clock for both: transition times are the only thing that may depend on when a sync runs.
  const now = () => Date.parse('2026-05-01T12:00:00Z')
  const a = (await post(testApp(t, {}, { now }), '/sync', syncRequest(parent(minimalSpec())))).text
  const b = (await post(testApp(t, {}, { now }), '/sync', syncRequest(parent(minimalSpec())))).text
  t.equal(a, b, 'two hook instances with one HOOKS_SECRET_KEY agree')
  const other = (
    await post(testApp(t), '/sync', syncRequest(parent(minimalSpec(), { uid: 'another-uid' })))
  ).json()
  t.not(
    JSON.stringify(findChild(other.children, 'Secret', 'ditto-jwt-secret')),
    JSON.stringify(findChild(JSON.parse(a).children, 'Secret', 'ditto-jwt-secret')),
    'another DittoServer gets another secret',
  )
})

t.test('deprecated fields are accepted and reported', async (t) => {
  const app = testApp(t)
  const res = await post(
    app,
    '/sync',
    syncRequest(parent({ ...minimalSpec(), nfsPort: 12049, smb: { enabled: true } })),
  )
  t.equal(res.status, 200)
  const condition = conditionOf(res.json().status, 'DeprecatedFieldsIgnored')
  t.equal(condition?.status, 'True')
  t.match(condition?.message, /spec\.nfsPort, spec\.smb/)
  const ports = (findChild(res.json().children, 'StatefulSet', 'ditto')!.spec as any).template.spec
    .containers[0].ports
  t.same(
    ports.map((p: { name: string }) => p.name),
    ['api'],
    'no NFS or SMB port from the deprecated fields',
  )
  // pkg/block/remote/s3/store.go: per-store static credentials and region; only AWS_ENDPOINT_URL still acts.
  const s3 = await post(
    app,
    '/sync',
    syncRequest(
      parent({
        ...minimalSpec(),
        nfsPort: 1,
        s3: { region: 'eu-west-1', credentialsSecretRef: { secretName: 's3' } },
      }),
    ),
  )
  t.match(
    conditionOf(s3.json().status, 'DeprecatedFieldsIgnored')?.message,
    /^ignored deprecated fields: spec\.nfsPort \(adapters are discovered from the DittoFS API\); spec\.s3 \(DittoFS takes S3 credentials, region and bucket per block store.*AWS_ENDPOINT_URL/,
    'each field with its own reason; spec.s3 says what still acts',
  )
  const clean = await post(app, '/sync', syncRequest(parent(minimalSpec())))
  t.equal(conditionOf(clean.json().status, 'DeprecatedFieldsIgnored'), undefined, 'only present while set')
})

t.test('an invalid spec changes nothing: children echoed as last applied', async (t) => {
  const app = testApp(t)
  const first = (await post(app, '/sync', syncRequest(parent(minimalSpec())))).json() as SyncResponse
  const children = asObserved(first.children)
  const steady = (await post(app, '/sync', syncRequest(parent(minimalSpec()), { children }))).json()
  for (const [spec, field] of [
    [{ ...minimalSpec(), replicas: 3 }, 'spec.replicas'],
    [{ storage: { metadataSize: 'ten' } }, 'spec.storage.metadataSize'],
    [
      { ...minimalSpec(), adapterDiscovery: { pollingInterval: 'soon' } },
      'spec.adapterDiscovery.pollingInterval',
    ],
  ] as const) {
    const res = await post(
      app,
      '/sync',
      syncRequest(parent(spec, { generation: 2 }, steady.status), { children }),
    )
    t.equal(res.status, 200, `${field}: answered 200`)
    const body = res.json() as SyncResponse
    const expected = Object.values(children).flatMap((group) =>
      Object.values(group).map((c) => JSON.parse(c.metadata.annotations?.[LAST_APPLIED] as string)),
    )
    t.same(body.children, expected, `${field}: every child exactly as last applied`)
    const ready = conditionOf(body.status, 'Ready')
    t.equal(ready?.reason, 'InvalidSpec')
    t.match(ready?.message, field)
    t.equal(body.status.phase, 'Failed')
    t.same(body.status.configHash, steady.status.configHash, 'the rest of the status is kept')
  }
})

t.test('an invalid spec with a child lacking last-applied → 422 naming the field', async (t) => {
  const app = testApp(t)
  const first = (await post(app, '/sync', syncRequest(parent(minimalSpec())))).json() as SyncResponse
  const children = asObserved(first.children)
  const cm = children['ConfigMap.v1']?.['ditto-config'] as KubeObject
  delete cm.metadata.annotations?.[LAST_APPLIED]
  const res = await post(app, '/sync', syncRequest(parent({ ...minimalSpec(), replicas: 3 }), { children }))
  t.equal(res.status, 422)
  t.equal(res.headers['content-type'], 'application/problem+json; charset=utf-8')
  t.match(res.json(), {
    status: 422,
    title: 'Unprocessable Entity',
    detail: /spec\.replicas.*ConfigMap\/ditto-config/,
  })
})

t.test('malformed requests get a 400 problem naming the field', async (t) => {
  const app = testApp(t)
  const cases: Array<[string, unknown, RegExp]> = [
    ['not JSON', '{"parent": ', /JSON/i],
    ['no parent', { children: {} }, /body\.parent is required/],
    ['no children', { parent: parent(minimalSpec()) }, /body\.children is required/],
    ['wrong kind', { parent: { ...parent(minimalSpec()), kind: 'Pod' }, children: {} }, /body\.parent\.kind/],
    ['no uid', { parent: parent(minimalSpec(), { uid: undefined }), children: {} }, /uid is required/],
    [
      'children not a map',
      { parent: parent(minimalSpec()), children: { 'Service.v1': [] } },
      /body\.children\.Service\.v1/,
    ],
    [
      'child without name',
      {
        parent: parent(minimalSpec()),
        children: { 'Service.v1': { x: { apiVersion: 'v1', kind: 'Service', metadata: {} } } },
      },
      /name is required/,
    ],
    [
      'finalizing not boolean',
      { parent: parent(minimalSpec()), children: {}, finalizing: 'yes' },
      /finalizing must be boolean/,
    ],
    ['prototype pollution', '{"parent":{"__proto__":{"x":1}},"children":{}}', /"__proto__" key.*refused/],
    [
      'deep prototype pollution',
      '{"parent":{"spec":{"a":[{"b":{"__proto__":{"polluted":1}}}]}},"children":{}}',
      /"__proto__" key/,
    ],
    [
      'constructor pollution',
      '{"parent":{"metadata":{"constructor":{"prototype":{"polluted":1}}}},"children":{}}',
      /"constructor" key holding a "prototype"/,
    ],
    ['empty body', '', /cannot be empty/],
  ]
  for (const [name, body, detail] of cases) {
    const res = await post(app, '/sync', body)
    t.equal(res.status, 400, `${name}: 400`)
    t.match(res.json(), { type: 'about:blank', status: 400, detail }, `${name}: problem names it`)
  }
  const customize = await post(app, '/customize', { controller: {} })
  t.equal(customize.status, 400)
  const polluting = await post(app, '/customize', '{"parent":{"__proto__":{"x":1}}}')
  t.equal(polluting.status, 400, 'customize refuses polluting keys too')
  t.match(polluting.json().detail, /"__proto__" key/)
  t.equal(({} as Record<string, unknown>).x, undefined, 'no prototype was touched')
  // A "constructor" key as plain data (an adapter type could be called that) is not refused.
  const harmless = await post(app, '/customize', {
    parent: parent({
      ...minimalSpec(),
      adapterServices: { overrides: { constructor: { type: 'NodePort' } } },
    }),
  })
  t.equal(harmless.status, 200)
})

t.test('an oversized body gets 413 and other routes answer too', async (t) => {
  const app = testApp(t, { BODY_LIMIT_BYTES: '2048' })
  const res = await post(app, '/sync', syncRequest(parent({ ...minimalSpec(), image: 'x'.repeat(4096) })))
  t.equal(res.status, 413)
  t.equal(res.json().status, 413)
  t.equal((await app.inject({ method: 'GET', url: '/healthz' })).statusCode, 200)
  t.equal((await app.inject({ method: 'GET', url: '/readyz' })).statusCode, 200)
  const missing = await app.inject({ method: 'GET', url: '/nope' })
  t.equal(missing.statusCode, 404)
  t.match(missing.json().detail, /POST \/sync/)
  const metrics = await app.inject({ method: 'GET', url: '/metrics' })
  t.equal(metrics.statusCode, 200)
  // Fastify refused the body before any hook ran: it is not counted as a hook call.
  t.notMatch(metrics.body, /dittofs_hooks_requests_total\{hook="sync"/)
})

t.test('every hook call writes one line with its request id, parent, outcome and duration', async (t) => {
  const lines: Array<Record<string, unknown>> = []
  const stream = { write: (line: string) => lines.push(JSON.parse(line) as Record<string, unknown>) }
  const app = testApp(t, { LOG_LEVEL: 'info' }, { logger: { stream } })
  await post(app, '/sync', syncRequest(parent(minimalSpec())))
  await post(app, '/sync', { children: {}, password: 'hunter2-secret' })
  const calls = lines.filter((l) => l.msg === 'hook call')
  t.equal(calls.length, 2, 'one line per call')
  t.match(calls[0], { reqId: String, hook: 'sync', parent: 'storage/ditto', outcome: 'ok', statusCode: 200 })
  t.type(calls[0]?.ms, 'number')
  t.match(calls[1], { hook: 'sync', parent: '-', outcome: 'invalid_request', statusCode: 400 })
  t.notMatch(JSON.stringify(lines), /hunter2-secret/, 'nothing from the body is logged')
  // Other lines keep redaction: a logged object with a password is censored.
  app.log.info({ creds: { password: 'hunter2-secret' } }, 'other line')
  t.match(lines.at(-1), { creds: { password: '[redacted]' } })
})

t.test('metrics count hook calls by hook and outcome', async (t) => {
  const app = testApp(t)
  await post(app, '/sync', syncRequest(parent(minimalSpec())))
  await post(app, '/sync', { nope: true })
  await post(app, '/sync', syncRequest(parent({ ...minimalSpec(), replicas: 3 })))
  // A user can write any reason into the status; only the hook's own Ready verdict decides the outcome.
  const forged = {
    conditions: ['Authenticated', 'AdaptersSynced'].map((type) => ({
      type,
      status: 'False',
      reason: 'InvalidSpec',
      message: 'written by a user',
      lastTransitionTime: '2026-01-01T00:00:00Z',
    })),
  }
  await post(app, '/sync', syncRequest(parent(minimalSpec(), {}, forged)))
  const text = (await app.inject({ method: 'GET', url: '/metrics' })).body
  t.match(text, /dittofs_hooks_requests_total\{hook="sync",outcome="ok"\} 2/)
  t.match(text, /dittofs_hooks_requests_total\{hook="sync",outcome="invalid_request"\} 1/)
  t.match(text, /dittofs_hooks_requests_total\{hook="sync",outcome="invalid_spec"\} 1/)
  t.match(text, /dittofs_hooks_request_duration_seconds_bucket/)
  t.notMatch(text, new RegExp(PARENT_UID), 'no parent identity in metric labels')
})

t.test('finalize (no adapters) finishes at once and keeps infrastructure', async (t) => {
  const schedule = new PollSchedule()
  schedule.recordSuccess(PARENT_UID, Date.now())
  const app = testApp(t, {}, { schedule })
  const first = (await post(app, '/sync', syncRequest(parent(minimalSpec())))).json() as SyncResponse
  const deleting = parent(minimalSpec(), { deletionTimestamp: '2026-01-01T01:00:00Z' })
  const res = await post(
    app,
    '/finalize',
    syncRequest(deleting, { children: asObserved(first.children), finalizing: true }),
  )
  t.equal(res.status, 200)
  t.equal(res.json().finalized, true)
  t.same(idsOf(res.json()), INFRA)
  t.equal(res.json().status.phase, 'Deleting')
  t.equal(schedule.size(), 0, 'a finalized parent leaves nothing in memory')
})
