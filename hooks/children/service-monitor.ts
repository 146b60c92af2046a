import type { DittoServerSpec } from '../dittoserver/spec.js'
import type { KubeObject } from '../metacontroller/types.js'
import { childLabels, childNames } from './naming.js'
import { METRICS_SERVICE_LABEL } from './services.js'

// The prometheus-operator ServiceMonitor for the metrics Service. An optional child kind: the CompositeController
// lists it only when installed with that option (a cluster without the CRD would otherwise break every sync).

export const SERVICE_MONITOR_API_VERSION = 'monitoring.coreos.com/v1'

export const wantsServiceMonitor = (spec: DittoServerSpec): boolean =>
  spec.metrics.enabled && spec.metrics.serviceMonitor.enabled

export function buildServiceMonitor(parent: string, namespace: string, spec: DittoServerSpec): KubeObject {
  const names = childNames(parent)
  const endpoint: Record<string, unknown> = { port: 'metrics', path: spec.metrics.path }
  if (spec.metrics.serviceMonitor.interval) endpoint.interval = spec.metrics.serviceMonitor.interval
  // Prometheus presents the token the server requires. `authorization` (type Bearer by default) rather than
  // upstream's `bearerTokenSecret`, which the prometheus-operator deprecates in its favour.
  if (spec.metrics.bearerTokenSecret)
    endpoint.authorization = { type: 'Bearer', credentials: { ...spec.metrics.bearerTokenSecret } }
  return {
    apiVersion: SERVICE_MONITOR_API_VERSION,
    kind: 'ServiceMonitor',
    metadata: {
      name: names.metricsService,
      // User labels first, ours over them: a user label cannot change what the hook relies on.
      labels: Object.assign({}, spec.metrics.serviceMonitor.labels, childLabels(parent)),
    },
    spec: {
      selector: { matchLabels: Object.assign(childLabels(parent), { [METRICS_SERVICE_LABEL]: 'true' }) },
      namespaceSelector: { matchNames: [namespace] },
      endpoints: [endpoint],
    },
  }
}
