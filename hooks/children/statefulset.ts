import { PRE_STOP_SECONDS } from '../dittoserver/schema.js'
import { containerSecurity, podSecurity } from '../dittoserver/security.js'
import type { DittoServerSpec, PodPlacement, SecretKeyRef } from '../dittoserver/spec.js'
import { asObject, type JsonObject } from '../loose.js'
import type { KubeObject } from '../metacontroller/types.js'
import { SECRET_FILES, type SecretFile, TLS_DIRS } from './config.js'
import { childLabels, childNames, podLabels } from './naming.js'
import { JWT_SECRET_KEY } from './secrets.js'

// The DittoFS StatefulSet. Its pod template depends only on the spec and the config hash: adapter discovery
// never touches it (no adapter ports, annotations or hashes), so adapters coming and going never restart the pod.
// Fields are written the way the API server stores them, so an unchanged StatefulSet is never updated.

export const CONFIG_HASH_ANNOTATION = 'dittofs.io/config-hash'
export const SECRET_DIGEST_ANNOTATION = 'dittofs.io/secret-hash'

const MOUNTS = {
  config: '/config',
  controlplane: '/data/controlplane',
  metadata: '/data/store/metadata',
  content: '/data/store/block',
} as const

/**
 * HTTPS when the pod serves TLS; a TCP check under mutual TLS, where the kubelet has no client certificate to
 * present (an HTTPS probe would fail for ever).
 */
const probeAction = (spec: DittoServerSpec, path: string) =>
  spec.tls.clientCASecretName
    ? { tcpSocket: { port: 'api' } }
    : { httpGet: { path, port: 'api', scheme: spec.tls.certSecretName ? 'HTTPS' : 'HTTP' } }

const probe = (
  spec: DittoServerSpec,
  path: string,
  timing: { initialDelaySeconds: number; periodSeconds: number; failureThreshold: number },
) => ({
  ...probeAction(spec, path),
  initialDelaySeconds: timing.initialDelaySeconds,
  periodSeconds: timing.periodSeconds,
  timeoutSeconds: 5,
  successThreshold: 1,
  failureThreshold: timing.failureThreshold,
})

const secretEnv = (name: string, secret: string, key: string, optional?: boolean) => ({
  name,
  valueFrom: { secretKeyRef: { name: secret, key, ...(optional ? { optional: true } : {}) } },
})

