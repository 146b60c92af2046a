import { createHash } from 'node:crypto'

// Names and labels shared by every child. The pod labels are the upstream operator's, so Services written by
// it keep selecting the same pod; the app.kubernetes.io labels make children findable with standard tooling.

export const MANAGED_BY = 'dittofs-hooks'
/** StatefulSet pods carry `controller-revision-hash: <name>-<10 chars>`, a label value of at most 63. */
export const MAX_PARENT_NAME = 52
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

/**
 * The adapter's part of child names. A type that is already clean keeps its name (`nfs`); one that had to be
 * changed gets a short hash of the original, so `NFS` and `nfs`, or `nfs_v4` and `nfs-v4`, never share a Service.
 */
export function adapterSlug(type: string): string {
  const clean = sanitizeAdapterType(type)
  return clean === type ? clean : `${clean}-${shortHash(type, 4)}`
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

/** Port names are IANA service names: at most 15 characters of `[a-z0-9-]`, with at least one letter. */
export function adapterPortName(type: string): string {
  const slug = adapterSlug(type)
  return fitName(/[a-z]/.test(slug) ? slug : `adapter-${slug}`, MAX_PORT_NAME)
}
