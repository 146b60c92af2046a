import type { DittoServerSpec } from '../dittoserver/spec.js'
import type { KubeObject } from '../metacontroller/types.js'
import { ADAPTER_TYPE_LABEL, type AdapterIdentity } from './adapter-services.js'
import { childLabels, childNames, podLabels } from './naming.js'

// Ingress-only NetworkPolicies for the DittoFS pod: a baseline one for the API (and metrics) port and one per
// adapter Service. Once any policy selects the pod, every port no policy allows is closed, so an adapter port
// opens only together with its own policy. Egress is never restricted. Written in the stored form (explicit
// `protocol: TCP`, explicit `policyTypes`) so an unchanged policy is never updated.

export const BASELINE_POLICY_LABEL = 'dittofs.io/baseline-networkpolicy'
export const ADAPTER_POLICY_LABEL = 'dittofs.io/adapter-networkpolicy'

type Peer = Record<string, unknown>

const rule = (ports: number[], from: Peer[]) => ({
  ports: ports.map((port) => ({ protocol: 'TCP', port })),
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
  const ports = spec.metrics.enabled ? [spec.apiPort, spec.metrics.port] : [spec.apiPort]
  const { from } = spec.networkPolicy
  const rules = [rule(ports, from)]
  if (from.length > 0 && hookPeer) rules.push(rule([spec.apiPort], [hookPeer]))
  return ingressPolicy(childNames(parent).baselinePolicy, parent, { [BASELINE_POLICY_LABEL]: 'true' }, rules)
}

export function buildAdapterPolicy(parent: string, spec: DittoServerSpec, id: AdapterIdentity): KubeObject {
  return ingressPolicy(
    id.name,
    parent,
    { [ADAPTER_TYPE_LABEL]: id.typeLabel, [ADAPTER_POLICY_LABEL]: 'true' },
    [rule([id.port], spec.networkPolicy.from)],
  )
}