export function containerEnv(parent: string, spec: DittoServerSpec) {
  const names = childNames(parent)
  const jwt = spec.jwt.secretRef ?? { name: names.jwtSecret, key: JWT_SECRET_KEY }
  const admin = spec.admin.passwordSecretRef ?? { name: names.adminCredentials, key: 'password' }
  const env: Array<Record<string, unknown>> = [
    secretEnv('DITTOFS_CONTROLPLANE_SECRET', jwt.name, jwt.key),
    // Read by the server only when it creates the admin user (first start); it then needs no password change.
    secretEnv('DITTOFS_ADMIN_INITIAL_PASSWORD', admin.name, admin.key),
  ]
  const pg = spec.database.postgresSecretRef
  const percona = spec.database.perconaSecretName
  if (percona) {
    // The Percona operator's pguser Secret names the database `dbname` (not `database`), and its cluster only
    // accepts TLS connections (hostssl), while DittoFS defaults to sslmode=disable (pkg/controlplane/store/gorm.go).
    env.push(
      secretEnv('DITTOFS_DATABASE_POSTGRES_HOST', percona, 'host'),
      secretEnv('DITTOFS_DATABASE_POSTGRES_PORT', percona, 'port'),
      secretEnv('DITTOFS_DATABASE_POSTGRES_DATABASE', percona, 'dbname'),
      secretEnv('DITTOFS_DATABASE_POSTGRES_USER', percona, 'user'),
      secretEnv('DITTOFS_DATABASE_POSTGRES_PASSWORD', percona, 'password'),
      { name: 'DITTOFS_DATABASE_POSTGRES_SSLMODE', value: 'require' },
    )
  } else if (spec.database.type === 'postgres' && pg) {
    env.push(
      secretEnv('DITTOFS_DATABASE_POSTGRES_HOST', pg.name, 'host'),
      secretEnv('DITTOFS_DATABASE_POSTGRES_PORT', pg.name, 'port', true),
      secretEnv('DITTOFS_DATABASE_POSTGRES_DATABASE', pg.name, 'database'),
      secretEnv('DITTOFS_DATABASE_POSTGRES_USER', pg.name, 'user'),
      secretEnv('DITTOFS_DATABASE_POSTGRES_PASSWORD', pg.name, 'password'),
      secretEnv('DITTOFS_DATABASE_POSTGRES_SSLMODE', pg.name, 'sslmode', true),
    )
  }
  // Read by the server at start only (viper's DITTOFS_<key path> binding): never in the ConfigMap.
  const bindPassword = spec.ldap?.bindPasswordSecretRef
  if (bindPassword) env.push(secretEnv('DITTOFS_LDAP_BIND_PASSWORD', bindPassword.name, bindPassword.key))
  const machineSecret = spec.kerberos?.machineAccount?.secretRef
  if (machineSecret)
    env.push(secretEnv('DITTOFS_KERBEROS_MACHINE_ACCOUNT_SECRET', machineSecret.name, machineSecret.key))
  // Only the endpoint: the server never reads AWS credentials or region from the environment (see S3Endpoint).
  if (spec.s3) env.push(secretEnv('AWS_ENDPOINT_URL', spec.s3.secretName, spec.s3.endpointKey, true))
  return env
}

/** 0440: keytabs and tokens readable by the pod's user and fsGroup only, not world-readable. */
const OWNER_GROUP_READ = 0o440

interface SecretFileMount {
  which: SecretFile
  ref: SecretKeyRef
}

/** The Secrets the server reads as files: each key projected to one file in its own read-only directory. */
export function secretFileMounts(spec: DittoServerSpec): SecretFileMount[] {
  const mounts: SecretFileMount[] = []
  if (spec.metrics.enabled && spec.metrics.bearerTokenSecret)
    mounts.push({ which: 'metricsToken', ref: spec.metrics.bearerTokenSecret })
  const kerberos = spec.kerberos
  if (kerberos) {
    mounts.push({ which: 'keytab', ref: kerberos.keytabSecretRef })
    if (kerberos.krb5ConfSecretRef) mounts.push({ which: 'krb5Conf', ref: kerberos.krb5ConfSecretRef })
    if (kerberos.machineAccount?.keytabSecretRef)
      mounts.push({ which: 'machineKeytab', ref: kerberos.machineAccount.keytabSecretRef })
  }
  return mounts
}

// Volume names are fixed per purpose (`secret-<purpose>`), so renaming the Secret updates the volume in place.
const volumeName = (which: SecretFile) => `secret-${which.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`

const secretVolume = ({ which, ref }: SecretFileMount) => ({
  name: volumeName(which),
  secret: {
    secretName: ref.name,
    items: [{ key: ref.key, path: SECRET_FILES[which].file }],
    defaultMode: which === 'krb5Conf' ? 0o444 : OWNER_GROUP_READ,
  },
})

const secretVolumeMount = ({ which }: SecretFileMount) => ({
  name: volumeName(which),
  mountPath: SECRET_FILES[which].dir,
  readOnly: true,
})

/** The certificate Secrets, mounted whole and without subPath so the kubelet's rotation reaches the server. */
function tlsVolumes(spec: DittoServerSpec) {
  const mounts: Array<{ name: string; mountPath: string; volume: Record<string, unknown> }> = []
  const secret = (name: string, secretName: string, mountPath: string) =>
    mounts.push({ name, mountPath, volume: { name, secret: { secretName, defaultMode: OWNER_GROUP_READ } } })
  if (spec.tls.certSecretName) secret('tls-cert', spec.tls.certSecretName, TLS_DIRS.cert)
  if (spec.tls.certSecretName && spec.tls.clientCASecretName)
    secret('tls-client-ca', spec.tls.clientCASecretName, TLS_DIRS.clientCA)
  return mounts
}

