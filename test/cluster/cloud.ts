// The test-side cloud controller for LoadBalancer Services, doing what cloud controllers do: put the
// `service.kubernetes.io/load-balancer-cleanup` finalizer on the Service, publish `status.loadBalancer.ingress`
// after a provisioning delay, and on deletion release the finalizer some seconds later (the load balancer being
// torn down). Addresses come from TEST-NET-1 (192.0.2.0/24): status only, nothing listens there.
import { collectionPath, type Kube, KubeError, type KubeObject } from './kube.js'

export const LB_FINALIZER = 'service.kubernetes.io/load-balancer-cleanup'

export interface CloudOptions {
  kube: Kube
  provisionDelayMs: number
  releaseDelayMs: number
  log: (line: string) => void
}

export class CloudController {
  readonly #o: CloudOptions
  readonly #pending = new Map<string, NodeJS.Timeout>()
  readonly #addresses = new Map<string, string>()
  #next = 1

  constructor(options: CloudOptions) {
    this.#o = options
  }

  onService(type: string, svc: KubeObject): void {
    const key = `${svc.metadata.namespace}/${svc.metadata.name}/${svc.metadata.uid}`
    if (type === 'DELETED') {
      clearTimeout(this.#pending.get(key))
      this.#pending.delete(key)
      return
    }
    const hasFinalizer = svc.metadata.finalizers?.includes(LB_FINALIZER) ?? false
    if (svc.metadata.deletionTimestamp) {
      if (hasFinalizer) this.#once(key, this.#o.releaseDelayMs, () => this.#setFinalizer(svc, false))
      return
    }
    if (svc.spec?.type !== 'LoadBalancer') {
      if (hasFinalizer) this.#once(key, 0, () => this.#setFinalizer(svc, false))
      return
    }
    if (!hasFinalizer) {
      this.#once(`${key}/finalizer`, 0, () => this.#setFinalizer(svc, true))
      return
    }
    if (!svc.status?.loadBalancer?.ingress?.length) {
      this.#once(key, this.#o.provisionDelayMs, () => this.#publish(svc))
    }
  }

  #once(key: string, delayMs: number, action: () => Promise<void>): void {
    if (this.#pending.has(key)) return
    this.#pending.set(
      key,
      setTimeout(() => {
        action()
          .catch((error) => this.#o.log(`cloud ${key}: ${(error as Error).message}`))
          .finally(() => this.#pending.delete(key))
      }, delayMs),
    )
  }

  #path(svc: KubeObject): string {
    return `${collectionPath('v1', 'services', svc.metadata.namespace)}/${svc.metadata.name}`
  }

  async #setFinalizer(svc: KubeObject, present: boolean): Promise<void> {
    // Re-read and patch with the resourceVersion: a stale list would drop someone else's finalizer.
    const fresh = await this.#o.kube.find(this.#path(svc))
    if (!fresh || fresh.metadata.uid !== svc.metadata.uid) return
    const others = (fresh.metadata.finalizers ?? []).filter((f) => f !== LB_FINALIZER)
    const finalizers = present ? [...others, LB_FINALIZER] : others
    try {
      await this.#o.kube.mergePatch(this.#path(svc), {
        metadata: { finalizers, resourceVersion: fresh.metadata.resourceVersion },
      })
    } catch (error) {
      if (error instanceof KubeError && (error.status === 409 || error.status === 404)) return
      throw error
    }
    this.#o.log(
      `cloud: ${present ? 'added' : 'released'} ${LB_FINALIZER} on ${svc.metadata.namespace}/${svc.metadata.name}`,
    )
  }

  async #publish(svc: KubeObject): Promise<void> {
    const id = `${svc.metadata.namespace}/${svc.metadata.name}`
    const ip = this.#addresses.get(id) ?? `192.0.2.${this.#next++ % 250}`
    this.#addresses.set(id, ip)
    await this.#o.kube.mergePatch(`${this.#path(svc)}/status`, {
      status: { loadBalancer: { ingress: [{ ip }] } },
    })
    this.#o.log(`cloud: ${id} ingress ${ip}`)
  }
}
