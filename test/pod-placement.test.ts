// The pod placement fields (issue 14): each copied into the pod template in Kubernetes' shape, none changing the
// pod template when unset (existing DittoServers do not restart on upgrade), and no field a way out of the
// sandbox. Also the terminationGracePeriodSeconds default from what DittoFS v0.29.0 needs to drain (issue 16.1).
import { readFileSync } from 'node:fs'
import path from 'node:path'
import t from 'tap'
import { buildStatefulSet } from '../hooks/children/statefulset.js'
import {
  DEFAULT_TERMINATION_GRACE_SECONDS,
  PRE_STOP_SECONDS,
  SHUTDOWN_TIMEOUT_SECONDS,
} from '../hooks/dittoserver/schema.js'
import { type DittoServerSpec, parseSpec } from '../hooks/dittoserver/spec.js'
import type { KubeObject } from '../hooks/metacontroller/types.js'
import { renderDittoServer } from '../hooks/render.js'
import { SPECS } from './fixtures/pod-template-specs.js'
import { invalidObjects } from './support/models.js'
import { parent } from './support/requests.js'
import { repoRoot } from './support/tools.js'

// Rendered objects are navigated freely here.
type Any = any

const specOf = (raw: unknown): DittoServerSpec => {
  const parsed = parseSpec(raw)
  if (!parsed.ok) throw new Error(JSON.stringify(parsed.errors))
  return parsed.spec
}
const minimal = { storage: { metadataSize: '10Gi' } }
const HASHES = { configHash: 'h1', secretDigest: 'd1' }
const statefulSetOf = (raw: unknown): Any =>
  buildStatefulSet('ditto', specOf(raw), HASHES, undefined).statefulSet as Any
const podOf = (raw: unknown): Any => statefulSetOf(raw).spec.template
const errorsOf = (raw: unknown) => {
  const parsed = parseSpec(raw)
  return parsed.ok ? [] : parsed.errors
}

t.test('a spec without the new fields renders the StatefulSet stored before they existed', async (t) => {
  const stored = JSON.parse(
    readFileSync(path.join(repoRoot, 'test/fixtures/statefulsets-0.1.0.json'), 'utf8'),
  ) as Record<string, Any>
  t.same(Object.keys(stored), Object.keys(SPECS), 'one stored rendering per spec')
  for (const [name, raw] of Object.entries(SPECS)) {
    const expected = structuredClone(stored[name])
    // The one deliberate change (issue 16.1): 45 s could SIGKILL DittoFS mid-flush. A one-time restart on upgrade.
    t.equal(expected.spec.template.spec.terminationGracePeriodSeconds, 45, `${name}: stored with 45 s`)
    expected.spec.template.spec.terminationGracePeriodSeconds = DEFAULT_TERMINATION_GRACE_SECONDS
    // The other (issue 16.3), only where spec.s3 is set: the AWS_* variables DittoFS never reads are gone
    // (pkg/block/remote/s3/store.go); AWS_ENDPOINT_URL, which the SDK does read, stays where it was.
    const container = expected.spec.template.spec.containers[0]
    const ignoredByServer = ['AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY', 'AWS_REGION']
    const kept = container.env.filter((e: Any) => !ignoredByServer.includes(e.name))
    t.equal(
      container.env.length - kept.length,
      (raw as Any).s3 ? ignoredByServer.length : 0,
      `${name}: the ignored AWS_* variables were injected exactly when spec.s3 was set`,
    )
    container.env = kept
    t.equal(JSON.stringify(statefulSetOf(raw)), JSON.stringify(expected), `${name}: byte-identical`)
  }
})

t.test(
  'the grace period covers what DittoFS v0.29.0 takes to drain, and the spec may raise it',
  async (t) => {
    // cmd/dfs/commands/start.go: after SIGTERM the server waits up to 3 × shutdown_timeout + 5 s, then exits.
    const serverDeadline = 3 * SHUTDOWN_TIMEOUT_SECONDS + 5
    t.equal(DEFAULT_TERMINATION_GRACE_SECONDS, 105, 'the upstream operator uses 105 s too')
    t.ok(DEFAULT_TERMINATION_GRACE_SECONDS > PRE_STOP_SECONDS + serverDeadline, 'preStop + drain fit inside')
    const pod = podOf(minimal)
    t.equal(pod.spec.terminationGracePeriodSeconds, 105)
    t.same(pod.spec.containers[0].lifecycle.preStop.exec.command, [
      '/bin/sh',
      '-c',
      `sleep ${PRE_STOP_SECONDS}`,
    ])
    t.match(readConfigShutdownTimeout(), `${SHUTDOWN_TIMEOUT_SECONDS}s`, 'the config the pod reads says 30s')
    t.equal(podOf({ ...minimal, terminationGracePeriodSeconds: 600 }).spec.terminationGracePeriodSeconds, 600)
    t.equal(podOf({ ...minimal, terminationGracePeriodSeconds: 105 }).spec.terminationGracePeriodSeconds, 105)
    t.same(errorsOf({ ...minimal, terminationGracePeriodSeconds: 104 }), [
      { field: 'spec.terminationGracePeriodSeconds', message: 'must be >= 105' },
    ])
    t.same(errorsOf({ ...minimal, terminationGracePeriodSeconds: '120' }), [
      { field: 'spec.terminationGracePeriodSeconds', message: 'must be integer' },
    ])
  },
)

