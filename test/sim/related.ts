/**
 * Related objects requested by the customize hook (reference/metacontroller.md §4): which objects a rule
 * selects, the v1 same-namespace restriction, and the keys they get in the `related` map.
 */

import type { Cluster } from './cluster.js'
import { isObject } from './json.js'
import { selectorMatches } from './labels.js'
import { objectMapKey, type ResourceType } from './resources.js'
import type { JsonObject, KubeObject, LabelSelector, ObjectMap, RelatedResourceRule } from './types.js'

export type HookVersion = 'v1' | 'v2'

export interface RelatedContext {
  cluster: Cluster
  parent: KubeObject
  /** Version of the customize hook: decides how rules are checked. */
  customizeVersion: HookVersion
  /** Version of the sync/finalize hook: decides the inner keys of the map. */
  syncVersion: HookVersion
}

export class RelatedRuleError extends Error {
  constructor(message: string) {
    super(message)
    this.name = 'RelatedRuleError'
  }
}

/** The key of an object inside an ObjectMap: v1 bare name (ns/name under a cluster-scoped parent), v2 ns/name. */
export function objectKey(obj: KubeObject, parentNamespaced: boolean, version: HookVersion): string {
  const namespace = obj.metadata.namespace
  if (!namespace) return obj.metadata.name
  if (version === 'v2' || !parentNamespaced) return `${namespace}/${obj.metadata.name}`
  return obj.metadata.name
}

export function toRelatedRule(raw: JsonObject): RelatedResourceRule {
  return raw as unknown as RelatedResourceRule
}

/** Builds `related` for the hook request: one group per rule, even when nothing matched. */
export function relatedObjects(rules: RelatedResourceRule[], ctx: RelatedContext): ObjectMap {
  const related: ObjectMap = {}
  const parentNamespaced = Boolean(ctx.parent.metadata.namespace)
  for (const rule of rules) {
    const type = resolveRule(rule, ctx)
    const mapKey = objectMapKey(type.apiVersion, type.kind)
    const group = related[mapKey] ?? {}
    related[mapKey] = group
    for (const obj of selectRelated(rule, type, ctx)) {
      group[objectKey(obj, parentNamespaced, ctx.syncVersion)] = obj
    }
  }
  return related
}

/** Whether a rule (already validated) selects `obj`: used to decide which parents a related change triggers. */
export function ruleSelects(rule: RelatedResourceRule, obj: KubeObject, ctx: RelatedContext): boolean {
  const type = ctx.cluster.resources.byResource(rule.apiVersion, rule.resource)
  if (!type || type.apiVersion !== obj.apiVersion || type.kind !== obj.kind) return false
  return matches(rule, type, obj, ctx)
}

function resolveRule(rule: RelatedResourceRule, ctx: RelatedContext): ResourceType {
  const type = ctx.cluster.resources.byResource(rule.apiVersion, rule.resource)
  if (!type)
    throw new RelatedRuleError(`can't find resource "${rule.resource}" in apiVersion "${rule.apiVersion}"`)
  if (rule.names && (rule.labelSelector || rule.namespaceSelector)) {
    throw new RelatedRuleError(
      'related rule: "names" cannot be combined with "labelSelector" or "namespaceSelector"',
    )
  }
  if (rule.namespace && rule.namespaceSelector) {
    throw new RelatedRuleError('related rule: "namespace" cannot be combined with "namespaceSelector"')
  }
  const parentNamespace = ctx.parent.metadata.namespace
  if (ctx.customizeVersion === 'v1' && parentNamespace) {
    if (rule.namespace && rule.namespace !== parentNamespace) {
      throw new RelatedRuleError(
        `requested related object namespace ${rule.namespace} differs from parent object namespace ${parentNamespace}`,
      )
    }
    if (rule.namespaceSelector) {
      throw new RelatedRuleError('related rule: "namespaceSelector" needs hook v2 or a cluster-scoped parent')
    }
  }
  if (rule.namespaceSelector && !type.namespaced) {
    throw new RelatedRuleError('related rule: "namespaceSelector" works only for namespaced resources')
  }
  return type
}

function selectRelated(rule: RelatedResourceRule, type: ResourceType, ctx: RelatedContext): KubeObject[] {
  return ctx.cluster.list(type.apiVersion, type.kind).filter((obj) => matches(rule, type, obj, ctx))
}

function matches(
  rule: RelatedResourceRule,
  type: ResourceType,
  obj: KubeObject,
  ctx: RelatedContext,
): boolean {
  const parentNamespace = ctx.parent.metadata.namespace
  const v1Namespaced = ctx.syncVersion === 'v1' && Boolean(parentNamespace)
  const namespace = obj.metadata.namespace
  // v1 with a namespaced parent sees only its own namespace, and no cluster-scoped objects.
  if (v1Namespaced && namespace !== parentNamespace) return false
  if (type.namespaced) {
    const wanted = rule.namespace || (rule.names || v1Namespaced ? parentNamespace : undefined)
    if (wanted && namespace !== wanted) return false
    if (rule.namespaceSelector && !namespaceMatches(ctx.cluster, namespace, rule.namespaceSelector))
      return false
  }
  if (rule.names) return rule.names.includes(obj.metadata.name)
  if (rule.labelSelector) return selectorMatches(rule.labelSelector, obj.metadata.labels)
  return true
}

function namespaceMatches(cluster: Cluster, namespace: string | undefined, selector: LabelSelector): boolean {
  if (!namespace) return false
  const ns = cluster.get({ apiVersion: 'v1', kind: 'Namespace', name: namespace })
  return ns !== undefined && isObject(ns.metadata) && selectorMatches(selector, ns.metadata.labels)
}
