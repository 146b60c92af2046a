import { Ajv, type ErrorObject } from 'ajv'
import { asObject, type JsonObject } from '../loose.js'
import { BoundedMemo, deepFreeze, HOT_PATH_MEMO } from '../memo.js'
import { parseDuration } from './duration.js'
import { type PodPlacement, placementErrors, podPlacement } from './placement.js'
import { pruneToSchema } from './prune.js'
import { CIDR, GO_DURATION, K8S_QUANTITY, MAX_DURATIONS, QUANTITY, SECRET_KEY, specSchema } from './schema.js'
import { securityLoosenings } from './security.js'
import { childValueProblems } from './values.js'

// The parent's spec: validated against the same schema as the CRD (so a request that bypassed the CRD, or came
// from an older CRD, is still checked), then resolved into a fully defaulted, typed value. Unknown fields are
// tolerated: the API server prunes them, and the hook must not fail on a field a newer CRD adds.

export type ServiceType = 'ClusterIP' | 'NodePort' | 'LoadBalancer'
export type TrafficPolicy = 'Cluster' | 'Local'

export interface SecretKeyRef {
  name: string
  key: string
}

export interface ServiceTuning {
  type: ServiceType
  annotations: Record<string, string>
  loadBalancerSourceRanges?: string[]
  externalTrafficPolicy?: TrafficPolicy
  /** UDP ports in a second Service `<name>-udp`, for clouds without mixed-protocol load balancers. */
  splitProtocols?: boolean
}

/** The optional DittoFS listeners the user enabled in its adapter settings (see children/listener-ports.ts). */
export interface AdapterListeners {
  nfs: { portmapper: boolean; portmapperPort: number; udp: boolean; mdns: boolean }
  smb: { mdns: boolean; wsDiscovery: boolean }
}

/**
 * What is left of `spec.s3` that the server still reads: the endpoint, as `AWS_ENDPOINT_URL`. DittoFS v0.29.0 builds
 * each S3 block store with static per-store credentials and a region that defaults to us-east-1
 * (pkg/block/remote/s3/store.go, pkg/controlplane/runtime/shares/service.go), so `AWS_ACCESS_KEY_ID`,
 * `AWS_SECRET_ACCESS_KEY` and `AWS_REGION` never reach the SDK; its default config loader still takes
 * `AWS_ENDPOINT_URL` as the endpoint of a store configured without one.
 */
export interface S3Endpoint {
  secretName: string
  endpointKey: string
}

export type { PodPlacement }

export interface LoggingSpec {
  level: 'DEBUG' | 'INFO' | 'WARN' | 'ERROR'
  format: 'text' | 'json'
  output: string
}

export interface MetricsSpec {
  enabled: boolean
  port: number
  path: string
  bearerTokenSecret?: SecretKeyRef
  serviceMonitor: { enabled: boolean; interval?: string; labels: Record<string, string> }
}

export interface LdapSpec {
  enabled: boolean
  url: string
  startTLS: boolean
  allowPlaintext: boolean
  baseDN: string
  bindDN: string
  bindPasswordSecretRef?: SecretKeyRef
  userAttr?: string
  realm?: string
  idmap?: 'rfc2307' | 'rid'
  nestedGroups: boolean
  caCertFile?: string
  insecureSkipVerify: boolean
}

export interface MachineAccountSpec {
  accountName: string
  secretRef?: SecretKeyRef
  keytabSecretRef?: SecretKeyRef
  dcAddress: string[]
}

/** Present only when Kerberos is enabled (a disabled block renders nothing, as upstream). */
export interface KerberosSpec {
  servicePrincipal: string
  realm?: string
  netbiosDomain?: string
  dnsDomain?: string
  keytabSecretRef: SecretKeyRef
  krb5ConfSecretRef?: SecretKeyRef
  krb5Conf?: string
  /** Present only when the machine account is enabled. */
  machineAccount?: MachineAccountSpec
}

