// Migrating a DittoServer from the upstream Go operator keeps the passwords DittoFS already knows, whichever
// Secret layout the Go operator left behind (its internal/controller/auth_reconciler.go and api/v1alpha1/helpers.go
// at v0.29.0): older releases keep the admin password in `<n>-admin-credentials`; newer ones renamed it to
// `<n>-admin-bootstrap-credentials` and delete the old name. Both keep `<n>-operator-credentials` (username,
// password, access-token, refresh-token, server-url) and `<n>-jwt-secret` (`jwt-secret`).
import t from 'tap'
import { deriveSecret, resolveSecrets, secretValue } from '../hooks/children/secrets.js'
import { parseSpec } from '../hooks/dittoserver/spec.js'
import type { KubeObject, SyncResponse } from '../hooks/metacontroller/types.js'
import { post, TEST_SECRET_KEY, testApp } from './support/app.js'
import { hookWithEmulator } from './support/fuzz-harness.js'
import { conditionOf, minimalSpec, PARENT_UID, parent } from './support/requests.js'

const UPSTREAM_ADMIN = 'upstream-Admin-pw-0123456789'
const UPSTREAM_OPERATOR = 'upstream-Operator-pw-9876543210'
const UPSTREAM_JWT = 'upstream-jwt-signing-secret-0123456789abcdef'

const secret = (name: string, data: Record<string, string>): KubeObject => ({
  apiVersion: 'v1',
  kind: 'Secret',
  metadata: { name, namespace: 'storage' },
  type: 'Opaque',
  data: Object.fromEntries(Object.entries(data).map(([k, v]) => [k, Buffer.from(v).toString('base64')])),
})

const upstreamOperatorSecret = () =>
  secret('ditto-operator-credentials', {
    username: 'k8s-operator',
    password: UPSTREAM_OPERATOR,
    'access-token': 'eyJhbGciOiJIUzI1NiJ9.e30.c2ln',
    'refresh-token': 'eyJhbGciOiJIUzI1NiJ9.e30.cmVm',
    'server-url': 'http://ditto-api.storage.svc.cluster.local:8080',
  })
const upstreamJwtSecret = () => secret('ditto-jwt-secret', { 'jwt-secret': UPSTREAM_JWT })

const LAYOUTS: Array<[label: string, admin: KubeObject]> = [
  [
    'newer Go operator: <n>-admin-bootstrap-credentials',
    secret('ditto-admin-bootstrap-credentials', { username: 'admin', password: UPSTREAM_ADMIN }),
  ],
  [
    'older Go operator: <n>-admin-credentials',
    secret('ditto-admin-credentials', { username: 'admin', password: UPSTREAM_ADMIN }),
  ],
]

const secretChild = (res: SyncResponse, name: string) =>
  res.children.find((c) => c.kind === 'Secret' && c.metadata.name === name)

for (const [label, adminSecret] of LAYOUTS) {
  t.test(`migration, ${label}: the admin password DittoFS was bootstrapped with is used`, async (t) => {
    // Nothing labelled for Metacontroller: the Go operator's Secrets reach the hook only through `related`.
    const related = {
      'Secret.v1': {
        [adminSecret.metadata.name]: adminSecret,
        'ditto-operator-credentials': upstreamOperatorSecret(),
        'ditto-jwt-secret': upstreamJwtSecret(),
      },
    }
    const h = await hookWithEmulator(t, { related, emulator: { adminPassword: UPSTREAM_ADMIN } })
    const first = await h.sync()
    t.equal(
      secretValue(secretChild(first.body, 'ditto-admin-credentials'), 'password'),
      UPSTREAM_ADMIN,
      'the admin Secret the hook creates holds the Go operator password',
    )
    t.equal(secretValue(secretChild(first.body, 'ditto-operator-credentials'), 'password'), UPSTREAM_OPERATOR)
    t.equal(secretValue(secretChild(first.body, 'ditto-jwt-secret'), 'jwt-secret'), UPSTREAM_JWT)
    const second = await h.sync()
    t.equal(conditionOf(second.body.status, 'Authenticated')?.reason, 'AuthenticationSucceeded')
    t.equal(h.emulator.counters['login:admin'], 1, 'the admin login with the adopted password succeeded')
    t.same(
      h.emulator.users().map((u) => u.username),
      ['admin', 'k8s-operator'],
      'k8s-operator provisioned with the adopted admin password',
    )
    t.equal(
      h.emulator.counters['login:k8s-operator'],
      1,
      'and the operator logs in with its adopted password',
    )
  })
}

