// The API server's own validation rules for the kinds the hook returns, written from
// k8s.io/apimachinery/pkg/util/validation (IsDNS1123Label, IsDNS1035Label, IsDNS1123Subdomain, IsQualifiedName,
// IsValidLabelValue, IsValidPortName, IsValidPortNum, IsConfigMapKey, IsCIDR, IsEnvVarName) and
// k8s.io/kubernetes/pkg/apis/{core,apps,networking}/validation (Service ports and source ranges, StatefulSet pod
// names, NetworkPolicy peers, resource quantities). Independent of the hook's own checks on purpose: a hook bug
// shared by both would otherwise pass.
//
// answerProblems applies them to every child of a 200 hook answer, plus the answer-level rules: no two children
// of one kind and name, no adapter Service on the API or metrics port, resyncAfterSeconds within bounds.
import { isIPv4, isIPv6 } from 'node:net'

type Json = Record<string, unknown>
const isObject = (v: unknown): v is Json => v !== null && typeof v === 'object' && !Array.isArray(v)
const obj = (v: unknown): Json => (isObject(v) ? v : {})
const list = (v: unknown): unknown[] => (Array.isArray(v) ? v : [])

const DNS1123_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/
const DNS1035_LABEL = /^[a-z]([-a-z0-9]*[a-z0-9])?$/
const DNS1123_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/
const QUALIFIED_NAME = /^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$/
const LABEL_VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/
const CONFIG_KEY = /^[-._a-zA-Z0-9]+$/
const IANA_SVC_NAME = /^[-a-z0-9]+$/
const ENV_VAR_NAME = /^[-._a-zA-Z][-._a-zA-Z0-9]*$/
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/
const QUANTITY =
  /^[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)(([KMGTPE]i)|[numkMGTPE]|[eE][+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+))?$/
/** The StatefulSet controller labels each pod `controller-revision-hash: <name>-<10 characters>`. */
const MAX_STATEFULSET_NAME = 63 - 11
const MAX_ANNOTATIONS = 256 * 1024
const MAX_SECRET_BYTES = 1024 * 1024

export const isDns1123Label = (s: string) => s.length <= 63 && DNS1123_LABEL.test(s)
export const isDns1035Label = (s: string) => s.length <= 63 && DNS1035_LABEL.test(s)
export const isDns1123Subdomain = (s: string) => s.length <= 253 && DNS1123_SUBDOMAIN.test(s)

export function isQualifiedName(key: string): boolean {
  const parts = key.split('/')
  if (parts.length > 2) return false
  const name = parts.at(-1) ?? ''
  if (parts.length === 2 && !isDns1123Subdomain(parts[0] ?? '')) return false
  return name.length >= 1 && name.length <= 63 && QUALIFIED_NAME.test(name)
}

export const isLabelValue = (v: unknown) => typeof v === 'string' && v.length <= 63 && LABEL_VALUE.test(v)

/** IANA_SVC_NAME: 1–15 of [-a-z0-9], at least one letter, no "--", no "-" at either end. */
export const isPortName = (s: string) =>
  s.length >= 1 &&
  s.length <= 15 &&
  IANA_SVC_NAME.test(s) &&
  /[a-z]/.test(s) &&
  !s.includes('--') &&
  !s.startsWith('-') &&
  !s.endsWith('-')

export const isPortNumber = (n: unknown) =>
  typeof n === 'number' && Number.isInteger(n) && n >= 1 && n <= 65535
export const isConfigKey = (k: string) =>
  k.length <= 253 && CONFIG_KEY.test(k) && k !== '.' && k !== '..' && !k.startsWith('..')

/** Strict CIDR parsing (no leading zeros in IPv4, prefix in range). */
export function isCidr(text: unknown): boolean {
  if (typeof text !== 'string') return false
  const [ip = '', prefix, ...rest] = text.split('/')
  if (rest.length > 0 || prefix === undefined || !/^(0|[1-9][0-9]*)$/.test(prefix)) return false
  if (isIPv4(ip)) return !/(^|\.)0[0-9]/.test(ip) && Number(prefix) <= 32
  return isIPv6(ip) && Number(prefix) <= 128
}

