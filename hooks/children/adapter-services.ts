import type { ServiceTuning } from '../dittoserver/spec.js'
import { asObject } from '../loose.js'
import type { KubeObject } from '../metacontroller/types.js'
import type { ServicePort } from './listener-ports.js'
import {
  adapterChildName,
  adapterPortName,
  adapterSlug,
  childLabels,
  childNames,
  fitName,
  podLabels,
} from './naming.js'
import { serviceAnnotations, tcpPort } from './services.js'

// One Service per adapter, named `<parent>-adapter-<slug>`. Written the way the API server stores it (explicit
// `protocol`, `targetPort` as a number, no empty lists or maps), so an unchanged Service is never updated, and
// without anything the server assigns (`clusterIP`, `nodePort`, `healthCheckNodePort`, status): dynamic apply
// keeps what nobody applied, and writing them would be rejected as immutable or churn node ports.

export const ADAPTER_TYPE_LABEL = 'dittofs.io/adapter-type'
export const ADAPTER_SERVICE_LABEL = 'dittofs.io/adapter-service'
/** The adapter's type as DittoFS names it (labels hold a sanitised form): per-type overrides are looked up by it. */
export const ADAPTER_TYPE_ANNOTATION = 'dittofs.io/adapter-type-name'
/** On the UDP Service of an adapter (see separateUdp): the name of its adapter Service, whose policy covers it. */
export const UDP_COMPANION_LABEL = 'dittofs.io/udp-service-of'
/** Longer than any adapter type discovery accepts. */
const MAX_TYPE_LENGTH = 253
const MAX_LABEL_VALUE = 63

/** What the Service and the NetworkPolicy of one adapter share. */
export interface AdapterIdentity {
  /** The adapter's real type, when known (a Service made by an older hook has only the label). */
  type?: string
  /** Child name of both the Service and the adapter NetworkPolicy. */
  name: string
  /** Value of `dittofs.io/adapter-type`: the slug, kept a valid label value. */
  typeLabel: string
  portName: string
  port: number
}

export const adapterTypeLabel = (type: string): string => fitName(adapterSlug(type), MAX_LABEL_VALUE)

export const adapterIdentity = (parent: string, type: string, port: number): AdapterIdentity => ({
  type,
  name: adapterChildName(parent, type),
  typeLabel: adapterTypeLabel(type),
  portName: adapterPortName(type),
  port,
})

/**
 * Whether the adapter's UDP ports need a Service of their own: when `splitProtocols` asks for it (a cloud without
 * mixed-protocol load balancers), and always when a UDP port has the number of a TCP port of the adapter Service
 * (portmapper 111, NFS over UDP): Metacontroller's default dynamic apply merges Service ports as a map keyed by
 * `port` (pkg/dynamic/apply/apply.go, knownMergeKeys), so 111/TCP and 111/UDP in one Service would collapse
 * into one entry on the first update, and the NFS TCP port with it.
 */
export function separateUdp(id: AdapterIdentity, tuning: ServiceTuning, listeners: ServicePort[]): boolean {
  const udp = listeners.filter((p) => p.protocol === 'UDP')
  if (udp.length === 0) return false
  if (tuning.splitProtocols) return true
  const tcpNumbers = new Set([id.port, ...listeners.filter((p) => p.protocol !== 'UDP').map((p) => p.port)])
  return udp.some((p) => tcpNumbers.has(p.port))
}

/**
 * The adapter's Service: its own TCP port first (observedAdapterIdentity reads it back), then the listener ports,
 * less the UDP ones when they go to buildUdpCompanion. Adding or removing a listener port updates the Service in
 * place (same name), never the pod.
 */
export function buildAdapterService(
  parent: string,
  id: AdapterIdentity,
  tuning: ServiceTuning,
  listeners: ServicePort[] = [],
): KubeObject {
  const kept = separateUdp(id, tuning, listeners) ? listeners.filter((p) => p.protocol !== 'UDP') : listeners
  return service(parent, id.name, id, tuning, [tcpPort(id.portName, id.port), ...kept], {})
}

/** `<adapter Service>-udp` with the UDP listener ports when they are separate (separateUdp), else undefined. */
export function buildUdpCompanion(
  parent: string,
  id: AdapterIdentity,
  tuning: ServiceTuning,
  listeners: ServicePort[],
): KubeObject | undefined {
  if (!separateUdp(id, tuning, listeners)) return undefined
  const udp = listeners.filter((p) => p.protocol === 'UDP')
  return service(parent, udpCompanionName(id.name), id, tuning, udp, { [UDP_COMPANION_LABEL]: id.name })
}

export const udpCompanionName = (serviceName: string): string => fitName(`${serviceName}-udp`, 63)