export interface SnapshotPolicySpec {
  /** As DittoFS names it: one leading slash (handlers/shares.go normalizeShareName). */
  share: string
  interval: string
  keepLast?: number
  ttl?: string
  enabled?: boolean
  namePrefix?: string
}

/** `spec.percona` when `enabled` (the hook then wants a PerconaPGCluster `<name>-postgres`). */
export interface PerconaSpec {
  deleteWithServer: boolean
  replicas: number
  storageSize: string
  storageClassName?: string
  databaseName: string
  backup?: {
    credentialsSecretName?: string
    bucket: string
    endpoint: string
    region: string
    fullSchedule: string
    incrSchedule: string
    retentionDays: number
  }
}

export interface DittoServerSpec {
  image: string
  pod: PodPlacement
  replicas: 0 | 1
  storage: { metadataSize: string; contentSize?: string; controlPlaneSize: string; storageClassName?: string }
  database: {
    type: 'sqlite' | 'postgres'
    sqlitePath: string
    postgresSecretRef?: SecretKeyRef
    /** The Percona operator's connection Secret, when the hook runs a PerconaPGCluster for this server. */
    perconaSecretName?: string
  }
  apiPort: number
  /**
   * TLS on the API: `https` is how the hook reaches it (controlPlane.tls, implied by a certificate); with
   * `certSecretName` the pod serves HTTPS itself; with `clientCASecretName` it also requires client certificates.
   */
  tls: { https: boolean; certSecretName?: string; clientCASecretName?: string }
  metrics: MetricsSpec
  logging: LoggingSpec
  /** Present only when the spec sets identity.ldap (rendered even when disabled, as upstream). */
  ldap?: LdapSpec
  kerberos?: KerberosSpec
  jwt: { secretRef?: SecretKeyRef; accessTokenDuration: string; refreshTokenDuration: string }
  admin: { username: string; passwordSecretRef?: SecretKeyRef }
  apiService: { type: ServiceType; annotations: Record<string, string> }
  pollingIntervalMs: number
  adapterServices: {
    base: ServiceTuning
    overrides: Record<string, Partial<ServiceTuning>>
    removalGraceMs: number
    loadBalancerTimeoutMs: number
    listeners: AdapterListeners
  }
  networkPolicy: { enabled: boolean; from: Record<string, unknown>[] }
  resources?: Record<string, unknown>
  securityContext?: Record<string, unknown>
  podSecurityContext?: Record<string, unknown>
  s3?: S3Endpoint
  percona?: PerconaSpec
  snapshotPolicies: SnapshotPolicySpec[]
  /** Paths of deprecated fields that are set and ignored. */
  deprecated: string[]
  /** Human-readable notes on set fields this hook cannot honour (reported, not fatal). */
  unsupported: string[]
}

export interface FieldError {
  field: string
  message: string
}

export type SpecResult = { ok: true; spec: DittoServerSpec } | { ok: false; errors: FieldError[] }

export interface SpecPolicy {
  /** The installer's opt-in (ALLOW_LOOSER_SECURITY): security contexts may loosen the restricted profile. */
  allowLooserSecurity: boolean
}

const STRICT: SpecPolicy = { allowLooserSecurity: false }

export const MIN_POLLING_INTERVAL_MS = 10_000
export const DEFAULT_SQLITE_PATH = '/data/controlplane/controlplane.db'

const DEPRECATED: Array<[path: string[], why: string]> = [
  [['nfsPort'], 'adapters are discovered from the DittoFS API'],
  [['smb'], 'adapters are discovered from the DittoFS API'],
  [['storage', 'cacheSize'], 'the cache volume no longer exists'],
  [['cache'], 'the cache settings no longer exist'],
  [['identity', 'type'], 'the server has one identity store'],
  [['identity', 'jwt', 'issuer'], 'the server ignores it'],
  [
    ['s3'],
    'DittoFS takes S3 credentials, region and bucket per block store (dfsctl store block add); only the ' +
      'endpoint key of credentialsSecretRef still acts, as AWS_ENDPOINT_URL for S3 block stores configured ' +
      'without an endpoint',
  ],
]

