// Kubernetes' own core/v1 shapes for the pod fields a DittoServer may set (placement and security contexts),
// written out as structural schemas (a CRD allows no $ref). Only the fields listed here ever reach the pod
// template: spec.ts prunes everything else, as the API server does, so no unknown field can smuggle a host
// namespace or a volume into the pod. The restricted-profile rules are CEL on the two security contexts; the
// hook applies the same rules itself (security.ts) and an installer who opts in removes them from the CRD.

const str = { type: 'string' } as const
const int64 = { type: 'integer', format: 'int64' } as const
const bool = { type: 'boolean' } as const
/** Lists CEL iterates over need a bound (the API server estimates a rule's cost from it). */
const strings = (maxItems: number) =>
  ({ type: 'array', maxItems, items: { type: 'string', maxLength: 256 } }) as const

const labelSelectorRequirement = {
  type: 'object',
  required: ['key', 'operator'],
  properties: { key: str, operator: str, values: { type: 'array', items: str } },
} as const

export const labelSelector = {
  type: 'object',
  properties: {
    matchExpressions: { type: 'array', items: labelSelectorRequirement },
    matchLabels: { type: 'object', additionalProperties: str },
  },
} as const

const nodeSelectorRequirement = {
  type: 'object',
  required: ['key', 'operator'],
  properties: {
    key: str,
    operator: { type: 'string', enum: ['In', 'NotIn', 'Exists', 'DoesNotExist', 'Gt', 'Lt'] },
    values: { type: 'array', items: str },
  },
} as const

const nodeSelectorTerm = {
  type: 'object',
  properties: {
    matchExpressions: { type: 'array', items: nodeSelectorRequirement },
    matchFields: { type: 'array', items: nodeSelectorRequirement },
  },
} as const

const podAffinityTerm = {
  type: 'object',
  required: ['topologyKey'],
  properties: {
    labelSelector,
    matchLabelKeys: { type: 'array', items: str },
    mismatchLabelKeys: { type: 'array', items: str },
    namespaceSelector: labelSelector,
    namespaces: { type: 'array', items: str },
    topologyKey: { type: 'string', minLength: 1 },
  },
} as const

const weighted = <T>(term: T, key: string) =>
  ({
    type: 'object',
    required: ['weight', key],
    properties: { weight: { type: 'integer', format: 'int32', minimum: 1, maximum: 100 }, [key]: term },
  }) as const

const podAffinity = (description: string) =>
  ({
    type: 'object',
    description,
    properties: {
      requiredDuringSchedulingIgnoredDuringExecution: { type: 'array', items: podAffinityTerm },
      preferredDuringSchedulingIgnoredDuringExecution: {
        type: 'array',
        items: weighted(podAffinityTerm, 'podAffinityTerm'),
      },
    },
  }) as const

export const affinity = {
  type: 'object',
  description: 'Pod affinity rules (core/v1 Affinity).',
  properties: {
    nodeAffinity: {
      type: 'object',
      properties: {
        requiredDuringSchedulingIgnoredDuringExecution: {
          type: 'object',
          required: ['nodeSelectorTerms'],
          properties: { nodeSelectorTerms: { type: 'array', items: nodeSelectorTerm } },
        },
        preferredDuringSchedulingIgnoredDuringExecution: {
          type: 'array',
          items: weighted(nodeSelectorTerm, 'preference'),
        },
      },
    },
    podAffinity: podAffinity('Pods this one should run near.'),
    podAntiAffinity: podAffinity('Pods this one should run away from.'),
  },
} as const

export const toleration = {
  type: 'object',
  properties: {
    effect: { type: 'string', enum: ['NoSchedule', 'PreferNoSchedule', 'NoExecute'] },
    key: str,
    operator: { type: 'string', enum: ['Exists', 'Equal'] },
    tolerationSeconds: int64,
    value: str,
  },
} as const