function service(
  parent: string,
  name: string,
  id: AdapterIdentity,
  tuning: ServiceTuning,
  ports: ServicePort[],
  extraLabels: Record<string, string>,
): KubeObject {
  const loadBalancer = tuning.type === 'LoadBalancer'
  // The API server rejects load-balancer settings on a ClusterIP or NodePort Service; the rest still applies.
  const annotations = serviceAnnotations(tuning.type, tuning.annotations)
  const ranges = loadBalancer ? (tuning.loadBalancerSourceRanges ?? []) : []
  const trafficPolicy = tuning.type === 'ClusterIP' ? undefined : tuning.externalTrafficPolicy
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: {
      name,
      labels: Object.assign(
        childLabels(parent),
        { [ADAPTER_TYPE_LABEL]: id.typeLabel, [ADAPTER_SERVICE_LABEL]: 'true' },
        extraLabels,
      ),
      annotations: Object.assign(
        annotations,
        id.type === undefined ? {} : { [ADAPTER_TYPE_ANNOTATION]: id.type },
      ),
    },
    spec: {
      type: tuning.type,
      selector: podLabels(parent),
      ports,
      ...(ranges.length > 0 ? { loadBalancerSourceRanges: [...ranges] } : {}),
      ...(trafficPolicy ? { externalTrafficPolicy: trafficPolicy } : {}),
    },
  }
}

// Observed objects come from the cluster: read them defensively, field by field.

const loose = asObject

export const isAdapterService = (service: KubeObject): boolean =>
  service.metadata?.labels?.[ADAPTER_SERVICE_LABEL] === 'true'

/**
 * An adapter Service of `parent`: labelled as one, and not one of the infrastructure's own names, whatever its
 * labels say (someone may label `<n>-api` by hand; it must never become an adapter Service or a second child).
 */
export const isParentAdapterService = (parent: string, service: KubeObject): boolean =>
  isAdapterService(service) && !Object.values(childNames(parent)).includes(service.metadata.name)

export const isUdpCompanion = (service: KubeObject): boolean =>
  typeof service.metadata?.labels?.[UDP_COMPANION_LABEL] === 'string'

/** An adapter Service of `parent` that stands for an adapter (its name is the adapter's child name), not a UDP one. */
export const isParentMainAdapterService = (parent: string, service: KubeObject): boolean =>
  isParentAdapterService(parent, service) && !isUdpCompanion(service)

export const isTerminating = (object: KubeObject): boolean =>
  typeof object.metadata?.deletionTimestamp === 'string'

export const isValidPort = (value: unknown): value is number =>
  typeof value === 'number' && Number.isInteger(value) && value >= 1 && value <= 65535

/** The real adapter type an observed Service records, if it is one that names this very Service. */
function recordedType(parent: string, service: KubeObject): string | undefined {
  const type: unknown = service.metadata.annotations?.[ADAPTER_TYPE_ANNOTATION]
  if (typeof type !== 'string' || type === '' || type.length > MAX_TYPE_LENGTH) return undefined
  return adapterChildName(parent, type) === service.metadata.name ? type : undefined
}

/**
 * The identity of an observed adapter Service (its own name, recorded type or label, first port), if it has a
 * usable port. With the recorded type, a Service rebuilt from observation keeps its per-type override.
 */
export function observedAdapterIdentity(parent: string, service: KubeObject): AdapterIdentity | undefined {
  const ports = loose(service.spec).ports
  const port = Array.isArray(ports) ? loose(ports[0]).port : undefined
  if (!isValidPort(port)) return undefined
  const type = recordedType(parent, service)
  if (type !== undefined) return { ...adapterIdentity(parent, type, port), name: service.metadata.name }
  const label: unknown = service.metadata.labels?.[ADAPTER_TYPE_LABEL]
  // Names and port names are derived from it: anything but a non-empty string is unknown.
  const typeLabel = typeof label === 'string' && label !== '' ? label : 'unknown'
  return { name: service.metadata.name, typeLabel, portName: adapterPortName(typeLabel), port }
}

/** `host:port`, with brackets around an IPv6 address. */
const joinHostPort = (host: string, port: number): string =>
  host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`

/** The addresses the cloud assigned (`status.loadBalancer.ingress`), sorted so a reordering is no change. */
export function loadBalancerEndpoints(service: KubeObject | undefined, port: number): string[] {
  const ingress = loose(loose(loose(service?.status).loadBalancer)).ingress
  if (!Array.isArray(ingress)) return []
  const hosts = new Set<string>()
  for (const item of ingress) {
    const { ip, hostname } = loose(item)
    const host = typeof ip === 'string' && ip !== '' ? ip : typeof hostname === 'string' ? hostname : ''
    if (host !== '') hosts.add(joinHostPort(host, port))
  }
  return [...hosts].sort()
}
