// The plain manifests (`kubectl apply -k manifests/`): rendered by the real kubectl, every object validated
// offline, and the wiring between them checked: Service → pods, CompositeController → Service and children,
// ClusterRole ⊇ what Metacontroller needs.
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import t from 'tap'
import { parse } from 'yaml'
import {
  containerOf,
  customValidators,
  findAll,
  findOne,
  idsOf,
  kustomize,
  manifestsDir,
  podSpecOf,
  selects,
  specOf,
} from './support/deploy.js'
import { type K8sObject, unknownFields, validateObjects } from './support/k8s-validate.js'
import {
  type CompositeControllerSpec,
  metacontrollerNeeds,
  missingPermissions,
  type PolicyRule,
} from './support/rbac.js'
import { metacontrollerCrdFile, sharedMissing } from './support/tools.js'

type Json = Record<string, unknown>

const objects = kustomize(manifestsDir)
const NAMESPACE = 'dittofs-hooks'
const CLUSTER_SCOPED = new Set([
  'Namespace',
  'CustomResourceDefinition',
  'ClusterRole',
  'CompositeController',
])

/** The children the hook returns, with the exact apiVersions it echoes (DESIGN.md §3). */
const HOOK_CHILDREN = [
  { apiVersion: 'v1', resource: 'configmaps', method: 'InPlace' },
  { apiVersion: 'v1', resource: 'secrets', method: 'OnDelete' },
  { apiVersion: 'v1', resource: 'services', method: 'InPlace' },
  { apiVersion: 'apps/v1', resource: 'statefulsets', method: 'InPlace' },
  { apiVersion: 'networking.k8s.io/v1', resource: 'networkpolicies', method: 'InPlace' },
]

t.test('kubectl kustomize renders exactly the install (examples and secrets excluded)', async (t) => {
  t.same(idsOf(objects), [
    'ClusterRole/dittofs-hooks-dittoservers-edit',
    'ClusterRole/dittofs-hooks-dittoservers-view',
    'ClusterRole/dittofs-hooks-metacontroller',
    'CompositeController/dittofs-hooks',
    'CustomResourceDefinition/dittoservers.dittofs.dittofs.com',
    'Deployment/dittofs-hooks',
    'Namespace/dittofs-hooks',
    'NetworkPolicy/dittofs-hooks',
    'PodDisruptionBudget/dittofs-hooks',
    'Service/dittofs-hooks',
    'ServiceAccount/dittofs-hooks',
  ])
  const kustomization = parse(readFileSync(path.join(manifestsDir, 'kustomization.yaml'), 'utf8')) as Json
  t.notOk(
    (kustomization.resources as string[]).some((r) => r.startsWith('examples')),
    'examples are not installed',
  )
})

t.test('no Secret value is committed anywhere under manifests/', async (t) => {
  const files = readdirSync(manifestsDir, { recursive: true, encoding: 'utf8' }).filter((f) =>
    f.endsWith('.yaml'),
  )
  for (const file of files) {
    t.notMatch(
      readFileSync(path.join(manifestsDir, file), 'utf8'),
      /^kind:\s*Secret\s*$/m,
      `${file} has no Secret`,
    )
  }
})

t.test(
  'every object is valid: kubernetes-models, no unknown field, custom kinds against their CRD',
  async (t) => {
    // The CompositeController needs Metacontroller's CRD from ../shared: it has its own (skippable) test below.
    const builtIns = objects.filter((obj) => obj.kind !== 'CompositeController')
    t.same(await validateObjects(builtIns, customValidators(false)), [])
  },
)

t.test('each validator rejects a broken object', async (t) => {
  const deployment = structuredClone(findOne(objects, 'Deployment'))
  ;(specOf(deployment) as Json).replicas = 'two'
  t.match(await validateObjects([deployment]), [
    /Deployment\/dittofs-hooks\/dittofs-hooks: .*replicas must be integer/,
  ])

  const typo = structuredClone(findOne(objects, 'Deployment'))
  const securityContext = containerOf(typo).securityContext as Json
  securityContext.runAsNonRot = true
  t.same(unknownFields(typo), ['spec.template.spec.containers[0].securityContext.runAsNonRot'])
  t.match(await validateObjects([typo]), [/unknown field .*runAsNonRot/])

  const crd = structuredClone(findOne(objects, 'CustomResourceDefinition'))
  ;(specOf(crd) as Json).scopee = 'Namespaced'
  t.match(await validateObjects([crd]), [/unknown field spec\.scopee/])

  const alien: K8sObject = { apiVersion: 'example.com/v1', kind: 'Widget', metadata: { name: 'w' } }
  t.match(await validateObjects([alien]), [/unknown kind example\.com\/v1 Widget/])
  t.match(await validateObjects([{ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'Bad_Name' } }]), [
    /metadata\.name must be a DNS subdomain/,
  ])
})

