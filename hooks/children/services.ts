import type { DittoServerSpec } from '../dittoserver/spec.js'
import type { KubeObject } from '../metacontroller/types.js'
import { childLabels, childNames, podLabels, userAnnotations } from './naming.js'

// The static Services. Never `clusterIP` (except `None` on the headless one, set from creation), never
// `nodePort`: the API server assigns them, dynamic apply keeps what nobody applied, and setting them would
// either be rejected as immutable or churn NodePorts.

export const METRICS_SERVICE_LABEL = 'dittofs.io/metrics-service'

export const tcpPort = (name: string, port: number) => ({
  name,
  port,
  targetPort: port,
  protocol: 'TCP' as const,
})

/** Forbidden by the API server on anything but a LoadBalancer, like `spec.loadBalancerSourceRanges`. */
export const SOURCE_RANGES_ANNOTATION = 'service.beta.kubernetes.io/load-balancer-source-ranges'

/** The user's annotations for a Service of `type`: a load-balancer-only one is dropped from other types. */
export function serviceAnnotations(
  type: string,
  annotations: Record<string, string>,
): Record<string, string> {
  const kept = userAnnotations(annotations)
  if (type !== 'LoadBalancer') delete kept[SOURCE_RANGES_ANNOTATION]
  return kept
}

const service = (
  name: string,
  parent: string,
  spec: Record<string, unknown>,
  extra: { labels?: Record<string, string>; annotations?: Record<string, string> } = {},
): KubeObject => ({
  apiVersion: 'v1',
  kind: 'Service',
  metadata: {
    name,
    labels: Object.assign(childLabels(parent), extra.labels),
    ...(extra.annotations && Object.keys(extra.annotations).length > 0
      ? { annotations: extra.annotations }
      : {}),
  },
  spec: Object.assign({}, spec, { selector: podLabels(parent) }),
})

export function buildStaticServices(parent: string, spec: DittoServerSpec): KubeObject[] {
  const names = childNames(parent)
  const services = [
    // The StatefulSet's governing Service; publishes the pod before it is ready so it has DNS while starting.
    service(names.headlessService, parent, {
      clusterIP: 'None',
      publishNotReadyAddresses: true,
      ports: [tcpPort('api', spec.apiPort)],
    }),
    service(
      names.apiService,
      parent,
      { type: spec.apiService.type, ports: [tcpPort('api', spec.apiPort)] },
      { annotations: serviceAnnotations(spec.apiService.type, spec.apiService.annotations) },
    ),
  ]
  if (spec.metrics.enabled) {
    services.push(
      service(
        names.metricsService,
        parent,
        { type: 'ClusterIP', ports: [tcpPort('metrics', spec.metrics.port)] },
        {
          labels: { [METRICS_SERVICE_LABEL]: 'true' },
          annotations: {
            'prometheus.io/scrape': 'true',
            'prometheus.io/port': String(spec.metrics.port),
            'prometheus.io/path': spec.metrics.path,
          },
        },
      ),
    )
  }
  return services
}
