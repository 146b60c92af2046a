import { createHmac, X509Certificate } from 'node:crypto'
import { type Credentials, OPERATOR_USERNAME, type TlsTrust } from '../discovery/types.js'
import type { DittoServerSpec, SecretKeyRef } from '../dittoserver/spec.js'
import type { KubeObject } from '../metacontroller/types.js'
import { childLabels, childNames } from './naming.js'

// Generated Secrets are children like any other, so they must come out the same on every sync and on every hook
// replica: a value the cluster already holds always wins (users may rotate it; the CompositeController updates
// Secrets OnDelete only), and a missing value is derived from HOOKS_SECRET_KEY and the parent's UID, never random.

/**
 * DittoFS always names its bootstrap admin `admin` (the config's `admin.username` is rendered for compatibility
 * and ignored by the server), so that is the name the hook logs in with whatever the spec says.
 */
export const ADMIN_USERNAME = 'admin'
export const JWT_SECRET_KEY = 'jwt-secret'

export type SecretPurpose = 'jwt-secret' | 'admin-password' | 'operator-password'

/** base64url(HMAC-SHA256(key, "<uid>/<purpose>")): 43 URL-safe characters, enough for DittoFS' 32-char minimum. */
export const deriveSecret = (key: Buffer, parentUid: string, purpose: SecretPurpose): string =>
  createHmac('sha256', key).update(`${parentUid}/${purpose}`).digest('base64url')

const b64 = (text: string): string => Buffer.from(text, 'utf8').toString('base64')

/** The decoded value of `data[key]`, or undefined when it is absent, empty or not valid base64. */
export function secretValue(secret: KubeObject | undefined, key: string): string | undefined {
  const data = secret?.data
  if (!data || typeof data !== 'object') return undefined
  const encoded = (data as Record<string, unknown>)[key]
  if (typeof encoded !== 'string' || encoded === '' || !/^[A-Za-z0-9+/]*={0,2}$/.test(encoded))
    return undefined
  const decoded = Buffer.from(encoded, 'base64').toString('utf8')
  return decoded === '' ? undefined : decoded
}

export interface SecretInputs {
  spec: DittoServerSpec
  parentName: string
  parentUid: string
  secretKey: Buffer
  /** Observed children Secrets by name. */
  ownSecrets: Map<string, KubeObject>
  /** Related Secrets (from customize) by name; undefined when the request carries no Secret group at all. */
  relatedSecrets: Map<string, KubeObject> | undefined
}

export interface ResolvedSecrets {
  children: KubeObject[]
  /** The JWT signing secret the pod will read, when the request shows it. */
  jwtSecret: string | undefined
  /** Credentials the cluster already holds (never ones created in this same response). */
  admin: Credentials | undefined
  operator: Credentials | undefined
  /** Secrets named by the spec that the request shows do not exist (customize ran, the Secret is absent). */
  missing: string[]
  /**
   * How the hook reaches an https API: `trust` once the certificate Secret was read and is usable, else `problem`
   * says why not (the hook then does not call the API at all: never plain HTTP, never unverified).
   */
  apiTls?: { trust: TlsTrust } | { problem: string }
}

/** A PEM bundle with at least one certificate Node can read. */
function isCertificatePem(pem: string): boolean {
  try {
    new X509Certificate(pem)
    return true
  } catch {
    return false
  }
}

/** The TLS trust for an https API, from the certificate Secret (`ca.crt`; `tls.crt`/`tls.key` under mutual TLS). */
function apiTlsOf(
  spec: DittoServerSpec,
  related: Map<string, KubeObject> | undefined,
): ResolvedSecrets['apiTls'] {
  if (!spec.tls.https) return undefined
  // controlPlane.tls without a certificate: TLS is terminated in front of the pod; the system roots verify it.
  const name = spec.tls.certSecretName
  if (name === undefined) return { trust: {} }
  const secret = related?.get(name)
  if (!secret) return { problem: `waiting for the certificate Secret ${name} (controlPlane.certSecretName)` }
  const ca = secretValue(secret, 'ca.crt')
  if (ca !== undefined && !isCertificatePem(ca))
    return {
      problem: `ca.crt in Secret ${name} is not a PEM certificate: the API certificate cannot be verified`,
    }
  const trust: TlsTrust = ca === undefined ? {} : { ca }
  if (spec.tls.clientCASecretName) {
    // Under mutual TLS the hook presents the server's own certificate, which must be valid for client auth too.
    const cert = secretValue(secret, 'tls.crt')
    const key = secretValue(secret, 'tls.key')
    if (cert === undefined || key === undefined || !isCertificatePem(cert))
      return { problem: `Secret ${name} has no usable tls.crt/tls.key to present as a client certificate` }
    trust.cert = cert
    trust.key = key
  }
  return { trust }
}