t.test('migration, nothing adopted: a derived admin password DittoFS never saw fails with 401', async (t) => {
  // The control for the tests above: without the Go operator's Secret the hook cannot know the password.
  const h = await hookWithEmulator(t, { emulator: { adminPassword: UPSTREAM_ADMIN } })
  await h.sync()
  const second = await h.sync()
  t.equal(conditionOf(second.body.status, 'Authenticated')?.reason, 'AuthenticationFailed')
})

const specOf = (raw: unknown) => {
  const parsed = parseSpec(raw)
  if (!parsed.ok) throw new Error(JSON.stringify(parsed.errors))
  return parsed.spec
}
const KEY = Buffer.from(TEST_SECRET_KEY)
const resolve = (own: KubeObject[], related: KubeObject[] | undefined, spec = specOf(minimalSpec())) =>
  resolveSecrets({
    spec,
    parentName: 'ditto',
    parentUid: PARENT_UID,
    secretKey: KEY,
    ownSecrets: new Map(own.map((s) => [s.metadata.name, s])),
    relatedSecrets: related && new Map(related.map((s) => [s.metadata.name, s])),
  })

t.test('migration: which admin password wins when several are held', async (t) => {
  const bootstrap = secret('ditto-admin-bootstrap-credentials', { password: UPSTREAM_ADMIN })
  const legacy = secret('ditto-admin-credentials', { password: 'legacy-pw' })
  t.equal(
    resolve([], [legacy, bootstrap]).admin?.password,
    UPSTREAM_ADMIN,
    'both Go operator names (an interrupted rename): the bootstrap Secret, as the Go operator reads it first',
  )
  const handedOver = secret('ditto-admin-credentials', { password: 'rotated-by-user' })
  t.equal(
    resolve([handedOver], [bootstrap]).admin?.password,
    'rotated-by-user',
    'our own child with a value of its own (handed over, or rotated) is the user word',
  )
  const derived = deriveSecret(KEY, PARENT_UID, 'admin-password')
  const stale = resolve([secret('ditto-admin-credentials', { password: derived })], [bootstrap])
  t.equal(
    stale.admin?.password,
    UPSTREAM_ADMIN,
    'a child the hook filled with its derived value before the bootstrap Secret was seen: the bootstrap wins',
  )
  t.equal(
    secretValue(
      stale.children.find((c) => c.metadata.name === 'ditto-admin-credentials'),
      'password',
    ),
    derived,
    'the child keeps what it holds (Secrets update OnDelete)',
  )
  t.equal(resolve([], []).admin, undefined, 'nothing held: derived, and not used before it exists')
  t.equal(
    resolve(
      [],
      [bootstrap],
      specOf({ ...minimalSpec(), identity: { admin: { passwordSecretRef: { name: 'mine', key: 'pw' } } } }),
    ).admin,
    undefined,
    'a passwordSecretRef is the only source: the Go operator Secret is not consulted',
  )
})

t.test('customize asks for every Go operator Secret name the hook may adopt', async (t) => {
  const app = testApp(t)
  const names = async (spec: unknown) =>
    ((await post(app, '/customize', { controller: {}, parent: parent(spec) })).json() as any)
      .relatedResources[0].names
  t.same(await names(minimalSpec()), [
    'ditto-admin-bootstrap-credentials',
    'ditto-admin-credentials',
    'ditto-jwt-secret',
    'ditto-operator-credentials',
  ])
  t.same(
    await names({
      ...minimalSpec(),
      identity: {
        admin: { passwordSecretRef: { name: 'mine', key: 'pw' } },
        jwt: { secretRef: { name: 'mine', key: 'jwt' } },
      },
    }),
    ['ditto-operator-credentials', 'mine'],
    'user-named Secrets replace the generated ones (and are asked for once)',
  )
})