/** `path (why)` per reason, in table order: what the DeprecatedFieldsIgnored condition says. */
export function describeDeprecated(fields: readonly string[]): string {
  const byWhy = new Map<string, string[]>()
  for (const [path, why] of DEPRECATED) {
    const field = `spec.${path.join('.')}`
    if (fields.includes(field)) byWhy.set(why, [...(byWhy.get(why) ?? []), field])
  }
  return [...byWhy].map(([why, paths]) => `${paths.join(', ')} (${why})`).join('; ')
}

// strictTypes off: a Quantity is int-or-string with a `pattern` for its string form, as Kubernetes writes it.
const ajv = new Ajv({
  allErrors: true,
  strict: true,
  strictTypes: false,
  coerceTypes: false,
  useDefaults: false,
})
ajv.addKeyword('x-kubernetes-preserve-unknown-fields')
ajv.addKeyword('x-kubernetes-int-or-string')
ajv.addKeyword('x-kubernetes-list-type')
ajv.addKeyword('x-kubernetes-list-map-keys')
ajv.addKeyword('x-kubernetes-validations')
ajv.addFormat('int32', true)
ajv.addFormat('int64', true)
const validateSchema = ajv.compile(specSchema)

const PATTERN_HINTS: Record<string, string> = {
  [QUANTITY]: 'must be a size such as 10Gi or 500Mi',
  [GO_DURATION]: 'must be a duration such as 30s, 5m or 1h30m',
  [K8S_QUANTITY]: 'must be a quantity such as 500m, 2 or 1Gi',
  [CIDR]: 'must be a CIDR such as 10.0.0.0/8 or fd00::/64',
  [SECRET_KEY]: 'must be a Secret data key (letters, digits, "-", "_" and ".")',
}

const fieldOf = (error: ErrorObject): string => {
  const segments = error.instancePath.split('/').slice(1)
  if (error.keyword === 'required') segments.push(String(error.params.missingProperty))
  return ['spec', ...segments.map((s) => s.replaceAll('~1', '/').replaceAll('~0', '~'))].join('.')
}

const messageOf = (error: ErrorObject): string => {
  if (error.keyword === 'pattern') return PATTERN_HINTS[String(error.params.pattern)] ?? error.message ?? ''
  if (error.keyword === 'required') return 'is required'
  if (error.keyword === 'enum')
    return `must be one of ${(error.params.allowedValues as unknown[]).join(', ')}`
  return error.message ?? 'is invalid'
}

/** Schema errors as `{field, message}`, one per field, in a stable order. */
function schemaErrors(raw: unknown): FieldError[] {
  if (validateSchema(raw)) return []
  const byField = new Map<string, string>()
  for (const error of validateSchema.errors ?? []) {
    if (error.keyword === 'anyOf') continue // its branches already explain it
    const field = fieldOf(error)
    if (!byField.has(field)) byField.set(field, messageOf(error))
  }
  return [...byField].map(([field, message]) => ({ field, message }))
}

type Obj = JsonObject
const obj = asObject
const opt = <T>(value: unknown): T | undefined =>
  value === undefined || value === null ? undefined : (value as T)

const at = (root: Obj, path: string[]): unknown =>
  path.reduce<unknown>(
    (node, key) => (node && typeof node === 'object' ? (node as Obj)[key] : undefined),
    root,
  )

/** A positive duration of at most `max` (a Go duration too), in milliseconds; 0 with an error otherwise. */
const durationMs = (text: string, max: string, field: string, errors: FieldError[]): number => {
  const ms = parseDuration(text)
  if (ms === undefined || ms <= 0) {
    errors.push({ field, message: 'must be a positive duration such as 30s, 5m or 1h30m' })
    return 0
  }
  if (ms > (parseDuration(max) ?? 0)) {
    errors.push({ field, message: `must be at most ${max}` })
    return 0
  }
  return ms
}