/**
 * User Secrets (beyond the JWT and admin ones) the pod consumes, and whether the server reads them only at
 * start. Files DittoFS re-reads by itself are not: the service keytab (polled every 60 s,
 * pkg/auth/kerberos/keytab.go), so rotating it needs no restart.
 */
export function consumedSecretRefs(
  spec: DittoServerSpec,
): Array<{ ref: SecretKeyRef; atStartOnly: boolean }> {
  const refs: Array<{ ref: SecretKeyRef; atStartOnly: boolean }> = []
  // cmd/dfs/commands/start.go reads the metrics token file once.
  if (spec.metrics.enabled && spec.metrics.bearerTokenSecret)
    refs.push({ ref: spec.metrics.bearerTokenSecret, atStartOnly: true })
  if (spec.ldap?.bindPasswordSecretRef) refs.push({ ref: spec.ldap.bindPasswordSecretRef, atStartOnly: true })
  const kerberos = spec.kerberos
  if (kerberos) {
    refs.push({ ref: kerberos.keytabSecretRef, atStartOnly: false })
    // pkg/auth/kerberos/provider.go loads krb5.conf once, in NewProvider.
    if (kerberos.krb5ConfSecretRef) refs.push({ ref: kerberos.krb5ConfSecretRef, atStartOnly: true })
    const machine = kerberos.machineAccount
    if (machine?.secretRef) refs.push({ ref: machine.secretRef, atStartOnly: true })
    // Mounted for upstream parity; v0.29.0 does not read it (cmd/dfs/commands/netlogon.go).
    if (machine?.keytabSecretRef) refs.push({ ref: machine.keytabSecretRef, atStartOnly: false })
  }
  return refs
}

/** A Secret key's raw (base64) data: keytabs are binary, so they are compared as stored, not decoded. */
function readRawRef(
  ref: SecretKeyRef,
  related: Map<string, KubeObject> | undefined,
): { value?: string; missing: boolean } {
  if (!related) return { missing: false }
  const data = related.get(ref.name)?.data
  const raw = data && typeof data === 'object' ? (data as Record<string, unknown>)[ref.key] : undefined
  return typeof raw === 'string' && raw !== '' ? { value: raw, missing: false } : { missing: true }
}

const secretChild = (name: string, parent: string, data: Record<string, string>): KubeObject => ({
  apiVersion: 'v1',
  kind: 'Secret',
  metadata: { name, labels: childLabels(parent) },
  type: 'Opaque',
  // `data`, not `stringData`: the API server stores `data`, so the returned form matches what is observed.
  data: Object.fromEntries(Object.entries(data).map(([k, v]) => [k, b64(v)])),
})

/** Reads a user-named Secret key from `related`; `missing` when customize ran and the Secret is not there. */
function readRef(
  ref: SecretKeyRef,
  related: Map<string, KubeObject> | undefined,
): { value?: string; missing: boolean } {
  if (!related) return { missing: false }
  const secret = related.get(ref.name)
  if (!secret) return { missing: true }
  const value = secretValue(secret, ref.key)
  return value === undefined ? { missing: true } : { value, missing: false }
}

/**
 * The admin password to log in with. A `<n>-admin-credentials` the hook filled with its own derived value before the
 * Go operator's bootstrap Secret was visible (the old migration guide handed over a name that newer Go operators
 * delete) holds a password DittoFS never saw; the bootstrap Secret's is the one DittoFS was started with. Any
 * other held value (rotated by the user, handed over from the Go operator) is the user's word and wins. The child
 * itself keeps its value: Secrets are updated OnDelete, so changing it here would change nothing.
 */
