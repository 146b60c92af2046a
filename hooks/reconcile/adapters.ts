import {
  type AdapterIdentity,
  adapterIdentity,
  buildAdapterService,
  buildUdpCompanion,
  isParentAdapterService,
  isParentMainAdapterService,
  isTerminating,
  isValidPort,
  loadBalancerEndpoints,
  observedAdapterIdentity,
  separateUdp,
  udpCompanionName,
} from '../children/adapter-services.js'
import { listenerPorts, type ServicePort } from '../children/listener-ports.js'
import { adapterChildName } from '../children/naming.js'
import { buildAdapterPolicy, buildBaselinePolicy } from '../children/network-policies.js'
import { MAX_ADAPTERS } from '../discovery/client.js'
import type { ApiAdapter } from '../discovery/types.js'
import { adapterServiceTuning, type DittoServerSpec, type ServiceTuning } from '../dittoserver/spec.js'
import { asObject, formatTime, parseTime } from '../loose.js'
import type { KubeObject } from '../metacontroller/types.js'
import type { AdapterPlan, AdapterPlanInput, AdapterStatus } from './adapter-types.js'
import { type Condition, condition } from './conditions.js'

// Adapter children and `status.adapters` for one sync (DESIGN 4.4-4.7). Pure: everything comes from the input.
//
// - The last known adapter list lives in `status.adapters`; a fresh poll replaces it, no poll keeps it.
// - An adapter has a Service while it is enabled, and for `removalGraceMs` after it vanished or was disabled
//   (`missingSince`, written once), so toggling an adapter never recreates a cloud load balancer.
// - Unknown is not empty: without a fresh poll, an observed adapter Service the status does not account for is
//   kept as it is (it is not written into the status; see `unaccountedServices`).
// - With NetworkPolicies on, a new Service waits for its policy and a policy outlives its Service.

export const ADAPTER_SERVICES_READY = 'AdapterServicesReady'
export const WAITING_FOR_DISCOVERY = 'WaitingForDiscovery'
/** Longer than any adapter type discovery accepts; a bound on what a user-written status can make us name. */
const MAX_TYPE_LENGTH = 253
const loose = asObject

const compareText = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0)

// ---------------------------------------------------------------------------------------------------------------
// Reading the observed status

function readEntry(raw: unknown): AdapterStatus | undefined {
  const r = loose(raw)
  const { type, port, enabled, running, missingSince } = r
  if (typeof type !== 'string' || type === '' || type.length > MAX_TYPE_LENGTH) return undefined
  if (!isValidPort(port) || typeof enabled !== 'boolean' || typeof running !== 'boolean') return undefined
  // A broken `missingSince` would make the grace period unknowable: the entry as a whole is not trusted.
  if (missingSince !== undefined && parseTime(missingSince) === undefined) return undefined
  const entry: AdapterStatus = { type, port, enabled, running }
  if (typeof r.serviceName === 'string') entry.serviceName = r.serviceName
  if (typeof r.serviceType === 'string') entry.serviceType = r.serviceType
  if (Array.isArray(r.endpoints) && r.endpoints.every((e) => typeof e === 'string')) {
    entry.endpoints = [...(r.endpoints as string[])]
  }
  if (typeof missingSince === 'string') entry.missingSince = missingSince
  return entry
}

/**
 * The observed `status.adapters`, keeping only well-formed entries (the status is user-writable): the first
 * entry per type, at most as many as discovery ever reports.
 */
export function readAdapterStatus(status: unknown): AdapterStatus[] {
  const list = loose(status).adapters
  if (!Array.isArray(list)) return []
  const seen = new Set<string>()
  const entries: AdapterStatus[] = []
  for (const raw of list) {
    if (entries.length >= MAX_ADAPTERS) break
    const entry = readEntry(raw)
    if (!entry || seen.has(entry.type)) continue
    seen.add(entry.type)
    entries.push(entry)
  }
  return entries
}

// ---------------------------------------------------------------------------------------------------------------
// Resolving the adapter list

/** An adapter as known after this sync, before the fields derived from observed Services are added. */
interface KnownAdapter {
  type: string
  port: number
  enabled: boolean
  running: boolean
  missingSince?: string
}

/** Enabled, or in its removal grace period. */
const hasService = (adapter: KnownAdapter): boolean => adapter.enabled || adapter.missingSince !== undefined

