import { isObject } from '../loose.js'

// Structural pruning as the API server does it for a CRD: an object keeps only the properties its schema lists
// (unless the schema preserves unknown fields). The hook prunes a spec itself because a request can bypass the
// CRD: whatever is not in Kubernetes' own shapes must never reach the pod template.

interface Schema {
  type?: string
  properties?: Record<string, unknown>
  additionalProperties?: unknown
  items?: unknown
  'x-kubernetes-preserve-unknown-fields'?: boolean
}

/** `value` without the fields `schema` does not list, recursively. Values of the wrong type are returned as is. */
export function pruneToSchema(value: unknown, schema: unknown): unknown {
  const s = (isObject(schema) ? schema : {}) as Schema
  if (s['x-kubernetes-preserve-unknown-fields'] === true) return value
  if (Array.isArray(value)) return s.items === undefined ? value : value.map((v) => pruneToSchema(v, s.items))
  if (!isObject(value)) return value
  if (s.properties !== undefined) {
    const out: Record<string, unknown> = {}
    for (const [key, child] of Object.entries(value)) {
      if (Object.hasOwn(s.properties, key)) out[key] = pruneToSchema(child, s.properties[key])
    }
    return out
  }
  if (isObject(s.additionalProperties)) {
    const additional = s.additionalProperties
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, pruneToSchema(v, additional)]))
  }
  return value
}