const tuning = (raw: Obj): Partial<ServiceTuning> => {
  const out: Partial<ServiceTuning> = {}
  if (raw.type !== undefined) out.type = raw.type as ServiceType
  if (raw.annotations !== undefined) out.annotations = raw.annotations as Record<string, string>
  if (raw.loadBalancerSourceRanges !== undefined)
    out.loadBalancerSourceRanges = raw.loadBalancerSourceRanges as string[]
  if (raw.externalTrafficPolicy !== undefined)
    out.externalTrafficPolicy = raw.externalTrafficPolicy as TrafficPolicy
  if (raw.splitProtocols !== undefined) out.splitProtocols = raw.splitProtocols as boolean
  return out
}

const listenersOf = (raw: Obj): AdapterListeners => {
  const nfs = obj(raw.nfs)
  const smb = obj(raw.smb)
  return {
    nfs: {
      portmapper: nfs.portmapper === true,
      portmapperPort: (nfs.portmapperPort as number | undefined) ?? 10111,
      udp: nfs.udp === true,
      mdns: nfs.mdns === true,
    },
    smb: { mdns: smb.mdns === true, wsDiscovery: smb.wsDiscovery === true },
  }
}

const ldapOf = (l: Obj): LdapSpec => ({
  enabled: l.enabled === true,
  url: l.url as string,
  startTLS: l.startTLS === true,
  allowPlaintext: l.allowPlaintext === true,
  baseDN: l.baseDN as string,
  bindDN: l.bindDN as string,
  bindPasswordSecretRef: opt(l.bindPasswordSecretRef),
  userAttr: opt(l.userAttr),
  realm: opt(l.realm),
  idmap: opt(l.idmap),
  nestedGroups: l.nestedGroups === true,
  caCertFile: opt(l.caCertFile),
  insecureSkipVerify: l.insecureSkipVerify === true,
})

const nonEmpty = (value: unknown): string | undefined =>
  typeof value === 'string' && value !== '' ? value : undefined

function kerberosOf(k: Obj): KerberosSpec {
  const m = obj(k.machineAccount)
  return {
    servicePrincipal: (k.servicePrincipal as string | undefined) ?? '',
    realm: nonEmpty(k.realm),
    netbiosDomain: nonEmpty(k.netbiosDomain),
    dnsDomain: nonEmpty(k.dnsDomain),
    // Checked below: required when enabled (identityErrors); the empty name never reaches a builder.
    keytabSecretRef: (k.keytabSecretRef as SecretKeyRef | undefined) ?? { name: '', key: '' },
    krb5ConfSecretRef: opt(k.krb5ConfSecretRef),
    krb5Conf: nonEmpty(k.krb5Conf),
    machineAccount:
      m.enabled === true
        ? {
            accountName: (m.accountName as string | undefined) ?? '',
            secretRef: opt(m.secretRef),
            keytabSecretRef: opt(m.keytabSecretRef),
            dcAddress: (m.dcAddress as string[] | undefined) ?? [],
          }
        : undefined,
  }
}