const quantity = (v: unknown): number | undefined => {
  if (typeof v === 'number') return v
  if (typeof v !== 'string' || !QUANTITY.test(v)) return undefined
  const m = /^([+-]?[0-9.]+)(.*)$/.exec(v)
  const scale: Record<string, number> = {
    '': 1,
    m: 1e-3,
    k: 1e3,
    M: 1e6,
    G: 1e9,
    T: 1e12,
    Ki: 1024,
    Mi: 2 ** 20,
    Gi: 2 ** 30,
    Ti: 2 ** 40,
  }
  const suffix = m?.[2] ?? ''
  const factor = scale[suffix] ?? (/^[eE]/.test(suffix) ? 10 ** Number(suffix.slice(1)) : 1)
  return Number(m?.[1]) * factor
}

// ---------------------------------------------------------------------------------------------------------------

function metadataProblems(kind: string, meta: Json): string[] {
  const problems: string[] = []
  const name = typeof meta.name === 'string' ? meta.name : ''
  if (kind === 'PodTemplate') {
    // named by the StatefulSet controller
  } else if (kind === 'Service' && !isDns1035Label(name))
    problems.push(`metadata.name ${name}: not a DNS-1035 label`)
  else if (kind === 'StatefulSet' && !(isDns1123Label(name) && name.length <= MAX_STATEFULSET_NAME)) {
    problems.push(`metadata.name ${name}: pods need a DNS-1123 label and revision labels ≤ 63 (name ≤ 52)`)
  } else if (!isDns1123Subdomain(name)) problems.push(`metadata.name ${name}: not a DNS-1123 subdomain`)
  for (const [key, value] of Object.entries(obj(meta.labels))) {
    if (!isQualifiedName(key))
      problems.push(`metadata.labels key ${JSON.stringify(key)}: not a qualified name`)
    if (!isLabelValue(value))
      problems.push(`metadata.labels[${key}] ${JSON.stringify(value)}: not a label value`)
  }
  let bytes = 0
  for (const [key, value] of Object.entries(obj(meta.annotations))) {
    if (!isQualifiedName(key))
      problems.push(`metadata.annotations key ${JSON.stringify(key)}: not a qualified name`)
    if (typeof value !== 'string') problems.push(`metadata.annotations[${key}]: not a string`)
    bytes += key.length + String(value).length
  }
  if (bytes > MAX_ANNOTATIONS) problems.push('metadata.annotations: more than 256 KiB')
  return problems
}

function selectorProblems(raw: unknown, at: string): string[] {
  const selector = obj(raw)
  const problems: string[] = []
  for (const [key, value] of Object.entries(obj(selector.matchLabels))) {
    if (!isQualifiedName(key))
      problems.push(`${at}.matchLabels key ${JSON.stringify(key)}: not a qualified name`)
    if (!isLabelValue(value)) problems.push(`${at}.matchLabels[${key}]: not a label value`)
  }
  list(selector.matchExpressions).forEach((raw, i) => {
    const { key, operator, values } = obj(raw)
    const where = `${at}.matchExpressions[${i}]`
    if (typeof key !== 'string' || !isQualifiedName(key)) problems.push(`${where}.key: not a qualified name`)
    const vs = list(values)
    if (operator === 'In' || operator === 'NotIn') {
      if (vs.length === 0) problems.push(`${where}.values: required for ${operator}`)
    } else if (operator === 'Exists' || operator === 'DoesNotExist') {
      if (vs.length > 0) problems.push(`${where}.values: must be empty for ${operator}`)
    } else problems.push(`${where}.operator: not a valid operator`)
    vs.forEach((v, j) => {
      if (!isLabelValue(v)) problems.push(`${where}.values[${j}]: not a label value`)
    })
  })
  return problems
}

function servicePortProblems(spec: Json): string[] {
  const problems: string[] = []
  const ports = list(spec.ports).map(obj)
  if (ports.length === 0 && spec.clusterIP !== 'None') problems.push('spec.ports: required')
  const seen = new Set<string>()
  ports.forEach((port, i) => {
    const at = `spec.ports[${i}]`
    if (!isPortNumber(port.port)) problems.push(`${at}.port: not in 1-65535`)
    const { name, targetPort, protocol } = port
    if (ports.length > 1 && (typeof name !== 'string' || name === '')) problems.push(`${at}.name: required`)
    if (typeof name === 'string' && name !== '') {
      // Service port names need only be DNS labels; the hook keeps them IANA service names (≤ 15, a letter),
      // so that they are also valid wherever a port is named (container ports, targetPort).
      if (!isPortName(name)) problems.push(`${at}.name ${name}: not an IANA service name`)
      if (seen.has(name)) problems.push(`${at}.name ${name}: duplicate`)
      seen.add(name)
    }
    if (
      targetPort !== undefined &&
      !isPortNumber(targetPort) &&
      !(typeof targetPort === 'string' && isPortName(targetPort))
    ) {
      problems.push(`${at}.targetPort: not a port number or name`)
    }
    if (protocol !== undefined && !['TCP', 'UDP', 'SCTP'].includes(String(protocol)))
      problems.push(`${at}.protocol: invalid`)
  })
  return problems
}

