import t from 'tap'
import { ADAPTER_TYPE_LABEL, adapterIdentity } from '../hooks/children/adapter-services.js'
import { childLabels, podLabels } from '../hooks/children/naming.js'
import {
  ADAPTER_POLICY_LABEL,
  BASELINE_POLICY_LABEL,
  buildAdapterPolicy,
  buildBaselinePolicy,
} from '../hooks/children/network-policies.js'
import { hookPeer } from '../hooks/settings.js'
import { makeSpec, PARENT, validateChild } from './adapters-helpers.js'

t.test('the baseline policy opens the API port to any source by default', async (t) => {
  const policy = buildBaselinePolicy(PARENT, makeSpec({ controlPlane: { port: 8081 } }))
  validateChild(policy)
  t.same(policy, {
    apiVersion: 'networking.k8s.io/v1',
    kind: 'NetworkPolicy',
    metadata: { name: 'files-baseline', labels: { ...childLabels(PARENT), [BASELINE_POLICY_LABEL]: 'true' } },
    spec: {
      podSelector: { matchLabels: podLabels(PARENT) },
      policyTypes: ['Ingress'],
      ingress: [{ ports: [{ protocol: 'TCP', port: 8081 }] }],
    },
  })
})

t.test('the baseline policy adds the metrics port when metrics are on', async (t) => {
  const policy = buildBaselinePolicy(PARENT, makeSpec({ metrics: { enabled: true, port: 9191 } }))
  validateChild(policy)
  t.same((policy.spec as { ingress: unknown }).ingress, [
    {
      ports: [
        { protocol: 'TCP', port: 8080 },
        { protocol: 'TCP', port: 9191 },
      ],
    },
  ])
})

t.test('networkPolicy.from restricts the sources of every policy, as a copy', async (t) => {
  const from = [
    { namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'clients' } } },
    { ipBlock: { cidr: '10.0.0.0/8', except: ['10.1.0.0/16'] } },
  ]
  const spec = makeSpec({ networkPolicy: { enabled: true, from } })
  const baseline = buildBaselinePolicy(PARENT, spec)
  const adapter = buildAdapterPolicy(PARENT, spec, adapterIdentity(PARENT, 'nfs', 12049))
  for (const policy of [baseline, adapter]) {
    validateChild(policy)
    const rule = (policy.spec as { ingress: Array<{ from: unknown }> }).ingress[0]
    t.same(rule?.from, from)
    t.not(rule?.from, spec.networkPolicy.from, 'not the spec object itself')
  }
})

t.test(
  'a restrictive from still lets the hook pods reach the API port (discovery keeps working)',
  async (t) => {
    const from = [{ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'clients' } } }]
    const spec = makeSpec({ networkPolicy: { enabled: true, from } })
    const peer = hookPeer('dittofs-hooks')
    const baseline = buildBaselinePolicy(PARENT, spec, peer)
    validateChild(baseline)
    t.same((baseline.spec as { ingress: unknown }).ingress, [
      { ports: [{ protocol: 'TCP', port: 8080 }], from },
      { ports: [{ protocol: 'TCP', port: 8080 }], from: [peer] },
    ])
    t.same(peer, {
      namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'dittofs-hooks' } },
      podSelector: { matchLabels: { 'app.kubernetes.io/name': 'dittofs-hooks' } },
    })
    t.same(hookPeer(undefined).namespaceSelector, {}, 'any namespace when the hook does not know its own')
    const open = buildBaselinePolicy(PARENT, makeSpec({ networkPolicy: { enabled: true } }), peer)
    t.equal(
      (open.spec as { ingress: unknown[] }).ingress.length,
      1,
      'no extra rule when every source is allowed',
    )
  },
)

t.test('an adapter policy opens exactly that adapter port and carries the adapter labels', async (t) => {
  const id = adapterIdentity(PARENT, 'NFS', 12049)
  const policy = buildAdapterPolicy(PARENT, makeSpec({ networkPolicy: { enabled: true } }), id)
  validateChild(policy)
  t.equal(policy.metadata.name, id.name, 'same name as the Service')
  t.same(policy.metadata.labels, {
    ...childLabels(PARENT),
    [ADAPTER_TYPE_LABEL]: id.typeLabel,
    [ADAPTER_POLICY_LABEL]: 'true',
  })
  t.same(policy.spec, {
    podSelector: { matchLabels: podLabels(PARENT) },
    policyTypes: ['Ingress'],
    ingress: [{ ports: [{ protocol: 'TCP', port: 12049 }] }],
  })
  t.notOk(JSON.stringify(policy).includes('egress'), 'egress is never restricted')
})
