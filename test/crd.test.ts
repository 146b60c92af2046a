// The DittoServer CRD: generated from the hook's own schema, committed without drift, structural, accepting
// every DittoServer written for the upstream Go operator and our examples, and rejecting bad ones the way the
// API server would (strict field validation included).
import { readdirSync, readFileSync } from 'node:fs'
import path from 'node:path'
import t from 'tap'
import { parentNameProblem } from '../hooks/children/naming.js'
import { containerSecurityRules, podSecurityRules } from '../hooks/dittoserver/pod-schema.js'
import { MAX_DURATIONS, specSchema } from '../hooks/dittoserver/schema.js'
import { parseSpec } from '../hooks/dittoserver/spec.js'
import { CRD_OUTPUTS, renderCrd, renderCrdYaml } from '../scripts/gen-crd.js'
import {
  crdValidators,
  type K8sObject,
  type ObjectValidator,
  parseYamlDocuments,
  structuralProblems,
} from './support/k8s-validate.js'
import { dittofsFixturesDir, repoRoot, sharedMissing } from './support/tools.js'

type Json = Record<string, unknown>

const crd = renderCrd() as K8sObject
const versions = (crd.spec as { versions: Json[] }).versions
const openAPIV3Schema = (versions[0]!.schema as Json).openAPIV3Schema as Json
const validateDittoServer: ObjectValidator = crdValidators(crd).get(
  'dittofs.dittofs.com/v1alpha1 DittoServer',
)!

const dittoServer = (spec: unknown, extra: Json = {}): K8sObject => ({
  apiVersion: 'dittofs.dittofs.com/v1alpha1',
  kind: 'DittoServer',
  metadata: { name: 'sample', namespace: 'dittofs' },
  spec,
  ...extra,
})
const minimalSpec = (): Json => ({ storage: { metadataSize: '10Gi' } })

t.test('the committed CRD files are exactly what renderCrd() produces', async (t) => {
  const expected = renderCrdYaml()
  for (const relative of CRD_OUTPUTS) {
    const text = readFileSync(path.join(repoRoot, relative), 'utf8')
    t.equal(text, expected, `${relative} is up to date (run npm run gen:crd)`)
    t.same(parseYamlDocuments(text, relative), [renderCrd()], `${relative} parses back to renderCrd()`)
  }
})

t.test('renderCrd() returns a fresh object each time (callers may mutate it)', async (t) => {
  const first = renderCrd() as { spec: { names: { kind: string } } }
  first.spec.names.kind = 'Changed'
  t.equal((renderCrd() as typeof first).spec.names.kind, 'DittoServer')
})

t.test('the CRD serves DittoServer as Metacontroller, kubectl and upstream users expect', async (t) => {
  t.equal(crd.metadata?.name, 'dittoservers.dittofs.dittofs.com')
  t.match(crd.spec, {
    group: 'dittofs.dittofs.com',
    scope: 'Namespaced',
    names: {
      kind: 'DittoServer',
      plural: 'dittoservers',
      singular: 'dittoserver',
      shortNames: ['ditto', 'dittofs'],
    },
  })
  t.equal(versions.length, 1, 'v1alpha1 only')
  t.match(versions[0], { name: 'v1alpha1', served: true, storage: true, subresources: { status: {} } })
  const columns = versions[0]?.additionalPrinterColumns as Array<{
    name: string
    jsonPath: string
    type: string
  }>
  t.same(
    columns.map((c) => [c.name, c.jsonPath]),
    [
      ['Replicas', '.spec.replicas'],
      ['Ready', '.status.readyReplicas'],
      ['Status', '.status.phase'],
      ['Adapters', '.status.adapters[*].type'],
      ['Endpoint', '.status.apiEndpoint'],
      ['Age', '.metadata.creationTimestamp'],
    ],
  )
  t.same(openAPIV3Schema.required, ['spec'])
  const properties = openAPIV3Schema.properties as Json
  t.same(properties.spec, specSchema, 'spec is the hook schema, unchanged')
})

// The CRD object itself (kubernetes-models + unknown fields) is validated with the rest of the kustomize output in
// test/manifests.test.ts.

