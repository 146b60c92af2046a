import { SLOT_AIM_MS, slotStartAtOrBefore } from '../../hooks/discovery/schedule.js'
import type { KubeObject, ObjectMap, SyncRequest } from '../../hooks/metacontroller/types.js'

// Builders for Metacontroller-shaped hook requests, so each test states only what matters to it.

export const PARENT_UID = '6f1c2a3e-9b3d-4c8e-a1f7-2d5e8b9c0a13'
export const LAST_APPLIED = 'metacontroller.k8s.io/last-applied-configuration'

/**
 * Moves a virtual clock to the next poll slot (its start plus the aim) that a poll made until now does not cover:
 * the resync Metacontroller runs when the hook asked for its next poll.
 */
export function advanceToNextPoll(
  clock: { now(): number; advance(ms: number): void },
  intervalMs = 30_000,
  uid = PARENT_UID,
): void {
  const at = slotStartAtOrBefore(uid, intervalMs, clock.now() + 1.5 * intervalMs) + SLOT_AIM_MS
  clock.advance(at - clock.now())
}

export const CHILD_GROUPS = [
  'ConfigMap.v1',
  'Secret.v1',
  'Service.v1',
  'StatefulSet.apps/v1',
  'NetworkPolicy.networking.k8s.io/v1',
] as const

export function parent(
  spec: unknown,
  overrides: Partial<KubeObject['metadata']> = {},
  status?: unknown,
): KubeObject {
  return {
    apiVersion: 'dittofs.dittofs.com/v1alpha1',
    kind: 'DittoServer',
    metadata: {
      name: 'ditto',
      namespace: 'storage',
      uid: PARENT_UID,
      generation: 1,
      resourceVersion: '1000',
      creationTimestamp: '2026-01-01T00:00:00Z',
      finalizers: ['metacontroller.io/compositecontroller-dittofs-hooks'],
      ...overrides,
    },
    spec: spec as KubeObject['spec'],
    ...(status === undefined ? {} : { status }),
  }
}

export const minimalSpec = () => ({ storage: { metadataSize: '10Gi' } })

export const emptyChildren = (): ObjectMap => Object.fromEntries(CHILD_GROUPS.map((g) => [g, {}]))

export function syncRequest(
  p: KubeObject,
  options: { children?: ObjectMap; related?: ObjectMap; finalizing?: boolean; version?: 'v1' | 'v2' } = {},
): SyncRequest {
  return {
    controller: {
      apiVersion: 'metacontroller.k8s.io/v1alpha1',
      kind: 'CompositeController',
      metadata: { name: 'dittofs-hooks' },
      spec: { generateSelector: true },
    },
    parent: p,
    children: options.children ?? emptyChildren(),
    related: options.related ?? {},
    finalizing: options.finalizing ?? false,
  }
}

let counter = 0

/**
 * What Metacontroller would show next time for children a hook returned: the object as stored, with the
 * controller-uid label, the last-applied annotation, an owner reference, a uid and (for Services) a cluster IP.
 */
export function asObserved(
  desired: KubeObject[],
  options: { namespace?: string; version?: 'v1' | 'v2'; parentUid?: string } = {},
): ObjectMap {
  const namespace = options.namespace ?? 'storage'
  const uid = options.parentUid ?? PARENT_UID
  const map = emptyChildren()
  for (const child of desired) {
    const labels = { ...child.metadata.labels, 'controller-uid': uid }
    const applied = { ...child, metadata: { ...child.metadata, namespace, labels } }
    const stored: KubeObject = structuredClone({
      ...applied,
      metadata: {
        ...applied.metadata,
        uid: `child-${++counter}`,
        resourceVersion: String(2000 + counter),
        creationTimestamp: '2026-01-01T00:00:05Z',
        annotations: { ...child.metadata.annotations, [LAST_APPLIED]: JSON.stringify(applied) },
        ownerReferences: [
          {
            apiVersion: 'dittofs.dittofs.com/v1alpha1',
            kind: 'DittoServer',
            name: 'ditto',
            uid,
            controller: true,
          },
        ],
      },
    })
    if (stored.kind === 'Service') {
      const spec = stored.spec as Record<string, unknown>
      if (spec.clusterIP === undefined) spec.clusterIP = '10.96.0.10'
    }
    const group = `${child.kind}.${child.apiVersion}`
    map[group] ??= {}
    const key = options.version === 'v2' ? `${namespace}/${child.metadata.name}` : child.metadata.name
    ;(map[group] as Record<string, KubeObject>)[key] = stored
  }
  return map
}

/** Marks the observed StatefulSet ready (as its controller would). */
export function withReadyStatefulSet(children: ObjectMap, ready = 1): ObjectMap {
  const group = children['StatefulSet.apps/v1'] ?? {}
  for (const sts of Object.values(group)) {
    sts.metadata.generation = 1
    sts.status = {
      observedGeneration: 1,
      replicas: ready,
      readyReplicas: ready,
      availableReplicas: ready,
      currentRevision: 'ditto-1',
      updateRevision: 'ditto-1',
    }
  }
  return children
}

export const findChild = (children: KubeObject[], kind: string, name: string): KubeObject | undefined =>
  children.find((c) => c.kind === kind && c.metadata.name === name)

/** A condition of a status, by type (the status as the hook answered it). */
export const conditionOf = (status: unknown, type: string) =>
  (
    status as { conditions: Array<{ type: string; status: string; reason: string; message: string }> }
  ).conditions.find((c) => c.type === type)
