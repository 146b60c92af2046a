import type { DittoServerSpec } from '../dittoserver/spec.js'
import type { KubeObject } from '../metacontroller/types.js'
import { ADAPTER_TYPE_LABEL, type AdapterIdentity } from './adapter-services.js'
import type { Protocol, ServicePort } from './listener-ports.js'
import { childLabels, childNames, podLabels } from './naming.js'

// Ingress-only NetworkPolicies for the DittoFS pod: a baseline one for the API (and metrics) port and one per
// adapter Service. Once any policy selects the pod, every port no policy allows is closed, so an adapter port
// opens only together with its own policy (its listener ports included: the pod's ports, TCP and UDP). Egress is
// never restricted. Written in the stored form (explicit `protocol`, explicit `policyTypes`) so an unchanged
// policy is never updated.

export const BASELINE_POLICY_LABEL = 'dittofs.io/baseline-networkpolicy'
export const ADAPTER_POLICY_LABEL = 'dittofs.io/adapter-networkpolicy'

type Peer = Record<string, unknown>
interface PodPort {
  protocol: Protocol
  port: number
}

const tcp = (port: number): PodPort => ({ protocol: 'TCP', port })

const rule = (ports: PodPort[], from: Peer[]) => ({
  ports: ports.map(({ protocol, port }) => ({ protocol, port })),
  // No `from` allows any source; a copy, so the spec is never shared with the response.
  ...(from.length > 0 ? { from: structuredClone(from) } : {}),
})

const ingressPolicy = (
  name: string,
  parent: string,
  labels: Record<string, string>,
  rules: Array<ReturnType<typeof rule>>,
): KubeObject => ({
  apiVersion: 'networking.k8s.io/v1',
  kind: 'NetworkPolicy',
  metadata: { name, labels: Object.assign(childLabels(parent), labels) },
  spec: {
    podSelector: { matchLabels: podLabels(parent) },
    policyTypes: ['Ingress'],
    ingress: rules,
  },
})

/**
 * The API (and metrics) port. When `from` restricts sources, the hook pods get a rule of their own on the API
 * port: discovery must keep working whatever peers the user lists.
 */
export function buildBaselinePolicy(parent: string, spec: DittoServerSpec, hookPeer?: Peer): KubeObject {
  const ports = spec.metrics.enabled ? [tcp(spec.apiPort), tcp(spec.metrics.port)] : [tcp(spec.apiPort)]
  const { from } = spec.networkPolicy
  const rules = [rule(ports, from)]
  if (from.length > 0 && hookPeer) rules.push(rule([tcp(spec.apiPort)], [hookPeer]))
  return ingressPolicy(childNames(parent).baselinePolicy, parent, { [BASELINE_POLICY_LABEL]: 'true' }, rules)
}

/**
 * The adapter's port and the pod side (`targetPort`) of each listener port, once each: one rule per protocol, so
 * that no port list holds one number twice (Metacontroller's dynamic apply merges such lists keyed by `port`,
 * which would collapse 12049/TCP and 12049/UDP into one entry; see separateUdp).
 */
export function buildAdapterPolicy(
  parent: string,
  spec: DittoServerSpec,
  id: AdapterIdentity,
  listeners: ServicePort[] = [],
): KubeObject {
  const byProtocol = new Map<Protocol, number[]>([['TCP', [id.port]]])
  for (const { protocol, targetPort } of listeners) {
    const numbers = byProtocol.get(protocol) ?? []
    if (!numbers.includes(targetPort)) byProtocol.set(protocol, [...numbers, targetPort])
  }
  const rules = [...byProtocol].map(([protocol, numbers]) =>
    rule(
      numbers.map((port) => ({ protocol, port })),
      spec.networkPolicy.from,
    ),
  )
  return ingressPolicy(
    id.name,
    parent,
    { [ADAPTER_TYPE_LABEL]: id.typeLabel, [ADAPTER_POLICY_LABEL]: 'true' },
    rules,
  )
}
