/** Loading Kubernetes objects from YAML manifests (e.g. manifests/compositecontroller.yaml, the CRD). */

import { readFileSync } from 'node:fs'
import { parseAllDocuments } from 'yaml'
import { isObject } from './json.js'
import type { CompositeController, KubeObject } from './types.js'

/** Every object in a multi-document YAML text; empty documents are skipped and `kind: List` is flattened. */
export function parseYamlObjects(text: string): KubeObject[] {
  const objects: KubeObject[] = []
  for (const doc of parseAllDocuments(text)) {
    if (doc.errors.length > 0) throw new Error(`invalid YAML: ${doc.errors[0]?.message}`)
    const value: unknown = doc.toJS()
    if (value === null || value === undefined) continue
    if (!isObject(value)) throw new Error('a YAML document is not an object')
    if (value.kind === 'List' && Array.isArray(value.items))
      objects.push(...(value.items.filter(isObject) as KubeObject[]))
    else objects.push(value as KubeObject)
  }
  return objects
}

export function loadYamlObjects(path: string): KubeObject[] {
  return parseYamlObjects(readFileSync(path, 'utf8'))
}

/** The one object of `kind` (and `name`, when given) among `objects`; throws when absent or ambiguous. */
export function findObject(objects: KubeObject[], kind: string, name?: string): KubeObject {
  const found = objects.filter(
    (obj) => obj.kind === kind && (name === undefined || obj.metadata?.name === name),
  )
  if (found.length !== 1) {
    throw new Error(`expected one ${kind}${name ? ` named ${name}` : ''}, found ${found.length}`)
  }
  return found[0]!
}

/** Loads the CompositeController from a manifest file (the only one, or the one named `name`). */
export function loadCompositeController(path: string, name?: string): CompositeController {
  return findObject(loadYamlObjects(path), 'CompositeController', name) as CompositeController
}

/** Every CustomResourceDefinition in a manifest file. */
export function loadCrds(path: string): KubeObject[] {
  return loadYamlObjects(path).filter((obj) => obj.kind === 'CustomResourceDefinition')
}
