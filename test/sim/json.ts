/** Small JSON helpers shared by the cluster, the merge and the controller. */

import type { JsonObject } from './types.js'

export function isObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

export function clone<T>(value: T): T {
  return structuredClone(value)
}

/** Deep equality of JSON values (key order does not matter, array order does). */
export function deepEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true
  if (Array.isArray(a)) {
    return Array.isArray(b) && a.length === b.length && a.every((item, i) => deepEqual(item, b[i]))
  }
  if (isObject(a) && isObject(b)) {
    const keys = Object.keys(a)
    if (keys.length !== Object.keys(b).length) return false
    return keys.every((key) => Object.hasOwn(b, key) && deepEqual(a[key], b[key]))
  }
  return false
}

/**
 * JSON with object keys sorted, as Go's encoding/json writes maps. Metacontroller stores the last-applied
 * configuration this way, so the annotation does not depend on the key order the hook happened to use.
 */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(sortKeys(value))
}

function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys)
  if (!isObject(value)) return value
  const sorted: JsonObject = {}
  for (const key of Object.keys(value).sort()) {
    if (value[key] !== undefined) sorted[key] = sortKeys(value[key])
  }
  return sorted
}

/** Paths (like `spec.ports[0].protocol`) where two JSON values differ; at most `limit` of them. */
export function diffPaths(a: unknown, b: unknown, limit = 20): string[] {
  const out: string[] = []
  walkDiff(a, b, '', out, limit)
  return out
}

function walkDiff(a: unknown, b: unknown, path: string, out: string[], limit: number): void {
  if (out.length >= limit || deepEqual(a, b)) return
  if (Array.isArray(a) && Array.isArray(b) && a.length === b.length) {
    for (const [i, item] of a.entries()) walkDiff(item, b[i], `${path}[${i}]`, out, limit)
    return
  }
  if (isObject(a) && isObject(b)) {
    const keys = [...new Set([...Object.keys(a), ...Object.keys(b)])].sort()
    for (const key of keys) walkDiff(a[key], b[key], path ? `${path}.${key}` : key, out, limit)
    return
  }
  out.push(path || '(root)')
}

/** Reads a nested field: `field(obj, 'spec', 'template')`. Undefined when any step is missing. */
export function field(value: unknown, ...path: string[]): unknown {
  let current = value
  for (const key of path) {
    if (!isObject(current)) return undefined
    current = current[key]
  }
  return current
}

/** The object at `path`, created (as `{}`) on the way when missing. */
export function ensureObject(root: JsonObject, ...path: string[]): JsonObject {
  let current = root
  for (const key of path) {
    const next = current[key]
    if (isObject(next)) {
      current = next
    } else {
      const created: JsonObject = {}
      current[key] = created
      current = created
    }
  }
  return current
}

/** The array of objects at `value` (other items skipped), or [] when it is not an array. */
export function objectItems(value: unknown): JsonObject[] {
  return Array.isArray(value) ? value.filter(isObject) : []
}
