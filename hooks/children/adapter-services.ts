import type { ServiceTuning } from '../dittoserver/spec.js'
import { asObject } from '../loose.js'
import type { KubeObject } from '../metacontroller/types.js'
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

export function buildAdapterService(parent: string, id: AdapterIdentity, tuning: ServiceTuning): KubeObject {
  const loadBalancer = tuning.type === 'LoadBalancer'
  // The API server rejects load-balancer settings on a ClusterIP or NodePort Service; the rest still applies.
  const annotations = serviceAnnotations(tuning.type, tuning.annotations)
  const ranges = loadBalancer ? (tuning.loadBalancerSourceRanges ?? []) : []
  const trafficPolicy = tuning.type === 'ClusterIP' ? undefined : tuning.externalTrafficPolicy
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: {
      name: id.name,
      labels: Object.assign(childLabels(parent), {
        [ADAPTER_TYPE_LABEL]: id.typeLabel,
        [ADAPTER_SERVICE_LABEL]: 'true',
      }),
      annotations: Object.assign(
        annotations,
        id.type === undefined ? {} : { [ADAPTER_TYPE_ANNOTATION]: id.type },
      ),
    },
    spec: {
      type: tuning.type,
      selector: podLabels(parent),
      ports: [tcpPort(id.portName, id.port)],
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
