// controlPlane.tls, certSecretName and clientCASecretName (upstream v0.29.0): the pod serves HTTPS from the mounted
// certificate Secret (DittoFS' controlplane.tls, pkg/controlplane/api/config.go), and the hook talks HTTPS to it,
// trusting the Secret's ca.crt read through customize's related resources: never plain HTTP, never unverified.
import t, { type Test } from 'tap'
import { parse } from 'yaml'
import { CONFIG_KEY } from '../hooks/children/config.js'
import { parseSpec } from '../hooks/dittoserver/spec.js'
import type { KubeObject, SyncResponse } from '../hooks/metacontroller/types.js'
import { customize } from '../hooks/reconcile/customize.js'
import { post, testApp } from './support/app.js'
import { hookWithEmulator } from './support/fuzz-harness.js'
import { leakedIn } from './support/fuzz-secrets.js'
import {
  advanceToNextPoll,
  conditionOf,
  findChild,
  minimalSpec,
  parent,
  syncRequest,
} from './support/requests.js'
import { makeTestPki, opensslMissing, type TestPki } from './support/test-ca.js'

type Json = Record<string, unknown>

const tlsSecret = (name: string, data: Record<string, string>): KubeObject => ({
  apiVersion: 'v1',
  kind: 'Secret',
  metadata: { name, namespace: 'storage' },
  type: 'kubernetes.io/tls',
  data: Object.fromEntries(Object.entries(data).map(([k, v]) => [k, Buffer.from(v).toString('base64')])),
})

const render = async (t: Test, controlPlane: Json) => {
  const app = testApp(t)
  const res = await post(app, '/sync', syncRequest(parent({ ...minimalSpec(), controlPlane })))
  const body = res.json() as SyncResponse
  const sts = findChild(body.children, 'StatefulSet', 'ditto') as KubeObject
  const pod = (sts.spec as { template: { spec: Json } }).template.spec
  const container = (pod.containers as Json[])[0] as Json
  const config = parse(
    ((findChild(body.children, 'ConfigMap', 'ditto-config') as KubeObject).data as Json)[
      CONFIG_KEY
    ] as string,
  ) as { controlplane: Json }
  return { body, pod, container, config }
}

t.test(
  'certSecretName: HTTPS config, the Secret mounted read-only without subPath, HTTPS probes',
  async (t) => {
    const { config, container, pod } = await render(t, { certSecretName: 'api-tls' })
    t.same(config.controlplane.tls, { cert_file: '/tls/tls.crt', key_file: '/tls/tls.key' })
    t.same(
      (container.volumeMounts as Json[]).find((m) => m.name === 'tls-cert'),
      {
        name: 'tls-cert',
        mountPath: '/tls',
        readOnly: true,
      },
    )
    t.same(
      (pod.volumes as Json[]).find((v) => v.name === 'tls-cert'),
      {
        name: 'tls-cert',
        secret: { secretName: 'api-tls', defaultMode: 0o440 },
      },
    )
    for (const probe of ['startupProbe', 'livenessProbe', 'readinessProbe'])
      t.match(container[probe], { httpGet: { scheme: 'HTTPS', port: 'api' } }, `${probe} over HTTPS`)

    const mutual = await render(t, { certSecretName: 'api-tls', clientCASecretName: 'clients' })
    t.same(mutual.config.controlplane.tls, {
      cert_file: '/tls/tls.crt',
      key_file: '/tls/tls.key',
      client_ca: '/tls-client-ca/ca.crt',
    })
    t.same(
      (mutual.container.readinessProbe as Json).tcpSocket,
      { port: 'api' },
      'the kubelet has no client cert',
    )
    t.equal((mutual.container.readinessProbe as Json).httpGet, undefined)

    const edge = await render(t, { tls: true })
    t.equal(edge.config.controlplane.tls, undefined, 'tls alone: terminated in front of the pod')
    t.match(edge.container.readinessProbe, { httpGet: { scheme: 'HTTP' } })
    const plain = await render(t, {})
    t.equal(plain.config.controlplane.tls, undefined)

    const refused = parseSpec({ ...minimalSpec(), controlPlane: { clientCASecretName: 'clients' } })
    t.match(refused, { ok: false, errors: [{ field: 'spec.controlPlane.clientCASecretName' }] })
    t.same(
      customize({
        controller: {} as never,
        parent: parent({
          ...minimalSpec(),
          controlPlane: { certSecretName: 'api-tls', clientCASecretName: 'clients' },
        }),
      }).relatedResources[0]?.names,
      [
        'api-tls',
        'clients',
        // The generated Secrets' Go operator names (migration, test/migration-secrets.test.ts).
        'ditto-admin-bootstrap-credentials',
        'ditto-admin-credentials',
        'ditto-jwt-secret',
        'ditto-operator-credentials',
      ],
    )
  },
)

