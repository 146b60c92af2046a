// The pod restarts when a Secret value it reads at start-up changes, and only then. What DittoFS v0.29.0 reads at
// start-up: the JWT signing key and the DITTOFS_DATABASE_POSTGRES_* connection (cmd/dfs/commands/start.go opens
// the control-plane store with them on every start), AWS_ENDPOINT_URL (the S3 SDK's config loader,
// pkg/block/remote/s3/store.go); DITTOFS_ADMIN_INITIAL_PASSWORD only when the admin user is created (EnsureAdminUser;
// start.go warns that restarting with another value "will NOT change it").
import t, { type Test } from 'tap'
import { jwtDigest, parseSecretDigest } from '../hooks/children/secret-digest.js'
import { deriveSecret } from '../hooks/children/secrets.js'
import type { KubeObject, ObjectMap, SyncResponse } from '../hooks/metacontroller/types.js'
import { post, TEST_SECRET_KEY, testApp } from './support/app.js'
import { asObserved, conditionOf, minimalSpec, PARENT_UID, parent, syncRequest } from './support/requests.js'

const CONFIG_HASH = 'dittofs.io/config-hash'
const SECRET_HASH = 'dittofs.io/secret-hash'

const secret = (name: string, data: Record<string, string>): KubeObject => ({
  apiVersion: 'v1',
  kind: 'Secret',
  metadata: { name, namespace: 'storage' },
  data: Object.fromEntries(Object.entries(data).map(([k, v]) => [k, Buffer.from(v).toString('base64')])),
})
const postgres = (password: string) =>
  secret('pg', { host: 'pg.db', database: 'dittofs', user: 'ditto', password, sslmode: 'require' })
const related = (...secrets: KubeObject[]): ObjectMap => ({
  'Secret.v1': Object.fromEntries(secrets.map((s) => [s.metadata.name, s])),
})

const pgSpec = {
  ...minimalSpec(),
  database: { type: 'postgres', postgresSecretRef: { name: 'pg', key: 'dsn' } },
}
const s3Spec = { ...pgSpec, s3: { credentialsSecretRef: { secretName: 's3' } } }
const adminSpec = { ...pgSpec, identity: { admin: { passwordSecretRef: { name: 'adm', key: 'password' } } } }

const annotationsOf = (res: SyncResponse) =>
  (res.children.find((c) => c.kind === 'StatefulSet')!.spec as any).template.metadata.annotations as Record<
    string,
    string
  >

/** A first sync, then a sync that observes what the first created, with `related` as given. */
async function rotate(
  t: Test,
  spec: unknown,
  before: ObjectMap,
  after: ObjectMap | undefined,
  env: Record<string, string> = {},
) {
  const app = testApp(t, env)
  const first = (
    await post(app, '/sync', syncRequest(parent(spec), { related: before }))
  ).json() as SyncResponse
  const children = asObserved(first.children)
  const second = (
    await post(app, '/sync', syncRequest(parent(spec), { children, ...(after ? { related: after } : {}) }))
  ).json() as SyncResponse
  return {
    first,
    second,
    restarted: annotationsOf(first)[CONFIG_HASH] !== annotationsOf(second)[CONFIG_HASH],
  }
}

t.test('Postgres password rotated: the pod restarts; the same values: it does not', async (t) => {
  const rotated = await rotate(t, pgSpec, related(postgres('one')), related(postgres('two')))
  t.ok(rotated.restarted, 'DITTOFS_DATABASE_POSTGRES_PASSWORD is read at every start')
  t.notMatch(annotationsOf(rotated.second)[SECRET_HASH], /one|two/, 'digests, never values')
  const same = await rotate(t, pgSpec, related(postgres('one')), related(postgres('one')))
  t.notOk(same.restarted)
  const optional = await rotate(
    t,
    pgSpec,
    related(postgres('one')),
    related(secret('pg', { host: 'pg.db', database: 'dittofs', user: 'ditto', password: 'one' })),
  )
  t.ok(optional.restarted, 'an optional key (sslmode) removed changes what the pod reads')
})