t.test('the schema is structural, with valid defaults', async (t) => {
  t.same(structuralProblems(openAPIV3Schema), [])

  const broken = structuredClone(openAPIV3Schema) as { properties: { spec: { properties: Json } } }
  const spec = broken.properties.spec.properties
  delete (spec.image as Json).type
  ;(spec.replicas as Json).default = 7
  ;(spec.networkPolicy as Json).additionalProperties = { type: 'string' }
  ;(spec.storage as Json).required = ['metadataSize', 'sizeOfEverything']
  t.same(structuralProblems(broken).sort(), [
    '/spec/image: missing type (and no x-kubernetes-preserve-unknown-fields)',
    '/spec/networkPolicy: properties and additionalProperties are mutually exclusive',
    '/spec/replicas: default 7 is invalid',
    '/spec/storage: required field sizeOfEverything is not in properties',
  ])
})

t.test(
  'unknown fields are rejected where the schema is closed, accepted where it preserves them',
  async (t) => {
    t.same(validateDittoServer(dittoServer(minimalSpec())), [])
    t.match(validateDittoServer(dittoServer({ storage: { metadataSize: '10Gi', metadatSize: '1Gi' } })), [
      /\/spec\/storage: unknown field "metadatSize"/,
    ])
    t.match(validateDittoServer(dittoServer({ ...minimalSpec(), replica: 1 })), [
      /\/spec: unknown field "replica"/,
    ])
    t.match(validateDittoServer(dittoServer(minimalSpec(), { sepc: {} })), [/\/: unknown field "sepc"/])
    const open = {
      ...minimalSpec(),
      smb: { enabled: true, anything: { nested: 1 } },
      service: { annotations: { 'any.example.com/key': 'v' } },
      networkPolicy: { from: [{ podSelector: { matchLabels: { a: 'b' } } }] },
    }
    t.same(validateDittoServer(dittoServer(open)), [], 'preserve-unknown objects and string maps stay open')
  },
)

t.test('tests that need ../shared say what is missing when it is absent', async (t) => {
  const reason = sharedMissing('/nonexistent/reference/fixtures/dittofs')
  t.type(reason, 'string')
  t.match(String(reason), /needs .*reference\/fixtures\/dittofs .*which this checkout lacks/)
  t.equal(sharedMissing(repoRoot), false)
})

// ../shared holds the reference fixtures; a user's clone lacks it, and then this test is skipped with the reason.
t.test(
  'the upstream Go operator reference DittoServers validate against the CRD and the hook',
  { skip: sharedMissing(dittofsFixturesDir) },
  async (t) => {
    const files = readdirSync(dittofsFixturesDir).filter((f) => /^dittoserver-.*\.yaml$/.test(f))
    t.ok(files.length >= 3, 'minimal, full [B] and dynamic-adapters [F] are present')
    for (const file of files) {
      const [doc] = parseYamlDocuments(readFileSync(path.join(dittofsFixturesDir, file), 'utf8'), file)
      t.same(validateDittoServer(doc!), [], `${file} passes the CRD (status included)`)
      t.equal(parseSpec(doc!.spec).ok, true, `${file} passes the hook's own spec validation`)
    }
  },
)

const exampleDir = path.join(repoRoot, 'manifests/examples')
const exampleFiles = readdirSync(exampleDir).filter((f) => f.endsWith('.yaml'))

t.test('our examples validate against the CRD and the hook', async (t) => {
  t.same(exampleFiles.sort(), ['dittoserver-full.yaml', 'dittoserver-minimal.yaml'])
  for (const file of exampleFiles) {
    const docs = parseYamlDocuments(readFileSync(path.join(exampleDir, file), 'utf8'), file)
    t.equal(docs.length, 1, `${file} holds one object`)
    t.same(validateDittoServer(docs[0]!), [], `${file} passes the CRD`)
    const parsed = parseSpec(docs[0]!.spec)
    t.equal(parsed.ok, true, `${file} passes the hook`)
    if (parsed.ok) t.same(parsed.spec.deprecated, [], `${file} uses no deprecated field`)
  }
})

// Fields kept only so that upstream manifests still apply: deprecated, or honoured for compatibility only.
const COMPATIBILITY_FIELDS = [
  'nfsPort',
  'smb',
  'cache',
  'percona',
  's3',
  'storage.cacheSize',
  'identity.type',
  'identity.jwt.issuer',
  'database.sqlite.path',
  'resources.claims',
]

