import { Ajv, type ErrorObject } from 'ajv'
import { asObject, type JsonObject } from '../loose.js'
import { BoundedMemo, deepFreeze, HOT_PATH_MEMO } from '../memo.js'
import { parseDuration } from './duration.js'
import { type PodPlacement, placementErrors, podPlacement } from './placement.js'
import { pruneToSchema } from './prune.js'
import { GO_DURATION, QUANTITY, specSchema } from './schema.js'
import { securityLoosenings } from './security.js'

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
}

export interface S3Credentials {
  secretName: string
  accessKeyIdKey: string
  secretAccessKeyKey: string
  endpointKey: string
  region: string
}

export type { PodPlacement }

export interface DittoServerSpec {
  image: string
  pod: PodPlacement
  replicas: 0 | 1
  storage: { metadataSize: string; contentSize?: string; controlPlaneSize: string; storageClassName?: string }
  database: { type: 'sqlite' | 'postgres'; sqlitePath: string; postgresSecretRef?: SecretKeyRef }
  apiPort: number
  metrics: { enabled: boolean; port: number }
  jwt: { secretRef?: SecretKeyRef; accessTokenDuration: string; refreshTokenDuration: string }
  admin: { username: string; passwordSecretRef?: SecretKeyRef }
  apiService: { type: ServiceType; annotations: Record<string, string> }
  pollingIntervalMs: number
  adapterServices: {
    base: ServiceTuning
    overrides: Record<string, Partial<ServiceTuning>>
    removalGraceMs: number
    loadBalancerTimeoutMs: number
  }
  networkPolicy: { enabled: boolean; from: Record<string, unknown>[] }
  resources?: Record<string, unknown>
  securityContext?: Record<string, unknown>
  podSecurityContext?: Record<string, unknown>
  s3?: S3Credentials
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
]

const ajv = new Ajv({ allErrors: true, strict: true, coerceTypes: false, useDefaults: false })
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

const durationMs = (text: string, field: string, errors: FieldError[]): number => {
  const ms = parseDuration(text)
  if (ms === undefined || ms <= 0) {
    errors.push({ field, message: 'must be a positive duration such as 30s, 5m or 1h30m' })
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
  const adapterServices = obj(s.adapterServices)
  const networkPolicy = obj(s.networkPolicy)
  const s3 = obj(s.s3)
  const s3Ref = opt<Obj>(s3.credentialsSecretRef)

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
    metrics: { enabled: metrics.enabled === true, port: (metrics.port as number | undefined) ?? 9090 },
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
      accessKeyIdKey: (s3Ref.accessKeyIdKey as string | undefined) ?? 'accessKeyId',
      secretAccessKeyKey: (s3Ref.secretAccessKeyKey as string | undefined) ?? 'secretAccessKey',
      endpointKey: (s3Ref.endpointKey as string | undefined) ?? 'endpoint',
      region: (s3.region as string | undefined) ?? 'eu-west-1',
    },
    deprecated: DEPRECATED.filter(([path]) => at(s, path) !== undefined).map(
      ([path]) => `spec.${path.join('.')}`,
    ),
    unsupported:
      obj(s.percona).enabled === true ? ['spec.percona.enabled: Percona PostgreSQL is not supported'] : [],
  }

  const semantic: FieldError[] = []
  const polling = (obj(s.adapterDiscovery).pollingInterval as string | undefined) ?? '30s'
  spec.pollingIntervalMs = Math.max(
    MIN_POLLING_INTERVAL_MS,
    durationMs(polling, 'spec.adapterDiscovery.pollingInterval', semantic),
  )
  spec.adapterServices.removalGraceMs = durationMs(
    (adapterServices.removalGracePeriod as string | undefined) ?? '60s',
    'spec.adapterServices.removalGracePeriod',
    semantic,
  )
  spec.adapterServices.loadBalancerTimeoutMs = durationMs(
    (adapterServices.loadBalancerTimeout as string | undefined) ?? '5m',
    'spec.adapterServices.loadBalancerTimeout',
    semantic,
  )
  durationMs(spec.jwt.accessTokenDuration, 'spec.identity.jwt.accessTokenDuration', semantic)
  durationMs(spec.jwt.refreshTokenDuration, 'spec.identity.jwt.refreshTokenDuration', semantic)
  if (database.type === 'postgres' && !spec.database.postgresSecretRef) {
    semantic.push({
      field: 'spec.database.postgresSecretRef',
      message: 'is required when spec.database.type is postgres',
    })
  }
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
