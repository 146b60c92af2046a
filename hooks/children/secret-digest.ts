import type { KubeObject } from '../metacontroller/types.js'
import { sha256 } from './config.js'
import { secretValue } from './secrets.js'

// The pod template's `dittofs.io/secret-hash`: a digest of every Secret value the DittoFS container reads when it
// starts, so rotating one restarts the pod. What the server reads at start-up (DittoFS v0.29.0):
// - DITTOFS_CONTROLPLANE_SECRET: the JWT signing key, on every start (pkg/config/config.go);
// - DITTOFS_DATABASE_POSTGRES_*: the control-plane database connection, on every start (store.New in
//   cmd/dfs/commands/start.go);
// - AWS_ENDPOINT_URL: read by the S3 SDK whenever a block store is opened (pkg/block/remote/s3/store.go);
// - the LDAP bind password, the Kerberos machine secret, krb5.conf and the metrics token, read once at start
//   (secrets.ts consumedSecretRefs; the keytab is re-read by the server and left out).
// DITTOFS_ADMIN_INITIAL_PASSWORD is left out on purpose: the server reads it only when it creates the admin user
// (EnsureAdminUser, cmd/dfs/commands/start.go says a restart with another value "will NOT change it"), so
// restarting for it would cut every NFS/SMB client off and change nothing.
//
// Unknown is not changed: a Secret the request does not show keeps the part the running pod already has, so a
// Secret missing from `related` (an informer not synced yet, a Secret deleted) never restarts the pod.

export const JWT_ENV = 'DITTOFS_CONTROLPLANE_SECRET'
/** Read only when the admin user is created, see above. */
export const BOOTSTRAP_ONLY_ENV = new Set(['DITTOFS_ADMIN_INITIAL_PASSWORD'])
const VERSION = 'dittofs-hooks/secrets/v1'
const UNKNOWN = 'unknown'

interface SecretRefEnv {
  name: string
  secret: string
  key: string
  optional: boolean
}

/** The env entries that read a Secret key (`valueFrom.secretKeyRef`). */
export function secretRefEnv(env: ReadonlyArray<Record<string, unknown>>): SecretRefEnv[] {
  const out: SecretRefEnv[] = []
  for (const entry of env) {
    const ref = (entry.valueFrom as { secretKeyRef?: Record<string, unknown> } | undefined)?.secretKeyRef
    if (!ref) continue
    out.push({
      name: String(entry.name),
      secret: String(ref.name),
      key: String(ref.key),
      optional: ref.optional === true,
    })
  }
  return out
}

/**
 * The JWT signing secret's digest, the annotation's first token. Its formula predates the other tokens, so a
 * DittoServer that reads no other Secret keeps exactly the annotation (and the pod) it had.
 */
export const jwtDigest = (parentUid: string, jwtSecret: string): string =>
  sha256(VERSION, parentUid, jwtSecret)

/** `{first, bySecret}` from an observed annotation: `<jwt digest>[ <secret name>:<digest>]...`. */
export function parseSecretDigest(annotation: string | undefined): {
  first?: string
  bySecret: Map<string, string>
} {
  const bySecret = new Map<string, string>()
  if (annotation === undefined) return { bySecret }
  const [first, ...rest] = annotation.split(' ')
  for (const token of rest) {
    const colon = token.lastIndexOf(':')
    if (colon > 0) bySecret.set(token.slice(0, colon), token.slice(colon + 1))
  }
  return { first: first === '' ? undefined : first, bySecret }
}

export interface DigestInput {
  parentUid: string
  /** The container's env (containerEnv). */
  env: ReadonlyArray<Record<string, unknown>>
  /** The Secret of that name as the pod will read it, or undefined when the request does not show it. */
  lookup: (name: string) => KubeObject | undefined
  /** Secret keys the container reads as mounted files at start-up only (metrics token, krb5.conf, ...). */
  files?: ReadonlyArray<{ name: string; key: string }>
  /** The annotation the observed pod template carries. */
  observed: string | undefined
}

/** The stored (base64) value of a key: binary files (keytabs) compare as stored. Absent reads as ''. */
const rawValue = (secret: KubeObject, key: string): string => {
  const data = secret.data
  const raw = data && typeof data === 'object' ? (data as Record<string, unknown>)[key] : undefined
  return typeof raw === 'string' ? raw : ''
}

export function secretDigestAnnotation(input: DigestInput): string {
  const { parentUid, lookup } = input
  const before = parseSecretDigest(input.observed)
  const refs = secretRefEnv(input.env).filter((ref) => !BOOTSTRAP_ONLY_ENV.has(ref.name))

  const jwt = refs.find((ref) => ref.name === JWT_ENV)
  const jwtValue = jwt ? secretValue(lookup(jwt.secret), jwt.key) : undefined
  const first = jwtValue !== undefined ? jwtDigest(parentUid, jwtValue) : (before.first ?? UNKNOWN)

  // Env entries, then mounted files not already read through the env, grouped by Secret.
  const files = (input.files ?? []).map((f) => ({
    name: `file:${f.key}`,
    secret: f.name,
    key: f.key,
    optional: false,
  }))
  const bySecret = new Map<string, SecretRefEnv[]>()
  const seen = new Set<string>()
  for (const ref of [...refs, ...files]) {
    if (ref === jwt || seen.has(`${ref.secret}/${ref.key}`)) continue
    seen.add(`${ref.secret}/${ref.key}`)
    bySecret.set(ref.secret, [...(bySecret.get(ref.secret) ?? []), ref])
  }
  const tokens = [...bySecret.keys()].sort().map((secretName) => {
    const secret = lookup(secretName)
    if (secret === undefined) return `${secretName}:${before.bySecret.get(secretName) ?? UNKNOWN}`
    // An absent optional key is a value too (the variable is unset in the pod): it reads as ''.
    const values = (bySecret.get(secretName) ?? [])
      .sort((a, b) => (a.name < b.name ? -1 : 1))
      .map((ref) => `${ref.name}=${rawValue(secret, ref.key)}`)
    return `${secretName}:${sha256(VERSION, parentUid, secretName, ...values)}`
  })
  return [first, ...tokens].join(' ')
}

/**
 * `name/key` of every required key the pod reads from a Secret the request shows is missing (or that lacks the
 * key): the pod cannot start without it. Only Secrets named in `userSecrets` are checked (the generated ones are
 * created by this very response), and only when `related` was delivered at all.
 */
export function missingSecretKeys(
  env: ReadonlyArray<Record<string, unknown>>,
  userSecrets: ReadonlySet<string>,
  related: ReadonlyMap<string, KubeObject> | undefined,
): string[] {
  if (related === undefined) return []
  return secretRefEnv(env)
    .filter((ref) => !ref.optional && userSecrets.has(ref.secret))
    .filter((ref) => secretValue(related.get(ref.secret), ref.key) === undefined)
    .map((ref) => `${ref.secret}/${ref.key}`)
}