// Kubernetes' own types (core/v1 shapes): one field each, set in the example as a whole, not leaf by leaf.
const KUBERNETES_TYPES = ['affinity', 'securityContext', 'podSecurityContext']

/** Leaf field paths of a schema (objects with listed properties are descended into). */
function leafPaths(schema: Json, prefix = ''): string[] {
  const properties = schema.properties as Record<string, Json> | undefined
  if (!properties || KUBERNETES_TYPES.includes(prefix)) return [prefix]
  return Object.entries(properties).flatMap(([name, child]) =>
    leafPaths(child, prefix ? `${prefix}.${name}` : name),
  )
}

const has = (value: unknown, dotted: string): boolean =>
  dotted.split('.').reduce<unknown>((node, key) => (node as Json | undefined)?.[key], value) !== undefined

t.test('the full example sets every current field', async (t) => {
  const [full] = parseYamlDocuments(
    readFileSync(path.join(exampleDir, 'dittoserver-full.yaml'), 'utf8'),
    'full',
  )
  const current = leafPaths(specSchema as unknown as Json).filter(
    (field) => !COMPATIBILITY_FIELDS.some((c) => field === c || field.startsWith(`${c}.`)),
  )
  t.ok(current.length > 30, 'the schema walk found the fields')
  t.same(
    current.filter((field) => !has(full!.spec, field)),
    [],
  )
  t.match(full!.spec, {
    adapterServices: { overrides: { nfs: {}, smb: {} } },
    networkPolicy: { enabled: true, from: [{}] },
    metrics: { enabled: true },
    identity: { admin: { passwordSecretRef: {} }, jwt: { secretRef: {} } },
  })
})

t.test('invalid DittoServers are rejected by the CRD (and by the hook)', async (t) => {
  const cases: Array<[string, Json, RegExp]> = [
    ['replicas above 1', { ...minimalSpec(), replicas: 3 }, /\/spec\/replicas: must be <= 1/],
    [
      'a size that is not a quantity',
      { storage: { metadataSize: 'ten' } },
      /\/spec\/storage\/metadataSize: must match/,
    ],
    [
      'a polling interval that is not a duration',
      { ...minimalSpec(), adapterDiscovery: { pollingInterval: 'soon' } },
      /\/spec\/adapterDiscovery\/pollingInterval: must match/,
    ],
    ['no storage', {}, /\/spec: must have required property 'storage'/],
    [
      'an unknown database',
      { ...minimalSpec(), database: { type: 'mysql' } },
      /\/spec\/database\/type: must be equal/,
    ],
    [
      'a port out of range',
      { ...minimalSpec(), controlPlane: { port: 70000 } },
      /\/spec\/controlPlane\/port/,
    ],
    [
      'from that is not a list',
      { ...minimalSpec(), networkPolicy: { from: {} } },
      /\/spec\/networkPolicy\/from/,
    ],
    [
      'a secret ref without key',
      { ...minimalSpec(), identity: { jwt: { secretRef: { name: 'jwt' } } } },
      /must have required property 'key'/,
    ],
  ]
  for (const [name, spec, error] of cases) {
    t.match(validateDittoServer(dittoServer(spec)).join('\n'), error, `CRD: ${name}`)
    t.equal(parseSpec(spec).ok, false, `hook: ${name}`)
  }
})

// The spec-level CEL rule (security-context.test.ts pins the security-context ones). No CEL interpreter runs
// offline, so the rule text is pinned here next to a hand-written equivalent, and the truth table below checks
// that equivalent against the hook's own check (spec.ts), which also guards requests that bypassed the CRD.
// Changing the rule fails the first assertion and forces both to be revisited.
const METRICS_PORT_RULE =
  '!has(self.metrics) || !has(self.metrics.enabled) || !self.metrics.enabled || ' +
  '(has(self.metrics.port) ? self.metrics.port : 9090) != ' +
  '(has(self.controlPlane) && has(self.controlPlane.port) ? self.controlPlane.port : 8080)'