function loginPassword(
  held: string,
  bootstrap: KubeObject | undefined,
  secretKey: Buffer,
  parentUid: string,
): string {
  const upstream = secretValue(bootstrap, 'password')
  if (upstream === undefined || upstream === held) return held
  return held === deriveSecret(secretKey, parentUid, 'admin-password') ? upstream : held
}

export function resolveSecrets(input: SecretInputs): ResolvedSecrets {
  const { spec, parentName, parentUid, secretKey, ownSecrets, relatedSecrets } = input
  const names = childNames(parentName)
  const children: KubeObject[] = []
  const missing: string[] = []
  // A value the cluster holds wins: our own child, else the Go operator's newer layout (`adoptable`), else a Secret
  // of that very name the Go operator left behind (customize asks for it; Metacontroller does not adopt it as a
  // child unless it is labelled). Derived only when none holds one: an HMAC per Secret per sync was measurable.
  const generated = (
    secretName: string,
    key: string,
    purpose: SecretPurpose,
    adoptable: Array<KubeObject | undefined> = [],
  ) => {
    for (const source of [ownSecrets.get(secretName), ...adoptable, relatedSecrets?.get(secretName)]) {
      const value = secretValue(source, key)
      if (value !== undefined) return { value, observed: true }
    }
    return { value: deriveSecret(secretKey, parentUid, purpose), observed: false }
  }

  let jwtSecret: string | undefined
  if (spec.jwt.secretRef) {
    const read = readRef(spec.jwt.secretRef, relatedSecrets)
    jwtSecret = read.value
    if (read.missing) missing.push(`${spec.jwt.secretRef.name}/${spec.jwt.secretRef.key}`)
  } else {
    jwtSecret = generated(names.jwtSecret, JWT_SECRET_KEY, 'jwt-secret').value
    children.push(secretChild(names.jwtSecret, parentName, { [JWT_SECRET_KEY]: jwtSecret }))
  }

  let admin: Credentials | undefined
  if (spec.admin.passwordSecretRef) {
    const read = readRef(spec.admin.passwordSecretRef, relatedSecrets)
    if (read.value !== undefined) admin = { username: ADMIN_USERNAME, password: read.value }
    if (read.missing) missing.push(`${spec.admin.passwordSecretRef.name}/${spec.admin.passwordSecretRef.key}`)
  } else {
    // The Go operator (newer releases) keeps the password DittoFS was bootstrapped with in
    // `<n>-admin-bootstrap-credentials` and deletes `<n>-admin-credentials` (its auth_reconciler.go).
    const bootstrap = relatedSecrets?.get(names.upstreamAdminBootstrap)
    const password = generated(names.adminCredentials, 'password', 'admin-password', [bootstrap])
    children.push(
      secretChild(names.adminCredentials, parentName, {
        username: ADMIN_USERNAME,
        password: password.value,
      }),
    )
    if (password.observed) {
      admin = {
        username: ADMIN_USERNAME,
        password: loginPassword(password.value, bootstrap, secretKey, parentUid),
      }
    }
  }

  const operatorPassword = generated(names.operatorCredentials, 'password', 'operator-password')
  children.push(
    secretChild(names.operatorCredentials, parentName, {
      username: OPERATOR_USERNAME,
      password: operatorPassword.value,
    }),
  )
  const operator = operatorPassword.observed
    ? { username: OPERATOR_USERNAME, password: operatorPassword.value }
    : undefined

  // Their values go into the config hash through secret-digest.ts (sync.ts); here only whether they exist.
  for (const { ref } of consumedSecretRefs(spec)) {
    if (readRawRef(ref, relatedSecrets).missing) missing.push(`${ref.name}/${ref.key}`)
  }

  const apiTls = apiTlsOf(spec, relatedSecrets)
  if (spec.tls.certSecretName && relatedSecrets && !relatedSecrets.has(spec.tls.certSecretName))
    missing.push(`${spec.tls.certSecretName}/tls.crt`)
  if (spec.tls.clientCASecretName && relatedSecrets && !relatedSecrets.has(spec.tls.clientCASecretName))
    missing.push(`${spec.tls.clientCASecretName}/ca.crt`)

  return { children, jwtSecret, admin, operator, missing, ...(apiTls ? { apiTls } : {}) }
}