const claim = (name: string, size: string, storageClassName: string | undefined) => ({
  apiVersion: 'v1',
  kind: 'PersistentVolumeClaim',
  metadata: { name },
  spec: {
    accessModes: ['ReadWriteOnce'],
    resources: { requests: { storage: size } },
    ...(storageClassName ? { storageClassName } : {}),
    volumeMode: 'Filesystem',
  },
  // Stored form: the API server keeps this inside each template; without it the second sync would update.
  status: { phase: 'Pending' },
})

export function volumeClaimTemplates(spec: DittoServerSpec) {
  const { storage } = spec
  const claims = [
    claim('controlplane', storage.controlPlaneSize, storage.storageClassName),
    claim('metadata', storage.metadataSize, storage.storageClassName),
  ]
  if (storage.contentSize) claims.push(claim('content', storage.contentSize, storage.storageClassName))
  return claims
}

const obj = asObject
type Obj = JsonObject

/** Observed values as text: String() of an object whose `toString` is not a function throws. */
const text = (v: unknown): string => (typeof v === 'string' || typeof v === 'number' ? String(v) : '?')

/** `name=size[@class]` per claim template, for comparing desired storage with what exists. */
const claimShape = (templates: unknown): string[] =>
  (Array.isArray(templates) ? templates : [])
    .map((t) => {
      const spec = obj(obj(t).spec)
      const size = obj(obj(spec.resources).requests).storage
      const cls = spec.storageClassName
      return `${text(obj(obj(t).metadata).name)}=${text(size)}${cls ? `@${text(cls)}` : ''}`
    })
    .sort()

/** The pod-spec placement fields the spec sets, in the order the API server stores them; none when unset. */
function placementFields(pod: PodPlacement): Obj {
  const fields: Obj = {}
  if (pod.affinity) fields.affinity = pod.affinity
  if (pod.imagePullSecrets) fields.imagePullSecrets = pod.imagePullSecrets
  if (pod.nodeSelector) fields.nodeSelector = pod.nodeSelector
  if (pod.priorityClassName) fields.priorityClassName = pod.priorityClassName
  if (pod.tolerations) fields.tolerations = pod.tolerations
  if (pod.topologySpreadConstraints) fields.topologySpreadConstraints = pod.topologySpreadConstraints
  return fields
}

export interface StatefulSetResult {
  statefulSet: KubeObject
  /** Human-readable storage changes that were not applied because the StatefulSet already exists. */
  ignoredStorageChanges: string[]
}

