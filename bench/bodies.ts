import type { FastifyInstance } from 'fastify'
import { buildApp } from '../hooks/app.js'
import type { KubeObject, ObjectMap, SyncRequest, SyncResponse } from '../hooks/metacontroller/types.js'
import { loadSettings } from '../hooks/settings.js'
import { applyServerDefaults } from '../test/sim/defaults.js'
import type { KubeObject as SimObject } from '../test/sim/types.js'
import { emptyChildren, LAST_APPLIED, parent, syncRequest } from '../test/support/requests.js'

// Realistic sync requests, made by the hook itself: the in-process app syncs a DittoServer against a DittoFS
// emulator until nothing changes any more, and every child it returns is fed back in the form the API server
// stores it (server defaults, uid, resourceVersion, owner reference, Metacontroller's last-applied annotation,
// metadata.managedFields, controller status: ready StatefulSet, load-balancer ingress). The last request is the
// steady state: the hook's answer repeats its status.

export const BENCH_SECRET_KEY = 'bench-secret-key-0123456789abcdef-not-for-production'
export const CREATED_AT = '2026-01-01T00:00:05Z'

export interface ParentIdentity {
  name: string
  namespace: string
  uid: string
}

/** A distinct, valid parent per index: names and uids of the same length, so renamed bodies keep their size. */
export function benchParent(index: number): ParentIdentity {
  const n = String(index).padStart(6, '0')
  return { name: `ditto-${n}`, namespace: 'storage', uid: `b3c4d5e6-0000-4000-8000-${n.padStart(12, '0')}` }
}

/** A production-like spec: the API on the emulator's port, metrics on, adapter Services with annotations. */
export function benchSpec(apiPort: number, pollingInterval: string) {
  return {
    image: 'marmos91c/dittofs:0.29.1',
    replicas: 1,
    storage: {
      metadataSize: '20Gi',
      contentSize: '200Gi',
      controlPlaneSize: '2Gi',
      storageClassName: 'fast-ssd',
    },
    controlPlane: { port: apiPort },
    metrics: { enabled: true, port: 9090 },
    service: { type: 'ClusterIP', annotations: { 'example.com/owner': 'storage-team' } },
    adapterDiscovery: { pollingInterval },
    adapterServices: {
      type: 'LoadBalancer',
      annotations: { 'service.beta.kubernetes.io/aws-load-balancer-type': 'nlb' },
      loadBalancerSourceRanges: ['10.0.0.0/8'],
      externalTrafficPolicy: 'Cluster',
      overrides: {
        nfs: { annotations: { 'service.beta.kubernetes.io/aws-load-balancer-internal': 'true' } },
      },
    },
    resources: { requests: { cpu: '500m', memory: '1Gi' }, limits: { cpu: '2', memory: '4Gi' } },
    securityContext: { allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] } },
    podSecurityContext: { runAsNonRoot: true, fsGroup: 65532, seccompProfile: { type: 'RuntimeDefault' } },
  }
}

/** An in-process hook app that builds bodies (silent; its DittoFS API is the emulator on the spec's port). */
export function builderApp(now?: () => number, logger?: object | false): FastifyInstance {
  const settings = loadSettings({
    HOOKS_SECRET_KEY: BENCH_SECRET_KEY,
    LOG_LEVEL: 'silent',
    DITTOFS_API_URL_TEMPLATE: 'http://127.0.0.1:{port}',
    DITTOFS_API_TIMEOUT_MS: '2000',
  })
  return buildApp(settings, { ...(now ? { now } : {}), logger: logger ?? false })
}

export async function inject(app: FastifyInstance, payload: string) {
  const res = await app.inject({
    method: 'POST',
    url: '/sync',
    headers: { 'content-type': 'application/json' },
    payload,
  })
  return { status: res.statusCode, json: () => res.json() as SyncResponse }
}

export interface SteadyBody {
  identity: ParentIdentity
  request: SyncRequest
  json: string
  bytes: number
  /** Children in the hook's answer to this request, and how many of them are adapter Services. */
  children: number
  adapterServices: number
  /** The hook's answer repeats the request's status (nothing left to converge). */
  steady: boolean
}