t.test('the Percona operator rotates the dittofs user password: the pod restarts', async (t) => {
  // The pod reads DITTOFS_DATABASE_POSTGRES_* from the Percona operator's pguser Secret (customize asks for it).
  const percona = { ...minimalSpec(), percona: { enabled: true, deleteWithServer: true } }
  const env = { HOOKS_OPTIONAL_CHILD_PERCONAPGCLUSTERS: 'true' }
  const pguser = (password: string) =>
    secret('ditto-postgres-pguser-dittofs', {
      host: 'ditto-postgres-primary.storage.svc',
      port: '5432',
      dbname: 'dittofs',
      user: 'dittofs',
      password,
    })
  const rotated = await rotate(t, percona, related(pguser('one')), related(pguser('two')), env)
  t.ok(rotated.restarted, 'DITTOFS_DATABASE_POSTGRES_PASSWORD comes from the pguser Secret')
  t.match(annotationsOf(rotated.second)[SECRET_HASH], /ditto-postgres-pguser-dittofs:/)
  t.notMatch(annotationsOf(rotated.second)[SECRET_HASH], /one|two/, 'digests, never values')
  const same = await rotate(t, percona, related(pguser('one')), related(pguser('one')), env)
  t.notOk(same.restarted)
  const notYet = await rotate(t, percona, related(pguser('one')), undefined, env)
  t.notOk(notYet.restarted, 'a request without the Secret keeps the digest the pod has')
})

t.test(
  'a Postgres Secret missing from related never restarts the pod; reported when related shows it absent',
  async (t) => {
    const gone = await rotate(t, pgSpec, related(postgres('one')), related())
    t.notOk(gone.restarted, 'the observed digest is kept')
    t.same(conditionOf(gone.second.status, 'ConfigReady'), {
      ...conditionOf(gone.second.status, 'ConfigReady'),
      status: 'False',
      reason: 'SecretNotFound',
    })
    t.match(
      conditionOf(gone.second.status, 'ConfigReady')?.message,
      /pg\/host, pg\/database, pg\/user, pg\/password/,
      'the required keys are named; the optional port and sslmode are not',
    )
    const unknown = await rotate(t, pgSpec, related(postgres('one')), undefined)
    t.notOk(unknown.restarted, 'no related group at all: nothing known, nothing changed')
    t.not(conditionOf(unknown.second.status, 'ConfigReady')?.reason, 'SecretNotFound', 'and nothing reported')
    const keyless = await rotate(t, pgSpec, related(postgres('one')), related(secret('pg', { host: 'h' })))
    t.match(
      conditionOf(keyless.second.status, 'ConfigReady')?.message,
      /pg\/database, pg\/user, pg\/password/,
    )
  },
)

t.test(
  'the admin password Secret rotated: no restart (the server reads it only to create the admin)',
  async (t) => {
    const admin = (pw: string) => secret('adm', { password: pw })
    const rotated = await rotate(
      t,
      adminSpec,
      related(postgres('one'), admin('first')),
      related(postgres('one'), admin('second')),
    )
    t.notOk(rotated.restarted)
  },
)

t.test(
  'each Secret counts on its own: Postgres rotated while the S3 Secret is not shown still restarts',
  async (t) => {
    const s3 = (url: string) => secret('s3', { endpoint: url })
    const both = await rotate(t, s3Spec, related(postgres('one'), s3('https://a')), related(postgres('two')))
    t.ok(both.restarted)
    const kept = parseSecretDigest(annotationsOf(both.second)[SECRET_HASH])
    t.equal(
      kept.bySecret.get('s3'),
      parseSecretDigest(annotationsOf(both.first)[SECRET_HASH]).bySecret.get('s3'),
      'the S3 part is carried over as the pod has it',
    )
    const endpoint = await rotate(
      t,
      s3Spec,
      related(postgres('one'), s3('https://a')),
      related(postgres('one'), s3('https://b')),
    )
    t.ok(endpoint.restarted, 'AWS_ENDPOINT_URL is read when the S3 block stores are opened')
  },
)

t.test(
  'a DittoServer reading only the JWT secret keeps the digest format it always had (no upgrade restart)',
  async (t) => {
    const app = testApp(t)
    const res = (await post(app, '/sync', syncRequest(parent(minimalSpec())))).json() as SyncResponse
    const jwt = deriveSecret(Buffer.from(TEST_SECRET_KEY), PARENT_UID, 'jwt-secret')
    t.equal(annotationsOf(res)[SECRET_HASH], jwtDigest(PARENT_UID, jwt))
  },
)

t.test('parseSecretDigest reads what secretDigestAnnotation writes, and tolerates hand edits', async (t) => {
  t.same(parseSecretDigest(undefined), { bySecret: new Map() })
  t.same(parseSecretDigest('abc pg:def s3:ghi junk'), {
    first: 'abc',
    bySecret: new Map([
      ['pg', 'def'],
      ['s3', 'ghi'],
    ]),
  })
  t.same(parseSecretDigest(''), { first: undefined, bySecret: new Map() })
})
