import { createHash } from 'node:crypto'

// Names and labels shared by every child. The pod labels are the upstream operator's, so Services written by
// it keep selecting the same pod; the app.kubernetes.io labels make children findable with standard tooling.

export const MANAGED_BY = 'dittofs-hooks'
/** StatefulSet pods carry `controller-revision-hash: <name>-<10 chars>`, a label value of at most 63. */
export const MAX_PARENT_NAME = 52
/**
 * What a DittoServer name must be for every child to be valid: Services are named `<name>-api` etc., and Service
 * names are DNS-1035 labels (a letter first, no dots). The CRD refuses other names (parentValidations, schema.ts).
 */
export const PARENT_NAME_PATTERN = '^[a-z]([-a-z0-9]*[a-z0-9])?$'
const PARENT_NAME = new RegExp(PARENT_NAME_PATTERN)

/** Why `name` cannot name a DittoServer, or undefined when it can. */
export function parentNameProblem(name: string): string | undefined {
  if (name.length > MAX_PARENT_NAME) {
    return `must be at most ${MAX_PARENT_NAME} characters (StatefulSet pod labels are limited to 63)`
  }
  if (!PARENT_NAME.test(name)) {
    return 'must start with a lowercase letter and contain only lowercase letters, digits and "-" (no dots): it names Services, which must be DNS-1035 labels'
  }
  return undefined
}
const MAX_DNS_LABEL = 63
const MAX_PORT_NAME = 15

export const podLabels = (parent: string): Record<string, string> => ({
  app: 'dittofs-server',
  instance: parent,
})

// Written out rather than `{ ...podLabels(parent), … }`: on Node 20 (V8 11.3) a spread followed by more keys
// builds a new hidden class on every call (~2 µs, and every reader of the result goes megamorphic); this runs
// for every child of every sync (see bench/README.md).
export const childLabels = (parent: string): Record<string, string> => ({
  app: 'dittofs-server',
  instance: parent,
  'app.kubernetes.io/name': 'dittofs',
  'app.kubernetes.io/instance': parent,
  'app.kubernetes.io/managed-by': MANAGED_BY,
})

export const childNames = (parent: string) => ({
  config: `${parent}-config`,
  jwtSecret: `${parent}-jwt-secret`,
  adminCredentials: `${parent}-admin-credentials`,
  operatorCredentials: `${parent}-operator-credentials`,
  /** Not a child: where the upstream Go operator keeps the admin password since it renamed `-admin-credentials`. */
  upstreamAdminBootstrap: `${parent}-admin-bootstrap-credentials`,
  headlessService: `${parent}-headless`,
  apiService: `${parent}-api`,
  metricsService: `${parent}-metrics`,
  statefulSet: parent,
  baselinePolicy: `${parent}-baseline`,
})

/**
 * Annotations from the spec, without Metacontroller's own (`metacontroller.k8s.io/…`): under server-side apply a
 * returned `last-applied-configuration` would stick, and the invalid-spec echo would then return whatever object
 * the tenant wrote into it.
 */
export const userAnnotations = (annotations: Record<string, string>): Record<string, string> =>
  Object.fromEntries(Object.entries(annotations).filter(([key]) => !key.startsWith('metacontroller.k8s.io/')))

const shortHash = (text: string, length: number): string =>
  createHash('sha256').update(text).digest('hex').slice(0, length)

/** Lowercase, `[a-z0-9-]` only, dashes collapsed and trimmed; `unknown` when nothing is left. */
export function sanitizeAdapterType(type: string): string {
  const clean = type
    .toLowerCase()
    .replace(/[^a-z0-9-]/g, '-')
    .replace(/-+/g, '-')
    .replace(/^-|-$/g, '')
  return clean === '' ? 'unknown' : clean
}

/** The suffixes of the infrastructure's child names (`api` of `<n>-api`, ...). */
const INFRASTRUCTURE_SUFFIXES = Object.values(childNames('p'))
  .filter((name) => name.startsWith('p-'))
  .map((name) => name.slice(2))

/**
 * Whether `<parent>-adapter-<slug>` could equal a child name of another parent in the namespace: `<q>-api` for
 * q = `<parent>-adapter-x` when the slug is `x-api`, or `<q>-adapter-y` when it is `x-adapter-y`, or a slug
 * that looks hashed (`nfs-1a2b`, which `NFS` becomes).
 */
function mayCollide(slug: string): boolean {
  const segments = slug.split('-')
  return (
    segments.includes('adapter') ||
    INFRASTRUCTURE_SUFFIXES.some((suffix) => slug === suffix || slug.endsWith(`-${suffix}`)) ||
    /-[0-9a-f]{4}$/.test(slug)
  )
}

/**
 * The adapter's part of child names. A type that is already clean keeps its name (`nfs`); one that had to be
 * changed, or whose name could collide with another parent's children, gets a short hash of the original, so
 * `NFS` and `nfs`, or `nfs_v4` and `nfs-v4`, never share a Service, and parent `ga` with adapter `x-api` never
 * takes the `ga-adapter-x-api` of a parent named `ga-adapter-x`.
 */
export function adapterSlug(type: string): string {
  const clean = sanitizeAdapterType(type)
  return clean === type && !mayCollide(clean) ? clean : `${clean}-${shortHash(type, 4)}`
}

/** Cuts `text` to `max` characters, replacing the tail with a hash of the whole so that cut names stay distinct. */
export function fitName(text: string, max: number): string {
  if (text.length <= max) return text
  const suffix = shortHash(text, 6)
  return `${text.slice(0, max - suffix.length - 1).replace(/-+$/, '')}-${suffix}`
}

/** `<parent>-adapter-<slug>`, kept a valid DNS label (Service names must be). */
export const adapterChildName = (parent: string, type: string): string =>
  fitName(`${parent}-adapter-${adapterSlug(type)}`, MAX_DNS_LABEL)

const HAS_LETTER = /[a-z]/

/**
 * Port names are IANA service names: at most 15 characters of `[a-z0-9-]`, with at least one letter, which must
 * survive the cut (a hash suffix may be all digits): `adapter-` goes first when the cut name has none.
 */
export function adapterPortName(type: string): string {
  const slug = adapterSlug(type)
  const fitted = fitName(slug, MAX_PORT_NAME)
  return HAS_LETTER.test(fitted) ? fitted : fitName(`adapter-${slug}`, MAX_PORT_NAME)
}
