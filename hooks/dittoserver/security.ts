import { asObject, type JsonObject } from '../loose.js'
import { ALLOWED_SELINUX_TYPES, SAFE_SYSCTLS } from './pod-schema.js'

// The restricted Pod Security Standard as the DittoFS pod's default, the user's security contexts merged over
// it field by field, and the loosenings refused unless the installer allowed them. The same rules run as CEL in
// the CRD (pod-schema.ts); the hook applies them always, because a request can bypass or predate the CRD.

type Obj = JsonObject

export const RESTRICTED_POD_SECURITY: Obj = {
  fsGroup: 65532,
  runAsGroup: 65532,
  runAsNonRoot: true,
  runAsUser: 65532,
  seccompProfile: { type: 'RuntimeDefault' },
}

export const RESTRICTED_CONTAINER_SECURITY: Obj = {
  allowPrivilegeEscalation: false,
  capabilities: { drop: ['ALL'] },
  runAsNonRoot: true,
  seccompProfile: { type: 'RuntimeDefault' },
}

/** The restricted context with the user's fields over it; capabilities merge by `add` and `drop`. */
function merge(defaults: Obj, user: Obj | undefined): Obj {
  if (user === undefined) return defaults // the very object: an unset field renders as before
  const merged: Obj = { ...defaults, ...user }
  if (defaults.capabilities !== undefined && user.capabilities !== undefined) {
    merged.capabilities = { ...asObject(defaults.capabilities), ...asObject(user.capabilities) }
  }
  return merged
}

export const containerSecurity = (user: Obj | undefined): Obj => merge(RESTRICTED_CONTAINER_SECURITY, user)
export const podSecurity = (user: Obj | undefined): Obj => merge(RESTRICTED_POD_SECURITY, user)

/** A loosening: the field path below the security context, and whether a (merged) context makes it. */
interface Loosening {
  field: string
  why: string
  loose: (context: Obj) => boolean
}

const strings = (value: unknown): string[] =>
  Array.isArray(value) ? value.filter((v): v is string => typeof v === 'string') : []

const seLinuxLoose = (context: Obj): boolean => {
  if (context.seLinuxOptions === undefined) return false
  const options = asObject(context.seLinuxOptions)
  if (options.user !== undefined || options.role !== undefined) return true
  return options.type !== undefined && !ALLOWED_SELINUX_TYPES.includes(String(options.type))
}

const COMMON: Loosening[] = [
  { field: 'runAsUser', why: 'must not be 0 (root)', loose: (c) => c.runAsUser === 0 },
  { field: 'runAsGroup', why: 'must not be 0 (the root group)', loose: (c) => c.runAsGroup === 0 },
  { field: 'runAsNonRoot', why: 'must not be false', loose: (c) => c.runAsNonRoot === false },
  {
    field: 'seccompProfile.type',
    why: 'must not be Unconfined',
    loose: (c) => asObject(c.seccompProfile).type === 'Unconfined',
  },
  {
    field: 'appArmorProfile.type',
    why: 'must not be Unconfined',
    loose: (c) => asObject(c.appArmorProfile).type === 'Unconfined',
  },
  {
    field: 'seLinuxOptions',
    why: `must not set user or role, and type only to one of ${ALLOWED_SELINUX_TYPES.join(', ')}`,
    loose: seLinuxLoose,
  },
  {
    field: 'windowsOptions.hostProcess',
    why: 'must not be true (a host process)',
    loose: (c) => asObject(c.windowsOptions).hostProcess === true,
  },
]

export const CONTAINER_LOOSENINGS: Loosening[] = [
  { field: 'privileged', why: 'must not be true', loose: (c) => c.privileged === true },
  {
    field: 'allowPrivilegeEscalation',
    why: 'must not be true',
    loose: (c) => c.allowPrivilegeEscalation === true,
  },
  {
    field: 'capabilities.add',
    why: 'may only add NET_BIND_SERVICE',
    loose: (c) => strings(asObject(c.capabilities).add).some((cap) => cap !== 'NET_BIND_SERVICE'),
  },
  {
    field: 'capabilities.drop',
    why: 'must include ALL',
    loose: (c) => !strings(asObject(c.capabilities).drop).includes('ALL'),
  },
  { field: 'procMount', why: 'must not be Unmasked', loose: (c) => c.procMount === 'Unmasked' },
  ...COMMON,
]

export const POD_LOOSENINGS: Loosening[] = [
  ...COMMON,
  { field: 'fsGroup', why: 'must not be 0 (the root group)', loose: (c) => c.fsGroup === 0 },
  {
    field: 'supplementalGroups',
    why: 'must not contain 0 (the root group)',
    loose: (c) => Array.isArray(c.supplementalGroups) && c.supplementalGroups.includes(0),
  },
  {
    field: 'sysctls',
    why: `may only set the safe sysctls (${SAFE_SYSCTLS.join(', ')})`,
    loose: (c) =>
      Array.isArray(c.sysctls) && c.sysctls.some((s) => !SAFE_SYSCTLS.includes(String(asObject(s).name))),
  },
]

/**
 * Legacy pod annotations the kubelet (or older API servers) read as security settings: an `unconfined` value
 * would undo the AppArmor or seccomp profile the security contexts set.
 */
const SECURITY_ANNOTATION =
  /^(container\.apparmor\.security\.beta\.kubernetes\.io\/|(container\.)?seccomp\.security\.alpha\.kubernetes\.io\/)/

export interface Refusal {
  field: string
  message: string
}

const refusals = (at: string, context: Obj, rules: Loosening[]): Refusal[] =>
  rules.filter((r) => r.loose(context)).map((r) => ({ field: `${at}.${r.field}`, message: r.why }))

/** Every way the pod these settings render would be looser than the restricted profile; empty when none. */
export function securityLoosenings(settings: {
  securityContext?: Obj
  podSecurityContext?: Obj
  podAnnotations: Record<string, string>
}): Refusal[] {
  const annotations = Object.entries(settings.podAnnotations)
    .filter(([key, value]) => SECURITY_ANNOTATION.test(key) && value.toLowerCase().includes('unconfined'))
    .map(([key]) => ({
      field: `spec.podAnnotations.${key}`,
      message: 'must not make the pod unconfined (a legacy AppArmor or seccomp annotation)',
    }))
  return [
    ...refusals('spec.securityContext', containerSecurity(settings.securityContext), CONTAINER_LOOSENINGS),
    ...refusals('spec.podSecurityContext', podSecurity(settings.podSecurityContext), POD_LOOSENINGS),
    ...annotations,
  ]
}