t.test('kubectl kustomize failures surface as errors', async (t) => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'dittofs-kustomize-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  writeFileSync(path.join(dir, 'kustomization.yaml'), 'resources:\n  - missing.yaml\n')
  t.throws(() => kustomize(dir), /kubectl kustomize .* failed: .*missing\.yaml/)
})

t.test('namespaced objects live in dittofs-hooks, cluster-scoped ones carry no namespace', async (t) => {
  for (const obj of objects) {
    const expected = CLUSTER_SCOPED.has(obj.kind) ? undefined : NAMESPACE
    t.equal(obj.metadata?.namespace, expected, `${obj.kind}/${obj.metadata?.name}`)
  }
})

t.test('the hook Deployment is hardened and wired as the server expects', async (t) => {
  const deployment = findOne(objects, 'Deployment', 'dittofs-hooks')
  const pod = podSpecOf(deployment)
  const container = containerOf(deployment)
  t.equal(specOf(deployment).replicas, 2)
  t.match(pod, {
    serviceAccountName: 'dittofs-hooks',
    automountServiceAccountToken: false,
    securityContext: { runAsNonRoot: true, runAsUser: 1000, seccompProfile: { type: 'RuntimeDefault' } },
  })
  t.match(container, {
    image: 'ghcr.io/dittofs/dittofs-hooks:0.1.0',
    ports: [{ name: 'http', containerPort: 8080 }],
    livenessProbe: { httpGet: { path: '/healthz', port: 'http' } },
    readinessProbe: { httpGet: { path: '/readyz', port: 'http' } },
    securityContext: {
      allowPrivilegeEscalation: false,
      readOnlyRootFilesystem: true,
      runAsNonRoot: true,
      runAsUser: 1000,
      capabilities: { drop: ['ALL'] },
    },
    resources: { requests: { cpu: String, memory: String }, limits: { memory: String } },
  })
  const env = Object.fromEntries((container.env as Json[]).map((e) => [e.name, e.value ?? e.valueFrom]))
  t.equal(env.PORT, '8080', 'PORT matches the container port')
  // Not optional: without the shared key, replicas would derive different DittoFS secrets.
  t.same(env.HOOKS_SECRET_KEY, { secretKeyRef: { name: 'dittofs-hooks-secret-key', key: 'key' } })
  const preStop = ((container.lifecycle as Json).preStop as Json).exec as { command: string[] }
  t.same(preStop.command.slice(0, 1), ['sleep'])
  const sleep = Number(preStop.command[1])
  // The server drains in-flight hook calls for up to 10 s after SIGTERM (close-with-grace delay).
  t.ok((pod.terminationGracePeriodSeconds as number) > sleep + 10, 'grace period covers preStop + drain')
  const selector = (specOf(deployment).selector as { matchLabels: Record<string, string> }).matchLabels
  const podLabels = ((specOf(deployment).template as Json).metadata as { labels: Record<string, string> })
    .labels
  t.ok(selects(selector, podLabels), 'the selector matches the pod template')
})

t.test('ServiceAccount, Service, PDB and NetworkPolicy fit the hook pods', async (t) => {
  const deployment = findOne(objects, 'Deployment')
  const podLabels = ((specOf(deployment).template as Json).metadata as { labels: Record<string, string> })
    .labels
  t.equal(findOne(objects, 'ServiceAccount').automountServiceAccountToken, false)

  const service = findOne(objects, 'Service', 'dittofs-hooks')
  t.ok(selects(specOf(service).selector as Record<string, string>, podLabels), 'Service selects the pods')
  t.match(specOf(service).ports, [{ name: 'http', port: 80, targetPort: 'http' }])

  const pdb = findOne(objects, 'PodDisruptionBudget')
  t.equal(specOf(pdb).minAvailable, 1)
  t.ok(
    selects((specOf(pdb).selector as Json).matchLabels as Record<string, string>, podLabels),
    'PDB selects pods',
  )

  const policy = specOf(findOne(objects, 'NetworkPolicy'))
  t.ok(
    selects((policy.podSelector as Json).matchLabels as Record<string, string>, podLabels),
    'policy selects pods',
  )
  t.same(policy.policyTypes, ['Ingress'], 'egress stays open (the hook calls DittoFS APIs everywhere)')
  t.same(policy.ingress, [
    {
      from: [
        { namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'metacontroller' } } },
        { namespaceSelector: { matchLabels: { 'dittofs.io/scrape-hooks': 'true' } } },
      ],
      ports: [{ port: 'http', protocol: 'TCP' }],
    },
  ])
})

