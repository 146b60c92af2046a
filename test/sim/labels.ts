/** Label selectors and the API server's name and label syntax rules. */

import type { LabelSelector } from './types.js'

export function selectorIsEmpty(selector: LabelSelector | undefined): boolean {
  return (
    selector === undefined ||
    (Object.keys(selector.matchLabels ?? {}).length === 0 && (selector.matchExpressions ?? []).length === 0)
  )
}

/** Kubernetes semantics: an empty selector matches everything. */
export function selectorMatches(
  selector: LabelSelector | undefined,
  labels: Record<string, string> = {},
): boolean {
  if (selector === undefined) return true
  for (const [key, value] of Object.entries(selector.matchLabels ?? {})) {
    if (labels[key] !== value) return false
  }
  for (const requirement of selector.matchExpressions ?? []) {
    const has = Object.hasOwn(labels, requirement.key)
    const value = labels[requirement.key]
    const values = requirement.values ?? []
    switch (requirement.operator) {
      case 'In':
        if (!has || !values.includes(value as string)) return false
        break
      case 'NotIn':
        if (has && values.includes(value as string)) return false
        break
      case 'Exists':
        if (!has) return false
        break
      case 'DoesNotExist':
        if (has) return false
        break
      default:
        throw new Error(`unknown label selector operator ${String(requirement.operator)}`)
    }
  }
  return true
}

const QUALIFIED_NAME = /^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$/
const DNS1123_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/
const DNS1035_LABEL = /^[a-z]([-a-z0-9]*[a-z0-9])?$/
const DNS1123_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/

export function isDns1123Label(name: string): boolean {
  return name.length <= 63 && DNS1123_LABEL.test(name)
}

export function isDns1035Label(name: string): boolean {
  return name.length <= 63 && DNS1035_LABEL.test(name)
}

export function isDns1123Subdomain(name: string): boolean {
  return name.length <= 253 && DNS1123_SUBDOMAIN.test(name)
}

/** Label and annotation keys: `[prefix/]name`, the prefix a DNS subdomain, the name at most 63 characters. */
export function labelKeyProblem(key: string): string | undefined {
  const parts = key.split('/')
  if (parts.length > 2) return 'a qualified name must have at most one "/"'
  const name = parts.length === 2 ? parts[1]! : parts[0]!
  const prefix = parts.length === 2 ? parts[0]! : undefined
  if (prefix !== undefined && !isDns1123Subdomain(prefix)) return 'prefix part must be a DNS-1123 subdomain'
  if (name.length === 0 || name.length > 63) return 'name part must be 1 to 63 characters'
  if (!QUALIFIED_NAME.test(name)) return 'name part must consist of alphanumerics, "-", "_" or "."'
  return undefined
}

export function labelValueProblem(value: unknown): string | undefined {
  if (typeof value !== 'string') return 'must be a string'
  if (value.length > 63) return 'must be no more than 63 characters'
  if (value !== '' && !QUALIFIED_NAME.test(value)) return 'must consist of alphanumerics, "-", "_" or "."'
  return undefined
}
