// Whoever may create a DittoServer must not get a pod looser than the restricted Pod Security Standard (issue 14.3),
// and a partial security context keeps the hardening it does not mention (issue 16.6). The installer alone may
// allow loosenings (ALLOW_LOOSER_SECURITY; the Helm value and the kustomize component set it).
import t from 'tap'
import { buildStatefulSet } from '../hooks/children/statefulset.js'
import { containerSecurityRules, podSecurityRules, ruleField } from '../hooks/dittoserver/pod-schema.js'
import { CONTAINER_LOOSENINGS, POD_LOOSENINGS } from '../hooks/dittoserver/security.js'
import { parseSpec, type SpecPolicy } from '../hooks/dittoserver/spec.js'
import type { SyncResponse } from '../hooks/metacontroller/types.js'
import { customize } from '../hooks/reconcile/customize.js'
import { RenderError, renderDittoServer } from '../hooks/render.js'
import { loadSettings, looserSecurityAllowed, SettingsError } from '../hooks/settings.js'
import { post, testApp } from './support/app.js'
import { invalidObjects } from './support/models.js'
import { conditionOf, findChild, parent, syncRequest } from './support/requests.js'

// Rendered objects are navigated freely here.
type Any = any

const minimal = { storage: { metadataSize: '10Gi' } }
const LOOSE: SpecPolicy = { allowLooserSecurity: true }
const HASHES = { configHash: 'h1', secretDigest: 'd1' }

const podOf = (raw: unknown, policy?: SpecPolicy): Any => {
  const parsed = parseSpec(raw, policy)
  if (!parsed.ok) throw new Error(JSON.stringify(parsed.errors))
  return (buildStatefulSet('ditto', parsed.spec, HASHES, undefined).statefulSet as Any).spec.template
}
const errorsOf = (raw: unknown, policy?: SpecPolicy) => {
  const parsed = parseSpec(raw, policy)
  return parsed.ok ? [] : parsed.errors
}

const RESTRICTED_CONTAINER = {
  allowPrivilegeEscalation: false,
  capabilities: { drop: ['ALL'] },
  runAsNonRoot: true,
  seccompProfile: { type: 'RuntimeDefault' },
}
const RESTRICTED_POD = {
  fsGroup: 65532,
  runAsGroup: 65532,
  runAsNonRoot: true,
  runAsUser: 65532,
  seccompProfile: { type: 'RuntimeDefault' },
}

t.test('a partial security context is merged over the restricted defaults (issue 16.6)', async (t) => {
  const pod = podOf({
    ...minimal,
    securityContext: { readOnlyRootFilesystem: true },
    podSecurityContext: { fsGroupChangePolicy: 'OnRootMismatch' },
  })
  t.same(pod.spec.containers[0].securityContext, { ...RESTRICTED_CONTAINER, readOnlyRootFilesystem: true })
  t.same(pod.spec.securityContext, { ...RESTRICTED_POD, fsGroupChangePolicy: 'OnRootMismatch' })

  const unset = podOf(minimal)
  t.same(unset.spec.containers[0].securityContext, RESTRICTED_CONTAINER, 'unset: the restricted defaults')
  t.same(unset.spec.securityContext, RESTRICTED_POD)
  const empty = podOf({ ...minimal, securityContext: {}, podSecurityContext: {} })
  t.same(empty.spec.containers[0].securityContext, RESTRICTED_CONTAINER, 'empty: the same')
  t.same(empty.spec.securityContext, RESTRICTED_POD)
})

t.test('capabilities merge by add and drop: NET_BIND_SERVICE may be added, ALL stays dropped', async (t) => {
  const pod = podOf({ ...minimal, securityContext: { capabilities: { add: ['NET_BIND_SERVICE'] } } })
  t.same(pod.spec.containers[0].securityContext.capabilities, { drop: ['ALL'], add: ['NET_BIND_SERVICE'] })
  const dropMore = podOf({ ...minimal, securityContext: { capabilities: { drop: ['ALL', 'NET_RAW'] } } })
  t.same(dropMore.spec.containers[0].securityContext.capabilities, { drop: ['ALL', 'NET_RAW'] })
})

