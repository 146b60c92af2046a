/**
 * Metacontroller's "dynamic apply" (reference/metacontroller.md §2.5): a 3-way merge of the observed object, the
 * last-applied configuration (kept in an annotation) and the desired object from the hook.
 *
 * - fields in last-applied but not in desired are removed; desired fields are set; everything else (server
 *   defaults, other controllers' fields) is kept;
 * - a list is merged like a map only when every item of the three lists is an object and all share one of the
 *   known merge keys (in priority order); any other list is replaced by the desired one;
 * - metadata system fields and the whole `.status` always come back from the observed object.
 */

import { canonicalJson, clone, isObject } from './json.js'
import type { JsonObject, KubeObject } from './types.js'

export const LAST_APPLIED_ANNOTATION = 'metacontroller.k8s.io/last-applied-configuration'

export const KNOWN_MERGE_KEYS = ['containerPort', 'port', 'mountPath', 'name', 'uid', 'ip', 'path'] as const

const METADATA_SYSTEM_FIELDS = [
  'selfLink',
  'uid',
  'resourceVersion',
  'generation',
  'creationTimestamp',
  'deletionTimestamp',
  'deletionGracePeriodSeconds',
  'managedFields',
] as const

export class MergeError extends Error {
  constructor(path: string, message: string) {
    super(`${path || '(root)'}: ${message}`)
    this.name = 'MergeError'
  }
}

/** Returns a new object: `observed` with `desired` applied, dropping what only `lastApplied` had. */
export function threeWayMerge(
  observed: JsonObject,
  lastApplied: JsonObject | undefined,
  desired: JsonObject,
): JsonObject {
  const destination = clone(observed)
  mergeObject('', destination, lastApplied, desired)
  return destination
}

function mergeValue(path: string, destination: unknown, lastApplied: unknown, desired: unknown): unknown {
  if (isObject(destination)) {
    if (lastApplied !== undefined && lastApplied !== null && !isObject(lastApplied)) {
      throw new MergeError(path, 'last applied value is not an object')
    }
    if (desired !== null && !isObject(desired)) throw new MergeError(path, 'desired value is not an object')
    return mergeObject(path, destination, lastApplied ?? undefined, desired ?? undefined)
  }
  if (Array.isArray(destination)) {
    if (lastApplied !== undefined && lastApplied !== null && !Array.isArray(lastApplied)) {
      throw new MergeError(path, 'last applied value is not a list')
    }
    if (desired !== null && !Array.isArray(desired)) throw new MergeError(path, 'desired value is not a list')
    return mergeArray(path, destination, (lastApplied as unknown[] | null) ?? [], desired as unknown[] | null)
  }
  // A scalar, a null or a missing field: the desired value wins.
  return clone(desired)
}

function mergeObject(
  path: string,
  destination: JsonObject,
  lastApplied: JsonObject | undefined,
  desired: JsonObject | undefined,
): JsonObject {
  for (const key of Object.keys(lastApplied ?? {})) {
    if (!Object.hasOwn(desired ?? {}, key)) delete destination[key]
  }
  for (const [key, value] of Object.entries(desired ?? {})) {
    destination[key] = mergeValue(`${path}.${key}`, destination[key], lastApplied?.[key], value)
  }
  return destination
}

function mergeArray(
  path: string,
  destination: unknown[],
  lastApplied: unknown[],
  desiredOrNull: unknown[] | null,
): unknown[] | null {
  const desired = desiredOrNull ?? []
  const mergeKey = detectListMapKey(destination, lastApplied, desired)
  if (mergeKey === undefined) return clone(desiredOrNull)
  const destinationMap = listToMap(mergeKey, destination)
  mergeObject(path, destinationMap, listToMap(mergeKey, lastApplied), listToMap(mergeKey, desired))
  // Keep the order of the items already there, then append new desired items in their order.
  const out: unknown[] = []
  const added = new Set<string>()
  for (const item of [...destination, ...desired]) {
    const key = mergeKeyValue((item as JsonObject)[mergeKey])
    if (added.has(key) || !Object.hasOwn(destinationMap, key)) continue
    out.push(destinationMap[key])
    added.add(key)
  }
  return out
}

/** The first known merge key that every item of every list has, or undefined when the lists are plain lists. */
export function detectListMapKey(...lists: unknown[][]): string | undefined {
  let candidates: Set<string> | undefined
  for (const list of lists) {
    for (const item of list) {
      if (!isObject(item)) return undefined
      candidates ??= new Set(KNOWN_MERGE_KEYS)
      for (const key of [...candidates]) {
        if (!Object.hasOwn(item, key)) candidates.delete(key)
      }
    }
  }
  return KNOWN_MERGE_KEYS.find((key) => candidates?.has(key))
}

function listToMap(mergeKey: string, list: unknown[]): JsonObject {
  const map: JsonObject = {}
  for (const item of list) map[mergeKeyValue((item as JsonObject)[mergeKey])] = item
  return map
}

function mergeKeyValue(value: unknown): string {
  return typeof value === 'string' ? value : JSON.stringify(value)
}

export function lastAppliedOf(obj: KubeObject): JsonObject | undefined {
  const raw = obj.metadata.annotations?.[LAST_APPLIED_ANNOTATION]
  if (raw === undefined || raw === '') return undefined
  try {
    const parsed: unknown = JSON.parse(raw)
    return isObject(parsed) ? parsed : undefined
  } catch {
    return undefined
  }
}

/** Stores `applied` as the last-applied annotation of `obj` (canonical JSON, keys sorted like Go). */
export function setLastApplied(obj: KubeObject, applied: JsonObject): void {
  obj.metadata.annotations = {
    ...(obj.metadata.annotations ?? {}),
    [LAST_APPLIED_ANNOTATION]: canonicalJson(applied),
  }
}

/**
 * What Metacontroller would PUT for an existing child: the merge, with system metadata and status reverted to
 * the observed values and the new last-applied annotation. Deep-equal to `observed` means "nothing to do".
 */
export function mergeForUpdate(observed: KubeObject, desired: KubeObject): KubeObject {
  const merged = threeWayMerge(observed, lastAppliedOf(observed), desired) as KubeObject
  if (!isObject(merged.metadata)) merged.metadata = { name: observed.metadata.name }
  for (const key of METADATA_SYSTEM_FIELDS) {
    if (observed.metadata[key] === undefined) delete merged.metadata[key]
    else (merged.metadata as Record<string, unknown>)[key] = clone(observed.metadata[key])
  }
  if (observed.status === undefined) delete merged.status
  else merged.status = clone(observed.status)
  setLastApplied(merged, desired)
  return merged
}
