import t from 'tap'
import { parse } from 'yaml'
import { buildConfigMap, configHash, renderConfig } from '../hooks/children/config.js'
import { jwtDigest } from '../hooks/children/secret-digest.js'
import { deriveSecret, resolveSecrets, secretValue } from '../hooks/children/secrets.js'
import { buildStaticServices } from '../hooks/children/services.js'
import { buildStatefulSet, containerEnv, observedSecretDigest } from '../hooks/children/statefulset.js'
import { type DittoServerSpec, parseSpec } from '../hooks/dittoserver/spec.js'
import type { KubeObject } from '../hooks/metacontroller/types.js'
import { invalidObjects } from './support/models.js'

const specOf = (raw: unknown): DittoServerSpec => {
  const result = parseSpec(raw)
  if (!result.ok) throw new Error(JSON.stringify(result.errors))
  return result.spec
}
const minimal = () => specOf({ storage: { metadataSize: '10Gi' } })
const KEY = Buffer.from('0123456789abcdef0123456789abcdef')
const b64 = (s: string) => Buffer.from(s).toString('base64')
const secret = (name: string, data: Record<string, string>): KubeObject => ({
  apiVersion: 'v1',
  kind: 'Secret',
  metadata: { name },
  data: Object.fromEntries(Object.entries(data).map(([k, v]) => [k, b64(v)])),
})

t.test('config.yaml is what the current DittoFS server needs', async (t) => {
  const config = parse(renderConfig(minimal()))
  t.same(config.controlplane, {
    host: '0.0.0.0',
    port: 8080,
    require_initial_password_change: false,
    jwt: { access_token_duration: '15m', refresh_token_duration: '168h' },
  })
  t.same(config.database, { type: 'sqlite', sqlite: { path: '/data/controlplane/controlplane.db' } })
  t.equal(config.metrics, undefined, 'no metrics block unless enabled')
  t.same(config.logging, { level: 'INFO', format: 'json', output: 'stdout' })

  const full = parse(
    renderConfig(
      specOf({
        storage: { metadataSize: '1Gi' },
        metrics: { enabled: true, port: 9191 },
        database: { postgresSecretRef: { name: 'pg', key: 'dsn' } },
        identity: { jwt: { accessTokenDuration: '5m' } },
      }),
    ),
  )
  t.same(full.metrics, { enabled: true, host: '0.0.0.0', port: 9191, path: '/metrics' })
  t.equal(full.database.type, 'postgres')
  t.equal(full.controlplane.jwt.access_token_duration, '5m')
  t.notMatch(renderConfig(minimal()), /secret|password:/i, 'no credential in the config')
})

t.test('generated secrets: derived deterministically, observed values win', async (t) => {
  const input = {
    spec: minimal(),
    parentName: 'ditto',
    parentUid: 'uid-1',
    secretKey: KEY,
    ownSecrets: new Map<string, KubeObject>(),
    relatedSecrets: undefined,
  }
  const first = resolveSecrets(input)
  t.same(resolveSecrets(input), first, 'same input, same output')
  t.same(
    first.children.map((c) => c.metadata.name),
    ['ditto-jwt-secret', 'ditto-admin-credentials', 'ditto-operator-credentials'],
  )
  t.equal(first.jwtSecret, deriveSecret(KEY, 'uid-1', 'jwt-secret'))
  t.ok((first.jwtSecret ?? '').length >= 32, 'JWT secret is long enough for DittoFS')
  t.not(deriveSecret(KEY, 'uid-2', 'jwt-secret'), first.jwtSecret, 'another parent, another secret')
  t.not(deriveSecret(Buffer.from('another-key-another-key'), 'uid-1', 'jwt-secret'), first.jwtSecret)
  t.equal(first.admin, undefined, 'admin credentials are not used before the cluster holds them')
  t.equal(first.operator, undefined, 'operator credentials are not used before the cluster holds them')

  const rotated = resolveSecrets({
    ...input,
    ownSecrets: new Map([
      [
        'ditto-jwt-secret',
        secret('ditto-jwt-secret', { 'jwt-secret': 'rotated-by-user-rotated-by-user-0123' }),
      ],
      [
        'ditto-admin-credentials',
        secret('ditto-admin-credentials', { username: 'admin', password: 'pw-admin' }),
      ],
      [
        'ditto-operator-credentials',
        secret('ditto-operator-credentials', { username: 'k8s-operator', password: 'pw-op' }),
      ],
    ]),
  })
  t.equal(rotated.jwtSecret, 'rotated-by-user-rotated-by-user-0123')
  t.same(rotated.admin, { username: 'admin', password: 'pw-admin' })
  t.same(rotated.operator, { username: 'k8s-operator', password: 'pw-op' })
  t.equal(
    secretValue(rotated.children[1], 'password'),
    'pw-admin',
    'the observed value is returned unchanged',
  )
})

