import { existsSync, readFileSync } from 'node:fs'
import t from 'tap'
import { parse } from 'yaml'
import { parseDuration } from '../hooks/dittoserver/duration.js'
import { adapterServiceTuning, parseSpec } from '../hooks/dittoserver/spec.js'

const ok = (raw: unknown) => {
  const result = parseSpec(raw)
  if (!result.ok) throw new Error(`expected a valid spec, got ${JSON.stringify(result.errors)}`)
  return result.spec
}
const errorsOf = (raw: unknown) => {
  const result = parseSpec(raw)
  return result.ok ? [] : result.errors
}

t.test('a minimal spec gets every default of DESIGN.md section 3', async (t) => {
  const spec = ok({ storage: { metadataSize: '10Gi' } })
  t.equal(spec.image, 'marmos91c/dittofs:latest')
  t.equal(spec.replicas, 1)
  t.same(spec.storage, {
    metadataSize: '10Gi',
    contentSize: undefined,
    controlPlaneSize: '1Gi',
    storageClassName: undefined,
  })
  t.equal(spec.database.type, 'sqlite')
  t.equal(spec.database.sqlitePath, '/data/controlplane/controlplane.db')
  t.equal(spec.apiPort, 8080)
  t.same(spec.metrics, {
    enabled: false,
    port: 9090,
    path: '/metrics',
    bearerTokenSecret: undefined,
    serviceMonitor: { enabled: false, interval: undefined, labels: {} },
  })
  t.same(spec.logging, { level: 'INFO', format: 'json', output: 'stdout' }, 'the upstream logging defaults')
  t.equal(spec.ldap, undefined)
  t.equal(spec.kerberos, undefined)
  t.same(spec.jwt, { secretRef: undefined, accessTokenDuration: '15m', refreshTokenDuration: '168h' })
  t.equal(spec.admin.username, 'admin')
  t.same(spec.apiService, { type: 'ClusterIP', annotations: {} })
  t.equal(spec.pollingIntervalMs, 30_000)
  t.same(spec.adapterServices.base, { type: 'LoadBalancer', annotations: {} })
  t.equal(spec.adapterServices.removalGraceMs, 60_000)
  t.equal(spec.adapterServices.loadBalancerTimeoutMs, 300_000)
  t.same(spec.networkPolicy, { enabled: false, from: [] })
  t.same(spec.deprecated, [])
})

t.test('invalid specs are rejected with the field named', async (t) => {
  const cases: Array<[string, unknown, string, RegExp]> = [
    ['replicas 3', { replicas: 3, storage: { metadataSize: '10Gi' } }, 'spec.replicas', /<= 1/],
    [
      'a size that is not one',
      { storage: { metadataSize: 'ten' } },
      'spec.storage.metadataSize',
      /size such as 10Gi/,
    ],
    ['a missing metadata size', { storage: {} }, 'spec.storage.metadataSize', /required/],
    ['no storage at all', {}, 'spec.storage', /required/],
    [
      'a bad duration',
      { storage: { metadataSize: '1Gi' }, adapterDiscovery: { pollingInterval: 'soon' } },
      'spec.adapterDiscovery.pollingInterval',
      /duration/,
    ],
    [
      'a zero grace',
      { storage: { metadataSize: '1Gi' }, adapterServices: { removalGracePeriod: '0s' } },
      'spec.adapterServices.removalGracePeriod',
      /positive/,
    ],
    [
      'a port out of range',
      { storage: { metadataSize: '1Gi' }, controlPlane: { port: 70000 } },
      'spec.controlPlane.port',
      /65535/,
    ],
    [
      'a string where a number goes',
      { replicas: '1', storage: { metadataSize: '1Gi' } },
      'spec.replicas',
      /integer/,
    ],
    [
      'metrics on the API port',
      { storage: { metadataSize: '1Gi' }, metrics: { enabled: true, port: 8080 } },
      'spec.metrics.port',
      /must differ/,
    ],
    [
      'an unknown service type',
      { storage: { metadataSize: '1Gi' }, service: { type: 'Ingress' } },
      'spec.service.type',
      /one of ClusterIP/,
    ],
    [
      'a secret ref without key',
      { storage: { metadataSize: '1Gi' }, identity: { admin: { passwordSecretRef: { name: 'x' } } } },
      'spec.identity.admin.passwordSecretRef.key',
      /required/,
    ],
    [
      'postgres without a secret',
      { storage: { metadataSize: '1Gi' }, database: { type: 'postgres' } },
      'spec.database.postgresSecretRef',
      /required/,
    ],
  ]
  for (const [name, raw, field, message] of cases) {
    const errors = errorsOf(raw)
    const hit = errors.find((e) => e.field === field)
    t.ok(hit, `${name}: ${field} is named (got ${JSON.stringify(errors)})`)
    t.match(hit?.message ?? '', message, `${name}: message explains`)
  }
  t.same(errorsOf(null), [{ field: 'spec', message: 'must be an object' }])
  t.same(errorsOf([]), [{ field: 'spec', message: 'must be an object' }])
})