function readConfigShutdownTimeout(): string {
  const rendered = renderDittoServer(parent(minimal), { secretKey: Buffer.from('k'.repeat(32)) })
  const config = rendered.children.find((c) => c.kind === 'ConfigMap') as Any
  return /^shutdown_timeout: (.*)$/m.exec(config.data['config.yaml'])?.[1] ?? ''
}

const affinity = {
  podAntiAffinity: {
    preferredDuringSchedulingIgnoredDuringExecution: [
      {
        weight: 50,
        podAffinityTerm: {
          topologyKey: 'kubernetes.io/hostname',
          labelSelector: { matchExpressions: [{ key: 'app', operator: 'In', values: ['db'] }] },
        },
      },
    ],
  },
}
const tolerations = [{ key: 'dedicated', operator: 'Equal', value: 'storage', effect: 'NoSchedule' }]
const spread = [
  { maxSkew: 1, topologyKey: 'topology.kubernetes.io/zone', whenUnsatisfiable: 'DoNotSchedule' },
]

// Each field: what it is set to, and where in the pod template (or its container) it must appear.
const FIELDS: Array<[field: string, value: unknown, read: (pod: Any) => unknown, expected?: unknown]> = [
  ['nodeSelector', { disk: 'ssd' }, (pod) => pod.spec.nodeSelector],
  ['tolerations', tolerations, (pod) => pod.spec.tolerations],
  ['affinity', affinity, (pod) => pod.spec.affinity],
  ['topologySpreadConstraints', spread, (pod) => pod.spec.topologySpreadConstraints],
  ['priorityClassName', 'storage-critical', (pod) => pod.spec.priorityClassName],
  ['imagePullSecrets', [{ name: 'registry' }], (pod) => pod.spec.imagePullSecrets],
  ['imagePullPolicy', 'Always', (pod) => pod.spec.containers[0].imagePullPolicy],
  ['terminationGracePeriodSeconds', 300, (pod) => pod.spec.terminationGracePeriodSeconds],
  [
    'podLabels',
    { team: 'storage', 'example.com/tier': 'gold' },
    (pod) => pod.metadata.labels,
    { app: 'dittofs-server', instance: 'ditto', team: 'storage', 'example.com/tier': 'gold' },
  ],
  [
    'podAnnotations',
    { 'example.com/backup': 'nightly' },
    (pod) => pod.metadata.annotations,
    { 'dittofs.io/config-hash': 'h1', 'dittofs.io/secret-hash': 'd1', 'example.com/backup': 'nightly' },
  ],
]

t.test(
  'each placement field is copied into the pod template, and changing it changes the template',
  async (t) => {
    const before = JSON.stringify(podOf(minimal))
    for (const [field, value, read, expected] of FIELDS) {
      const spec = { ...minimal, [field]: value }
      const statefulSet = statefulSetOf(spec)
      t.same(read(statefulSet.spec.template), expected ?? value, `${field} reaches the pod template`)
      t.not(JSON.stringify(statefulSet.spec.template), before, `${field}: a deliberate pod restart`)
      t.same(statefulSet.spec.selector, { matchLabels: { app: 'dittofs-server', instance: 'ditto' } })
      t.same(await invalidObjects([statefulSet]), [], `${field}: a valid StatefulSet`)
      t.same(
        errorsOf({ ...minimal, [field]: field === 'imagePullPolicy' ? 'Sometimes' : true }).map((e) =>
          e.field.startsWith(`spec.${field}`),
        ),
        [true],
        `${field}: a value of the wrong shape is refused naming the field`,
      )
    }
  },
)

t.test('every field at once still makes a valid StatefulSet', async (t) => {
  const spec = Object.fromEntries([['storage', minimal.storage], ...FIELDS.map(([f, v]) => [f, v])])
  const statefulSet = statefulSetOf(spec)
  t.same(await invalidObjects([statefulSet]), [])
  for (const [field, value, read, expected] of FIELDS)
    t.same(read(statefulSet.spec.template), expected ?? value, field)
})