/** What the DittoFS server refuses at start (pkg/identity/ldap/config.go, pkg/config) or upstream's webhook does. */
function identityErrors(spec: DittoServerSpec): FieldError[] {
  const errors: FieldError[] = []
  const { ldap, kerberos } = spec
  if (ldap?.enabled) {
    const url = ldap.url.trim().toLowerCase()
    if (!url.startsWith('ldaps://') && !url.startsWith('ldap://'))
      errors.push({ field: 'spec.identity.ldap.url', message: 'must use the ldap:// or ldaps:// scheme' })
    else if (url.startsWith('ldap://') && !ldap.startTLS && !ldap.allowPlaintext)
      errors.push({
        field: 'spec.identity.ldap.url',
        message:
          'uses plaintext ldap://: set startTLS: true, or allowPlaintext: true to accept an unencrypted bind',
      })
    if (!ldap.bindPasswordSecretRef)
      errors.push({
        field: 'spec.identity.ldap.bindPasswordSecretRef',
        message:
          'is required when ldap is enabled (DittoFS refuses an empty password: it would bind anonymously)',
      })
  }
  if (kerberos) {
    if (kerberos.servicePrincipal === '')
      errors.push({
        field: 'spec.identity.kerberos.servicePrincipal',
        message: 'is required when kerberos is enabled',
      })
    if (kerberos.keytabSecretRef.name === '')
      errors.push({
        field: 'spec.identity.kerberos.keytabSecretRef',
        message: 'is required when kerberos is enabled',
      })
    const machine = kerberos.machineAccount
    if (machine && machine.accountName === '')
      errors.push({
        field: 'spec.identity.kerberos.machineAccount.accountName',
        message: 'is required when machineAccount is enabled',
      })
    if (machine && !machine.secretRef && !machine.keytabSecretRef)
      errors.push({
        field: 'spec.identity.kerberos.machineAccount',
        message: 'needs secretRef or keytabSecretRef when enabled',
      })
  }
  return errors
}

/** DittoFS' share-name normalisation: one leading slash. */
export const shareName = (name: string): string => `/${name.replace(/^\/+/, '')}`

const snapshotPolicyOf = (p: Obj): SnapshotPolicySpec => ({
  share: shareName(p.share as string),
  interval: p.interval as string,
  keepLast: opt(p.keepLast),
  ttl: opt(p.ttl),
  enabled: opt(p.enabled),
  namePrefix: opt(p.namePrefix),
})

/** Two entries for one share would overwrite each other in DittoFS on every push. */
function snapshotErrors(spec: DittoServerSpec): FieldError[] {
  const seen = new Map<string, number>()
  const errors: FieldError[] = []
  spec.snapshotPolicies.forEach((policy, index) => {
    const first = seen.get(policy.share)
    if (first !== undefined)
      errors.push({
        field: `spec.snapshotPolicies[${index}].share`,
        message: `${policy.share} is already used by spec.snapshotPolicies[${first}]`,
      })
    else seen.set(policy.share, index)
  })
  return errors
}

function perconaOf(p: Obj): PerconaSpec {
  const backup = obj(p.backup)
  return {
    deleteWithServer: p.deleteWithServer === true,
    replicas: (p.replicas as number | undefined) ?? 1,
    storageSize: (p.storageSize as string | undefined) ?? '10Gi',
    storageClassName: opt(p.storageClassName),
    databaseName: (p.databaseName as string | undefined) ?? 'dittofs',
    backup:
      backup.enabled === true
        ? {
            credentialsSecretName: opt(obj(backup.credentialsSecretRef).name),
            bucket: (backup.bucket as string | undefined) ?? '',
            endpoint: (backup.endpoint as string | undefined) ?? '',
            region: nonEmpty(backup.region) ?? 'eu-west-1',
            fullSchedule: nonEmpty(backup.fullSchedule) ?? '0 2 * * *',
            incrSchedule: nonEmpty(backup.incrSchedule) ?? '0 * * * *',
            retentionDays: (backup.retentionDays as number | undefined) ?? 7,
          }
        : undefined,
  }
}

/** Percona fields that contradict the rest of the spec (upstream's admission webhook refused the backup ones). */
function perconaErrors(spec: DittoServerSpec): FieldError[] {
  const errors: FieldError[] = []
  if (!spec.percona) return errors
  if (spec.database.postgresSecretRef)
    errors.push({
      field: 'spec.database.postgresSecretRef',
      message:
        'cannot be combined with spec.percona.enabled: the database is either yours or the Percona cluster',
    })
  if (spec.percona.backup && spec.percona.backup.bucket === '')
    errors.push({ field: 'spec.percona.backup.bucket', message: 'is required when backup is enabled' })
  if (spec.percona.backup && spec.percona.backup.endpoint === '')
    errors.push({ field: 'spec.percona.backup.endpoint', message: 'is required when backup is enabled' })
  return errors
}