t.test('parsed specs are shared, frozen, and never hold the request body', async (t) => {
  const raw = {
    storage: { metadataSize: '10Gi' },
    resources: { limits: { cpu: '1' } },
    networkPolicy: { enabled: true, from: [{ podSelector: {} }] },
  }
  const first = ok(raw)
  t.equal(ok(structuredClone(raw)), first, 'the same spec text gives the same parsed value')
  t.not(first.resources, raw.resources, 'parsed from its own copy')
  raw.resources.limits.cpu = '2'
  t.same(first.resources, { limits: { cpu: '1' } }, 'a later change to the request does not reach it')
  t.ok(Object.isFrozen(first.resources), 'frozen')
  t.ok(Object.isFrozen(first.networkPolicy.from[0]))
  t.throws(() => {
    ;(first.adapterServices.base as { type: string }).type = 'NodePort'
  }, TypeError)
  t.same(ok(raw).resources, { limits: { cpu: '2' } }, 'a different spec is parsed anew')
  t.equal(
    parseSpec({ ...raw, replicas: 3 }),
    parseSpec({ ...raw, replicas: 3 }),
    'errors are memoised as well',
  )
})

t.test('deprecated fields are accepted, ignored and listed', async (t) => {
  const spec = ok({
    storage: { metadataSize: '10Gi', cacheSize: '5Gi' },
    nfsPort: 12049,
    smb: { enabled: true, port: 12445 },
    cache: { path: '/data/cache' },
    identity: { type: 'memory', jwt: { issuer: 'dittofs' } },
  })
  t.same(spec.deprecated, [
    'spec.nfsPort',
    'spec.smb',
    'spec.storage.cacheSize',
    'spec.cache',
    'spec.identity.type',
    'spec.identity.jwt.issuer',
  ])
  // Percona is honoured now (a PerconaPGCluster child, or a DatabaseReady condition saying why not).
  const percona = ok({ storage: { metadataSize: '1Gi' }, percona: { enabled: true } })
  t.same(percona.unsupported, [])
  t.match(percona.percona, {
    deleteWithServer: false,
    replicas: 1,
    storageSize: '10Gi',
    databaseName: 'dittofs',
  })
})

t.test('polling interval has a 10 s floor; durations parse like Go', async (t) => {
  t.equal(
    ok({ storage: { metadataSize: '1Gi' }, adapterDiscovery: { pollingInterval: '1s' } }).pollingIntervalMs,
    10_000,
  )
  t.equal(
    ok({ storage: { metadataSize: '1Gi' }, adapterDiscovery: { pollingInterval: '2m30s' } })
      .pollingIntervalMs,
    150_000,
  )
  t.equal(parseDuration('1h30m'), 5_400_000)
  t.equal(parseDuration('1.5h'), 5_400_000)
  t.equal(parseDuration('500ms'), 500)
  t.equal(parseDuration('0'), 0)
  t.equal(parseDuration('-5s'), undefined)
  t.equal(parseDuration('5'), undefined)
  t.equal(parseDuration('5 s'), undefined)
})

t.test('per-type adapter Service overrides win, annotations merge', async (t) => {
  const spec = ok({
    storage: { metadataSize: '1Gi' },
    adapterServices: {
      type: 'LoadBalancer',
      annotations: { a: '1', b: '1' },
      externalTrafficPolicy: 'Local',
      overrides: { NFS: { type: 'NodePort', annotations: { b: '2' } } },
    },
  })
  t.same(adapterServiceTuning(spec, 'nfs'), {
    type: 'NodePort',
    annotations: { a: '1', b: '2' },
    externalTrafficPolicy: 'Local',
  })
  t.same(adapterServiceTuning(spec, 'smb'), {
    type: 'LoadBalancer',
    annotations: { a: '1', b: '1' },
    externalTrafficPolicy: 'Local',
  })
})

const shared = new URL('../../shared/reference/fixtures/dittofs/', import.meta.url)
const sharedMissing = existsSync(shared)
  ? false
  : '../shared/reference is not beside this checkout (CI has it): upstream DittoServer examples not checked'

t.test('every upstream DittoServer example is accepted', { skip: sharedMissing }, async (t) => {
  for (const file of [
    'dittoserver-minimal.yaml',
    'dittoserver-full.yaml',
    'dittoserver-dynamic-adapters.yaml',
  ]) {
    const doc = parse(readFileSync(new URL(file, shared), 'utf8'))
    const result = parseSpec(doc.spec)
    t.ok(result.ok, `${file} is valid: ${JSON.stringify(result.ok ? [] : result.errors)}`)
  }
})
