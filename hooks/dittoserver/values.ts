import { asObject, type JsonObject } from '../loose.js'
import {
  annotationProblems,
  cidrProblem,
  isStrictSubnet,
  labelValueProblem,
  parseCidr,
  qualifiedNameProblem,
  quantityValue,
  resourceNameProblem,
} from './k8s-rules.js'

// Spec values the schema lets through but the API server would refuse on a child (annotation keys, CIDRs,
// NetworkPolicy peers, resource names and quantities): each is an InvalidSpec naming the field.

export interface FieldProblem {
  field: string
  message: string
}

/** The parts of a resolved spec that end up verbatim in children. */
export interface ChildValues {
  image: string
  apiServiceAnnotations: Record<string, string>
  adapterServices: {
    annotations: Record<string, string>
    loadBalancerSourceRanges?: string[]
    overrides: Record<string, { annotations?: Record<string, string>; loadBalancerSourceRanges?: string[] }>
  }
  from: Record<string, unknown>[]
  resources?: Record<string, unknown>
}

const problem = (field: string, message: string): FieldProblem => ({ field, message })

function annotations(map: Record<string, string> | undefined, field: string): FieldProblem[] {
  return annotationProblems(map ?? {}, field).map(([f, m]) => problem(f, m))
}

function ranges(list: string[] | undefined, field: string): FieldProblem[] {
  return (list ?? []).flatMap((cidr, i) => {
    const why = cidrProblem(cidr)
    return why ? [problem(`${field}[${i}]`, why)] : []
  })
}

function selectorProblems(raw: unknown, field: string): FieldProblem[] {
  const selector = asObject(raw)
  const found: FieldProblem[] = []
  for (const [key, value] of Object.entries(asObject(selector.matchLabels))) {
    const keyWhy = qualifiedNameProblem(key)
    if (keyWhy) found.push(problem(`${field}.matchLabels[${JSON.stringify(key)}]`, `key ${keyWhy}`))
    const valueWhy = labelValueProblem(String(value))
    if (valueWhy) found.push(problem(`${field}.matchLabels[${JSON.stringify(key)}]`, `value ${valueWhy}`))
  }
  const expressions = Array.isArray(selector.matchExpressions) ? selector.matchExpressions : []
  expressions.forEach((raw, i) => {
    const at = `${field}.matchExpressions[${i}]`
    const { key, operator, values } = asObject(raw)
    const keyWhy = qualifiedNameProblem(String(key))
    if (keyWhy) found.push(problem(`${at}.key`, keyWhy))
    const list = Array.isArray(values) ? (values as string[]) : []
    const needsValues = operator === 'In' || operator === 'NotIn'
    if (needsValues && list.length === 0)
      found.push(problem(`${at}.values`, `must be non-empty for ${operator}`))
    if (!needsValues && list.length > 0) found.push(problem(`${at}.values`, `must be empty for ${operator}`))
    list.forEach((value, j) => {
      const why = labelValueProblem(value)
      if (why) found.push(problem(`${at}.values[${j}]`, why))
    })
  })
  return found
}

function peerProblems(raw: Record<string, unknown>, field: string): FieldProblem[] {
  const peer: JsonObject = asObject(raw)
  const selectors = peer.podSelector !== undefined || peer.namespaceSelector !== undefined
  const ipBlock = peer.ipBlock !== undefined
  if (selectors === ipBlock) {
    return [problem(field, 'must set podSelector and/or namespaceSelector, or ipBlock alone')]
  }
  if (selectors) {
    return [
      ...(peer.podSelector === undefined ? [] : selectorProblems(peer.podSelector, `${field}.podSelector`)),
      ...(peer.namespaceSelector === undefined
        ? []
        : selectorProblems(peer.namespaceSelector, `${field}.namespaceSelector`)),
    ]
  }
  const block = asObject(peer.ipBlock)
  const cidr = parseCidr(String(block.cidr))
  if (!cidr) return [problem(`${field}.ipBlock.cidr`, 'must be a CIDR such as 10.0.0.0/8 or fd00::/64')]
  const except = Array.isArray(block.except) ? (block.except as string[]) : []
  return except.flatMap((text, i) => {
    const inner = parseCidr(text)
    return inner && isStrictSubnet(inner, cidr)
      ? []
      : [problem(`${field}.ipBlock.except[${i}]`, 'must be a CIDR strictly inside ipBlock.cidr')]
  })
}

function resourceProblems(resources: Record<string, unknown> | undefined): FieldProblem[] {
  if (!resources) return []
  const found: FieldProblem[] = []
  const values: Record<string, Record<string, number>> = { limits: {}, requests: {} }
  for (const kind of ['limits', 'requests'] as const) {
    for (const [name, raw] of Object.entries(asObject(resources[kind]))) {
      const field = `spec.resources.${kind}[${JSON.stringify(name)}]`
      const nameWhy = resourceNameProblem(name)
      if (nameWhy) found.push(problem(field, `name ${nameWhy}`))
      const value = quantityValue(raw)
      if (value === undefined) found.push(problem(field, 'must be a quantity such as 500m, 2 or 1Gi'))
      else if (value < 0) found.push(problem(field, 'must be greater than or equal to 0'))
      else values[kind]![name] = value
    }
  }
  for (const [name, request] of Object.entries(values.requests ?? {})) {
    const limit = values.limits?.[name]
    if (limit !== undefined && request > limit) {
      found.push(
        problem(`spec.resources.requests[${JSON.stringify(name)}]`, `must be at most the ${name} limit`),
      )
    }
  }
  if (Array.isArray(resources.claims) && resources.claims.length > 0) {
    found.push(
      problem('spec.resources.claims', 'is not supported: the DittoFS pod declares no resource claims'),
    )
  }
  return found
}

/** Every problem the API server would find in a child built from these values. */
export function childValueProblems(values: ChildValues): FieldProblem[] {
  const image =
    values.image.trim() === values.image
      ? []
      : [problem('spec.image', 'must not have leading or trailing whitespace')]
  return [
    ...image,
    ...annotations(values.apiServiceAnnotations, 'spec.service.annotations'),
    ...annotations(values.adapterServices.annotations, 'spec.adapterServices.annotations'),
    ...ranges(
      values.adapterServices.loadBalancerSourceRanges,
      'spec.adapterServices.loadBalancerSourceRanges',
    ),
    ...Object.entries(values.adapterServices.overrides).flatMap(([type, override]) => {
      const at = `spec.adapterServices.overrides[${JSON.stringify(type)}]`
      return [
        ...annotations(override.annotations, `${at}.annotations`),
        ...ranges(override.loadBalancerSourceRanges, `${at}.loadBalancerSourceRanges`),
      ]
    }),
    ...values.from.flatMap((peer, i) => peerProblems(peer, `spec.networkPolicy.from[${i}]`)),
    ...resourceProblems(values.resources),
  ]
}
