/**
 * The API server's validation, for the rules a hook can plausibly break: names, labels, Secret data, a few
 * per-kind rules, and the immutable fields of StatefulSets and Services (an update that changes them is a 422
 * that Metacontroller retries forever).
 */

import { ApiError } from './errors.js'
import { deepEqual, field, isObject, objectItems } from './json.js'
import {
  isDns1035Label,
  isDns1123Label,
  isDns1123Subdomain,
  labelKeyProblem,
  labelValueProblem,
  selectorMatches,
} from './labels.js'
import type { KubeObject, LabelSelector } from './types.js'

const MAX_ANNOTATIONS_BYTES = 256 * 1024
const MAX_CONFIG_BYTES = 1024 * 1024
const DATA_KEY = /^[-._a-zA-Z0-9]+$/
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/

/** Throws a 422 ApiError listing every problem found, like the API server does. */
export function validateObject(obj: KubeObject): void {
  const problems = [...metadataProblems(obj), ...kindProblems(obj)]
  if (problems.length > 0) throw invalid(obj, problems)
}

/** Throws a 422 when an update changes a field the API server treats as immutable. */
export function validateUpdate(old: KubeObject, next: KubeObject): void {
  const problems: string[] = []
  if (next.kind === 'StatefulSet') {
    // The apiserver allows only replicas, ordinals, template, updateStrategy, PVC retention and minReadySeconds.
    for (const key of ['selector', 'serviceName', 'volumeClaimTemplates', 'podManagementPolicy']) {
      const before = field(old, 'spec', key)
      const after = field(next, 'spec', key)
      if (!deepEqual(before, after)) {
        problems.push(
          `spec.${key}: field is immutable (updates to statefulset spec for fields other than 'replicas', ` +
            `'ordinals', 'template', 'updateStrategy', 'persistentVolumeClaimRetentionPolicy' and ` +
            `'minReadySeconds' are forbidden)`,
        )
      }
    }
  }
  if (next.kind === 'Service') {
    const before = field(old, 'spec', 'clusterIP')
    const after = field(next, 'spec', 'clusterIP')
    const stillNeedsIP = field(next, 'spec', 'type') !== 'ExternalName'
    if (typeof before === 'string' && before !== '' && stillNeedsIP && after !== before) {
      problems.push(`spec.clusterIP: Invalid value: ${JSON.stringify(after)}: field is immutable`)
    }
  }
  if (problems.length > 0) throw invalid(next, problems)
}

function invalid(obj: KubeObject, problems: string[]): ApiError {
  return new ApiError('Invalid', `${obj.kind} "${obj.metadata.name}" is invalid: ${problems.join('; ')}`)
}

function metadataProblems(obj: KubeObject): string[] {
  const problems: string[] = []
  const { name, labels, annotations } = obj.metadata
  if (typeof name !== 'string' || name === '') {
    problems.push('metadata.name: Required value')
  } else {
    const nameProblem = nameRuleFor(obj.kind)(name)
    if (nameProblem) problems.push(`metadata.name: Invalid value: "${name}": ${nameProblem}`)
  }
  for (const [key, value] of Object.entries(labels ?? {})) {
    const keyProblem = labelKeyProblem(key)
    if (keyProblem) problems.push(`metadata.labels: Invalid value: "${key}": ${keyProblem}`)
    const valueProblem = labelValueProblem(value)
    if (valueProblem)
      problems.push(`metadata.labels: Invalid value: ${JSON.stringify(value)}: ${valueProblem}`)
  }
  let annotationBytes = 0
  for (const [key, value] of Object.entries(annotations ?? {})) {
    const keyProblem = labelKeyProblem(key)
    if (keyProblem) problems.push(`metadata.annotations: Invalid value: "${key}": ${keyProblem}`)
    if (typeof value !== 'string') problems.push(`metadata.annotations[${key}]: must be a string`)
    annotationBytes += key.length + String(value).length
  }
  if (annotationBytes > MAX_ANNOTATIONS_BYTES) {
    problems.push('metadata.annotations: Too long: must have at most 262144 bytes')
  }
  return problems
}

