// The Helm chart: `helm lint --strict`, `helm template` of every ci/*-values.yaml scenario with every object
// validated offline, the same objects as the plain manifests where they overlap, and a closed values schema.
import { cpSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import t, { type Test } from 'tap'
import { isMap, isScalar, parseDocument, type YAMLMap } from 'yaml'
import { renderCrd } from '../scripts/gen-crd.js'
import {
  chartDir,
  containerOf,
  customValidators,
  findAll,
  findOne,
  type HelmTemplate,
  helmTemplate,
  idsOf,
  kustomize,
  manifestsDir,
  podSpecOf,
  selects,
  specOf,
} from './support/deploy.js'
import { type K8sObject, serviceMonitorValidator, validateObjects } from './support/k8s-validate.js'
import {
  type CompositeControllerSpec,
  metacontrollerNeeds,
  missingPermissions,
  type PolicyRule,
} from './support/rbac.js'
import { helmAsync, metacontrollerCrdFile, sharedMissing } from './support/tools.js'

type Json = Record<string, unknown>

const ciDir = path.join(chartDir, 'ci')
const ciFiles = readdirSync(ciDir)
  .filter((f) => f.endsWith('-values.yaml'))
  .sort()
// Every scenario is rendered for the oldest Kubernetes the chart supports (Chart.yaml kubeVersion).
const OLDEST_KUBERNETES = ['--kube-version', '1.25.0']
const renders = new Map<string, HelmTemplate>(
  await Promise.all(
    ciFiles.map(
      async (f) => [f, await helmTemplate([...OLDEST_KUBERNETES, '-f', path.join(ciDir, f)])] as const,
    ),
  ),
)
const rendered = (file: string): K8sObject[] => renders.get(file)?.objects ?? []
const defaults = rendered('default-values.yaml')

const envOf = (deployment: K8sObject): Record<string, unknown> =>
  Object.fromEntries((containerOf(deployment).env as Json[]).map((e) => [e.name, e.value ?? e.valueFrom]))

t.test('helm lint --strict passes with the defaults and with the values that change the most', async (t) => {
  // Every ci file is rendered and validated below; lint adds chart-level checks, which these two cover.
  const runs = await Promise.all(
    [[], ['-f', path.join(ciDir, 'custom-values.yaml')]].map((args) =>
      helmAsync(['lint', '--strict', chartDir, ...args]),
    ),
  )
  for (const result of runs) {
    t.equal(result.status, 0, `${result.stdout}${result.stderr}`.trim())
    t.match(result.stdout, /1 chart\(s\) linted, 0 chart\(s\) failed/)
  }
})

t.test('helm lint --strict fails on a broken template', async (t) => {
  const copy = mkdtempSync(path.join(os.tmpdir(), 'dittofs-chart-'))
  t.teardown(() => rmSync(copy, { recursive: true, force: true }))
  cpSync(chartDir, copy, { recursive: true })
  writeFileSync(path.join(copy, 'templates/broken.yaml'), 'value: {{ .Values.nope.deeper }}\n')
  const result = await helmAsync(['lint', '--strict', copy])
  t.not(result.status, 0)
  t.match(result.stdout + result.stderr, /nil pointer evaluating interface \{\}\.deeper/)
})

t.test('every ci scenario renders, and every object in it is valid', async (t) => {
  t.ok(ciFiles.length >= 6, 'the scenarios are there')
  const validators = customValidators(false)
  for (const file of ciFiles) {
    const render = renders.get(file)!
    t.equal(render.status, 0, `${file} renders: ${render.stderr}`)
    t.ok(render.objects.length > 0, `${file} renders objects`)
    // CompositeControllers are validated against Metacontroller's CRD in their own (skippable) test.
    const objects = render.objects.filter((obj) => obj.kind !== 'CompositeController')
    t.same(await validateObjects(objects, validators), [], `${file}: all objects valid`)
    for (const obj of render.objects) {
      const clusterScoped = ['CustomResourceDefinition', 'ClusterRole', 'CompositeController'].includes(
        obj.kind,
      )
      if (!clusterScoped && obj.kind !== 'ServiceMonitor') {
        t.equal(obj.metadata?.namespace, 'dittofs-hooks', `${file}: ${obj.kind} in the release namespace`)
      }
    }
  }
})

t.test(
  "the chart's CompositeControllers validate against Metacontroller's CRD",
  { skip: sharedMissing(metacontrollerCrdFile) },
  async (t) => {
    const validators = customValidators(true)
    let checked = 0
    for (const file of ciFiles) {
      const controllers = findAll(rendered(file), 'CompositeController')
      checked += controllers.length
      t.same(await validateObjects(controllers, validators), [], file)
    }
    t.equal(checked, ciFiles.length - 1, 'every scenario but the one that turns it off renders one')
  },
)

t.test('the chart renders the same install as the plain manifests where they overlap', async (t) => {
  const manifests = kustomize(manifestsDir)
  // The chart generates the key Secret; the plain manifests leave it to the user (no value in git) and create
  // the namespace, which Helm takes from --namespace.
  t.same(
    idsOf(defaults.filter((obj) => obj.kind !== 'Secret')),
    idsOf(manifests.filter((obj) => obj.kind !== 'Namespace')),
  )
  t.same(
    specOf(findOne(defaults, 'CompositeController')),
    specOf(findOne(manifests, 'CompositeController')),
    'CompositeController spec',
  )
  const chartDeployment = findOne(defaults, 'Deployment')
  const plainDeployment = findOne(manifests, 'Deployment')
  t.same(podSpecOf(chartDeployment), podSpecOf(plainDeployment), 'Deployment pod spec')
  for (const field of ['replicas', 'selector', 'strategy', 'revisionHistoryLimit']) {
    t.same(specOf(chartDeployment)[field], specOf(plainDeployment)[field], `Deployment spec.${field}`)
  }
  for (const kind of ['Service', 'PodDisruptionBudget', 'NetworkPolicy']) {
    t.same(specOf(findOne(defaults, kind)), specOf(findOne(manifests, kind)), `${kind} spec`)
  }
  for (const role of findAll(manifests, 'ClusterRole')) {
    const name = role.metadata?.name
    const chartRole = findOne(defaults, 'ClusterRole', name)
    t.same(chartRole.rules, role.rules, `ClusterRole ${name} rules`)
    t.match(chartRole.metadata?.labels, role.metadata?.labels ?? {}, `ClusterRole ${name} aggregation labels`)
  }
  t.same(
    findOne(defaults, 'ServiceAccount').automountServiceAccountToken,
    findOne(manifests, 'ServiceAccount').automountServiceAccountToken,
  )
  t.same(findOne(defaults, 'CustomResourceDefinition'), renderCrd(), 'crds/ holds the generated CRD')
})

t.test('the ServiceMonitor check rejects fields prometheus-operator does not have', async (t) => {
  const monitor = findOne(rendered('servicemonitor-values.yaml'), 'ServiceMonitor')
  const validate = serviceMonitorValidator()
  t.same(validate(monitor), [])
  const typo = structuredClone(monitor)
  const endpoint = (specOf(typo).endpoints as Json[])[0]!
  endpoint.intervall = endpoint.interval
  endpoint.interval = '15 seconds'
  t.match(validate(typo).join('\n'), /unknown field "intervall"[\s\S]*interval: must match pattern/)
})

t.test("the chart's Metacontroller ClusterRole covers its CompositeController", async (t) => {
  const cc = specOf(findOne(defaults, 'CompositeController')) as unknown as CompositeControllerSpec
  const role = findOne(defaults, 'ClusterRole', 'dittofs-hooks-metacontroller')
  t.same(missingPermissions(role.rules as PolicyRule[], metacontrollerNeeds(cc)), [])
})

// One assertion set per ci scenario; a new ci file without one fails the first assertion.
const scenarios: Record<string, (t: Test, objects: K8sObject[]) => void> = {
  'default-values.yaml': (t, objects) => {
    t.equal(specOf(findOne(objects, 'Deployment')).replicas, 2)
    t.equal(findAll(objects, 'ServiceMonitor').length, 0, 'no ServiceMonitor unless asked')
  },
  'ha-values.yaml': (t, objects) => {
    t.equal(specOf(findOne(objects, 'Deployment')).replicas, 3)
    t.equal(specOf(findOne(objects, 'PodDisruptionBudget')).minAvailable, 2)
    const pod = podSpecOf(findOne(objects, 'Deployment'))
    t.match(pod, {
      priorityClassName: 'system-cluster-critical',
      topologySpreadConstraints: [{ whenUnsatisfiable: 'DoNotSchedule' }],
    })
  },
  'single-replica-values.yaml': (t, objects) => {
    t.equal(specOf(findOne(objects, 'Deployment')).replicas, 1)
    t.equal(findAll(objects, 'PodDisruptionBudget').length, 0, 'no PDB that would block drains')
  },
  'servicemonitor-values.yaml': (t, objects) => {
    const monitor = findOne(objects, 'ServiceMonitor')
    const service = findOne(objects, 'Service')
    t.equal(monitor.metadata?.namespace, 'monitoring')
    t.equal(monitor.metadata?.labels?.release, 'kube-prometheus-stack')
    const spec = specOf(monitor) as { selector: { matchLabels: Record<string, string> }; endpoints: Json[] }
    t.ok(selects(spec.selector.matchLabels, service.metadata?.labels), 'selects the hook Service')
    t.match(spec, {
      namespaceSelector: { matchNames: ['dittofs-hooks'] },
      endpoints: [{ port: 'http', path: '/metrics' }],
    })
    const from = (specOf(findOne(objects, 'NetworkPolicy')).ingress as Array<{ from: Json[] }>)[0]!.from
    t.match(from[1], { namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'monitoring' } } })
  },
  'optional-children-values.yaml': (t, objects) => {
    const cc = specOf(findOne(objects, 'CompositeController')) as unknown as CompositeControllerSpec
    t.same((cc.childResources ?? []).map((c) => `${c.apiVersion} ${c.resource}`).slice(-2), [
      'monitoring.coreos.com/v1 servicemonitors',
      'pgv2.percona.com/v2 perconapgclusters',
    ])
    t.match(envOf(findOne(objects, 'Deployment')), {
      HOOKS_OPTIONAL_CHILD_SERVICEMONITORS: 'true',
      HOOKS_OPTIONAL_CHILD_PERCONAPGCLUSTERS: 'true',
    })
    const role = findOne(objects, 'ClusterRole', 'dittofs-hooks-metacontroller')
    t.same(missingPermissions(role.rules as PolicyRule[], metacontrollerNeeds(cc)), [])
    const defaultsEnv = envOf(findOne(defaults, 'Deployment'))
    t.equal(defaultsEnv.HOOKS_OPTIONAL_CHILD_SERVICEMONITORS, undefined, 'off by default')
    t.equal(findAll(objects, 'ServiceMonitor').length, 0, 'the hook’s own ServiceMonitor is another value')
  },
  'networkpolicy-off-values.yaml': (t, objects) => {
    t.equal(findAll(objects, 'NetworkPolicy').length, 0)
  },
  'existing-secret-values.yaml': (t, objects) => {
    t.equal(findAll(objects, 'Secret').length, 0, 'no generated Secret')
    t.same(envOf(findOne(objects, 'Deployment')).HOOKS_SECRET_KEY, {
      secretKeyRef: { name: 'dittofs-hooks-key-from-vault', key: 'hooks-secret-key' },
    })
  },
  'v2-hooks-values.yaml': (t, objects) => {
    const spec = specOf(findOne(objects, 'CompositeController'))
    const hooks = spec.hooks as Record<string, { version: string; webhook: { timeout: string } }>
    t.same(
      Object.fromEntries(
        Object.entries(hooks).map(([name, hook]) => [name, [hook.version, hook.webhook.timeout]]),
      ),
      { customize: ['v2', '10s'], sync: ['v2', '30s'], finalize: ['v2', '30s'] },
    )
    t.equal(spec.resyncPeriodSeconds, 600)
  },
  'custom-values.yaml': (t, objects) => {
    const deployment = findOne(objects, 'Deployment', 'ditto-hooks')
    const pod = podSpecOf(deployment)
    const container = containerOf(deployment)
    t.equal(
      container.image,
      `registry.example.com/platform/dittofs-hooks@sha256:${'0123456789abcdef'.repeat(4)}`,
    )
    t.equal(pod.serviceAccountName, 'platform-workloads')
    t.equal(findAll(objects, 'ServiceAccount').length, 0, 'the existing ServiceAccount is used')
    t.same(
      findAll(objects, 'CompositeController').concat(findAll(objects, 'ClusterRole')),
      [],
      'no cluster-wide objects when turned off',
    )
    t.match(container, { ports: [{ name: 'http', containerPort: 9000 }], lifecycle: undefined })
    t.match(envOf(deployment), {
      PORT: '9000',
      LOG_LEVEL: 'debug',
      DITTOFS_API_URL_TEMPLATE: 'https://{name}-api.{namespace}.svc.cluster.local:{port}',
      DITTOFS_API_TIMEOUT_MS: '5000',
      BODY_LIMIT_BYTES: '33554432',
      MAX_IN_FLIGHT: '128',
      HOOKS_SECRET_KEY: { secretKeyRef: { name: 'ditto-hooks-secret-key', key: 'key' } },
    })
    t.match(specOf(findOne(objects, 'Service', 'ditto-hooks')).ports, [{ port: 8000, targetPort: 'http' }])
  },
}

