import { parentNameProblem } from '../children/naming.js'
import { parseSpec, type SpecPolicy, type SpecResult } from '../dittoserver/spec.js'
import { isObject } from '../loose.js'
import { hasGroup, objectsOf } from '../metacontroller/object-map.js'
import type { KubeObject, SyncRequest } from '../metacontroller/types.js'

// Step 1 of a sync: index what Metacontroller observed, by kind and bare name, and read the parent's spec.

export interface Observed {
  request: SyncRequest
  name: string
  namespace: string
  uid: string
  generation: number | undefined
  deletionTimestamp: string | undefined
  spec: SpecResult
  /** The parent's current status (user-writable: read defensively). */
  status: Record<string, unknown>
  configMaps: Map<string, KubeObject>
  secrets: Map<string, KubeObject>
  services: Map<string, KubeObject>
  statefulSets: Map<string, KubeObject>
  policies: Map<string, KubeObject>
  perconaClusters: Map<string, KubeObject>
  /** Related Secrets by name; undefined when the request has no Secret group (customize asked for none). */
  relatedSecrets: Map<string, KubeObject> | undefined
}

export function observe(request: SyncRequest, policy?: SpecPolicy): Observed {
  const meta = request.parent.metadata
  const namespace = meta.namespace ?? ''
  const children = request.children
  let spec = parseSpec(request.parent.spec, policy)
  // A name the API server stored but no child could carry: reported (a 4xx would be invisible to the user).
  const nameProblem = parentNameProblem(meta.name)
  if (nameProblem !== undefined) {
    const badName = { field: 'metadata.name', message: nameProblem }
    spec = { ok: false, errors: [badName, ...(spec.ok ? [] : spec.errors)] }
  }
  return {
    request,
    name: meta.name,
    namespace,
    uid: meta.uid ?? '',
    generation: typeof meta.generation === 'number' ? meta.generation : undefined,
    deletionTimestamp: typeof meta.deletionTimestamp === 'string' ? meta.deletionTimestamp : undefined,
    spec,
    status: isObject(request.parent.status) ? request.parent.status : {},
    configMaps: objectsOf(children, 'ConfigMap', 'v1', namespace),
    secrets: objectsOf(children, 'Secret', 'v1', namespace),
    services: objectsOf(children, 'Service', 'v1', namespace),
    statefulSets: objectsOf(children, 'StatefulSet', 'apps/v1', namespace),
    policies: objectsOf(children, 'NetworkPolicy', 'networking.k8s.io/v1', namespace),
    perconaClusters: objectsOf(children, 'PerconaPGCluster', 'pgv2.percona.com/v2', namespace),
    relatedSecrets: hasGroup(request.related, 'Secret', 'v1')
      ? objectsOf(request.related, 'Secret', 'v1', namespace)
      : undefined,
  }
}

/** `status.readyReplicas` etc. of an observed StatefulSet, 0 when absent or malformed. */
export function statefulSetCounts(statefulSet: KubeObject | undefined) {
  const status = isObject(statefulSet?.status) ? statefulSet.status : {}
  const count = (key: string) => (typeof status[key] === 'number' ? (status[key] as number) : 0)
  return {
    replicas: count('replicas'),
    readyReplicas: count('readyReplicas'),
    availableReplicas: count('availableReplicas'),
    observedGeneration: typeof status.observedGeneration === 'number' ? status.observedGeneration : undefined,
    currentRevision: typeof status.currentRevision === 'string' ? status.currentRevision : undefined,
    updateRevision: typeof status.updateRevision === 'string' ? status.updateRevision : undefined,
  }
}
