/**
 * Structural-schema pruning of custom resources: the API server silently drops fields the CRD schema does not
 * declare. A hook status field missing from the CRD therefore never reaches the parent.
 */

import { isObject } from './json.js'
import type { JsonObject, KubeObject } from './types.js'

const PRESERVE = 'x-kubernetes-preserve-unknown-fields'

/** Prunes `obj` in place against a CRD version's openAPIV3Schema; apiVersion, kind and metadata are kept. */
export function pruneObject(obj: KubeObject, schema: JsonObject): void {
  const properties = isObject(schema.properties) ? schema.properties : {}
  for (const key of Object.keys(obj)) {
    if (key === 'apiVersion' || key === 'kind' || key === 'metadata') continue
    const child = properties[key]
    if (isObject(child)) obj[key] = pruneValue(obj[key], child)
    else if (schema[PRESERVE] !== true) delete obj[key]
  }
}

export function pruneValue(value: unknown, schema: JsonObject): unknown {
  if (Array.isArray(value)) {
    return isObject(schema.items) ? value.map((item) => pruneValue(item, schema.items as JsonObject)) : value
  }
  if (!isObject(value)) return value
  const properties = isObject(schema.properties) ? schema.properties : undefined
  const additional = schema.additionalProperties
  const preserve = schema[PRESERVE] === true
  for (const key of Object.keys(value)) {
    const declared = properties?.[key]
    if (isObject(declared)) value[key] = pruneValue(value[key], declared)
    else if (isObject(additional)) value[key] = pruneValue(value[key], additional)
    else if (!(preserve || additional === true)) delete value[key]
  }
  return value
}