/** One entry per type whatever the input order: an enabled one wins, then the lowest port. */
function firstPerType(adapters: ApiAdapter[]): Map<string, ApiAdapter> {
  const ranked = [...adapters].sort(
    (a, b) =>
      compareText(a.type, b.type) ||
      Number(b.enabled) - Number(a.enabled) ||
      a.port - b.port ||
      Number(b.running) - Number(a.running),
  )
  const byType = new Map<string, ApiAdapter>()
  for (const adapter of ranked) if (!byType.has(adapter.type)) byType.set(adapter.type, adapter)
  return byType
}

/** The adapters known after this sync, sorted by type. One whose grace period ended is gone, with its Service. */
function resolveAdapters(input: AdapterPlanInput): KnownAdapter[] {
  const { lastKnown, fresh, now } = input
  const graceMs = input.spec.adapterServices.removalGraceMs
  const nowText = formatTime(now)
  // Carried over as written; a start in the future (a hand-edited status) restarts the grace period now.
  const since = (previous: string | undefined): string => {
    const at = parseTime(previous)
    return previous !== undefined && at !== undefined && at <= now ? previous : nowText
  }
  const graceOver = (missingSince: string): boolean => (parseTime(missingSince) ?? now) + graceMs <= now

  const previous = new Map<string, AdapterStatus>()
  for (const entry of lastKnown) if (!previous.has(entry.type)) previous.set(entry.type, entry)
  const known: KnownAdapter[] = []

  if (fresh === undefined) {
    // No new information: the last known list stands; only the clock can end a grace period.
    for (const entry of [...previous.values()].sort((a, b) => compareText(a.type, b.type))) {
      const adapter: KnownAdapter = {
        type: entry.type,
        port: entry.port,
        enabled: entry.enabled,
        running: entry.running,
      }
      if (entry.missingSince !== undefined) {
        adapter.missingSince = since(entry.missingSince)
        if (graceOver(adapter.missingSince)) continue
      }
      known.push(adapter)
    }
    return known
  }

  const listed = firstPerType(fresh)
  const types = [...new Set([...listed.keys(), ...previous.keys()])].sort(compareText)
  for (const type of types) {
    const api = listed.get(type)
    const before = previous.get(type)
    if (api?.enabled) {
      known.push({ type, port: api.port, enabled: true, running: api.running })
      continue
    }
    if (before && hasService(before)) {
      const missingSince = since(before.missingSince)
      if (!graceOver(missingSince)) {
        // The Service stays exactly as it was (old port included) until the grace period ends.
        known.push({ type, port: before.port, enabled: false, running: api?.running ?? false, missingSince })
        continue
      }
    }
    // Listed but disabled: reported, no Service.
    if (api) known.push({ type, port: api.port, enabled: false, running: api.running })
  }
  return known
}

// ---------------------------------------------------------------------------------------------------------------
// Planning the children

interface PlannedService {
  id: AdapterIdentity
  tuning: ServiceTuning
  /** The declared DittoFS listener ports this adapter's Service (and policy) carry besides its own. */
  listeners: ServicePort[]
  /** Undefined for a Service kept only because it is observed and nothing is known about its adapter. */
  adapter?: KnownAdapter
  observed?: KubeObject
  /** False while the Service waits for its NetworkPolicy, and always when finalizing. */
  returned: boolean
  /** The Service of its own that carries the adapter's UDP ports, when they are split off (buildUdpCompanion). */
  udp?: UdpCompanion
}

interface UdpCompanion {
  name: string
  ports: number[]
  observed?: KubeObject
}

/**
 * Without a complete fresh list, an observed adapter Service that no known adapter names (the status was cleared,
 * an entry was malformed, or the poll's list had malformed entries) is kept as it is: unknown is not empty, and
 * an observed adapter Service is a known adapter too. It is not written into the status, because the next sync
 * could not tell it from an adapter the API reported, and would re-create it if it was deleted in the meantime.
 * A Service being deleted is not kept. With a complete fresh poll the API has spoken: such a Service goes.
 */
