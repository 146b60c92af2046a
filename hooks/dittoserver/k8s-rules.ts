import { isIPv4, isIPv6 } from 'node:net'

// The API server's own rules (k8s.io/apimachinery/pkg/util/validation) for the spec values the hook copies into
// children. The CRD says what a schema can; these catch the rest, so that a value the API server would refuse on
// a child is reported as InvalidSpec naming the field, instead of failing every apply out of the user's sight.

const QUALIFIED_NAME_PART = /^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$/
const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/
const MAX_NAME_PART = 63
const MAX_SUBDOMAIN = 253
/** metadata.annotations as a whole (TotalAnnotationSizeLimitB). */
export const MAX_ANNOTATIONS_BYTES = 256 * 1024

/** Label and annotation keys: `[prefix/]name`, prefix a DNS subdomain, name 1–63 alphanumerics, `-_.` inside. */
export function qualifiedNameProblem(key: string): string | undefined {
  const parts = key.split('/')
  if (parts.length > 2) return 'must be a qualified name (at most one "/")'
  const [prefix, name] = parts.length === 2 ? parts : [undefined, parts[0]]
  if (prefix !== undefined && (prefix.length > MAX_SUBDOMAIN || !DNS_SUBDOMAIN.test(prefix))) {
    return 'must be a qualified name: the prefix before "/" must be a lowercase DNS subdomain'
  }
  if (name === undefined || name.length === 0 || name.length > MAX_NAME_PART) {
    return 'must be a qualified name: the name part must be 1 to 63 characters'
  }
  if (!QUALIFIED_NAME_PART.test(name)) {
    return 'must be a qualified name: alphanumerics, "-", "_" or "." inside, an alphanumeric first and last'
  }
  return undefined
}

export function labelValueProblem(value: string): string | undefined {
  if (value.length > MAX_NAME_PART) return 'must be at most 63 characters'
  if (value !== '' && !QUALIFIED_NAME_PART.test(value)) {
    return 'must be empty or alphanumerics, "-", "_" or "." inside, an alphanumeric first and last'
  }
  return undefined
}

/** Checked by the API server on a LoadBalancer Service: comma-separated CIDRs. */
const SOURCE_RANGES_ANNOTATION = 'service.beta.kubernetes.io/load-balancer-source-ranges'

/** Problems of an annotations map, each as `[field, message]`. */
export function annotationProblems(
  annotations: Record<string, string>,
  field: string,
): Array<[string, string]> {
  const problems: Array<[string, string]> = []
  let bytes = 0
  for (const [key, value] of Object.entries(annotations)) {
    const problem = qualifiedNameProblem(key)
    if (problem) problems.push([`${field}[${JSON.stringify(key)}]`, `key ${problem}`])
    const badRange = key === SOURCE_RANGES_ANNOTATION && value.split(',').some((r) => cidrProblem(r.trim()))
    if (badRange)
      problems.push([`${field}[${JSON.stringify(key)}]`, 'must be a comma-separated list of CIDRs'])
    bytes += Buffer.byteLength(key) + Buffer.byteLength(value)
  }
  if (bytes > MAX_ANNOTATIONS_BYTES) problems.push([field, 'must be at most 256 KiB in total'])
  return problems
}

// ---------------------------------------------------------------------------------------------------------------
// CIDRs

interface Cidr {
  bits: 32 | 128
  /** The address as a number, host bits included. */
  address: bigint
  prefix: number
}

const ipv4Number = (text: string): bigint =>
  text.split('.').reduce((n, octet) => (n << 8n) | BigInt(Number(octet)), 0n)

function ipv6Number(text: string): bigint {
  // An embedded IPv4 tail (::ffff:1.2.3.4) becomes two groups.
  const tail = text.match(/(\d+\.\d+\.\d+\.\d+)$/)?.[1]
  let hex = text
  if (tail) {
    const v4 = ipv4Number(tail)
    hex = `${text.slice(0, -tail.length)}${(v4 >> 16n).toString(16)}:${(v4 & 0xffffn).toString(16)}`
  }
  const [head = '', rest] = hex.split('::')
  const left = head === '' ? [] : head.split(':')
  const right = rest === undefined || rest === '' ? [] : rest.split(':')
  const groups =
    rest === undefined ? left : [...left, ...Array(8 - left.length - right.length).fill('0'), ...right]
  return groups.reduce((n, group) => (n << 16n) | BigInt(Number.parseInt(group, 16)), 0n)
}

