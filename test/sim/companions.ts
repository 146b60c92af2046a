/**
 * The controllers our children depend on, reduced to what a hook can observe:
 * - StatefulSetController: the pod becomes ready after a delay; a pod-template change restarts it.
 * - CloudController: a LoadBalancer Service gets an ingress address after a delay (or never), and its cleanup
 *   finalizer holds a deleted Service until the cloud load balancer is gone.
 * Both react to watch events on a zero-delay timer (never inside the event callback) and write status through
 * the /status subresource, as real controllers do; every write is a child update that triggers the parent.
 */

import { createHash } from 'node:crypto'
import type { VirtualClock } from './clock.js'
import type { Cluster, WatchEvent } from './cluster.js'
import { canonicalJson, deepEqual, field, isObject } from './json.js'
import { refOf } from './resources.js'
import type { JsonObject, KubeObject, ObjectRef } from './types.js'

function keyOf(obj: KubeObject): string {
  return `${obj.metadata.namespace ?? ''}/${obj.metadata.name}`
}

interface KindWatchOptions {
  cluster: Cluster
  clock: VirtualClock
  apiVersion: string
  kind: string
  /** Timer label prefix, e.g. `cloud-controller`. */
  label: string
  reconcile(ref: ObjectRef): void
  deleted(object: KubeObject): void
}

/** The watch both controllers share: a change schedules one reconcile per object on a zero-delay timer. */
class KindWatch {
  readonly #options: KindWatchOptions
  readonly #scheduled = new Set<string>()
  readonly #unwatch: () => void

  constructor(options: KindWatchOptions) {
    this.#options = options
    this.#unwatch = options.cluster.watch(({ type, object }: WatchEvent) => {
      if (object.apiVersion !== options.apiVersion || object.kind !== options.kind) return
      if (type === 'DELETED') options.deleted(object)
      else this.schedule(refOf(object))
    })
  }

  schedule(ref: ObjectRef): void {
    const key = `${ref.namespace ?? ''}/${ref.name}`
    if (this.#scheduled.has(key)) return
    this.#scheduled.add(key)
    this.#options.clock.setTimer(0, `${this.#options.label} ${key}`, () => {
      this.#scheduled.delete(key)
      this.#options.reconcile(ref)
    })
  }

  stop(): void {
    this.#unwatch()
  }
}

// --- StatefulSet -----------------------------------------------------------------------------------------------

export interface StatefulSetControllerOptions {
  cluster: Cluster
  clock?: VirtualClock
  /** Virtual ms from pod start (or restart) to ready. Default 5000. */
  readyDelayMs?: number
}

interface PodState {
  uid: string
  templateHash: string
  running: boolean
  ready: boolean
  /** Readiness forced off by `setPodReady(false)`. */
  heldUnready: boolean
  currentRevision: string | undefined
  readyTimer: number | undefined
}

/**
 * Plays the StatefulSet controller for StatefulSets with 0 or more replicas (all pods move together). Status
 * follows the API's JSON: `readyReplicas`, `currentReplicas` and `updatedReplicas` are omitted when zero.
 */
export class StatefulSetController {
  readonly cluster: Cluster
  readonly clock: VirtualClock
  readyDelayMs: number
  /** Pods started from zero replicas (first start or scale up). */
  podStarts = 0
  #restartsByKey = new Map<string, number>()
  #states = new Map<string, PodState>()
  #watch: KindWatch