function unaccountedServices(input: AdapterPlanInput, known: KnownAdapter[]): KubeObject[] {
  if (input.fresh !== undefined && input.freshIncomplete !== true) return []
  const named = new Set(
    [...input.lastKnown, ...known].map((adapter) => adapterChildName(input.parentName, adapter.type)),
  )
  return [...input.observedServices]
    .filter(
      ([name, service]) =>
        isParentMainAdapterService(input.parentName, service) && !isTerminating(service) && !named.has(name),
    )
    .sort(([a], [b]) => compareText(a, b))
    .map(([, service]) => service)
}

/** The DittoFS API and metrics ports: an adapter listed on one of them never gets a Service (or a policy). */
export function reservedPorts(spec: AdapterPlanInput['spec']): Set<number> {
  return new Set(spec.metrics.enabled ? [spec.apiPort, spec.metrics.port] : [spec.apiPort])
}

const listenersOf = (spec: DittoServerSpec, id: AdapterIdentity): ServicePort[] =>
  listenerPorts(id.type ?? id.typeLabel, id.port, spec.adapterServices.listeners)

function planServices(input: AdapterPlanInput, known: KnownAdapter[]): PlannedService[] {
  const { parentName, spec, observedServices, observedPolicies, finalizing } = input
  const reserved = reservedPorts(spec)
  const planned = new Map<string, PlannedService>()
  for (const adapter of known.filter(hasService)) {
    const id = adapterIdentity(parentName, adapter.type, adapter.port)
    if (!planned.has(id.name) && !reserved.has(id.port)) {
      const tuning = adapterServiceTuning(spec, adapter.type)
      planned.set(id.name, { id, tuning, listeners: listenersOf(spec, id), adapter, returned: false })
    }
  }
  for (const service of unaccountedServices(input, known)) {
    const id = observedAdapterIdentity(parentName, service)
    if (id && !planned.has(id.name) && !reserved.has(id.port)) {
      planned.set(id.name, {
        id,
        tuning: adapterServiceTuning(spec, id.type ?? id.typeLabel),
        listeners: listenersOf(spec, id),
        returned: false,
      })
    }
  }
  const policiesOn = spec.networkPolicy.enabled
  for (const service of planned.values()) {
    service.observed = observedServices.get(service.id.name)
    if (separateUdp(service.id, service.tuning, service.listeners)) {
      const name = udpCompanionName(service.id.name)
      const ports = service.listeners.filter((p) => p.protocol === 'UDP').map((p) => p.port)
      const observed = observedServices.get(name)
      service.udp = observed ? { name, ports, observed } : { name, ports }
    }
    // A new Service only once its policy exists; one that exists already is never held back.
    service.returned =
      !finalizing && (!policiesOn || service.observed !== undefined || observedPolicies.has(service.id.name))
  }
  return [...planned.values()]
}

/** Baseline plus one policy per planned Service and per adapter Service still observed (policies go last). */
function planPolicies(input: AdapterPlanInput, planned: PlannedService[]): KubeObject[] {
  const { parentName, spec } = input
  if (!spec.networkPolicy.enabled) return []
  const ids = new Map(planned.map((service) => [service.id.name, service.id]))
  const reserved = reservedPorts(spec)
  for (const [name, service] of input.observedServices) {
    if (ids.has(name) || !isParentMainAdapterService(parentName, service)) continue
    const id = observedAdapterIdentity(parentName, service)
    // A Service on the API or metrics port is being removed: its port is the baseline policy's business.
    if (id && !reserved.has(id.port)) ids.set(name, id)
  }
  const adapterPolicies = [...ids.values()]
    .sort((a, b) => compareText(a.name, b.name))
    .map((id) => buildAdapterPolicy(parentName, spec, id, listenersOf(spec, id)))
  return [buildBaselinePolicy(parentName, spec, input.hookPeer), ...adapterPolicies]
}

// ---------------------------------------------------------------------------------------------------------------
// Status and condition

/** Where clients reach `ports` of an observed Service: the load balancer's addresses, or its cluster DNS name. */
function endpointsOf(
  name: string,
  type: ServiceTuning['type'],
  observed: KubeObject | undefined,
  ports: number[],
  namespace: string | undefined,
): string[] {
  if (!observed) return []
  if (type === 'LoadBalancer') return ports.flatMap((port) => loadBalancerEndpoints(observed, port))
  return namespace ? ports.map((port) => `${name}.${namespace}.svc.cluster.local:${port}`) : []
}