const LEADING_ZERO_OCTET = /(^|\.)0[0-9]/

/** A CIDR as the API server parses it, or undefined (leading zeros in IPv4 are refused, as strict validation does). */
export function parseCidr(text: string): Cidr | undefined {
  const slash = text.indexOf('/')
  if (slash < 0) return undefined
  const ip = text.slice(0, slash)
  const prefixText = text.slice(slash + 1)
  if (!/^(0|[1-9][0-9]{0,2})$/.test(prefixText)) return undefined
  const prefix = Number(prefixText)
  if (isIPv4(ip) && !LEADING_ZERO_OCTET.test(ip)) {
    return prefix <= 32 ? { bits: 32, address: ipv4Number(ip), prefix } : undefined
  }
  if (isIPv6(ip) && !ip.includes('%')) {
    return prefix <= 128 ? { bits: 128, address: ipv6Number(ip), prefix } : undefined
  }
  return undefined
}

export const cidrProblem = (text: string): string | undefined =>
  parseCidr(text) ? undefined : 'must be a CIDR such as 10.0.0.0/8 or fd00::/64'

const network = (cidr: Cidr): bigint => {
  const hostBits = BigInt(cidr.bits - cidr.prefix)
  return (cidr.address >> hostBits) << hostBits
}

/** Whether `inner` is a strict subset of `outer` (NetworkPolicy ipBlock.except). */
export function isStrictSubnet(inner: Cidr, outer: Cidr): boolean {
  if (inner.bits !== outer.bits || inner.prefix <= outer.prefix) return false
  const hostBits = BigInt(outer.bits - outer.prefix)
  return network(inner) >> hostBits === network(outer) >> hostBits
}

// ---------------------------------------------------------------------------------------------------------------
// Quantities

const QUANTITY =
  /^([+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+))(Ki|Mi|Gi|Ti|Pi|Ei|[numkMGTPE]|[eE][+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+))?$/
const SUFFIX: Record<string, number> = {
  n: 1e-9,
  u: 1e-6,
  m: 1e-3,
  k: 1e3,
  M: 1e6,
  G: 1e9,
  T: 1e12,
  P: 1e15,
  E: 1e18,
  Ki: 2 ** 10,
  Mi: 2 ** 20,
  Gi: 2 ** 30,
  Ti: 2 ** 40,
  Pi: 2 ** 50,
  Ei: 2 ** 60,
}

/** The value of a resource.Quantity (as a float: enough to compare requests with limits), or undefined. */
export function quantityValue(value: unknown): number | undefined {
  if (typeof value === 'number') return Number.isFinite(value) ? value : undefined
  if (typeof value !== 'string') return undefined
  const match = QUANTITY.exec(value)
  if (!match) return undefined
  const [, number = '', suffix = ''] = match
  const scale = suffix === '' ? 1 : /^[eE]/.test(suffix) ? 10 ** Number(suffix.slice(1)) : SUFFIX[suffix]
  const result = Number(number) * (scale ?? Number.NaN)
  return Number.isFinite(result) ? result : undefined
}

const STANDARD_CONTAINER_RESOURCES = new Set(['cpu', 'memory', 'ephemeral-storage'])

/** Container resource names: cpu, memory, ephemeral-storage, hugepages-<size>, or a domain-qualified name. */
export function resourceNameProblem(name: string): string | undefined {
  const problem = qualifiedNameProblem(name)
  if (problem) return problem
  if (name.includes('/')) return undefined
  if (STANDARD_CONTAINER_RESOURCES.has(name)) return undefined
  if (name.startsWith('hugepages-') && quantityValue(name.slice('hugepages-'.length)) !== undefined)
    return undefined
  return 'must be cpu, memory, ephemeral-storage, hugepages-<size> or a domain-prefixed name (example.com/gpu)'
}