  constructor(options: StatefulSetControllerOptions) {
    this.cluster = options.cluster
    this.clock = options.clock ?? options.cluster.clock
    this.readyDelayMs = options.readyDelayMs ?? 5000
    this.#watch = new KindWatch({
      cluster: this.cluster,
      clock: this.clock,
      apiVersion: 'apps/v1',
      kind: 'StatefulSet',
      label: 'statefulset-controller',
      reconcile: (ref) => this.#reconcile(ref),
      deleted: (object) => {
        this.clock.clearTimer(this.#states.get(object.metadata.uid ?? '')?.readyTimer)
        this.#states.delete(object.metadata.uid ?? '')
      },
    })
  }

  stop(): void {
    this.#watch.stop()
    for (const state of this.#states.values()) this.clock.clearTimer(state.readyTimer)
  }

  restartsOf(namespace: string, name: string): number {
    return this.#restartsByKey.get(`${namespace}/${name}`) ?? 0
  }

  /** Pod restarts caused by pod-template changes, over all StatefulSets. */
  get restarts(): number {
    let total = 0
    for (const n of this.#restartsByKey.values()) total += n
    return total
  }

  /** Simulates a pod that stops (false) or resumes (true) passing its readiness probe. */
  setPodReady(namespace: string, name: string, ready: boolean): void {
    const sts = this.cluster.mustGet({ apiVersion: 'apps/v1', kind: 'StatefulSet', namespace, name })
    const state = this.#states.get(sts.metadata.uid ?? '')
    if (!state) return
    state.heldUnready = !ready
    this.clock.clearTimer(state.readyTimer)
    state.readyTimer = undefined
    state.ready = ready && state.running
    this.#watch.schedule(refOf(sts))
  }

  #reconcile(ref: ObjectRef): void {
    const sts = this.cluster.get(ref)
    if (!sts || sts.metadata.deletionTimestamp) return
    const uid = sts.metadata.uid ?? ''
    const templateHash = hashOf(field(sts, 'spec', 'template'))
    const replicas = Number(field(sts, 'spec', 'replicas') ?? 1)
    let state = this.#states.get(uid)
    if (!state) {
      state = {
        uid,
        templateHash,
        running: false,
        ready: false,
        heldUnready: false,
        currentRevision: undefined,
        readyTimer: undefined,
      }
      this.#states.set(uid, state)
    }
    if (replicas >= 1 && !state.running) {
      state.running = true
      state.templateHash = templateHash
      state.currentRevision = revisionName(sts, templateHash)
      this.podStarts += 1
      this.#becomeUnready(state, ref)
    } else if (replicas >= 1 && state.templateHash !== templateHash) {
      state.templateHash = templateHash
      const key = keyOf(sts)
      this.#restartsByKey.set(key, (this.#restartsByKey.get(key) ?? 0) + 1)
      this.#becomeUnready(state, ref)
    } else if (replicas < 1) {
      state.running = false
      state.ready = false
      state.templateHash = templateHash
      state.currentRevision = revisionName(sts, templateHash)
      this.clock.clearTimer(state.readyTimer)
      state.readyTimer = undefined
    }
    this.#writeStatus(sts, state, replicas)
  }

  #becomeUnready(state: PodState, ref: ObjectRef): void {
    state.ready = false
    this.clock.clearTimer(state.readyTimer)
    state.readyTimer = undefined
    if (state.heldUnready) return
    state.readyTimer = this.clock.setTimer(
      this.readyDelayMs,
      `pod ready ${ref.namespace}/${ref.name}-0`,
      () => {
        state.readyTimer = undefined
        state.ready = true
        const sts = this.cluster.get(ref)
        if (sts) {
          state.currentRevision = revisionName(sts, state.templateHash)
          this.#writeStatus(sts, state, Number(field(sts, 'spec', 'replicas') ?? 1))
        }
      },
    )
  }

  #writeStatus(sts: KubeObject, state: PodState, replicas: number): void {
    const updateRevision = revisionName(sts, state.templateHash)
    const running = state.running ? replicas : 0
    const status: JsonObject = {
      observedGeneration: sts.metadata.generation ?? 1,
      replicas: running,
      availableReplicas: state.ready ? running : 0,
      currentRevision: state.currentRevision ?? updateRevision,
      updateRevision,
      collisionCount: 0,
    }
    if (state.ready && running > 0) status.readyReplicas = running
    if (running > 0) status.updatedReplicas = running
    if (running > 0 && status.currentRevision === updateRevision) status.currentReplicas = running
    if (deepEqual(sts.status, status)) return
    this.cluster.updateStatus({ ...sts, status })
  }
}