function metricsPortRuleHolds(self: { metrics?: Json; controlPlane?: Json }): boolean {
  if (self.metrics === undefined || self.metrics.enabled === undefined || self.metrics.enabled !== true)
    return true
  const metricsPort = self.metrics.port ?? 9090
  const apiPort = self.controlPlane?.port ?? 8080
  return metricsPort !== apiPort
}

t.test('the metrics port must differ from the API port while metrics are enabled (CEL rule)', async (t) => {
  const rules = (specSchema as unknown as Json)['x-kubernetes-validations'] as Json[]
  t.same(rules, [
    {
      rule: METRICS_PORT_RULE,
      message: 'spec.metrics.port must differ from spec.controlPlane.port while metrics are enabled',
    },
  ])
  const table: Array<[Json, boolean]> = [
    [{}, true],
    [{ metrics: {} }, true],
    [{ metrics: { enabled: false, port: 8080 } }, true],
    [{ metrics: { enabled: true } }, true],
    [{ metrics: { enabled: true, port: 9090 } }, true],
    [{ metrics: { enabled: true, port: 8080 } }, false],
    [{ metrics: { enabled: true }, controlPlane: { port: 9090 } }, false],
    [{ metrics: { enabled: true, port: 7000 }, controlPlane: { port: 7000 } }, false],
    [{ metrics: { enabled: true, port: 7000 }, controlPlane: { port: 7001 } }, true],
    [{ metrics: { enabled: true }, controlPlane: {} }, true],
  ]
  for (const [fields, expected] of table) {
    const spec = { ...minimalSpec(), ...fields }
    t.equal(metricsPortRuleHolds(spec), expected, `rule on ${JSON.stringify(fields)}`)
    t.equal(parseSpec(spec).ok, expected, `hook agrees on ${JSON.stringify(fields)}`)
  }
})

t.test(
  'the status the hook writes (plus observedGeneration) is accepted, unknown status fields are not',
  async (t) => {
    const status = {
      observedGeneration: 4,
      phase: 'Running',
      replicas: 1,
      readyReplicas: 1,
      availableReplicas: 1,
      configHash: 'abc',
      apiEndpoint: 'sample-api.dittofs.svc.cluster.local:8080',
      adapters: [
        {
          type: 'nfs',
          port: 12049,
          enabled: true,
          running: true,
          serviceName: 'sample-adapter-nfs',
          serviceType: 'LoadBalancer',
          endpoints: ['203.0.113.7:12049'],
          missingSince: '2026-11-26T10:00:00Z',
        },
      ],
      conditions: [
        {
          type: 'Ready',
          status: 'True',
          reason: 'AllConditionsMet',
          message: '',
          lastTransitionTime: '2026-11-26T10:00:00Z',
        },
      ],
    }
    t.same(validateDittoServer(dittoServer(minimalSpec(), { status })), [])
    t.match(validateDittoServer(dittoServer(minimalSpec(), { status: { ...status, lastPolled: 'now' } })), [
      /\/status: unknown field "lastPolled"/,
    ])
    t.match(validateDittoServer(dittoServer(minimalSpec(), { status: { phase: 'Sleeping' } })), [
      /\/status\/phase: must be equal to one of the allowed values/,
    ])
  },
)

// The other CEL rules, pinned the same way. Every rule the CRD carries is listed here, so adding one without a
// hand-written equivalent (and a check that the hook agrees) fails this test.
const NAME_RULE =
  "self.metadata.name.size() <= 52 && self.metadata.name.matches('^[a-z]([-a-z0-9]*[a-z0-9])?$')"
const PEER_RULE = 'has(self.ipBlock) != (has(self.podSelector) || has(self.namespaceSelector))'
const durationRule = (max: string) => `duration(self) <= duration('${max}')`

function collectRules(node: unknown, found: string[] = []): string[] {
  if (Array.isArray(node)) for (const item of node) collectRules(item, found)
  else if (node && typeof node === 'object') {
    for (const [key, value] of Object.entries(node)) {
      if (key === 'x-kubernetes-validations') found.push(...(value as Json[]).map((r) => String(r.rule)))
      else collectRules(value, found)
    }
  }
  return found
}