const SOURCE_RANGES_ANNOTATION = 'service.beta.kubernetes.io/load-balancer-source-ranges'

function serviceProblems(service: Json): string[] {
  const spec = obj(service.spec)
  const type = spec.type ?? 'ClusterIP'
  const problems = servicePortProblems(spec)
  if (!['ClusterIP', 'NodePort', 'LoadBalancer'].includes(String(type))) problems.push('spec.type: invalid')
  const ranges = list(spec.loadBalancerSourceRanges)
  const annotation = obj(obj(service.metadata).annotations)[SOURCE_RANGES_ANNOTATION]
  if (type !== 'LoadBalancer' && (ranges.length > 0 || annotation !== undefined)) {
    problems.push('spec.loadBalancerSourceRanges: may only be used when type is LoadBalancer')
  }
  ranges.forEach((r, i) => {
    if (!isCidr(r)) problems.push(`spec.loadBalancerSourceRanges[${i}] ${JSON.stringify(r)}: not a CIDR`)
  })
  if (typeof annotation === 'string' && !annotation.split(',').every((r) => isCidr(r.trim()))) {
    problems.push(`metadata.annotations[${SOURCE_RANGES_ANNOTATION}]: not a list of CIDRs`)
  }
  if (type === 'ClusterIP' && spec.externalTrafficPolicy !== undefined) {
    problems.push('spec.externalTrafficPolicy: may only be set for NodePort and LoadBalancer')
  }
  for (const [key, value] of Object.entries(obj(spec.selector))) {
    if (!isQualifiedName(key) || !isLabelValue(value)) problems.push(`spec.selector[${key}]: invalid`)
  }
  return problems
}

function resourceProblems(raw: unknown, at: string): string[] {
  const resources = obj(raw)
  const problems: string[] = []
  const values: Record<string, Record<string, number>> = { limits: {}, requests: {} }
  for (const kind of ['limits', 'requests']) {
    for (const [name, value] of Object.entries(obj(resources[kind]))) {
      const standard = ['cpu', 'memory', 'ephemeral-storage'].includes(name) || name.startsWith('hugepages-')
      if (!isQualifiedName(name) || (!name.includes('/') && !standard))
        problems.push(`${at}.${kind}[${name}]: not a resource name`)
      const n = quantity(value)
      if (n === undefined) problems.push(`${at}.${kind}[${name}] ${JSON.stringify(value)}: not a quantity`)
      else if (n < 0) problems.push(`${at}.${kind}[${name}]: negative`)
      else (values[kind] as Record<string, number>)[name] = n
    }
  }
  for (const [name, request] of Object.entries(values.requests ?? {})) {
    const limit = values.limits?.[name]
    if (limit !== undefined && request > limit) problems.push(`${at}.requests[${name}]: above its limit`)
  }
  if (list(resources.claims).length > 0) problems.push(`${at}.claims: the pod declares no resource claims`)
  return problems
}

function containerProblems(raw: unknown, at: string, volumes: Set<string>): string[] {
  const c = obj(raw)
  const problems: string[] = []
  if (typeof c.name !== 'string' || !isDns1123Label(c.name)) problems.push(`${at}.name: not a DNS-1123 label`)
  if (typeof c.image !== 'string' || c.image.trim() !== c.image || c.image === '')
    problems.push(`${at}.image: invalid`)
  const names = new Set<string>()
  list(c.ports).forEach((raw, i) => {
    const p = obj(raw)
    if (!isPortNumber(p.containerPort)) problems.push(`${at}.ports[${i}].containerPort: not in 1-65535`)
    if (p.name !== undefined) {
      if (typeof p.name !== 'string' || !isPortName(p.name))
        problems.push(`${at}.ports[${i}].name: not an IANA service name`)
      else if (names.has(p.name)) problems.push(`${at}.ports[${i}].name: duplicate`)
      names.add(String(p.name))
    }
  })
  list(c.env).forEach((raw, i) => {
    const e = obj(raw)
    if (typeof e.name !== 'string' || !ENV_VAR_NAME.test(e.name))
      problems.push(`${at}.env[${i}].name: invalid`)
    const ref = obj(obj(e.valueFrom).secretKeyRef)
    if (Object.keys(ref).length > 0) {
      if (typeof ref.name !== 'string' || !isDns1123Subdomain(ref.name))
        problems.push(`${at}.env[${i}] secretKeyRef.name: invalid`)
      if (typeof ref.key !== 'string' || !isConfigKey(ref.key))
        problems.push(`${at}.env[${i}] secretKeyRef.key: not a Secret key`)
    }
  })
  list(c.volumeMounts).forEach((raw, i) => {
    const name = obj(raw).name
    if (typeof name !== 'string' || !volumes.has(name))
      problems.push(`${at}.volumeMounts[${i}]: no volume ${String(name)}`)
  })
  problems.push(...resourceProblems(c.resources, `${at}.resources`))
  return problems
}