function statusEntries(
  input: AdapterPlanInput,
  known: KnownAdapter[],
  planned: PlannedService[],
): AdapterStatus[] {
  const byName = new Map(planned.map((service) => [service.id.name, service]))
  return known.map((adapter) => {
    const entry: AdapterStatus = {
      type: adapter.type,
      port: adapter.port,
      enabled: adapter.enabled,
      running: adapter.running,
    }
    const service = hasService(adapter)
      ? byName.get(adapterChildName(input.parentName, adapter.type))
      : undefined
    if (service) {
      entry.serviceName = service.id.name
      entry.serviceType = service.tuning.type
      entry.endpoints = endpointsOf(
        service.id.name,
        service.tuning.type,
        service.observed,
        [service.id.port],
        input.namespace,
      )
      if (service.udp) {
        const { name, observed, ports } = service.udp
        entry.udpServiceName = name
        entry.udpEndpoints = endpointsOf(name, service.tuning.type, observed, ports, input.namespace)
      }
    }
    if (adapter.missingSince !== undefined) entry.missingSince = adapter.missingSince
    return entry
  })
}

const formatDuration = (ms: number): string => {
  if (ms % 3_600_000 === 0) return `${ms / 3_600_000}h`
  if (ms % 60_000 === 0) return `${ms / 60_000}m`
  return `${Math.ceil(ms / 1000)}s`
}

const names = (list: string[]): string => list.join(', ')

/** The adapter Service keeps UDP listener ports next to its TCP ones. */
const mixesProtocols = (service: PlannedService): boolean =>
  service.listeners.some((p) => p.protocol === 'UDP') &&
  !separateUdp(service.id, service.tuning, service.listeners)

interface Readiness {
  condition: Condition
  /** Moments at which a waiting load balancer turns into LoadBalancerPending. */
  deadlines: number[]
}

/**
 * AdapterServicesReady. Only what was observed decides it, and its message names times only as absolute values,
 * so it changes when something observable changed or a deadline passed, never merely because time went on.
 */