t.test('the CompositeController drives DittoServers through the hook Service', async (t) => {
  const cc = findOne(objects, 'CompositeController', 'dittofs-hooks')
  const spec = specOf(cc)
  const crd = findOne(objects, 'CustomResourceDefinition')
  const crdSpec = specOf(crd) as { group: string; names: { plural: string }; versions: Json[] }
  t.same(spec.parentResource, {
    apiVersion: `${crdSpec.group}/${String(crdSpec.versions[0]?.name)}`,
    resource: crdSpec.names.plural,
  })
  t.same(crdSpec.versions[0]?.subresources, { status: {} }, 'Metacontroller requires the status subresource')
  t.equal(spec.generateSelector, true)
  t.equal(spec.resyncPeriodSeconds, 293)
  t.same(
    (spec.childResources as Json[]).map((c) => ({
      apiVersion: c.apiVersion,
      resource: c.resource,
      method: (c.updateStrategy as Json).method,
    })),
    HOOK_CHILDREN,
  )
  const service = findOne(objects, 'Service', 'dittofs-hooks')
  const hooks = spec.hooks as Record<string, { version: string; webhook: Json }>
  t.same(Object.keys(hooks).sort(), ['customize', 'finalize', 'sync'])
  const timeouts: Record<string, string> = { customize: '10s', sync: '15s', finalize: '15s' }
  for (const [name, hook] of Object.entries(hooks)) {
    t.equal(hook.version, 'v1', `${name}: v1 works on every Metacontroller 4.x`)
    t.same(
      hook.webhook,
      {
        service: {
          name: service.metadata?.name,
          namespace: service.metadata?.namespace,
          port: 80,
          protocol: 'http',
        },
        path: `/${name}`,
        timeout: timeouts[name],
      },
      `${name} calls the hook Service`,
    )
  }
})

t.test(
  "the CompositeController validates against Metacontroller's CRD (closed objects)",
  { skip: sharedMissing(metacontrollerCrdFile) },
  async (t) => {
    const validators = customValidators(true)
    const cc = findOne(objects, 'CompositeController')
    t.same(await validateObjects([cc], validators), [])

    const broken = structuredClone(cc)
    const spec = specOf(broken)
    ;((spec.childResources as Json[])[0]!.updateStrategy as Json).method = 'Sometimes'
    ;((spec.hooks as Json).sync as { webhook: Json }).webhook.uri = 'http://x/sync'
    spec.resyncPeriodSeconds = '300'
    const problems = (await validateObjects([broken], validators)).join('\n')
    t.match(problems, /childResources\/0\/updateStrategy\/method: must be equal to one of the allowed values/)
    t.match(problems, /hooks\/sync\/webhook: unknown field "uri"/)
    t.match(problems, /resyncPeriodSeconds: must be integer/)
  },
)

t.test(
  'the Metacontroller ClusterRole grants what Metacontroller needs for the parent and every child',
  async (t) => {
    const role = findOne(objects, 'ClusterRole', 'dittofs-hooks-metacontroller')
    t.equal(role.metadata?.labels?.['metacontroller.k8s.io/aggregate-to-metacontroller'], 'true')
    const rules = role.rules as PolicyRule[]
    const needs = metacontrollerNeeds(
      specOf(findOne(objects, 'CompositeController')) as unknown as CompositeControllerSpec,
    )
    t.same(missingPermissions(rules, needs), [])

    const withoutPolicies = rules.filter((rule) => !rule.resources?.includes('networkpolicies'))
    t.same(missingPermissions(withoutPolicies, needs), [
      'get networking.k8s.io/networkpolicies',
      'list networking.k8s.io/networkpolicies',
      'watch networking.k8s.io/networkpolicies',
      'create networking.k8s.io/networkpolicies',
      'update networking.k8s.io/networkpolicies',
      'patch networking.k8s.io/networkpolicies',
      'delete networking.k8s.io/networkpolicies',
    ])
    const byName: PolicyRule[] = [
      { apiGroups: ['*'], resources: ['*'], verbs: ['*'], resourceNames: ['one'] },
    ]
    t.ok(missingPermissions(byName, needs).length > 0, 'rules limited to names do not count')
    t.same(
      missingPermissions([{ apiGroups: ['*'], resources: ['*'], verbs: ['*'] }], needs),
      [],
      '*/*/* covers all',
    )
  },
)