function statefulSetProblems(sts: Json): string[] {
  const spec = obj(sts.spec)
  const template = obj(spec.template)
  const podSpec = obj(template.spec)
  const problems = metadataProblems('PodTemplate', obj(template.metadata)).map((p) => `spec.template.${p}`)
  problems.push(...selectorProblems(spec.selector, 'spec.selector'))
  const labels = obj(obj(template.metadata).labels)
  for (const [key, value] of Object.entries(obj(obj(spec.selector).matchLabels))) {
    if (labels[key] !== value) problems.push('spec.template.metadata.labels: do not match spec.selector')
  }
  if (typeof spec.serviceName === 'string' && !isDns1035Label(spec.serviceName))
    problems.push('spec.serviceName: invalid')
  const volumes = new Set<string>()
  for (const raw of list(podSpec.volumes)) {
    const name = obj(raw).name
    if (typeof name !== 'string' || !isDns1123Label(name))
      problems.push(`spec.template.spec.volumes ${String(name)}: not a DNS-1123 label`)
    else volumes.add(name)
  }
  list(spec.volumeClaimTemplates).forEach((raw, i) => {
    const claim = obj(raw)
    const name = obj(claim.metadata).name
    if (typeof name !== 'string' || !isDns1123Label(name))
      problems.push(`spec.volumeClaimTemplates[${i}]: name invalid`)
    else volumes.add(name)
    const storage = obj(obj(obj(claim.spec).resources).requests).storage
    if (quantity(storage) === undefined)
      problems.push(`spec.volumeClaimTemplates[${i}]: storage not a quantity`)
    const className = obj(claim.spec).storageClassName
    if (className !== undefined && (typeof className !== 'string' || !isDns1123Subdomain(className))) {
      problems.push(`spec.volumeClaimTemplates[${i}].spec.storageClassName: not a DNS subdomain`)
    }
  })
  for (const group of ['initContainers', 'containers']) {
    list(podSpec[group]).forEach((c, i) => {
      problems.push(...containerProblems(c, `spec.template.spec.${group}[${i}]`, volumes))
    })
  }
  return problems
}

function peerProblems(raw: unknown, at: string): string[] {
  const peer = obj(raw)
  const selectors = peer.podSelector !== undefined || peer.namespaceSelector !== undefined
  if (selectors && peer.ipBlock !== undefined) return [`${at}: ipBlock may not be combined with selectors`]
  if (!selectors && peer.ipBlock === undefined) return [`${at}: must specify a peer`]
  const extra = Object.keys(peer).filter((k) => !['podSelector', 'namespaceSelector', 'ipBlock'].includes(k))
  const problems = extra.map((k) => `${at}.${k}: unknown field`)
  if (selectors) {
    if (peer.podSelector !== undefined)
      problems.push(...selectorProblems(peer.podSelector, `${at}.podSelector`))
    if (peer.namespaceSelector !== undefined)
      problems.push(...selectorProblems(peer.namespaceSelector, `${at}.namespaceSelector`))
    for (const key of ['podSelector', 'namespaceSelector']) {
      if (peer[key] !== undefined && !isObject(peer[key])) problems.push(`${at}.${key}: not an object`)
    }
    return problems
  }
  const block = obj(peer.ipBlock)
  if (!isCidr(block.cidr)) problems.push(`${at}.ipBlock.cidr ${JSON.stringify(block.cidr)}: not a CIDR`)
  list(block.except).forEach((e, i) => {
    if (!isCidr(e)) problems.push(`${at}.ipBlock.except[${i}]: not a CIDR`)
  })
  return problems
}