t.test('user-supplied secrets come from related, in the parent namespace only', async (t) => {
  const spec = specOf({
    storage: { metadataSize: '1Gi' },
    identity: {
      jwt: { secretRef: { name: 'my-jwt', key: 'k' } },
      admin: { username: 'root', passwordSecretRef: { name: 'my-admin', key: 'pw' } },
    },
  })
  const base = {
    spec,
    parentName: 'ditto',
    parentUid: 'u',
    secretKey: KEY,
    ownSecrets: new Map<string, KubeObject>(),
  }
  const present = resolveSecrets({
    ...base,
    relatedSecrets: new Map([
      ['my-jwt', secret('my-jwt', { k: 'x'.repeat(40) })],
      ['my-admin', secret('my-admin', { pw: 'admin-pw' })],
    ]),
  })
  t.same(
    present.children.map((c) => c.metadata.name),
    ['ditto-operator-credentials'],
    'no generated JWT/admin Secret',
  )
  t.equal(present.jwtSecret, 'x'.repeat(40))
  t.same(
    present.admin,
    { username: 'admin', password: 'admin-pw' },
    'DittoFS ignores admin.username: log in as admin',
  )
  t.same(present.missing, [])

  const absent = resolveSecrets({ ...base, relatedSecrets: new Map() })
  t.same(absent.missing, ['my-jwt/k', 'my-admin/pw'], 'customize ran and the Secrets are not there')
  t.equal(absent.jwtSecret, undefined)
  const unknown = resolveSecrets({ ...base, relatedSecrets: undefined })
  t.same(unknown.missing, [], 'no related group at all is not proof of absence')
})

t.test('secretValue refuses garbage', async (t) => {
  t.equal(
    secretValue({ apiVersion: 'v1', kind: 'Secret', metadata: { name: 's' }, data: { a: '!!' } }, 'a'),
    undefined,
  )
  t.equal(
    secretValue({ apiVersion: 'v1', kind: 'Secret', metadata: { name: 's' }, data: { a: '' } }, 'a'),
    undefined,
  )
  t.equal(secretValue({ apiVersion: 'v1', kind: 'Secret', metadata: { name: 's' } }, 'a'), undefined)
  t.equal(secretValue(undefined, 'a'), undefined)
})

t.test('static Services', async (t) => {
  const spec = specOf({
    storage: { metadataSize: '1Gi' },
    service: { type: 'LoadBalancer', annotations: { a: 'b' } },
    metrics: { enabled: true },
  })
  const services = buildStaticServices('ditto', spec)
  t.same(
    services.map((s) => s.metadata.name),
    ['ditto-headless', 'ditto-api', 'ditto-metrics'],
  )
  const [headless, api, metrics] = services as [KubeObject, KubeObject, KubeObject]
  t.equal((headless.spec as { clusterIP: string }).clusterIP, 'None')
  t.same((api.spec as { ports: unknown }).ports, [
    { name: 'api', port: 8080, targetPort: 8080, protocol: 'TCP' },
  ])
  t.equal((api.spec as { type: string }).type, 'LoadBalancer')
  t.same(api.metadata.annotations, { a: 'b' })
  t.notOk('clusterIP' in (api.spec as object), 'never a clusterIP on a normal Service')
  t.same((metrics.spec as { selector: unknown }).selector, { app: 'dittofs-server', instance: 'ditto' })
  t.same(buildStaticServices('ditto', minimal()).length, 2, 'no metrics Service unless enabled')
  t.same(await invalidObjects(services), [])
})