function readiness(
  input: AdapterPlanInput,
  known: KnownAdapter[],
  planned: PlannedService[],
  remaining: string[],
): Readiness {
  const { spec, now } = input
  if (input.finalizing) {
    const message =
      remaining.length > 0
        ? `Deleting the adapter Services before anything else: ${names(remaining)}.`
        : 'All adapter Services are deleted.'
    return { condition: condition(ADAPTER_SERVICES_READY, 'False', 'Finalizing', message), deadlines: [] }
  }

  const timeoutMs = spec.adapterServices.loadBalancerTimeoutMs
  const timedOut: string[] = []
  const pending: string[] = []
  const creating: string[] = []
  const waitingForPolicy: string[] = []
  const deadlines: number[] = []
  // Each adapter Service, and the Service of its UDP ports when they have one: clients need both addresses.
  const units = planned.flatMap((service) => {
    const main = { name: service.id.name, observed: service.observed, port: service.id.port, service }
    const udp = service.udp
    return udp ? [main, { name: udp.name, observed: udp.observed, port: udp.ports[0] ?? 0, service }] : [main]
  })
  for (const { name, observed, port, service } of units) {
    if (!observed) {
      ;(service.returned ? creating : waitingForPolicy).push(name)
      continue
    }
    if (service.tuning.type !== 'LoadBalancer' || loadBalancerEndpoints(observed, port).length > 0) continue
    const created = parseTime(observed.metadata.creationTimestamp)
    const deadline = created === undefined ? undefined : created + timeoutMs
    if (deadline !== undefined && now >= deadline) {
      timedOut.push(name)
    } else {
      pending.push(name)
      if (deadline !== undefined) deadlines.push(deadline)
    }
  }

  const reserved = reservedPorts(spec)
  const onReservedPort = known
    .filter((a) => hasService(a) && reserved.has(a.port))
    .map((a) => `${a.type} (port ${a.port})`)
  const parts: string[] = []
  if (onReservedPort.length > 0) {
    parts.push(
      `Refused: ${names(onReservedPort)} listen on the DittoFS API or metrics port; such an adapter gets no ` +
        'Service, which would expose the control plane. Move the adapter to another port in DittoFS.',
    )
  }
  if (timedOut.length > 0) {
    parts.push(
      `No external address after ${formatDuration(timeoutMs)} for LoadBalancer Service(s) ${names(timedOut)}. ` +
        'On bare metal, install a load-balancer implementation such as MetalLB, or set ' +
        'spec.adapterServices.type (or a per-type override) to NodePort.',
    )
    const mixed = planned
      .filter((s) => timedOut.includes(s.id.name) && mixesProtocols(s))
      .map((s) => s.id.name)
    if (mixed.length > 0) {
      parts.push(
        `${names(mixed)} mix TCP and UDP ports, which a LoadBalancer supports only from Kubernetes 1.26 ` +
          '(MixedProtocolLBService) and on clouds that implement it; spec.adapterServices.splitProtocols ' +
          '(or a per-type override) puts the UDP ports in a Service of their own.',
      )
    }
  }
  if (pending.length > 0) parts.push(`Waiting for an external address for ${names(pending)}.`)
  if (creating.length > 0) parts.push(`Creating ${names(creating)}.`)
  if (waitingForPolicy.length > 0) {
    parts.push(`Creating the NetworkPolicy before the Service for ${names(waitingForPolicy)}.`)
  }

  let status: 'True' | 'False' | 'Unknown' = 'False'
  let reason = 'Provisioning'
  if (timedOut.length > 0) reason = 'LoadBalancerPending'
  else if (onReservedPort.length > 0) reason = 'AdapterPortConflict'
  else if (parts.length === 0 && planned.length === 0 && input.adaptersKnown === false) {
    // Nothing is planned because nothing is known yet: `kubectl wait` on this condition must not pass already.
    status = 'Unknown'
    reason = WAITING_FOR_DISCOVERY
    parts.push('The adapter list has not been read from DittoFS yet.')
  } else if (parts.length === 0) {
    status = 'True'
    reason = planned.length === 0 ? 'NoAdapterServices' : 'ServicesReady'
    parts.push(
      planned.length === 0
        ? 'No adapter needs a Service.'
        : `All ${units.length} adapter Service(s) are ready.`,
    )
  }

  // Facts worth knowing that are not failures.
  const stopped = known.filter((a) => a.enabled && !a.running).map((a) => a.type)
  if (stopped.length > 0) parts.push(`Enabled but not running (Service kept): ${names(stopped)}.`)
  const leaving = known
    .filter((a) => a.missingSince !== undefined)
    .map(
      (a) =>
        `${a.type} until ${formatTime((parseTime(a.missingSince) ?? now) + spec.adapterServices.removalGraceMs)}`,
    )
  if (leaving.length > 0) parts.push(`Removed or disabled, Service kept: ${names(leaving)}.`)
  const unknown = planned.filter((s) => s.adapter === undefined).map((s) => s.id.name)
  if (unknown.length > 0) {
    parts.push(
      `Kept until the next successful poll although status.adapters does not list them: ${names(unknown)}.`,
    )
  }
  return { condition: condition(ADAPTER_SERVICES_READY, status, reason, parts.join(' ')), deadlines }
}

// ---------------------------------------------------------------------------------------------------------------

export function planAdapters(input: AdapterPlanInput): AdapterPlan {
  const known = resolveAdapters(input)
  const planned = planServices(input, known)
  const remainingAdapterServices = [...input.observedServices]
    .filter(([, service]) => isParentAdapterService(input.parentName, service))
    .map(([name]) => name)
    .sort(compareText)

  const services = planned
    .filter((service) => service.returned)
    .sort((a, b) => compareText(a.id.name, b.id.name))
    .flatMap(({ id, tuning, listeners }) => {
      const companion = buildUdpCompanion(input.parentName, id, tuning, listeners)
      const main = buildAdapterService(input.parentName, id, tuning, listeners)
      return companion ? [main, companion] : [main]
    })
  const children = [...planPolicies(input, planned), ...services]

  const { condition: ready, deadlines } = readiness(input, known, planned, remainingAdapterServices)
  const graceEnds = known
    .filter((a) => a.missingSince !== undefined)
    .map((a) => (parseTime(a.missingSince) ?? input.now) + input.spec.adapterServices.removalGraceMs)
  const events = input.finalizing ? [] : [...graceEnds, ...deadlines].filter((at) => at > input.now)

  return {
    children,
    status: statusEntries(input, known, planned),
    conditions: [ready],
    ...(events.length > 0 ? { nextEventAt: Math.min(...events) } : {}),
    remainingAdapterServices,
  }
}
