// The test-side cloud controller for LoadBalancer Services, doing what cloud controllers do: put the
// `service.kubernetes.io/load-balancer-cleanup` finalizer on the Service, publish `status.loadBalancer.ingress`
// after a provisioning delay, and on deletion release the finalizer some seconds later (the load balancer being
// torn down). Addresses come from TEST-NET-1 (192.0.2.0/24): status only, nothing listens there.
import { collectionPath, type Kube, KubeError, type KubeObject } from './kube.js'

export const LB_FINALIZER = 'service.kubernetes.io/load-balancer-cleanup'

export interface CloudOptions {
  kube: Pick<Kube, 'find' | 'mergePatch'>
  provisionDelayMs: number
  releaseDelayMs: number
  log: (line: string) => void
  /** Wait before looking again after a failed action (a conflict, the API server busy). */
  retryDelayMs?: number
}

type Action = 'finalizer' | 'provision' | 'release'

/**
 * Level-based, as controllers must be: each watch event (and, after every action, a fresh read of the Service)
 * decides from the Service's current state what is due. One timer per Service and action, so a pending
 * provisioning never hides a deletion: a deletion cancels it and schedules the release.
 */
export class CloudController {
  readonly #o: CloudOptions
  readonly #pending = new Map<string, NodeJS.Timeout>()
  readonly #addresses = new Map<string, string>()
  #next = 1
  #stopped = false

  constructor(options: CloudOptions) {
    this.#o = options
  }

  stop(): void {
    this.#stopped = true
    for (const timer of this.#pending.values()) clearTimeout(timer)
    this.#pending.clear()
  }

  onService(type: string, svc: KubeObject): void {
    const id = `${svc.metadata.namespace}/${svc.metadata.name}/${svc.metadata.uid}`
    if (type === 'DELETED') {
      for (const action of ['finalizer', 'provision', 'release'] as const) this.#cancel(id, action)
      return
    }
    const hasFinalizer = svc.metadata.finalizers?.includes(LB_FINALIZER) ?? false
    if (svc.metadata.deletionTimestamp) {
      this.#cancel(id, 'provision')
      if (hasFinalizer) this.#once(id, 'release', this.#o.releaseDelayMs, svc)
      return
    }
    if (svc.spec?.type !== 'LoadBalancer') {
      this.#cancel(id, 'provision')
      if (hasFinalizer) this.#once(id, 'release', 0, svc)
      return
    }
    if (!hasFinalizer) this.#once(id, 'finalizer', 0, svc)
    else if (!svc.status?.loadBalancer?.ingress?.length)
      this.#once(id, 'provision', this.#o.provisionDelayMs, svc)
  }

  #cancel(id: string, action: Action): void {
    const key = `${id}/${action}`
    clearTimeout(this.#pending.get(key))
    this.#pending.delete(key)
  }

  #once(id: string, action: Action, delayMs: number, svc: KubeObject): void {
    const key = `${id}/${action}`
    if (this.#pending.has(key) || this.#stopped) return
    const timer = setTimeout(async () => {
      let failed = false
      try {
        await this.#act(action, svc)
      } catch (error) {
        failed = true
        this.#o.log(`cloud ${key}: ${(error as Error).message}`)
      }
      if (this.#pending.get(key) !== timer) return // cancelled meanwhile
      this.#pending.delete(key)
      // Events that arrived while this action was pending were not acted on: look at the Service as it is now.
      if (failed) setTimeout(() => void this.#recheck(svc), this.#o.retryDelayMs ?? 1000)
      else await this.#recheck(svc)
    }, delayMs)
    this.#pending.set(key, timer)
  }

  async #recheck(svc: KubeObject): Promise<void> {
    if (this.#stopped) return
    try {
      const fresh = await this.#o.kube.find(this.#path(svc))
      if (fresh && fresh.metadata.uid === svc.metadata.uid) this.onService('MODIFIED', fresh)
    } catch (error) {
      this.#o.log(`cloud ${svc.metadata.namespace}/${svc.metadata.name}: ${(error as Error).message}`)
    }
  }

  #act(action: Action, svc: KubeObject): Promise<void> {
    if (action === 'provision') return this.#publish(svc)
    return this.#setFinalizer(svc, action === 'finalizer')
  }

  #path(svc: KubeObject): string {
    return `${collectionPath('v1', 'services', svc.metadata.namespace)}/${svc.metadata.name}`
  }

  async #setFinalizer(svc: KubeObject, present: boolean): Promise<void> {
    // Re-read and patch with the resourceVersion: a stale list would drop someone else's finalizer. A conflict
    // is an error here, so that the recheck after it sees the newer Service.
    const fresh = await this.#o.kube.find(this.#path(svc))
    if (!fresh || fresh.metadata.uid !== svc.metadata.uid) return
    if ((fresh.metadata.finalizers ?? []).includes(LB_FINALIZER) === present) return
    const others = (fresh.metadata.finalizers ?? []).filter((f) => f !== LB_FINALIZER)
    const finalizers = present ? [...others, LB_FINALIZER] : others
    try {
      await this.#o.kube.mergePatch(this.#path(svc), {
        metadata: { finalizers, resourceVersion: fresh.metadata.resourceVersion },
      })
    } catch (error) {
      if (error instanceof KubeError && error.status === 404) return
      throw error
    }
    this.#o.log(
      `cloud: ${present ? 'added' : 'released'} ${LB_FINALIZER} on ${svc.metadata.namespace}/${svc.metadata.name}`,
    )
  }

  async #publish(svc: KubeObject): Promise<void> {
    // A load balancer is not published for a Service on its way out (or gone).
    const fresh = await this.#o.kube.find(this.#path(svc))
    if (!fresh || fresh.metadata.uid !== svc.metadata.uid || fresh.metadata.deletionTimestamp) return
    const id = `${svc.metadata.namespace}/${svc.metadata.name}`
    const ip = this.#addresses.get(id) ?? `192.0.2.${this.#next++ % 250}`
    this.#addresses.set(id, ip)
    await this.#o.kube.mergePatch(`${this.#path(svc)}/status`, {
      status: { loadBalancer: { ingress: [{ ip }] } },
    })
    this.#o.log(`cloud: ${id} ingress ${ip}`)
  }
}