function nameRuleFor(kind: string): (name: string) => string | undefined {
  if (kind === 'Service') {
    return (name) =>
      isDns1035Label(name) ? undefined : 'a DNS-1035 label must be at most 63 lowercase characters'
  }
  if (kind === 'Namespace') {
    return (name) =>
      isDns1123Label(name) ? undefined : 'a DNS-1123 label must be at most 63 lowercase characters'
  }
  return (name) => (isDns1123Subdomain(name) ? undefined : 'a lowercase RFC 1123 subdomain must be valid')
}

function kindProblems(obj: KubeObject): string[] {
  switch (obj.kind) {
    case 'ConfigMap':
      return configMapProblems(obj)
    case 'Secret':
      return secretProblems(obj)
    case 'Service':
      return serviceProblems(obj)
    case 'StatefulSet':
      return statefulSetProblems(obj)
    default:
      return []
  }
}

function configMapProblems(obj: KubeObject): string[] {
  const problems: string[] = []
  let bytes = 0
  for (const [key, value] of Object.entries(isObject(obj.data) ? obj.data : {})) {
    if (!DATA_KEY.test(key)) problems.push(`data[${key}]: Invalid value: a valid config key is required`)
    if (typeof value !== 'string') problems.push(`data[${key}]: must be a string`)
    bytes += key.length + String(value).length
  }
  if (bytes > MAX_CONFIG_BYTES) problems.push('data: Too long: must have at most 1048576 bytes')
  return problems
}

function secretProblems(obj: KubeObject): string[] {
  const problems: string[] = []
  for (const [key, value] of Object.entries(isObject(obj.data) ? obj.data : {})) {
    if (!DATA_KEY.test(key)) problems.push(`data[${key}]: Invalid value: a valid config key is required`)
    if (typeof value !== 'string' || !BASE64.test(value)) {
      problems.push(`data[${key}]: Invalid value: illegal base64 data`)
    }
  }
  return problems
}

/** IANA_SVC_NAME, as apimachinery's IsValidPortName: 1-15 of [a-z0-9-], a letter, no leading, trailing or double dash. */
const validPortName = (name: string): boolean =>
  name.length <= 15 &&
  /^[a-z0-9]([a-z0-9-]*[a-z0-9])?$/.test(name) &&
  /[a-z]/.test(name) &&
  !name.includes('--')

function serviceProblems(obj: KubeObject): string[] {
  const problems: string[] = []
  const ports = objectItems(field(obj, 'spec', 'ports'))
  const names = new Set<string>()
  const numbers = new Set<string>()
  ports.forEach((port, i) => {
    const number = port.port
    if (typeof number !== 'number' || !Number.isInteger(number) || number < 1 || number > 65535) {
      problems.push(`spec.ports[${i}].port: Invalid value: ${JSON.stringify(number)}`)
    }
    if (ports.length > 1 && (typeof port.name !== 'string' || port.name === '')) {
      problems.push(`spec.ports[${i}].name: Required value`)
    }
    if (typeof port.name === 'string' && port.name !== '') {
      if (!validPortName(port.name)) problems.push(`spec.ports[${i}].name: Invalid value: "${port.name}"`)
      if (names.has(port.name)) problems.push(`spec.ports[${i}].name: Duplicate value: "${port.name}"`)
      names.add(port.name)
    }
    // The same port number may appear once per protocol (111/TCP and 111/UDP), never twice for one.
    const protocol = port.protocol ?? 'TCP'
    if (!['TCP', 'UDP', 'SCTP'].includes(String(protocol))) {
      problems.push(`spec.ports[${i}].protocol: Unsupported value: ${JSON.stringify(protocol)}`)
    }
    const key = `${String(number)}/${String(protocol)}`
    if (numbers.has(key)) problems.push(`spec.ports[${i}]: Duplicate value: ${key}`)
    numbers.add(key)
  })
  return problems
}

function statefulSetProblems(obj: KubeObject): string[] {
  const selector = field(obj, 'spec', 'selector')
  const templateLabels = field(obj, 'spec', 'template', 'metadata', 'labels')
  if (!isObject(selector)) return ['spec.selector: Required value']
  const labels = isObject(templateLabels) ? (templateLabels as Record<string, string>) : {}
  if (!selectorMatches(selector as LabelSelector, labels)) {
    return ['spec.template.metadata.labels: Invalid value: `selector` does not match template `labels`']
  }
  return []
}