t.test('values that only tighten (or stay inside the restricted profile) are kept as written', async (t) => {
  const container = {
    readOnlyRootFilesystem: true,
    runAsUser: 1000,
    runAsGroup: 1000,
    procMount: 'Default',
    seccompProfile: { type: 'Localhost', localhostProfile: 'profiles/dittofs.json' },
    appArmorProfile: { type: 'RuntimeDefault' },
    seLinuxOptions: { type: 'container_t', level: 's0:c123,c456' },
    windowsOptions: { hostProcess: false },
    allowPrivilegeEscalation: false,
    privileged: false,
    runAsNonRoot: true,
  }
  const podContext = {
    runAsUser: 2000,
    runAsGroup: 2000,
    fsGroup: 3000,
    supplementalGroups: [4000],
    sysctls: [{ name: 'net.ipv4.ip_unprivileged_port_start', value: '0' }],
    seccompProfile: { type: 'Localhost', localhostProfile: 'profiles/dittofs.json' },
  }
  const pod = podOf({ ...minimal, securityContext: container, podSecurityContext: podContext })
  t.same(pod.spec.containers[0].securityContext, { ...RESTRICTED_CONTAINER, ...container })
  t.same(pod.spec.securityContext, { ...RESTRICTED_POD, ...podContext })
  t.same(
    await invalidObjects([{ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p' }, spec: pod.spec }]),
    [],
  )
})

// Every loosening of the restricted profile: the spec that makes it and the field the refusal must name.
const LOOSENINGS: Array<[field: string, spec: Record<string, unknown>]> = [
  ['spec.securityContext.privileged', { securityContext: { privileged: true } }],
  ['spec.securityContext.allowPrivilegeEscalation', { securityContext: { allowPrivilegeEscalation: true } }],
  ['spec.securityContext.capabilities.add', { securityContext: { capabilities: { add: ['SYS_ADMIN'] } } }],
  ['spec.securityContext.capabilities.drop', { securityContext: { capabilities: { drop: ['NET_RAW'] } } }],
  ['spec.securityContext.procMount', { securityContext: { procMount: 'Unmasked' } }],
  ['spec.securityContext.runAsUser', { securityContext: { runAsUser: 0 } }],
  ['spec.securityContext.runAsGroup', { securityContext: { runAsGroup: 0 } }],
  ['spec.securityContext.runAsNonRoot', { securityContext: { runAsNonRoot: false } }],
  [
    'spec.securityContext.seccompProfile.type',
    { securityContext: { seccompProfile: { type: 'Unconfined' } } },
  ],
  [
    'spec.securityContext.appArmorProfile.type',
    { securityContext: { appArmorProfile: { type: 'Unconfined' } } },
  ],
  ['spec.securityContext.seLinuxOptions', { securityContext: { seLinuxOptions: { type: 'spc_t' } } }],
  [
    'spec.securityContext.windowsOptions.hostProcess',
    { securityContext: { windowsOptions: { hostProcess: true } } },
  ],
  ['spec.podSecurityContext.runAsUser', { podSecurityContext: { runAsUser: 0 } }],
  ['spec.podSecurityContext.runAsGroup', { podSecurityContext: { runAsGroup: 0 } }],
  ['spec.podSecurityContext.runAsNonRoot', { podSecurityContext: { runAsNonRoot: false } }],
  [
    'spec.podSecurityContext.seccompProfile.type',
    { podSecurityContext: { seccompProfile: { type: 'Unconfined' } } },
  ],
  [
    'spec.podSecurityContext.appArmorProfile.type',
    { podSecurityContext: { appArmorProfile: { type: 'Unconfined' } } },
  ],
  [
    'spec.podSecurityContext.seLinuxOptions',
    { podSecurityContext: { seLinuxOptions: { user: 'system_u' } } },
  ],
  [
    'spec.podSecurityContext.windowsOptions.hostProcess',
    { podSecurityContext: { windowsOptions: { hostProcess: true } } },
  ],
  ['spec.podSecurityContext.fsGroup', { podSecurityContext: { fsGroup: 0 } }],
  ['spec.podSecurityContext.supplementalGroups', { podSecurityContext: { supplementalGroups: [10, 0] } }],
  [
    'spec.podSecurityContext.sysctls',
    { podSecurityContext: { sysctls: [{ name: 'kernel.msgmax', value: '1' }] } },
  ],
  [
    'spec.podAnnotations.container.apparmor.security.beta.kubernetes.io/dittofs',
    { podAnnotations: { 'container.apparmor.security.beta.kubernetes.io/dittofs': 'unconfined' } },
  ],
  [
    'spec.podAnnotations.seccomp.security.alpha.kubernetes.io/pod',
    { podAnnotations: { 'seccomp.security.alpha.kubernetes.io/pod': 'unconfined' } },
  ],
]

t.test(
  'each loosening is refused with InvalidSpec naming its field, and allowed only by the installer',
  async (t) => {
    for (const [field, patch] of LOOSENINGS) {
      const spec = { ...minimal, ...patch }
      t.same(
        errorsOf(spec).map((e) => e.field),
        [field],
        `${field}: refused`,
      )
      t.same(errorsOf(spec, LOOSE), [], `${field}: accepted when the installer allows it`)
      const pod = podOf(spec, LOOSE)
      const [context, value] = Object.entries(patch)[0] as [string, Record<string, unknown>]
      const written =
        context === 'securityContext'
          ? pod.spec.containers[0].securityContext
          : context === 'podSecurityContext'
            ? pod.spec.securityContext
            : pod.metadata.annotations
      t.match(written, value, `${field}: then it reaches the pod as written`)
    }
  },
)

t.test(
  'the seLinuxOptions rule refuses a user, a role and any type outside the container ones',
  async (t) => {
    for (const options of [{ user: 'u' }, { role: 'r' }, { type: 'unconfined_t' }])
      t.equal(
        errorsOf({ ...minimal, securityContext: { seLinuxOptions: options } }).length,
        1,
        JSON.stringify(options),
      )
    for (const type of ['container_t', 'container_init_t', 'container_kvm_t', 'container_engine_t'])
      t.same(errorsOf({ ...minimal, securityContext: { seLinuxOptions: { type } } }), [], type)
    t.same(
      errorsOf({
        ...minimal,
        podAnnotations: { 'seccomp.security.alpha.kubernetes.io/pod': 'runtime/default' },
      }),
      [],
    )
  },
)

t.test('several loosenings at once are all named, in the message a user reads', async (t) => {
  const spec = {
    ...minimal,
    securityContext: { privileged: true, allowPrivilegeEscalation: true },
    podSecurityContext: { runAsUser: 0 },
  }
  t.same(errorsOf(spec), [
    { field: 'spec.securityContext.privileged', message: 'must not be true' },
    { field: 'spec.securityContext.allowPrivilegeEscalation', message: 'must not be true' },
    { field: 'spec.podSecurityContext.runAsUser', message: 'must not be 0 (root)' },
  ])
})

t.test('the CRD carries the same rules as the hook, with the same messages (CEL at admission)', async (t) => {
  // No CEL interpreter runs offline: the rules are pinned against the hook's own checks, message for message.
  const hookMessages = [
    ...CONTAINER_LOOSENINGS.map((l) => `spec.securityContext.${l.field} ${l.why}`),
    ...POD_LOOSENINGS.map((l) => `spec.podSecurityContext.${l.field} ${l.why}`),
  ]
  const crdRules = [...containerSecurityRules, ...podSecurityRules]
  t.same(
    crdRules.map((r) => r.message),
    hookMessages,
    'one CEL rule per hook check, in the same order',
  )
  const tested = new Set(LOOSENINGS.map(([field]) => field))
  for (const r of crdRules) {
    t.ok(tested.has(ruleField(r)), `${ruleField(r)} has a refusal test above`)
    t.match(r.rule, /^!has\(self\.[a-zA-Z]+\) \|\| /, `${ruleField(r)}: an unset field passes`)
  }
})

t.test(
  'through the hook: a privileged spec changes nothing and says why; the opt-in lets it through',
  async (t) => {
    const spec = { ...minimal, securityContext: { privileged: true }, podSecurityContext: { runAsUser: 0 } }
    const strict = testApp(t)
    const refused = (await (await post(strict, '/sync', syncRequest(parent(spec)))).json()) as SyncResponse
    const ready = conditionOf(refused.status, 'Ready')
    t.equal(ready?.reason, 'InvalidSpec')
    t.match(ready?.message, /spec\.securityContext\.privileged must not be true/)
    t.match(ready?.message, /spec\.podSecurityContext\.runAsUser must not be 0/)
    t.same(refused.children, [], 'no StatefulSet is created')

    const loose = testApp(t, { ALLOW_LOOSER_SECURITY: 'true' })
    const allowed = (await (await post(loose, '/sync', syncRequest(parent(spec)))).json()) as SyncResponse
    const statefulSet = findChild(allowed.children, 'StatefulSet', 'ditto') as Any
    t.equal(statefulSet.spec.template.spec.containers[0].securityContext.privileged, true)
    t.equal(statefulSet.spec.template.spec.securityContext.runAsUser, 0)
  },
)

t.test('customize and render follow the same policy', async (t) => {
  const spec = {
    ...minimal,
    identity: { admin: { passwordSecretRef: { name: 'admin', key: 'password' } } },
    securityContext: { privileged: true },
  }
  const request = { controller: {}, parent: parent(spec) } as Parameters<typeof customize>[0]
  t.same(customize(request).relatedResources, [], 'strict: an invalid spec asks for nothing')
  t.equal(customize(request, LOOSE).relatedResources.length, 1, 'allowed: the admin Secret is asked for')
  const key = Buffer.from('k'.repeat(32))
  t.throws(() => renderDittoServer(parent(spec), { secretKey: key }), RenderError)
  t.ok(renderDittoServer(parent(spec), { secretKey: key, allowLooserSecurity: true }).children.length > 0)
})

t.test('ALLOW_LOOSER_SECURITY is off unless exactly "true"', async (t) => {
  t.equal(looserSecurityAllowed({}), false)
  t.equal(looserSecurityAllowed({ ALLOW_LOOSER_SECURITY: '' }), false)
  t.equal(looserSecurityAllowed({ ALLOW_LOOSER_SECURITY: 'false' }), false)
  t.equal(looserSecurityAllowed({ ALLOW_LOOSER_SECURITY: 'true' }), true)
  for (const typo of ['yes', '1', 'TRUE', 'true ']) {
    const error = (() => {
      try {
        looserSecurityAllowed({ ALLOW_LOOSER_SECURITY: typo })
      } catch (e) {
        return e
      }
    })()
    t.ok(error instanceof SettingsError, `${typo}: a settings error`)
    t.match((error as Error).message, `ALLOW_LOOSER_SECURITY must be true or false, got "${typo}"`)
  }
  t.equal(loadSettings({}).allowLooserSecurity, false, 'the default of a started hook')
  t.throws(() => loadSettings({ ALLOW_LOOSER_SECURITY: 'on' }), /ALLOW_LOOSER_SECURITY must be true or false/)
})