function networkPolicyProblems(policy: Json): string[] {
  const spec = obj(policy.spec)
  const problems = selectorProblems(spec.podSelector, 'spec.podSelector')
  list(spec.ingress).forEach((raw, i) => {
    const rule = obj(raw)
    list(rule.ports).forEach((p, j) => {
      const port = obj(p).port
      if (port !== undefined && !isPortNumber(port) && !(typeof port === 'string' && isPortName(port))) {
        problems.push(`spec.ingress[${i}].ports[${j}].port: invalid`)
      }
    })
    list(rule.from).forEach((peer, j) => {
      problems.push(...peerProblems(peer, `spec.ingress[${i}].from[${j}]`))
    })
  })
  return problems
}

function dataProblems(kind: string, data: unknown): string[] {
  const problems: string[] = []
  let bytes = 0
  for (const [key, value] of Object.entries(obj(data))) {
    if (!isConfigKey(key)) problems.push(`data key ${JSON.stringify(key)}: not a valid key`)
    if (typeof value !== 'string') problems.push(`data[${key}]: not a string`)
    else if (kind === 'Secret' && !BASE64.test(value)) problems.push(`data[${key}]: not base64`)
    bytes += key.length + String(value).length
  }
  if (bytes > MAX_SECRET_BYTES) problems.push('data: more than 1 MiB')
  return problems
}

/** What the API server would refuse in `child`, as `Kind/name: problem`. */
export function childProblems(child: unknown): string[] {
  const o = obj(child)
  const kind = String(o.kind)
  const meta = obj(o.metadata)
  const problems = metadataProblems(kind, meta)
  if (kind === 'Service') problems.push(...serviceProblems(o))
  else if (kind === 'StatefulSet') problems.push(...statefulSetProblems(o))
  else if (kind === 'NetworkPolicy') problems.push(...networkPolicyProblems(o))
  else if (kind === 'Secret' || kind === 'ConfigMap') problems.push(...dataProblems(kind, o.data))
  return problems.map((p) => `${kind}/${String(meta.name)}: ${p}`)
}

/** Metacontroller turns resyncAfterSeconds into a Go time.Duration; the hook promises at most a day. */
export const MAX_RESYNC_SECONDS = 24 * 60 * 60

const ADAPTER_SERVICE_LABEL = 'dittofs.io/adapter-service'

/** The ports an adapter Service must never expose, read from the parent spec (with its defaults). */
function controlPlanePorts(parent: unknown): number[] {
  const spec = obj(obj(parent).spec)
  const apiPort = obj(spec.controlPlane).port
  const metrics = obj(spec.metrics)
  const ports = [isPortNumber(apiPort) ? (apiPort as number) : 8080]
  if (metrics.enabled === true) ports.push(isPortNumber(metrics.port) ? (metrics.port as number) : 9090)
  return ports
}

/** Every rule a 200 sync or finalize answer must keep, as readable problems (empty when it keeps them all). */
export function answerProblems(request: unknown, answer: unknown): string[] {
  const body = obj(answer)
  const children = list(body.children)
  // Valid in, valid out: a request showing children the API server could never have stored (a fuzzed body) may
  // get them echoed back unchanged; only the answer-level rules hold for it.
  const observed = Object.values(obj(obj(request).children)).flatMap((group) => Object.values(obj(group)))
  const observedValid = observed.every((child) => childProblems(child).length === 0)
  const problems = observedValid ? children.flatMap(childProblems) : []
  const seen = new Set<string>()
  for (const child of children) {
    const id = `${String(obj(child).kind)}/${String(obj(obj(child).metadata).name)}`
    if (seen.has(id)) problems.push(`${id}: two children of the same kind and name`)
    seen.add(id)
  }
  const reserved = controlPlanePorts(obj(request).parent)
  for (const child of children) {
    const o = obj(child)
    if (o.kind !== 'Service' || obj(obj(o.metadata).labels)[ADAPTER_SERVICE_LABEL] !== 'true') continue
    for (const port of list(obj(o.spec).ports).map(obj)) {
      if (reserved.includes(port.port as number) || reserved.includes(port.targetPort as number)) {
        problems.push(
          `Service/${String(obj(o.metadata).name)}: an adapter Service exposes the API or metrics port`,
        )
      }
    }
  }
  const resync = body.resyncAfterSeconds
  if (resync !== undefined && !(typeof resync === 'number' && resync > 0 && resync <= MAX_RESYNC_SECONDS)) {
    problems.push(`resyncAfterSeconds ${String(resync)}: not within (0, ${MAX_RESYNC_SECONDS}]`)
  }
  return problems
}