export async function steadyBody(
  app: FastifyInstance,
  identity: ParentIdentity,
  spec: object,
): Promise<SteadyBody> {
  const cluster = new StoredChildren(identity)
  let children: ObjectMap = emptyChildren()
  let status: unknown
  let previous = ''
  for (let round = 1; round <= 8; round++) {
    const request = syncRequest(storedParent(identity, spec, status), { children })
    const json = JSON.stringify(request)
    const res = await inject(app, json)
    if (res.status !== 200) throw new Error(`building the bench body: sync answered ${res.status}`)
    const body = res.json()
    const answer = JSON.stringify({ status: body.status, children: body.children })
    const steady = JSON.stringify(body.status) === JSON.stringify(status) && answer === previous
    if (steady || round === 8) {
      const adapterServices = body.children.filter(
        (c) => c.metadata.labels?.['dittofs.io/adapter-service'] === 'true',
      ).length
      const bytes = Buffer.byteLength(json)
      return { identity, request, json, bytes, children: body.children.length, adapterServices, steady }
    }
    previous = answer
    status = body.status
    children = cluster.observe(body.children)
  }
  throw new Error('unreachable')
}

/** The body of another parent: every name and uid replaced (same lengths, so the same size). */
export function renamed(json: string, from: ParentIdentity, to: ParentIdentity): string {
  return json.replaceAll(from.uid, to.uid).replaceAll(from.name, to.name)
}

function storedParent(identity: ParentIdentity, spec: object, status: unknown): KubeObject {
  const manifest = {
    apiVersion: 'dittofs.dittofs.com/v1alpha1',
    kind: 'DittoServer',
    metadata: { name: identity.name, namespace: identity.namespace },
    spec,
  }
  const p = parent(spec, { name: identity.name, namespace: identity.namespace, uid: identity.uid }, status)
  p.metadata.labels = { 'app.kubernetes.io/part-of': 'storage', team: 'storage' }
  p.metadata.annotations = { 'kubectl.kubernetes.io/last-applied-configuration': JSON.stringify(manifest) }
  p.metadata.managedFields = [
    managedEntry('kubectl-client-side-apply', 'dittofs.dittofs.com/v1alpha1', {
      metadata: { annotations: p.metadata.annotations, labels: p.metadata.labels },
      spec,
    }),
    managedEntry('metacontroller', 'dittofs.dittofs.com/v1alpha1', {
      metadata: { finalizers: p.metadata.finalizers },
    }),
    ...(status === undefined
      ? []
      : [managedEntry('metacontroller', 'dittofs.dittofs.com/v1alpha1', { status }, 'status')]),
  ]
  return p
}

const isObject = (v: unknown): v is Record<string, unknown> =>
  !!v && typeof v === 'object' && !Array.isArray(v)

/** `metadata.managedFields[]` entry as the API server records an Update (FieldsV1 set of the written fields). */
function managedEntry(manager: string, apiVersion: string, written: unknown, subresource?: string) {
  return {
    manager,
    operation: 'Update',
    apiVersion,
    time: CREATED_AT,
    fieldsType: 'FieldsV1',
    fieldsV1: fieldSet(written),
    ...(subresource ? { subresource } : {}),
  }
}

function fieldSet(value: unknown): Record<string, unknown> {
  const out: Record<string, unknown> = {}
  if (Array.isArray(value)) {
    value.forEach((item, index) => {
      out[listKey(item, index)] = isObject(item) ? { '.': {}, ...fieldSet(item) } : {}
    })
  } else if (isObject(value)) {
    for (const [key, child] of Object.entries(value)) {
      out[`f:${key}`] = isObject(child)
        ? { '.': {}, ...fieldSet(child) }
        : Array.isArray(child)
          ? fieldSet(child)
          : {}
    }
  }
  return out
}

function listKey(item: unknown, index: number): string {
  if (!isObject(item)) return `v:${JSON.stringify(item)}`
  if (typeof item.name === 'string') return `k:${JSON.stringify({ name: item.name })}`
  if (typeof item.port === 'number')
    return `k:${JSON.stringify({ port: item.port, protocol: item.protocol ?? 'TCP' })}`
  if (typeof item.containerPort === 'number')
    return `k:${JSON.stringify({ containerPort: item.containerPort, protocol: item.protocol ?? 'TCP' })}`
  return `i:${index}`
}