/** Set fields this hook cannot honour yet: reported in UnsupportedFieldsIgnored, never silently dropped. */
function unsupportedFields(s: Obj): string[] {
  const out: string[] = []
  const metrics = obj(s.metrics)
  if (obj(metrics.serviceMonitor).enabled === true && metrics.enabled !== true)
    out.push('spec.metrics.serviceMonitor.enabled: no ServiceMonitor while spec.metrics.enabled is false')
  const kerberos = obj(obj(s.identity).kerberos)
  const machine = obj(kerberos.machineAccount)
  if (kerberos.enabled === true && machine.enabled === true) {
    // cmd/dfs/commands/netlogon.go (v0.29.0) turns NTLM passthrough off in both cases, with only a log line.
    if (machine.secretRef === undefined)
      out.push(
        'spec.identity.kerberos.machineAccount.keytabSecretRef: DittoFS does not use a machine keytab yet; NTLM passthrough stays off without secretRef',
      )
    if (!nonEmpty(kerberos.netbiosDomain))
      out.push(
        'spec.identity.kerberos.machineAccount: DittoFS keeps NTLM passthrough off without netbiosDomain',
      )
  }
  return out
}

/**
 * Parsed specs by their JSON text: validating and defaulting cost ~10 % of a steady-state sync's own CPU, and
 * every resync of a parent sends the same spec (bench/README.md). Results are frozen, so callers share them safely.
 */
const parsedSpecs = new BoundedMemo<SpecResult>(HOT_PATH_MEMO)

/** Validates and defaults a DittoServer spec; strict about security unless the policy says otherwise. Never throws. */
export function parseSpec(raw: unknown, policy: SpecPolicy = STRICT): SpecResult {
  if (!raw || typeof raw !== 'object' || Array.isArray(raw)) {
    return { ok: false, errors: [{ field: 'spec', message: 'must be an object' }] }
  }
  const text = JSON.stringify(raw)
  // Parsed again from the text: the cached value must not hold on to (or share) parts of one request's body.
  return parsedSpecs.get(`${policy.allowLooserSecurity ? 'L' : 'S'}${text}`, () =>
    deepFreeze(resolveSpec(JSON.parse(text) as Obj, policy)),
  )
}