export function buildStatefulSet(
  parent: string,
  spec: DittoServerSpec,
  hashes: { configHash: string; secretDigest: string },
  observed: KubeObject | undefined,
): StatefulSetResult {
  const names = childNames(parent)
  const ports = [{ name: 'api', containerPort: spec.apiPort, protocol: 'TCP' }]
  if (spec.metrics.enabled) ports.push({ name: 'metrics', containerPort: spec.metrics.port, protocol: 'TCP' })
  const mounts: Array<{ name: string; mountPath: string; readOnly?: boolean }> = [
    { name: 'config', mountPath: MOUNTS.config, readOnly: true },
    { name: 'controlplane', mountPath: MOUNTS.controlplane },
    { name: 'metadata', mountPath: MOUNTS.metadata },
  ]
  if (spec.storage.contentSize) mounts.push({ name: 'content', mountPath: MOUNTS.content })
  const fileSecrets = secretFileMounts(spec)
  mounts.push(...fileSecrets.map(secretVolumeMount))
  const tls = tlsVolumes(spec)
  mounts.push(...tls.map(({ name, mountPath }) => ({ name, mountPath, readOnly: true })))

  const container: Obj = {
    name: 'dittofs',
    image: spec.image,
    command: ['/app/dfs'],
    args: ['start', '--foreground', '--config', `${MOUNTS.config}/config.yaml`],
    ports,
    env: containerEnv(parent, spec),
    volumeMounts: mounts,
    startupProbe: probe(spec, '/health', { initialDelaySeconds: 0, periodSeconds: 5, failureThreshold: 30 }),
    livenessProbe: probe(spec, '/health', {
      initialDelaySeconds: 15,
      periodSeconds: 10,
      failureThreshold: 3,
    }),
    readinessProbe: probe(spec, '/health/ready', {
      initialDelaySeconds: 10,
      periodSeconds: 5,
      failureThreshold: 3,
    }),
    // Lets endpoints drop the pod before DittoFS stops accepting connections.
    lifecycle: { preStop: { exec: { command: ['/bin/sh', '-c', `sleep ${PRE_STOP_SECONDS}`] } } },
    securityContext: containerSecurity(spec.securityContext),
  }
  if (spec.resources) container.resources = spec.resources
  if (spec.pod.imagePullPolicy) container.imagePullPolicy = spec.pod.imagePullPolicy

  const desiredClaims = volumeClaimTemplates(spec)
  const observedSpec = observed ? obj(observed.spec) : undefined
  const ignoredStorageChanges: string[] = []
  if (observedSpec) {
    const want = claimShape(desiredClaims).join(', ')
    const have = claimShape(observedSpec.volumeClaimTemplates).join(', ')
    if (want !== have) ignoredStorageChanges.push(`volume claims are ${have}; the spec asks for ${want}`)
  }

  const statefulSet: KubeObject = {
    apiVersion: 'apps/v1',
    kind: 'StatefulSet',
    metadata: { name: names.statefulSet, labels: childLabels(parent) },
    spec: {
      replicas: spec.replicas,
      // Immutable once created: echo exactly what exists, or the API server rejects every update for ever.
      serviceName: observedSpec?.serviceName ?? names.headlessService,
      selector: observedSpec?.selector ?? { matchLabels: podLabels(parent) },
      podManagementPolicy: observedSpec?.podManagementPolicy ?? 'OrderedReady',
      persistentVolumeClaimRetentionPolicy: { whenDeleted: 'Retain', whenScaled: 'Retain' },
      template: {
        metadata: {
          // The user's extra labels never include a selector label (spec.ts refuses those).
          labels: Object.assign(podLabels(parent), spec.pod.labels),
          annotations: Object.assign(
            { [CONFIG_HASH_ANNOTATION]: hashes.configHash, [SECRET_DIGEST_ANNOTATION]: hashes.secretDigest },
            spec.pod.annotations,
          ),
        },
        // Object.assign, not a spread: see adapterServiceTuning in spec.ts.
        spec: Object.assign(
          {
            automountServiceAccountToken: false,
            securityContext: podSecurity(spec.podSecurityContext),
            // What DittoFS needs to drain after the preStop sleep (schema.ts); the spec may raise it.
            terminationGracePeriodSeconds: spec.pod.terminationGracePeriodSeconds,
            containers: [container],
            volumes: [
              { name: 'config', configMap: { name: names.config } },
              ...fileSecrets.map(secretVolume),
              ...tls.map(({ volume }) => volume),
            ],
          },
          placementFields(spec.pod),
        ),
      },
      volumeClaimTemplates: observedSpec?.volumeClaimTemplates ?? desiredClaims,
    },
  }
  return { statefulSet, ignoredStorageChanges }
}

/** The digest annotation the observed pod template carries, to keep when the request hides a secret value. */
export const observedSecretDigest = (observed: KubeObject | undefined): string | undefined => {
  const annotations = obj(obj(obj(obj(observed?.spec).template).metadata).annotations)
  const value = annotations[SECRET_DIGEST_ANNOTATION]
  return typeof value === 'string' ? value : undefined
}