t.test('every CEL rule of the CRD is pinned next to its hand-written equivalent', async (t) => {
  const durations = Object.values(MAX_DURATIONS).map(durationRule)
  // The restricted-profile rules are pinned against the hook's checks in security-context.test.ts.
  const security = [...containerSecurityRules, ...podSecurityRules].map((r) => r.rule)
  t.same(
    collectRules(openAPIV3Schema).sort(),
    [NAME_RULE, METRICS_PORT_RULE, PEER_RULE, ...durations, ...security].sort(),
    'the rules, at the root (name), on spec, on each peer, on each duration and on the security contexts',
  )
  t.same(
    (openAPIV3Schema['x-kubernetes-validations'] as Json[]).map((r) => r.rule),
    [NAME_RULE],
    'the name rule sits at the root, where CEL sees metadata.name',
  )
})

t.test('the name rule (CEL) and the hook agree on which names a DittoServer may have', async (t) => {
  const celEquivalent = (name: string) => name.length <= 52 && /^[a-z]([-a-z0-9]*[a-z0-9])?$/.test(name)
  const names = [
    'a',
    'files',
    'x-1',
    'a'.repeat(52),
    'a'.repeat(53),
    '1abc',
    'a.b',
    'a-',
    'ab-c9',
    '0',
    'x--y',
  ]
  for (const name of names) {
    t.equal(parentNameProblem(name) === undefined, celEquivalent(name), `${name}: CRD and hook agree`)
  }
  t.equal(celEquivalent('1abc'), false, 'a name starting with a digit is refused at admission')
  t.equal(celEquivalent('a.b'), false, 'a dotted name is refused at admission')
})

t.test('the peer rule (CEL) and the hook agree on what a NetworkPolicyPeer is', async (t) => {
  const celEquivalent = (peer: Json) =>
    (peer.ipBlock !== undefined) !== (peer.podSelector !== undefined || peer.namespaceSelector !== undefined)
  const peers: Json[] = [
    {},
    { podSelector: {} },
    { namespaceSelector: {} },
    { podSelector: {}, namespaceSelector: {} },
    { ipBlock: { cidr: '10.0.0.0/8' } },
    { ipBlock: { cidr: '10.0.0.0/8' }, podSelector: {} },
    { ipBlock: { cidr: '10.0.0.0/8' }, namespaceSelector: {} },
  ]
  for (const peer of peers) {
    const spec = { ...minimalSpec(), networkPolicy: { from: [peer] } }
    t.equal(parseSpec(spec).ok, celEquivalent(peer), `${JSON.stringify(peer)}: CRD and hook agree`)
  }
})

t.test('the schema refuses what the API server refuses on the children it becomes', async (t) => {
  const cases: Array<[string, Json, RegExp]> = [
    [
      'a source range that is no CIDR',
      { adapterServices: { loadBalancerSourceRanges: ['999.1.1.1/99'] } },
      /pattern/,
    ],
    ['a quantity that is none', { resources: { limits: { cpu: 'lots' } } }, /pattern/],
    [
      'an S3 key with a slash',
      { s3: { credentialsSecretRef: { secretName: 's', endpointKey: 'a/b' } } },
      /pattern/,
    ],
    ['a peer field that does not exist', { networkPolicy: { from: [{ pods: {} }] } }, /unknown field/],
    ['a selector that is a string', { networkPolicy: { from: [{ podSelector: 'x' }] } }, /must be object/],
    [
      'an operator that does not exist',
      {
        networkPolicy: { from: [{ podSelector: { matchExpressions: [{ key: 'a', operator: 'Is' }] } }] },
      },
      /allowed values/,
    ],
    [
      'a duration too long to write',
      { adapterServices: { removalGracePeriod: `${'1'.repeat(40)}h` } },
      /must NOT have more than 32/,
    ],
  ]
  for (const [name, fields, error] of cases) {
    t.match(
      validateDittoServer(dittoServer({ ...minimalSpec(), ...fields })).join('\n'),
      error,
      `CRD: ${name}`,
    )
    t.equal(parseSpec({ ...minimalSpec(), ...fields }).ok, false, `hook: ${name}`)
  }
  t.same(
    validateDittoServer(dittoServer({ ...minimalSpec(), resources: { limits: { cpu: '500m', memory: 2 } } })),
    [],
    'int-or-string quantities still pass',
  )
})
