import type { ApiAdapter } from './discovery/types.js'
import { groupKey } from './metacontroller/object-map.js'
import {
  type KubeObject,
  LAST_APPLIED_ANNOTATION,
  type ObjectMap,
  type SyncResponse,
} from './metacontroller/types.js'
import { describeErrors } from './reconcile/invalid.js'
import { observe } from './reconcile/observe.js'
import type { DiscoveryInput } from './reconcile/status.js'
import { buildResponse, secretsFor } from './reconcile/sync.js'

// `render`: the children the hook would converge to for a DittoServer (and optionally a given adapter list), for
// review and GitOps diffs. It replays a few syncs, feeding each answer back as observed (adapter Services wait for
// their NetworkPolicy one sync), like Metacontroller would, without a cluster.

export interface RenderOptions {
  adapters?: ApiAdapter[]
  secretKey: Buffer
  showSecrets?: boolean
  now?: number
  /** As the hook's ALLOW_LOOSER_SECURITY: render specs that loosen the restricted security profile. */
  allowLooserSecurity?: boolean
}

export class RenderError extends Error {
  override name = 'RenderError'
}

const CHILD_GROUPS = [
  'ConfigMap.v1',
  'Secret.v1',
  'Service.v1',
  'StatefulSet.apps/v1',
  'NetworkPolicy.networking.k8s.io/v1',
]

function asObserved(children: KubeObject[], namespace: string, uid: string): ObjectMap {
  const map: ObjectMap = Object.fromEntries(CHILD_GROUPS.map((g) => [g, {}]))
  for (const child of children) {
    const applied = {
      ...child,
      metadata: { ...child.metadata, namespace, labels: { ...child.metadata.labels, 'controller-uid': uid } },
    }
    const group = groupKey(child.kind, child.apiVersion)
    map[group] ??= {}
    ;(map[group] as Record<string, KubeObject>)[child.metadata.name] = {
      ...applied,
      metadata: {
        ...applied.metadata,
        annotations: { ...applied.metadata.annotations, [LAST_APPLIED_ANNOTATION]: JSON.stringify(applied) },
      },
    }
  }
  return map
}

const redact = (child: KubeObject): KubeObject =>
  child.kind === 'Secret' && child.data && typeof child.data === 'object'
    ? {
        ...child,
        data: Object.fromEntries(Object.keys(child.data).map((k) => [k, '<generated in the cluster>'])),
      }
    : child

/** The converged children (namespaced, labelled as Metacontroller would) and status for one DittoServer. */
export function renderDittoServer(parent: KubeObject, options: RenderOptions): SyncResponse {
  const namespace = parent.metadata.namespace || 'default'
  const uid = parent.metadata.uid || `render-${namespace}-${parent.metadata.name}`
  const now = options.now ?? Date.now()
  const discovery: DiscoveryInput = options.adapters
    ? {
        kind: 'polled',
        apiUrl: 'render',
        outcome: { ok: true, adapters: options.adapters, rejected: [] },
        nextPollAt: now,
      }
    : { kind: 'carried', nextPollAt: now }
  let children: ObjectMap = Object.fromEntries(CHILD_GROUPS.map((g) => [g, {}]))
  let status: unknown
  let response: SyncResponse | undefined
  let previous = ''
  for (let round = 0; round < 5; round++) {
    const request = {
      controller: {},
      parent: { ...parent, metadata: { ...parent.metadata, namespace, uid }, ...(status ? { status } : {}) },
      children,
      related: {},
      finalizing: false,
    }
    const observed = observe(request, { allowLooserSecurity: options.allowLooserSecurity === true })
    if (!observed.spec.ok) throw new RenderError(describeErrors(observed.spec.errors))
    const spec = observed.spec.spec
    response = buildResponse({
      observed,
      spec,
      secrets: secretsFor(observed, spec, options.secretKey),
      discovery,
      now,
    })
    const names = JSON.stringify(response.children.map((c) => `${c.kind}/${c.metadata.name}`))
    if (names === previous) break
    previous = names
    children = asObserved(response.children, namespace, uid)
    status = response.status
  }
  const final = response as SyncResponse
  return {
    ...final,
    children: final.children.map((child) => {
      const placed = { ...child, metadata: { ...child.metadata, namespace } }
      return options.showSecrets ? placed : redact(placed)
    }),
  }
}