function hashOf(value: unknown): string {
  return createHash('sha256').update(canonicalJson(value)).digest('hex').slice(0, 10)
}

function revisionName(sts: KubeObject, templateHash: string): string {
  return `${sts.metadata.name}-${templateHash}`
}

// --- Cloud load balancers ------------------------------------------------------------------------------------

export const LB_CLEANUP_FINALIZER = 'service.kubernetes.io/load-balancer-cleanup'

export interface LoadBalancerAddress {
  ip?: string
  hostname?: string
}

export interface CloudControllerOptions {
  cluster: Cluster
  clock?: VirtualClock
  /** Virtual ms until a LoadBalancer Service gets its ingress; null = never (stays pending). Default 3000. */
  provisionDelayMs?: number | null
  /** Virtual ms a deleted LoadBalancer Service is held by the cleanup finalizer. Default 2000. */
  cleanupDelayMs?: number
  /** The address for the n-th load balancer (default 203.0.113.<10+n>). */
  addressFor?: (service: KubeObject, n: number) => LoadBalancerAddress
  /**
   * Whether this cloud builds load balancers that mix TCP and UDP ports (MixedProtocolLBService, GA in Kubernetes
   * 1.26; some providers still refuse). Default true. When false, such a Service never gets an address.
   */
  mixedProtocol?: boolean
}

/** The protocols of a Service's ports (TCP when a port names none, as the API server defaults it). */
const protocolsOf = (svc: KubeObject): Set<string> => {
  const ports = field(svc, 'spec', 'ports')
  return new Set(
    (Array.isArray(ports) ? ports : []).map((p) =>
      isObject(p) && typeof p.protocol === 'string' ? p.protocol : 'TCP',
    ),
  )
}

interface LoadBalancerState {
  provisioned: boolean
  provisionTimer: number | undefined
  cleanupTimer: number | undefined
}

export class CloudController {
  readonly cluster: Cluster
  readonly clock: VirtualClock
  provisionDelayMs: number | null
  cleanupDelayMs: number
  readonly mixedProtocol: boolean
  /** Load balancers provisioned (ingress assigned) and torn down. */
  created = 0
  deleted = 0
  #addressFor: (service: KubeObject, n: number) => LoadBalancerAddress
  #states = new Map<string, LoadBalancerState>()
  #watch: KindWatch