export const topologySpreadConstraint = {
  type: 'object',
  required: ['maxSkew', 'topologyKey', 'whenUnsatisfiable'],
  properties: {
    labelSelector,
    matchLabelKeys: { type: 'array', items: str },
    maxSkew: { type: 'integer', format: 'int32', minimum: 1 },
    minDomains: { type: 'integer', format: 'int32', minimum: 1 },
    nodeAffinityPolicy: { type: 'string', enum: ['Honor', 'Ignore'] },
    nodeTaintsPolicy: { type: 'string', enum: ['Honor', 'Ignore'] },
    topologyKey: { type: 'string', minLength: 1 },
    whenUnsatisfiable: { type: 'string', enum: ['DoNotSchedule', 'ScheduleAnyway'] },
  },
} as const

const profile = (types: readonly string[]) =>
  ({
    type: 'object',
    required: ['type'],
    properties: { type: { type: 'string', enum: types }, localhostProfile: str },
  }) as const

const seLinuxOptions = {
  type: 'object',
  properties: { level: str, role: str, type: { type: 'string', maxLength: 256 }, user: str },
} as const

const windowsOptions = {
  type: 'object',
  properties: { gmsaCredentialSpec: str, gmsaCredentialSpecName: str, hostProcess: bool, runAsUserName: str },
} as const

/** SELinux types the restricted (and baseline) Pod Security Standard allow. */
export const ALLOWED_SELINUX_TYPES = [
  'container_t',
  'container_init_t',
  'container_kvm_t',
  'container_engine_t',
]
/** Sysctls the baseline Pod Security Standard calls safe (namespaced, no effect on other pods). */
export const SAFE_SYSCTLS = [
  'kernel.shm_rmid_forced',
  'net.ipv4.ip_local_port_range',
  'net.ipv4.ip_unprivileged_port_start',
  'net.ipv4.tcp_syncookies',
  'net.ipv4.ping_group_range',
  'net.ipv4.ip_local_reserved_ports',
  'net.ipv4.tcp_keepalive_time',
  'net.ipv4.tcp_fin_timeout',
  'net.ipv4.tcp_keepalive_intvl',
  'net.ipv4.tcp_keepalive_probes',
]

const celList = (values: readonly string[]) => `[${values.map((v) => `'${v}'`).join(', ')}]`

/** A restricted-profile rule as the CRD carries it: CEL on the security context, a message naming the field. */
export interface Rule {
  rule: string
  message: string
}

/** The field (spec.…) a rule's message names: its first word. */
export const ruleField = (r: Rule): string => r.message.split(' ')[0] ?? ''

const rule = (field: string, cel: string, why: string): Rule => ({ rule: cel, message: `${field} ${why}` })

/** Rules shared by the pod and the container security context (`at` is the field path for the message). */
const commonRules = (at: string): Rule[] => [
  rule(`${at}.runAsUser`, '!has(self.runAsUser) || self.runAsUser != 0', 'must not be 0 (root)'),
  rule(`${at}.runAsGroup`, '!has(self.runAsGroup) || self.runAsGroup != 0', 'must not be 0 (the root group)'),
  rule(`${at}.runAsNonRoot`, '!has(self.runAsNonRoot) || self.runAsNonRoot', 'must not be false'),
  rule(
    `${at}.seccompProfile.type`,
    "!has(self.seccompProfile) || self.seccompProfile.type != 'Unconfined'",
    'must not be Unconfined',
  ),
  rule(
    `${at}.appArmorProfile.type`,
    "!has(self.appArmorProfile) || self.appArmorProfile.type != 'Unconfined'",
    'must not be Unconfined',
  ),
  rule(
    `${at}.seLinuxOptions`,
    '!has(self.seLinuxOptions) || (!has(self.seLinuxOptions.user) && !has(self.seLinuxOptions.role) && ' +
      `(!has(self.seLinuxOptions.type) || self.seLinuxOptions.type in ${celList(ALLOWED_SELINUX_TYPES)}))`,
    `must not set user or role, and type only to one of ${ALLOWED_SELINUX_TYPES.join(', ')}`,
  ),
  rule(
    `${at}.windowsOptions.hostProcess`,
    '!has(self.windowsOptions) || !has(self.windowsOptions.hostProcess) || !self.windowsOptions.hostProcess',
    'must not be true (a host process)',
  ),
]