t.test('the StatefulSet', async (t) => {
  const spec = specOf({
    storage: { metadataSize: '10Gi', contentSize: '50Gi', storageClassName: 'fast' },
    metrics: { enabled: true },
    resources: { requests: { cpu: '500m', memory: '1Gi' } },
  })
  const { statefulSet, ignoredStorageChanges } = buildStatefulSet(
    'ditto',
    spec,
    { configHash: 'h1', secretDigest: 'd1' },
    undefined,
  )
  t.same(ignoredStorageChanges, [])
  const s = statefulSet.spec as Record<string, any>
  const container = s.template.spec.containers[0]
  t.same(container.command, ['/app/dfs'])
  t.same(container.args, ['start', '--foreground', '--config', '/config/config.yaml'])
  t.same(
    container.ports.map((p: { name: string }) => p.name),
    ['api', 'metrics'],
    'container ports: api and metrics only',
  )
  t.equal(container.readinessProbe.httpGet.path, '/health/ready')
  t.equal(container.livenessProbe.httpGet.path, '/health')
  t.same(s.template.metadata.annotations, { 'dittofs.io/config-hash': 'h1', 'dittofs.io/secret-hash': 'd1' })
  t.same(
    s.volumeClaimTemplates.map((c: any) => [
      c.metadata.name,
      c.spec.resources.requests.storage,
      c.spec.storageClassName,
    ]),
    [
      ['controlplane', '1Gi', 'fast'],
      ['metadata', '10Gi', 'fast'],
      ['content', '50Gi', 'fast'],
    ],
  )
  t.equal(s.template.spec.automountServiceAccountToken, false)
  t.equal(s.template.spec.securityContext.runAsNonRoot, true)
  t.same(container.securityContext.capabilities, { drop: ['ALL'] })
  t.same(container.resources, { requests: { cpu: '500m', memory: '1Gi' } })
  t.same(await invalidObjects([statefulSet]), [])

  t.test('immutable fields echo what exists; a storage change is reported, not applied', async (t) => {
    const observed: KubeObject = structuredClone(statefulSet)
    const os = observed.spec as Record<string, any>
    os.serviceName = 'legacy-headless'
    os.selector = { matchLabels: { app: 'dittofs-server', instance: 'ditto', extra: 'x' } }
    os.volumeClaimTemplates[1].status = { phase: 'Pending' }
    const bigger = specOf({
      storage: { metadataSize: '20Gi', contentSize: '50Gi', storageClassName: 'fast' },
    })
    const again = buildStatefulSet('ditto', bigger, { configHash: 'h1', secretDigest: 'd1' }, observed)
    const as = again.statefulSet.spec as Record<string, any>
    t.equal(as.serviceName, 'legacy-headless')
    t.same(as.selector, os.selector)
    t.same(as.volumeClaimTemplates, os.volumeClaimTemplates, 'exactly as observed, status included')
    t.equal(again.ignoredStorageChanges.length, 1)
    t.match(again.ignoredStorageChanges[0], /metadata=10Gi@fast.*metadata=20Gi@fast/)
  })
})

