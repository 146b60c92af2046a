import type { ServiceTuning } from '../dittoserver/spec.js'
import { asObject } from '../loose.js'
import type { KubeObject } from '../metacontroller/types.js'
import {
  adapterChildName,
  adapterPortName,
  adapterSlug,
  childLabels,
  fitName,
  podLabels,
  userAnnotations,
} from './naming.js'
import { tcpPort } from './services.js'

// One Service per adapter, named `<parent>-adapter-<slug>`. Written the way the API server stores it (explicit
// `protocol`, `targetPort` as a number, no empty lists or maps), so an unchanged Service is never updated, and
// without anything the server assigns (`clusterIP`, `nodePort`, `healthCheckNodePort`, status): dynamic apply
// keeps what nobody applied, and writing them would be rejected as immutable or churn node ports.

export const ADAPTER_TYPE_LABEL = 'dittofs.io/adapter-type'
export const ADAPTER_SERVICE_LABEL = 'dittofs.io/adapter-service'
/** Forbidden by the API server on anything but a LoadBalancer, like `spec.loadBalancerSourceRanges`. */
const SOURCE_RANGES_ANNOTATION = 'service.beta.kubernetes.io/load-balancer-source-ranges'
const MAX_LABEL_VALUE = 63

/** What the Service and the NetworkPolicy of one adapter share. */
export interface AdapterIdentity {
  /** Child name of both the Service and the adapter NetworkPolicy. */
  name: string
  /** Value of `dittofs.io/adapter-type`: the slug, kept a valid label value. */
  typeLabel: string
  portName: string
  port: number
}

export const adapterTypeLabel = (type: string): string => fitName(adapterSlug(type), MAX_LABEL_VALUE)

export const adapterIdentity = (parent: string, type: string, port: number): AdapterIdentity => ({
  name: adapterChildName(parent, type),
  typeLabel: adapterTypeLabel(type),
  portName: adapterPortName(type),
  port,
})

export function buildAdapterService(parent: string, id: AdapterIdentity, tuning: ServiceTuning): KubeObject {
  const loadBalancer = tuning.type === 'LoadBalancer'
  const annotations = userAnnotations(tuning.annotations)
  // The API server rejects these on a ClusterIP or NodePort Service; the rest of the spec still applies.
  if (!loadBalancer) delete annotations[SOURCE_RANGES_ANNOTATION]
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
      ...(Object.keys(annotations).length > 0 ? { annotations } : {}),
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

export const isTerminating = (object: KubeObject): boolean =>
  typeof object.metadata?.deletionTimestamp === 'string'

export const isValidPort = (value: unknown): value is number =>
  typeof value === 'number' && Number.isInteger(value) && value >= 1 && value <= 65535

/** The identity of an observed adapter Service (its own name, label and first port), if it has a usable port. */
export function observedAdapterIdentity(service: KubeObject): AdapterIdentity | undefined {
  const ports = loose(service.spec).ports
  const port = Array.isArray(ports) ? loose(ports[0]).port : undefined
  if (!isValidPort(port)) return undefined
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