  constructor(options: CloudControllerOptions) {
    this.cluster = options.cluster
    this.clock = options.clock ?? options.cluster.clock
    this.provisionDelayMs = options.provisionDelayMs === undefined ? 3000 : options.provisionDelayMs
    this.cleanupDelayMs = options.cleanupDelayMs ?? 2000
    this.mixedProtocol = options.mixedProtocol ?? true
    this.#addressFor = options.addressFor ?? ((_service, n) => ({ ip: `203.0.113.${10 + n}` }))
    this.#watch = new KindWatch({
      cluster: this.cluster,
      clock: this.clock,
      apiVersion: 'v1',
      kind: 'Service',
      label: 'cloud-controller',
      reconcile: (ref) => this.#reconcile(ref),
      deleted: (object) => {
        const state = this.#states.get(object.metadata.uid ?? '')
        this.clock.clearTimer(state?.provisionTimer)
        this.clock.clearTimer(state?.cleanupTimer)
        this.#states.delete(object.metadata.uid ?? '')
      },
    })
  }

  /** Load balancers that exist now. */
  get active(): number {
    return this.created - this.deleted
  }

  /** Changes the provisioning delay (null = never) and re-examines every Service, e.g. to end an outage. */
  setProvisionDelay(ms: number | null): void {
    this.provisionDelayMs = ms
    for (const svc of this.cluster.list('v1', 'Service')) this.#watch.schedule(refOf(svc))
  }

  stop(): void {
    this.#watch.stop()
    for (const state of this.#states.values()) {
      this.clock.clearTimer(state.provisionTimer)
      this.clock.clearTimer(state.cleanupTimer)
    }
  }

  #reconcile(ref: ObjectRef): void {
    const svc = this.cluster.get(ref)
    if (!svc) return
    const uid = svc.metadata.uid ?? ''
    let state = this.#states.get(uid)
    if (!state) {
      state = { provisioned: false, provisionTimer: undefined, cleanupTimer: undefined }
      this.#states.set(uid, state)
    }
    const hasFinalizer = (svc.metadata.finalizers ?? []).includes(LB_CLEANUP_FINALIZER)
    const isLoadBalancer = field(svc, 'spec', 'type') === 'LoadBalancer'

    if (svc.metadata.deletionTimestamp) {
      this.clock.clearTimer(state.provisionTimer)
      state.provisionTimer = undefined
      if (hasFinalizer && state.cleanupTimer === undefined) {
        const lb = state
        lb.cleanupTimer = this.clock.setTimer(
          this.cleanupDelayMs,
          `load balancer cleanup ${ref.name}`,
          () => {
            lb.cleanupTimer = undefined
            this.#tearDown(ref, lb, false)
          },
        )
      }
      return
    }
    if (isLoadBalancer) {
      if (!hasFinalizer) {
        this.cluster.mutate(ref, (draft) => {
          draft.metadata.finalizers = [...(draft.metadata.finalizers ?? []), LB_CLEANUP_FINALIZER]
        })
      }
      const refused = !this.mixedProtocol && protocolsOf(svc).size > 1
      if (
        !state.provisioned &&
        state.provisionTimer === undefined &&
        this.provisionDelayMs !== null &&
        !refused
      ) {
        const lb = state
        lb.provisionTimer = this.clock.setTimer(
          this.provisionDelayMs,
          `load balancer provision ${ref.name}`,
          () => {
            lb.provisionTimer = undefined
            this.#provision(ref, lb)
          },
        )
      }
      return
    }
    if (state.provisioned || hasFinalizer || state.provisionTimer !== undefined) {
      this.clock.clearTimer(state.provisionTimer)
      state.provisionTimer = undefined
      this.#tearDown(ref, state, true)
    }
  }

  #provision(ref: ObjectRef, state: LoadBalancerState): void {
    const svc = this.cluster.get(ref)
    if (!svc || svc.metadata.deletionTimestamp || field(svc, 'spec', 'type') !== 'LoadBalancer') return
    const address = this.#addressFor(svc, this.created)
    state.provisioned = true
    this.created += 1
    const status = isObject(svc.status) ? svc.status : {}
    this.cluster.updateStatus({ ...svc, status: { ...status, loadBalancer: { ingress: [address] } } })
  }

  /** Deletes the cloud load balancer, clears the ingress (when the Service stays) and drops the finalizer. */
  #tearDown(ref: ObjectRef, state: LoadBalancerState, serviceStays: boolean): void {
    if (state.provisioned) this.deleted += 1
    state.provisioned = false
    const svc = this.cluster.get(ref)
    if (!svc) return
    if (serviceStays && field(svc, 'status', 'loadBalancer', 'ingress') !== undefined) {
      this.cluster.updateStatus({
        ...svc,
        status: { ...(isObject(svc.status) ? svc.status : {}), loadBalancer: {} },
      })
    }
    if ((svc.metadata.finalizers ?? []).includes(LB_CLEANUP_FINALIZER)) {
      this.cluster.mutate(ref, (draft) => {
        draft.metadata.finalizers = (draft.metadata.finalizers ?? []).filter(
          (f) => f !== LB_CLEANUP_FINALIZER,
        )
      })
    }
  }
}