t.test('env reads secrets by reference, never by value', async (t) => {
  const env = containerEnv(
    'ditto',
    specOf({
      storage: { metadataSize: '1Gi' },
      database: { postgresSecretRef: { name: 'pg', key: 'dsn' } },
    }),
  )
  const names = env.map((e) => e.name)
  t.same(names.slice(0, 2), ['DITTOFS_CONTROLPLANE_SECRET', 'DITTOFS_ADMIN_INITIAL_PASSWORD'])
  t.ok(names.includes('DITTOFS_DATABASE_POSTGRES_HOST'))
  for (const e of env) t.ok(e.valueFrom, `${e.name} comes from a Secret`)
})

// pkg/block/remote/s3/store.go (DittoFS v0.29.0) builds every S3 client with a static credentials provider from the
// block store's own config, and shares/service.go always passes a region (us-east-1 when the store names none),
// so AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY and AWS_REGION never act; the SDK's config loader still reads
// AWS_ENDPOINT_URL as the endpoint of a store that has none.
t.test(
  'spec.s3: only AWS_ENDPOINT_URL is injected, optional, from the named key (s3/store.go)',
  async (t) => {
    const env = containerEnv(
      'ditto',
      specOf({
        storage: { metadataSize: '1Gi' },
        s3: {
          region: 'eu-west-3',
          bucket: 'b',
          credentialsSecretRef: { secretName: 's3', endpointKey: 'url', accessKeyIdKey: 'id' },
        },
      }),
    )
    t.same(
      env.filter((e) => String(e.name).startsWith('AWS_')),
      [{ name: 'AWS_ENDPOINT_URL', valueFrom: { secretKeyRef: { name: 's3', key: 'url', optional: true } } }],
    )
    const defaults = containerEnv(
      'ditto',
      specOf({ storage: { metadataSize: '1Gi' }, s3: { credentialsSecretRef: { secretName: 's3' } } }),
    )
    t.match(
      defaults.at(-1),
      { valueFrom: { secretKeyRef: { key: 'endpoint' } } },
      'endpoint key defaults to endpoint',
    )
    t.notOk(
      containerEnv('ditto', specOf({ storage: { metadataSize: '1Gi' }, s3: { region: 'x' } })).some((e) =>
        String(e.name).startsWith('AWS_'),
      ),
      'no Secret named: nothing injected',
    )
  },
)

t.test('config hash: config and secret digest only', async (t) => {
  const config = renderConfig(minimal())
  const d1 = jwtDigest('uid', 'secret-one')
  t.equal(configHash(config, d1), configHash(config, d1))
  t.not(configHash(config, d1), configHash(config, jwtDigest('uid', 'secret-two')), 'secret rotation rolls')
  t.not(configHash(config, d1), configHash(`${config}#`, d1), 'config change rolls')
  t.notMatch(d1, /secret-one/)
  const polling = renderConfig(
    specOf({ storage: { metadataSize: '10Gi' }, adapterDiscovery: { pollingInterval: '5m' } }),
  )
  t.equal(polling, config, 'a polling interval edit does not change the config')
  const { statefulSet } = buildStatefulSet(
    'ditto',
    minimal(),
    { configHash: 'h', secretDigest: 'dd' },
    undefined,
  )
  t.equal(observedSecretDigest(statefulSet), 'dd')
  t.equal(observedSecretDigest(undefined), undefined)
  t.same(await invalidObjects([buildConfigMap('ditto', config)]), [])
})

t.test(
  'rendered configs: the same input gives the same text, each input its own, past the memo bound too',
  async (t) => {
    const specFor = (port: number) => specOf({ storage: { metadataSize: '1Gi' }, controlPlane: { port } })
    const first = renderConfig(specFor(8080))
    for (let port = 10_000; port < 11_100; port++) renderConfig(specFor(port)) // past the bound: the cache restarts
    t.equal(renderConfig(specFor(8080)), first, 'same input, same text after the cache was cleared')
    t.match(renderConfig(specFor(10_999)), /port: 10999/, 'each input gets its own text')
  },
)