t.test('namespace users get DittoServer roles through aggregation', async (t) => {
  const edit = findOne(objects, 'ClusterRole', 'dittofs-hooks-dittoservers-edit')
  const view = findOne(objects, 'ClusterRole', 'dittofs-hooks-dittoservers-view')
  t.match(edit.metadata?.labels, { 'rbac.authorization.k8s.io/aggregate-to-edit': 'true' })
  t.match(view.metadata?.labels, { 'rbac.authorization.k8s.io/aggregate-to-view': 'true' })
  const need = (verbs: string[]) => [{ group: 'dittofs.dittofs.com', resource: 'dittoservers', verbs }]
  t.same(missingPermissions(edit.rules as PolicyRule[], need(['create', 'update', 'delete'])), [])
  t.same(missingPermissions(view.rules as PolicyRule[], need(['get', 'list', 'watch'])), [])
  t.same(missingPermissions(view.rules as PolicyRule[], need(['create'])), [
    'create dittofs.dittofs.com/dittoservers',
  ])
})

t.test('the namespace enforces the restricted Pod Security Standard the hook pods meet', async (t) => {
  const namespace = findOne(objects, 'Namespace')
  t.equal(namespace.metadata?.labels?.['pod-security.kubernetes.io/enforce'], 'restricted')
  t.equal(findAll(objects, 'Deployment').length, 1)
})

t.test('the optional-child components add the kind, its RBAC and tell the hook, and compose', async (t) => {
  const overlay = mkdtempSync(path.join(os.tmpdir(), 'dittofs-hooks-components-'))
  t.teardown(() => rmSync(overlay, { recursive: true, force: true }))
  // kustomize refuses absolute paths: everything relative to the overlay.
  const component = (kind: string) => path.relative(overlay, path.join(manifestsDir, 'components', kind))
  writeFileSync(
    path.join(overlay, 'kustomization.yaml'),
    [
      'apiVersion: kustomize.config.k8s.io/v1beta1',
      'kind: Kustomization',
      `resources: [${path.relative(overlay, manifestsDir)}]`,
      `components: [${component('servicemonitors')}, ${component('perconapgclusters')}]`,
    ].join('\n'),
  )
  const withBoth = kustomize(overlay)
  const cc = specOf(findOne(withBoth, 'CompositeController')) as unknown as CompositeControllerSpec
  const children = (cc.childResources ?? []) as unknown as Array<
    Json & { updateStrategy?: { method?: string } }
  >
  t.same(
    children.map((c) => `${c.apiVersion} ${c.resource} ${c.updateStrategy?.method}`).slice(-2),
    ['monitoring.coreos.com/v1 servicemonitors InPlace', 'pgv2.percona.com/v2 perconapgclusters InPlace'],
    'the apiVersions the hook returns',
  )
  const env = containerOf(findOne(withBoth, 'Deployment')).env as Array<{ name: string; value?: string }>
  t.same(
    env.filter((e) => e.name.startsWith('HOOKS_OPTIONAL_CHILD_')),
    [
      { name: 'HOOKS_OPTIONAL_CHILD_SERVICEMONITORS', value: 'true' },
      { name: 'HOOKS_OPTIONAL_CHILD_PERCONAPGCLUSTERS', value: 'true' },
    ],
  )
  const rules = findAll(withBoth, 'ClusterRole')
    .filter((role) => role.metadata?.labels?.['metacontroller.k8s.io/aggregate-to-metacontroller'] === 'true')
    .flatMap((role) => role.rules as PolicyRule[])
  t.same(missingPermissions(rules, metacontrollerNeeds(cc)), [], 'Metacontroller may manage the new kinds')
  const builtIns = withBoth.filter((obj) => obj.kind !== 'CompositeController')
  t.same(await validateObjects(builtIns, customValidators(false)), [], 'every object valid')
  t.equal(findAll(objects, 'ClusterRole').length + 2, findAll(withBoth, 'ClusterRole').length)
})
