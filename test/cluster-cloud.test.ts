// The real-control-plane suite's cloud controller (test/cluster/cloud.ts) against an in-memory API with a watch
// whose events the test delivers. CI once saw a Service deleted while its load balancer was still being
// provisioned keep its finalizer forever: the pending provisioning hid the deletion event.
import t, { type Test } from 'tap'
import { CloudController, LB_FINALIZER } from './cluster/cloud.js'
import { KubeError, type KubeObject } from './cluster/kube.js'
import { waitFor } from './cluster/processes.js'

const PATH = '/api/v1/namespaces/ns/services/lb'

/** One Service behind find/mergePatch, with resourceVersion conflicts and finalizer-gated deletion. */
class FakeApi {
  svc: KubeObject | undefined
  events: Array<[string, KubeObject]> = []
  conflicts = 0
  published: Array<{ deleting: boolean }> = []
  #rv = 1

  create(type = 'LoadBalancer'): KubeObject {
    this.svc = {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: 'lb', namespace: 'ns', uid: 'u1', resourceVersion: String(this.#rv) },
      spec: { type },
    }
    return this.#emit('ADDED')
  }

  requestDeletion(): KubeObject {
    this.svc!.metadata.deletionTimestamp = '2026-12-04T00:00:00Z'
    return this.#bump('MODIFIED')
  }

  find = async (path: string) => {
    await Promise.resolve()
    return path === PATH && this.svc ? structuredClone(this.svc) : undefined
  }

  mergePatch = async (path: string, body: any): Promise<KubeObject> => {
    await Promise.resolve()
    if (!this.svc) throw new KubeError(404, '', 'not found')
    if (path === `${PATH}/status`) {
      this.published.push({ deleting: Boolean(this.svc.metadata.deletionTimestamp) })
      this.svc.status = body.status
      return this.#bump('MODIFIED')
    }
    if (this.conflicts > 0 || body.metadata.resourceVersion !== this.svc.metadata.resourceVersion) {
      this.conflicts = Math.max(0, this.conflicts - 1)
      this.#bump('MODIFIED') // someone else wrote meanwhile
      throw new KubeError(409, '', 'conflict')
    }
    this.svc.metadata.finalizers = body.metadata.finalizers
    if (this.svc.metadata.deletionTimestamp && this.svc.metadata.finalizers?.length === 0) {
      const gone = this.svc
      this.svc = undefined
      this.events.push(['DELETED', gone])
      return gone
    }
    return this.#bump('MODIFIED')
  }

  #bump(type: string): KubeObject {
    this.svc!.metadata.resourceVersion = String(++this.#rv)
    return this.#emit(type)
  }

  #emit(type: string): KubeObject {
    const copy = structuredClone(this.svc!)
    this.events.push([type, copy])
    return copy
  }
}

/** Waits for `what` (the controller's delays are tens of milliseconds; the bound only ends a broken run). */
const until = (what: string, check: () => boolean) => waitFor(what, async () => check(), 5_000)

function setup(t: Test, options: { deliver: boolean; provisionDelayMs?: number }) {
  const api = new FakeApi()
  const cloud = new CloudController({
    kube: api,
    provisionDelayMs: options.provisionDelayMs ?? 60,
    releaseDelayMs: 20,
    retryDelayMs: 10,
    log: () => {},
  })
  t.teardown(() => cloud.stop())
  // Delivers the watch events as they happen, or (deliver: false) loses every event after the ADDED.
  const pump = setInterval(() => {
    for (const [type, object] of api.events.splice(0)) if (options.deliver) cloud.onService(type, object)
  }, 2)
  t.teardown(() => clearInterval(pump))
  return { api, cloud }
}

t.test('deleted while its load balancer is provisioning: released, never published', async (t) => {
  // Provisioning takes a minute here: the deletion surely arrives while it is pending.
  const { api, cloud } = setup(t, { deliver: true, provisionDelayMs: 60_000 })
  cloud.onService('ADDED', api.create())
  await until('the finalizer added', () => api.svc?.metadata.finalizers?.includes(LB_FINALIZER) === true)
  api.requestDeletion()
  await until('the Service gone', () => api.svc === undefined)
  t.same(api.published, [], 'no ingress published for a Service on its way out')
})

t.test('events lost while an action was pending: each action looks again and finishes the job', async (t) => {
  const { api, cloud } = setup(t, { deliver: false })
  cloud.onService('ADDED', api.create())
  await until('ingress published', () => Boolean(api.svc?.status?.loadBalancer))
  t.ok(api.svc?.metadata.finalizers?.includes(LB_FINALIZER), 'finalizer first, then the load balancer')
  cloud.onService('MODIFIED', api.requestDeletion())
  await until('the Service gone', () => api.svc === undefined)
  t.same(api.published, [{ deleting: false }], 'published once, before the deletion')
})

t.test('a conflict on release is retried, not dropped', async (t) => {
  const { api, cloud } = setup(t, { deliver: false })
  cloud.onService('ADDED', api.create())
  await until('ingress published', () => Boolean(api.svc?.status?.loadBalancer))
  api.conflicts = 2
  cloud.onService('MODIFIED', api.requestDeletion())
  await until('the Service gone', () => api.svc === undefined)
  t.equal(api.conflicts, 0, 'both conflicts met, then released')
})

t.test('a Service that stops being a LoadBalancer loses the finalizer', async (t) => {
  const { api, cloud } = setup(t, { deliver: true })
  cloud.onService('ADDED', api.create())
  await until('the finalizer added', () => api.svc?.metadata.finalizers?.includes(LB_FINALIZER) === true)
  api.svc!.spec = { type: 'ClusterIP' }
  cloud.onService('MODIFIED', structuredClone(api.svc!))
  await until('finalizer released', () => api.svc?.metadata.finalizers?.length === 0)
  t.pass('released')
})
