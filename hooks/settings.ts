import { randomBytes } from 'node:crypto'

// Every environment variable the server reads, validated once at start. A bad value stops the process with a
// message naming the variable (a crash loop with a clear log beats running half-configured).

export interface Settings {
  port: number
  host: string
  logLevel: string
  apiUrlTemplate: string
  apiTimeoutMs: number
  bodyLimitBytes: number
  /** Our own deadline for one hook call, below Metacontroller's default 10 s webhook timeout. */
  requestDeadlineMs: number
  /** At most this many hook calls in flight; more are answered 429 + Retry-After (Metacontroller honours it). */
  maxInFlight: number
  secretKey: Buffer
  /** Where the hook pods run (downward API); narrows the NetworkPolicy peer that lets them reach DittoFS. */
  hooksNamespace: string | undefined
  /**
   * ALLOW_LOOSER_SECURITY: DittoServers may loosen the restricted security profile (privileged, root, host
   * process, ...). Off by default: whoever may create a DittoServer could otherwise get a privileged pod.
   */
  allowLooserSecurity: boolean
  /** Optional child kinds the CompositeController was installed with (HOOKS_OPTIONAL_CHILD_*). */
  optionalChildren: ReadonlySet<OptionalChild>
  /** True when HOOKS_SECRET_KEY was not set and an ephemeral key was made (generated secrets then differ per process). */
  ephemeralSecretKey: boolean
}

/**
 * Child kinds that need a third-party CRD. Only the install (kustomize component, Helm value) knows whether the
 * CompositeController lists them, so it tells the hook with one variable per kind (components then compose).
 */
export const OPTIONAL_CHILDREN = {
  servicemonitors: {
    env: 'HOOKS_OPTIONAL_CHILD_SERVICEMONITORS',
    kustomize: 'manifests/components/servicemonitors',
    helm: 'optionalChildren.serviceMonitors=true',
  },
  perconapgclusters: {
    env: 'HOOKS_OPTIONAL_CHILD_PERCONAPGCLUSTERS',
    kustomize: 'manifests/components/perconapgclusters',
    helm: 'optionalChildren.perconaPGClusters=true',
  },
} as const
export type OptionalChild = keyof typeof OPTIONAL_CHILDREN

function optionalChildren(env: Env): Set<OptionalChild> {
  const registered = new Set<OptionalChild>()
  for (const [kind, option] of Object.entries(OPTIONAL_CHILDREN) as Array<[OptionalChild, { env: string }]>) {
    const raw = env[option.env]
    if (raw === undefined || raw === '' || raw === 'false') continue
    if (raw !== 'true') throw new SettingsError(`${option.env} must be true or false, got "${raw}"`)
    registered.add(kind)
  }
  return registered
}

export const DEFAULT_API_URL_TEMPLATE = 'http://{name}-api.{namespace}.svc.cluster.local:{port}'
const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']

export class SettingsError extends Error {}

type Env = Record<string, string | undefined>

const integer = (env: Env, name: string, fallback: number, min: number, max: number): number => {
  const raw = env[name]
  if (raw === undefined || raw === '') return fallback
  if (!/^[0-9]+$/.test(raw) || Number(raw) < min || Number(raw) > max) {
    throw new SettingsError(`${name} must be an integer from ${min} to ${max}, got "${raw}"`)
  }
  return Number(raw)
}

/** ALLOW_LOOSER_SECURITY as a boolean: only "true" turns it on; anything but "", "true" or "false" is an error. */
export function looserSecurityAllowed(env: Env): boolean {
  const raw = env.ALLOW_LOOSER_SECURITY
  if (raw === undefined || raw === '' || raw === 'false') return false
  if (raw === 'true') return true
  throw new SettingsError(`ALLOW_LOOSER_SECURITY must be true or false, got "${raw}"`)
}

function urlTemplate(env: Env): string {
  const template = env.DITTOFS_API_URL_TEMPLATE || DEFAULT_API_URL_TEMPLATE
  const probe = template
    .replaceAll('{name}', 'n')
    .replaceAll('{namespace}', 'ns')
    .replaceAll('{port}', '8080')
  let url: URL
  try {
    url = new URL(probe)
  } catch {
    throw new SettingsError(`DITTOFS_API_URL_TEMPLATE is not a URL template: "${template}"`)
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new SettingsError('DITTOFS_API_URL_TEMPLATE must be an http:// or https:// URL')
  }
  if (/\{(?!name\}|namespace\}|port\})[^}]*\}/.test(template)) {
    throw new SettingsError('DITTOFS_API_URL_TEMPLATE may only use {name}, {namespace} and {port}')
  }
  return template.replace(/\/+$/, '')
}

function secretKey(env: Env): { key: Buffer; ephemeral: boolean } {
  const raw = env.HOOKS_SECRET_KEY
  if (raw === undefined || raw === '') return { key: randomBytes(32), ephemeral: true }
  if (Buffer.byteLength(raw) < 16) throw new SettingsError('HOOKS_SECRET_KEY must be at least 16 bytes long')
  return { key: Buffer.from(raw, 'utf8'), ephemeral: false }
}

export function loadSettings(env: Env = process.env): Settings {
  const logLevel = env.LOG_LEVEL || 'info'
  if (!LOG_LEVELS.includes(logLevel))
    throw new SettingsError(`LOG_LEVEL must be one of ${LOG_LEVELS.join(', ')}`)
  const { key, ephemeral } = secretKey(env)
  const hooksNamespace = env.HOOKS_NAMESPACE || undefined
  if (hooksNamespace !== undefined && !/^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/.test(hooksNamespace)) {
    throw new SettingsError(`HOOKS_NAMESPACE must be a namespace name, got "${hooksNamespace}"`)
  }
  return {
    hooksNamespace,
    port: integer(env, 'PORT', 8080, 0, 65535),
    host: env.HOST || '0.0.0.0',
    logLevel,
    apiUrlTemplate: urlTemplate(env),
    apiTimeoutMs: integer(env, 'DITTOFS_API_TIMEOUT_MS', 3000, 50, 60_000),
    bodyLimitBytes: integer(env, 'BODY_LIMIT_BYTES', 16 * 1024 * 1024, 1024, 1024 * 1024 * 1024),
    requestDeadlineMs: integer(env, 'REQUEST_DEADLINE_MS', 9000, 100, 120_000),
    maxInFlight: integer(env, 'MAX_IN_FLIGHT', 256, 1, 100_000),
    secretKey: key,
    optionalChildren: optionalChildren(env),
    ephemeralSecretKey: ephemeral,
    allowLooserSecurity: looserSecurityAllowed(env),
  }
}

/** The hook pods as a NetworkPolicyPeer: pods labelled as ours, in our namespace when known. */
export const hookPeer = (hooksNamespace: string | undefined): Record<string, unknown> => ({
  namespaceSelector: hooksNamespace ? { matchLabels: { 'kubernetes.io/metadata.name': hooksNamespace } } : {},
  podSelector: { matchLabels: { 'app.kubernetes.io/name': 'dittofs-hooks' } },
})

/** The DittoFS API base URL of one parent: only ever built from the template, never from free text in the spec. */
export function apiUrlFor(
  template: string,
  parent: { name: string; namespace: string; port: number },
): string {
  return template
    .replaceAll('{name}', encodeURIComponent(parent.name))
    .replaceAll('{namespace}', encodeURIComponent(parent.namespace))
    .replaceAll('{port}', String(parent.port))
}