t.test('each ci scenario renders what it asks for', async (t) => {
  t.same(Object.keys(scenarios).sort(), ciFiles, 'every ci file has assertions')
  for (const [file, check] of Object.entries(scenarios)) {
    await t.test(file, async (t) => check(t, rendered(file)))
  }
})

t.test('the generated secret key is random per install, kept on uninstall, and never in git', async (t) => {
  const secretOf = (objects: K8sObject[]) => findOne(objects, 'Secret', 'dittofs-hooks-secret-key')
  const first = secretOf(defaults)
  const second = secretOf((await helmTemplate()).objects)
  t.equal(first.metadata?.annotations?.['helm.sh/resource-policy'], 'keep')
  const value = (s: K8sObject) => Buffer.from(String((s.data as Json).key), 'base64').toString('utf8')
  t.equal(Buffer.from(value(first), 'base64').length, 32, 'the key is 32 random bytes (base64)')
  t.ok(value(first) !== value(second), 'two installs get different keys (no static value)')
})

t.test('values.schema.json is closed: unknown or invalid values fail before anything renders', async (t) => {
  // helm reports every schema violation at once; each must be named.
  const cases: Array<[string, RegExp]> = [
    ['bogus=1', /\(root\): Additional property bogus is not allowed/],
    ['image.tagg=1.0', /image: Additional property tagg is not allowed/],
    [
      'compositeController.timeouts.synk=5s',
      /compositeController\.timeouts: Additional property synk is not allowed/,
    ],
    ['compositeController.hookVersion=v3', /compositeController\.hookVersion must be one of/],
    ['replicaCount=two', /replicaCount: Invalid type/],
    ['config.logLevel=loud', /config\.logLevel must be one of/],
    ['serviceMonitor.interval=often', /serviceMonitor\.interval: Does not match pattern/],
  ]
  const render = await helmTemplate(cases.flatMap(([set]) => ['--set', set]))
  t.not(render.status, 0)
  for (const [set, error] of cases) t.match(render.stderr, error, `--set ${set} is rejected and named`)
})