const skip = opensslMissing

/** A hook whose DittoServer serves its API over HTTPS with `pki`'s certificate, after the first sync. */
async function httpsHook(t: Test, pki: TestPki, related: { 'Secret.v1': Record<string, KubeObject> }) {
  const h = await hookWithEmulator(t, {
    emulator: { tls: { cert: pki.cert, key: pki.key } },
    spec: { controlPlane: { certSecretName: 'api-tls' } },
    related,
  })
  await h.sync()
  return h
}

t.test('the hook reaches an HTTPS DittoFS, trusting only the CA from the Secret', { skip }, async (t) => {
  const pki = makeTestPki()
  const related = {
    'Secret.v1': {
      'api-tls': tlsSecret('api-tls', { 'ca.crt': pki.ca, 'tls.crt': pki.cert, 'tls.key': pki.key }),
    },
  }
  const h = await httpsHook(t, pki, related)
  let res = await h.sync()
  t.match(conditionOf(res.body.status, 'Authenticated'), {
    status: 'True',
    message: /https:\/\/127\.0\.0\.1/,
  })
  t.match(conditionOf(res.body.status, 'AdaptersSynced'), { status: 'True', message: /nfs:12049/ })

  // Rotation to a certificate from another CA: the Secret changes, the same hook process follows it.
  const next = makeTestPki()
  h.emulator.setTls({ cert: next.cert, key: next.key })
  advanceToNextPoll(h.clock)
  res = await h.sync()
  t.match(
    conditionOf(res.body.status, 'AdaptersSynced'),
    { status: 'False', reason: 'APIUnreachable' },
    'a certificate the Secret does not vouch for is refused, not trusted',
  )
  related['Secret.v1']['api-tls'] = tlsSecret('api-tls', {
    'ca.crt': next.ca,
    'tls.crt': next.cert,
    'tls.key': next.key,
  })
  h.clock.advance(60_000)
  res = await h.sync()
  t.match(
    conditionOf(res.body.status, 'AdaptersSynced'),
    { status: 'True' },
    'rotated without a hook restart',
  )
  t.same(
    leakedIn([...h.lines, ...h.answers].join('\n'), { key: pki.key, nextKey: next.key }),
    [],
    'no private key anywhere',
  )
})

t.test(
  'a missing or malformed certificate Secret is a condition, and DittoFS is not called at all',
  { skip },
  async (t) => {
    const pki = makeTestPki()
    const related: { 'Secret.v1': Record<string, KubeObject> } = { 'Secret.v1': {} }
    const h = await httpsHook(t, pki, related)
    let res = await h.sync()
    t.match(conditionOf(res.body.status, 'AdaptersSynced'), {
      status: 'False',
      reason: 'TLSNotReady',
      message: /waiting for the certificate Secret api-tls/,
    })
    t.equal(conditionOf(res.body.status, 'ConfigReady')?.reason, 'SecretNotFound')
    related['Secret.v1']['api-tls'] = tlsSecret('api-tls', {
      'ca.crt': 'not a certificate',
      'tls.crt': pki.cert,
      'tls.key': pki.key,
    })
    advanceToNextPoll(h.clock)
    res = await h.sync()
    t.match(conditionOf(res.body.status, 'AdaptersSynced'), {
      reason: 'TLSNotReady',
      message: /ca\.crt in Secret api-tls is not a PEM certificate/,
    })
    t.equal(h.emulator.counters.requests, 0, 'no request at all: never plain HTTP, never unverified')
  },
)

t.test('mutual TLS: the hook presents the certificate from the Secret', { skip }, async (t) => {
  const pki = makeTestPki()
  const h = await hookWithEmulator(t, {
    emulator: { tls: { cert: pki.cert, key: pki.key, clientCa: pki.ca } },
    spec: { controlPlane: { certSecretName: 'api-tls', clientCASecretName: 'clients' } },
    related: {
      'Secret.v1': {
        'api-tls': tlsSecret('api-tls', { 'ca.crt': pki.ca, 'tls.crt': pki.cert, 'tls.key': pki.key }),
        clients: tlsSecret('clients', { 'ca.crt': pki.ca }),
      },
    },
  })
  await h.sync()
  const res = await h.sync()
  t.match(conditionOf(res.body.status, 'AdaptersSynced'), { status: 'True' })
})