/** Plays the API server and the controllers for the children: what Metacontroller would observe next. */
class StoredChildren {
  readonly #identity: ParentIdentity
  /** Child key -> its index: uid, cluster IP, node ports and LB address stay the same across syncs. */
  readonly #indexes = new Map<string, number>()
  #resourceVersion = 4000

  constructor(identity: ParentIdentity) {
    this.#identity = identity
  }

  observe(desired: KubeObject[]): ObjectMap {
    const map = emptyChildren()
    for (const child of desired) {
      const group = `${child.kind}.${child.apiVersion}`
      map[group] ??= {}
      ;(map[group] as Record<string, KubeObject>)[child.metadata.name] = this.#stored(child)
    }
    return map
  }

  #stored(child: KubeObject): KubeObject {
    const { name: parentName, namespace, uid: parentUid } = this.#identity
    const key = `${child.kind}/${child.metadata.name}`
    const index = this.#indexes.get(key) ?? this.#indexes.size
    this.#indexes.set(key, index)
    const uid = `5e1f0000-0000-4000-9000-${String(index).padStart(12, '0')}`
    const labels = { ...child.metadata.labels, 'controller-uid': parentUid }
    const applied = { ...child, metadata: { ...child.metadata, namespace, labels } }
    const ownerReferences = [
      {
        apiVersion: 'dittofs.dittofs.com/v1alpha1',
        kind: 'DittoServer',
        name: parentName,
        uid: parentUid,
        controller: true,
        blockOwnerDeletion: true,
      },
    ]
    const annotations = { ...child.metadata.annotations, [LAST_APPLIED]: JSON.stringify(applied) }
    const { apiVersion, kind, metadata: _m, ...content } = structuredClone(applied)
    const stored: KubeObject = {
      apiVersion,
      kind,
      metadata: {
        ...structuredClone(applied.metadata),
        annotations,
        uid,
        resourceVersion: String(++this.#resourceVersion),
        creationTimestamp: CREATED_AT,
        ownerReferences,
        managedFields: [
          managedEntry('metacontroller', apiVersion, {
            metadata: { annotations, labels, ownerReferences },
            ...content,
          }),
        ],
      },
      ...content,
    }
    let nodePorts = 0
    applyServerDefaults(stored as SimObject, undefined, {
      clusterIP: () => `10.96.${index}.10`,
      nodePort: () => 30000 + index * 10 + nodePorts++,
    })
    const managed = stored.metadata.managedFields as object[]
    if (kind === 'StatefulSet') this.#ready(stored, managed)
    if (kind === 'Service') this.#loadBalanced(stored, managed, `203.0.113.${10 + index}`)
    return stored
  }

  /** The StatefulSet controller's view: one ready pod on the current revision. */
  #ready(sts: KubeObject, managed: object[]): void {
    sts.metadata.generation = 1
    sts.status = {
      observedGeneration: 1,
      replicas: 1,
      readyReplicas: 1,
      currentReplicas: 1,
      updatedReplicas: 1,
      availableReplicas: 1,
      currentRevision: `${sts.metadata.name}-7d9f8c6b5d`,
      updateRevision: `${sts.metadata.name}-7d9f8c6b5d`,
      collisionCount: 0,
    }
    managed.push(managedEntry('kube-controller-manager', 'apps/v1', { status: sts.status }, 'status'))
  }

  /** The cloud controller's view: a LoadBalancer Service has an address. */
  #loadBalanced(svc: KubeObject, managed: object[], address: string): void {
    const type = (svc.spec as { type?: string } | undefined)?.type
    if (type !== 'LoadBalancer') {
      svc.status = { loadBalancer: {} }
      return
    }
    svc.metadata.finalizers = ['service.kubernetes.io/load-balancer-cleanup']
    svc.status = { loadBalancer: { ingress: [{ ip: address, ipMode: 'VIP' }] } }
    managed.push(
      managedEntry('cloud-controller-manager', 'v1', { metadata: { finalizers: svc.metadata.finalizers } }),
      managedEntry('cloud-controller-manager', 'v1', { status: svc.status }, 'status'),
    )
  }
}