/** Keys of values.yaml whose value is passed through as-is (Kubernetes objects, maps and lists of the user). */
const PASS_THROUGH = new Set([
  'podSecurityContext',
  'securityContext',
  'resources',
  'metacontrollerAggregationLabels',
])

/** Paths of values.yaml leaves without a `# --` comment before them (or before their first key, for maps). */
function undocumented(map: YAMLMap, prefix: string, inherited: string | null | undefined): string[] {
  return map.items.flatMap((pair, i) => {
    const key = isScalar(pair.key) ? String(pair.key.value) : '?'
    const comment =
      (isScalar(pair.key) ? pair.key.commentBefore : undefined) ?? (i === 0 ? inherited : undefined)
    if (isMap(pair.value) && pair.value.items.length > 0 && !PASS_THROUGH.has(key)) {
      return undocumented(pair.value, `${prefix}${key}.`, pair.value.commentBefore)
    }
    return comment?.split('\n').some((line) => line.trimStart().startsWith('--')) ? [] : [`${prefix}${key}`]
  })
}

t.test('every value is documented in values.yaml and typed in values.schema.json', async (t) => {
  const doc = parseDocument(readFileSync(path.join(chartDir, 'values.yaml'), 'utf8'))
  t.same(undocumented(doc.contents as YAMLMap, '', doc.commentBefore), [])
  const schema = JSON.parse(readFileSync(path.join(chartDir, 'values.schema.json'), 'utf8')) as Json
  const values = doc.toJS() as Json
  t.equal(schema.additionalProperties, false)
  t.same(Object.keys(schema.properties as Json).sort(), Object.keys(values).sort(), 'schema and values agree')
  const closedObjects = Object.entries(schema.properties as Record<string, Json>).filter(
    ([, node]) => node.properties !== undefined,
  )
  for (const [name, node] of closedObjects) {
    t.equal(node.additionalProperties, false, `${name} is closed`)
  }
})