export const containerSecurityRules: Rule[] = [
  rule('spec.securityContext.privileged', '!has(self.privileged) || !self.privileged', 'must not be true'),
  rule(
    'spec.securityContext.allowPrivilegeEscalation',
    '!has(self.allowPrivilegeEscalation) || !self.allowPrivilegeEscalation',
    'must not be true',
  ),
  rule(
    'spec.securityContext.capabilities.add',
    "!has(self.capabilities) || !has(self.capabilities.add) || self.capabilities.add.all(c, c == 'NET_BIND_SERVICE')",
    'may only add NET_BIND_SERVICE',
  ),
  rule(
    'spec.securityContext.capabilities.drop',
    "!has(self.capabilities) || !has(self.capabilities.drop) || 'ALL' in self.capabilities.drop",
    'must include ALL',
  ),
  rule(
    'spec.securityContext.procMount',
    "!has(self.procMount) || self.procMount != 'Unmasked'",
    'must not be Unmasked',
  ),
  ...commonRules('spec.securityContext'),
]

export const podSecurityRules: Rule[] = [
  ...commonRules('spec.podSecurityContext'),
  rule(
    'spec.podSecurityContext.fsGroup',
    '!has(self.fsGroup) || self.fsGroup != 0',
    'must not be 0 (the root group)',
  ),
  rule(
    'spec.podSecurityContext.supplementalGroups',
    '!has(self.supplementalGroups) || !(0 in self.supplementalGroups)',
    'must not contain 0 (the root group)',
  ),
  rule(
    'spec.podSecurityContext.sysctls',
    `!has(self.sysctls) || self.sysctls.all(s, s.name in ${celList(SAFE_SYSCTLS)})`,
    `may only set the safe sysctls (${SAFE_SYSCTLS.join(', ')})`,
  ),
]

const securityCommon = {
  appArmorProfile: profile(['Unconfined', 'RuntimeDefault', 'Localhost']),
  runAsGroup: int64,
  runAsNonRoot: bool,
  runAsUser: int64,
  seLinuxOptions,
  seccompProfile: profile(['Unconfined', 'RuntimeDefault', 'Localhost']),
  windowsOptions,
} as const

export const containerSecurityContext = {
  type: 'object',
  description:
    'Container SecurityContext, merged field by field over the restricted one (drop ALL, no privilege ' +
    'escalation, runAsNonRoot, seccomp RuntimeDefault). Loosening it is refused unless the installer allows it.',
  'x-kubernetes-validations': containerSecurityRules,
  properties: {
    ...securityCommon,
    allowPrivilegeEscalation: bool,
    capabilities: {
      type: 'object',
      properties: { add: strings(64), drop: strings(64) },
    },
    privileged: bool,
    procMount: { type: 'string', enum: ['Default', 'Unmasked'] },
    readOnlyRootFilesystem: bool,
  },
} as const

export const podSecurityContext = {
  type: 'object',
  description:
    'Pod SecurityContext, merged field by field over the restricted one (uid/gid/fsGroup 65532, runAsNonRoot, ' +
    'seccomp RuntimeDefault). Loosening it is refused unless the installer allows it.',
  'x-kubernetes-validations': podSecurityRules,
  properties: {
    ...securityCommon,
    fsGroup: int64,
    fsGroupChangePolicy: { type: 'string', enum: ['Always', 'OnRootMismatch'] },
    seLinuxChangePolicy: str,
    supplementalGroups: { type: 'array', maxItems: 64, items: int64 },
    supplementalGroupsPolicy: { type: 'string', enum: ['Merge', 'Strict'] },
    sysctls: {
      type: 'array',
      maxItems: 64,
      items: {
        type: 'object',
        required: ['name', 'value'],
        properties: { name: { type: 'string', maxLength: 256 }, value: str },
      },
    },
  },
} as const

export const localObjectReference = {
  type: 'object',
  required: ['name'],
  properties: { name: { type: 'string', minLength: 1, maxLength: 253 } },
} as const
