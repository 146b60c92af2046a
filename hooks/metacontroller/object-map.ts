import type { KubeObject, ObjectMap } from './types.js'

// Child and related maps are keyed `<Kind>.<apiVersion>` and then by `name` (hook v1) or `namespace/name`
// (hook v2). The two are told apart by each key's shape, not by the controller's declared version: a key holds
// a slash exactly when it is qualified (Kubernetes names never contain one).

export const groupKey = (kind: string, apiVersion: string): string => `${kind}.${apiVersion}`

const nameOfKey = (key: string): string => {
  const slash = key.indexOf('/')
  return slash === -1 ? key : key.slice(slash + 1)
}

/** The objects of one kind, by bare name, keeping only those in `namespace` when a key names another one. */
export function objectsOf(
  map: ObjectMap | undefined,
  kind: string,
  apiVersion: string,
  namespace: string,
): Map<string, KubeObject> {
  const group = map?.[groupKey(kind, apiVersion)]
  const byName = new Map<string, KubeObject>()
  if (!group) return byName
  for (const [key, object] of Object.entries(group)) {
    const slash = key.indexOf('/')
    if (slash !== -1 && key.slice(0, slash) !== namespace) continue
    // A v1 key names no namespace: an object that says it lives elsewhere is not ours either.
    const own = (object as { metadata?: { namespace?: unknown } } | null)?.metadata?.namespace
    if (typeof own === 'string' && own !== '' && own !== namespace) continue
    byName.set(nameOfKey(key), object)
  }
  return byName
}

/** Whether the map has a group for this kind at all (Metacontroller adds one for every evaluated rule). */
export const hasGroup = (map: ObjectMap | undefined, kind: string, apiVersion: string): boolean =>
  map !== undefined && Object.hasOwn(map, groupKey(kind, apiVersion))