t.test(
  'Kubernetes older than the chart supports is refused (the scenarios above render on the oldest one)',
  async (t) => {
    const old = await helmTemplate(['--kube-version', '1.24.0'])
    t.not(old.status, 0)
    t.match(old.stderr, /incompatible with Kubernetes v1\.24\.0/)
  },
)

t.test('NOTES.txt renders and tells how to check the hook and create a DittoServer', async (t) => {
  // helm only renders NOTES.txt on install (which needs a cluster): render it through tpl in a copy of the chart.
  const copy = mkdtempSync(path.join(os.tmpdir(), 'dittofs-notes-'))
  t.teardown(() => rmSync(copy, { recursive: true, force: true }))
  cpSync(chartDir, copy, { recursive: true })
  cpSync(path.join(copy, 'templates/NOTES.txt'), path.join(copy, 'notes.txt'))
  writeFileSync(
    path.join(copy, 'templates/notes-render.yaml'),
    'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: notes\ndata:\n  notes: {{ tpl (.Files.Get "notes.txt") . | quote }}\n',
  )
  const render = await helmTemplate(['--show-only', 'templates/notes-render.yaml'], copy)
  t.equal(render.status, 0, render.stderr)
  const notes = String((findOne(render.objects, 'ConfigMap').data as Json).notes)
  t.match(notes, /kubectl -n dittofs-hooks port-forward deploy\/dittofs-hooks 8080:8080/)
  t.match(notes, /curl -s http:\/\/127\.0\.0\.1:8080\/healthz/)
  t.match(notes, /kind: DittoServer/)
  t.match(notes, /kubectl apply --server-side -f .*crds\/dittoservers\.yaml/)
  t.notMatch(notes, /<no value>/)
})