function resolveSpec(raw: Obj, policy: SpecPolicy): SpecResult {
  const errors = schemaErrors(raw)
  if (errors.length > 0) return { ok: false, errors }

  // Only fields the schema knows go on: nothing else can reach the pod template (hostNetwork, volumes, ...).
  const s = pruneToSchema(raw, specSchema) as Obj
  const storage = obj(s.storage)
  const database = obj(s.database)
  const identity = obj(s.identity)
  const jwt = obj(identity.jwt)
  const admin = obj(identity.admin)
  const metrics = obj(s.metrics)
  const serviceMonitor = obj(metrics.serviceMonitor)
  const logging = obj(s.logging)
  const adapterServices = obj(s.adapterServices)
  const networkPolicy = obj(s.networkPolicy)
  const s3Ref = opt<Obj>(obj(s.s3).credentialsSecretRef)

  const spec: DittoServerSpec = {
    image: (s.image as string | undefined) ?? 'marmos91c/dittofs:latest',
    pod: podPlacement(s),
    replicas: ((s.replicas as number | undefined) ?? 1) as 0 | 1,
    storage: {
      metadataSize: storage.metadataSize as string,
      contentSize: opt(storage.contentSize),
      controlPlaneSize: (storage.controlPlaneSize as string | undefined) ?? '1Gi',
      storageClassName: opt(storage.storageClassName),
    },
    database: {
      // As upstream: a PostgreSQL Secret wins whatever `type` says.
      type: database.postgresSecretRef ? 'postgres' : 'sqlite',
      sqlitePath: (obj(database.sqlite).path as string | undefined) ?? DEFAULT_SQLITE_PATH,
      postgresSecretRef: opt(database.postgresSecretRef),
    },
    apiPort: (obj(s.controlPlane).port as number | undefined) ?? 8080,
    tls: {
      https: obj(s.controlPlane).tls === true || nonEmpty(obj(s.controlPlane).certSecretName) !== undefined,
      certSecretName: nonEmpty(obj(s.controlPlane).certSecretName),
      clientCASecretName: nonEmpty(obj(s.controlPlane).clientCASecretName),
    },
    metrics: {
      enabled: metrics.enabled === true,
      port: (metrics.port as number | undefined) ?? 9090,
      path: (metrics.path as string | undefined) ?? '/metrics',
      bearerTokenSecret: opt(metrics.bearerTokenSecret),
      serviceMonitor: {
        enabled: serviceMonitor.enabled === true,
        interval: opt(serviceMonitor.interval),
        labels: (serviceMonitor.labels as Record<string, string> | undefined) ?? {},
      },
    },
    logging: {
      level: (logging.level as LoggingSpec['level'] | undefined) ?? 'INFO',
      format: (logging.format as LoggingSpec['format'] | undefined) ?? 'json',
      output: (logging.output as string | undefined) ?? 'stdout',
    },
    ldap: identity.ldap === undefined ? undefined : ldapOf(obj(identity.ldap)),
    kerberos: obj(identity.kerberos).enabled === true ? kerberosOf(obj(identity.kerberos)) : undefined,
    jwt: {
      secretRef: opt(jwt.secretRef),
      accessTokenDuration: (jwt.accessTokenDuration as string | undefined) ?? '15m',
      refreshTokenDuration: (jwt.refreshTokenDuration as string | undefined) ?? '168h',
    },
    admin: {
      username: (admin.username as string | undefined) ?? 'admin',
      passwordSecretRef: opt(admin.passwordSecretRef),
    },
    apiService: {
      type: (obj(s.service).type as ServiceType | undefined) ?? 'ClusterIP',
      annotations: (obj(s.service).annotations as Record<string, string> | undefined) ?? {},
    },
    pollingIntervalMs: 0,
    adapterServices: {
      base: { type: 'LoadBalancer', annotations: {}, ...tuning(adapterServices) },
      overrides: Object.fromEntries(
        Object.entries(obj(adapterServices.overrides)).map(([type, raw]) => [
          type.toLowerCase(),
          tuning(obj(raw)),
        ]),
      ),
      removalGraceMs: 0,
      loadBalancerTimeoutMs: 0,
      listeners: listenersOf(obj(adapterServices.listeners)),
    },
    networkPolicy: {
      enabled: networkPolicy.enabled === true,
      from: (networkPolicy.from as Record<string, unknown>[] | undefined) ?? [],
    },
    resources: opt(s.resources),
    securityContext: opt(s.securityContext),
    podSecurityContext: opt(s.podSecurityContext),
    s3: s3Ref && {
      secretName: s3Ref.secretName as string,
      endpointKey: (s3Ref.endpointKey as string | undefined) ?? 'endpoint',
    },
    deprecated: DEPRECATED.filter(([path]) => at(s, path) !== undefined).map(
      ([path]) => `spec.${path.join('.')}`,
    ),
    percona: obj(s.percona).enabled === true ? perconaOf(obj(s.percona)) : undefined,
    snapshotPolicies: ((s.snapshotPolicies as Obj[] | undefined) ?? []).map(snapshotPolicyOf),
    unsupported: unsupportedFields(s),
  }

  const semantic: FieldError[] = []
  const polling = (obj(s.adapterDiscovery).pollingInterval as string | undefined) ?? '30s'
  spec.pollingIntervalMs = Math.max(
    MIN_POLLING_INTERVAL_MS,
    durationMs(polling, MAX_DURATIONS.pollingInterval, 'spec.adapterDiscovery.pollingInterval', semantic),
  )
  spec.adapterServices.removalGraceMs = durationMs(
    (adapterServices.removalGracePeriod as string | undefined) ?? '60s',
    MAX_DURATIONS.removalGracePeriod,
    'spec.adapterServices.removalGracePeriod',
    semantic,
  )
  spec.adapterServices.loadBalancerTimeoutMs = durationMs(
    (adapterServices.loadBalancerTimeout as string | undefined) ?? '5m',
    MAX_DURATIONS.loadBalancerTimeout,
    'spec.adapterServices.loadBalancerTimeout',
    semantic,
  )
  durationMs(
    spec.jwt.accessTokenDuration,
    MAX_DURATIONS.accessTokenDuration,
    'spec.identity.jwt.accessTokenDuration',
    semantic,
  )
  durationMs(
    spec.jwt.refreshTokenDuration,
    MAX_DURATIONS.refreshTokenDuration,
    'spec.identity.jwt.refreshTokenDuration',
    semantic,
  )
  semantic.push(
    ...childValueProblems({
      image: spec.image,
      apiServiceAnnotations: spec.apiService.annotations,
      adapterServices: {
        annotations: spec.adapterServices.base.annotations,
        ...(spec.adapterServices.base.loadBalancerSourceRanges
          ? { loadBalancerSourceRanges: spec.adapterServices.base.loadBalancerSourceRanges }
          : {}),
        // As written (not lowercased), so the field named is the one the user wrote.
        overrides: Object.fromEntries(
          Object.entries(obj(adapterServices.overrides)).map(([type, raw]) => [type, tuning(obj(raw))]),
        ),
      },
      from: spec.networkPolicy.from,
      ...(spec.resources ? { resources: spec.resources } : {}),
    }),
  )
  if (database.type === 'postgres' && !spec.database.postgresSecretRef) {
    semantic.push({
      field: 'spec.database.postgresSecretRef',
      message: 'is required when spec.database.type is postgres',
    })
  }
  semantic.push(...identityErrors(spec), ...perconaErrors(spec), ...snapshotErrors(spec))
  if (spec.tls.clientCASecretName && !spec.tls.certSecretName)
    semantic.push({
      field: 'spec.controlPlane.clientCASecretName',
      message: 'needs spec.controlPlane.certSecretName (mutual TLS needs a server certificate)',
    })
  if (spec.metrics.enabled && spec.metrics.port === spec.apiPort) {
    semantic.push({
      field: 'spec.metrics.port',
      message: `must differ from spec.controlPlane.port (${spec.apiPort})`,
    })
  }
  semantic.push(...placementErrors(spec.pod))
  if (!policy.allowLooserSecurity) {
    semantic.push(
      ...securityLoosenings({
        securityContext: spec.securityContext,
        podSecurityContext: spec.podSecurityContext,
        podAnnotations: spec.pod.annotations,
      }),
    )
  }
  return semantic.length > 0 ? { ok: false, errors: semantic } : { ok: true, spec }
}

/** The adapter Service settings for one adapter type: the per-type override wins field by field. */
export function adapterServiceTuning(spec: DittoServerSpec, adapterType: string): ServiceTuning {
  const base = spec.adapterServices.base
  const override = spec.adapterServices.overrides[adapterType.toLowerCase()] ?? {}
  // Object.assign, not spreads: on Node 20 a spread-first literal builds a new hidden class per call (bench/README.md).
  return Object.assign({}, base, override, {
    annotations: Object.assign({}, base.annotations, override.annotations),
  })
}