t.test('adapters never touch the pod template, placement fields or not', async (t) => {
  const spec = { ...minimal, nodeSelector: { disk: 'ssd' }, tolerations, podLabels: { team: 'storage' } }
  const key = Buffer.from('k'.repeat(32))
  const templateOf = (
    adapters?: Array<{ type: string; port: number; enabled: boolean; running: boolean }>,
  ) => {
    const rendered = renderDittoServer(parent(spec), {
      secretKey: key,
      now: 0,
      ...(adapters ? { adapters } : {}),
    })
    const statefulSet = rendered.children.find((c) => c.kind === 'StatefulSet') as KubeObject
    return JSON.stringify((statefulSet.spec as Any).template)
  }
  const none = templateOf()
  t.equal(templateOf([{ type: 'nfs', port: 12049, enabled: true, running: true }]), none, 'NFS added')
  t.equal(
    templateOf([
      { type: 'nfs', port: 2049, enabled: true, running: true },
      { type: 'smb', port: 445, enabled: true, running: true },
    ]),
    none,
    'NFS moved and SMB added',
  )
})

t.test('pod labels and annotations cannot take over what the hook owns', async (t) => {
  t.same(errorsOf({ ...minimal, podLabels: { app: 'x', instance: 'y', ok: 'z' } }), [
    { field: 'spec.podLabels.app', message: 'is a selector label of the StatefulSet and cannot be set' },
    { field: 'spec.podLabels.instance', message: 'is a selector label of the StatefulSet and cannot be set' },
  ])
  t.same(errorsOf({ ...minimal, podAnnotations: { 'dittofs.io/config-hash': 'stale' } }), [
    {
      field: 'spec.podAnnotations.dittofs.io/config-hash',
      message: 'is reserved: the hook owns dittofs.io/ annotations',
    },
  ])
  const labelSyntax = errorsOf({
    ...minimal,
    podLabels: { 'bad key!': 'v', 'Example.COM/x': 'v', long: 'v'.repeat(64), fine: '' },
    nodeSelector: { disk: 'not ok' },
  })
  t.same(
    labelSyntax.map((e) => e.field),
    [
      'spec.podLabels.bad key!',
      'spec.podLabels.Example.COM/x',
      'spec.podLabels.long',
      'spec.nodeSelector.disk',
    ],
  )
  t.match(labelSyntax[1]?.message, /prefix that is not a DNS subdomain/)
  t.same(errorsOf({ ...minimal, podAnnotations: { 'example.com/free text': 'x' } }).length, 1)
  t.same(
    errorsOf({ ...minimal, podAnnotations: { 'example.com/note': 'any text, even long '.repeat(20) } }),
    [],
  )
})

t.test('no field is a way to a host namespace, a host path or a privileged container', async (t) => {
  const escapes = {
    ...minimal,
    hostNetwork: true,
    hostPID: true,
    hostIPC: true,
    hostUsers: false,
    volumes: [{ name: 'root', hostPath: { path: '/' } }],
    containers: [{ name: 'x', image: 'busybox', securityContext: { privileged: true } }],
    serviceAccountName: 'cluster-admin',
    affinity: { ...affinity, hostNetwork: true },
    tolerations: [{ ...tolerations[0], hostPath: { path: '/' } }],
    imagePullSecrets: [{ name: 'r', hostPID: true }],
    topologySpreadConstraints: [{ ...spread[0], volumes: [{ hostPath: { path: '/etc' } }] }],
    podSecurityContext: { hostNetwork: true, hostPID: true, runAsUser: 1000 },
    securityContext: { readOnlyRootFilesystem: true, volumeMounts: [{ name: 'root', mountPath: '/host' }] },
    resources: { requests: { cpu: '1' }, hostPath: '/' },
  }
  const statefulSet = statefulSetOf(escapes)
  const text = JSON.stringify(statefulSet)
  for (const word of [
    'hostNetwork',
    'hostPID',
    'hostIPC',
    'hostUsers',
    'hostPath',
    'privileged',
    'busybox',
    'cluster-admin',
    '"/host"',
  ])
    t.notMatch(text, word, `nothing named ${word} reaches the StatefulSet`)
  t.same(statefulSet.spec.template.spec.volumes, [{ name: 'config', configMap: { name: 'ditto-config' } }])
  t.same(statefulSet.spec.template.spec.containers.length, 1)
  t.equal(statefulSet.spec.template.spec.securityContext.runAsUser, 1000, 'the known field is kept')
  t.same(await invalidObjects([statefulSet]), [])
})
