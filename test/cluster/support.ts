// Helpers for the tests in test/cluster/: the running cluster (from .cluster/env), DittoServers, waiting for
// observable states, counting writes with a watch, and talking to the real DittoFS through the Service proxy.
import http from 'node:http'
import tap from 'tap'
import {
  adminKube,
  hookName,
  hookSpec,
  kubectl,
  metacontrollerSpec,
  startComponent,
  writeBalancerBackends,
} from './control-plane.js'
import { collectionPath, type Kube, KubeError, type KubeObject } from './kube.js'
import { type ApplyStrategy, currentLayout, type Layout } from './layout.js'
import { sleep, stopProcess } from './processes.js'

export const GROUP_VERSION = 'dittofs.dittofs.com/v1alpha1'

export interface Cluster {
  layout: Layout
  kube: Kube
}

export function cluster(): Cluster {
  const layout = currentLayout()
  return { layout, kube: adminKube(layout) }
}

/** The cluster and a namespace of its own for one test file; the namespace is deleted when the file ends. */
export async function clusterWithNamespace(prefix: string): Promise<{ c: Cluster; ns: string }> {
  const c = cluster()
  const ns = await createNamespace(c, prefix)
  tap.teardown(async () => {
    await deleteNamespace(c, ns)
    c.kube.close()
  })
  return { c, ns }
}

export const dittoServersPath = (ns: string) => collectionPath(GROUP_VERSION, 'dittoservers', ns)

/** The child collections a DittoServer can own, as Metacontroller's childResources name them. */
export const CHILD_KINDS = [
  { kind: 'ConfigMap', apiVersion: 'v1', plural: 'configmaps' },
  { kind: 'Secret', apiVersion: 'v1', plural: 'secrets' },
  { kind: 'Service', apiVersion: 'v1', plural: 'services' },
  { kind: 'StatefulSet', apiVersion: 'apps/v1', plural: 'statefulsets' },
  { kind: 'NetworkPolicy', apiVersion: 'networking.k8s.io/v1', plural: 'networkpolicies' },
].map((k) => ({ ...k, path: (ns: string) => collectionPath(k.apiVersion, k.plural, ns) }))

export async function createNamespace(c: Cluster, prefix: string): Promise<string> {
  const name = `${prefix}-${Date.now().toString(36)}`
  await c.kube.create('/api/v1/namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name } })
  // Pods need the namespace's `default` ServiceAccount (made by the serviceaccount controller).
  await waitUntil('the default ServiceAccount', async () =>
    Boolean(await c.kube.find(`${collectionPath('v1', 'serviceaccounts', name)}/default`)),
  )
  return name
}

export async function deleteNamespace(c: Cluster, name: string): Promise<void> {
  await c.kube.delete(`/api/v1/namespaces/${name}`).catch(() => undefined)
}

export function dittoServer(name: string, namespace: string, spec: Record<string, unknown>): KubeObject {
  return { apiVersion: GROUP_VERSION, kind: 'DittoServer', metadata: { name, namespace }, spec }
}

/** Polls `check` until it returns a value other than undefined/false; fails with `what` and the last value. */
export async function waitUntil<T>(
  what: string,
  check: () => Promise<T | undefined | false>,
  timeoutMs = 120_000,
  intervalMs = 500,
): Promise<T> {
  const deadline = Date.now() + timeoutMs
  let last: unknown
  while (Date.now() < deadline) {
    try {
      const value = await check()
      if (value !== undefined && value !== false) return value
      last = value
    } catch (error) {
      last = (error as Error).message
    }
    await sleep(intervalMs)
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what} (last: ${JSON.stringify(last)})`)
}

export const conditionOf = (obj: KubeObject | undefined, type: string) =>
  (
    obj?.status?.conditions as
      | Array<{ type: string; status: string; reason: string; message: string }>
      | undefined
  )?.find((c) => c.type === type)

/** Every object in the namespace that names `uid` as an owner, as "Kind/name". */
export async function ownedBy(c: Cluster, ns: string, uid: string): Promise<string[]> {
  const kinds = [...CHILD_KINDS, { kind: 'Pod', path: (n: string) => collectionPath('v1', 'pods', n) }]
  const owned: string[] = []
  for (const { kind, path } of kinds) {
    for (const item of (await c.kube.list(path(ns))).items) {
      if (item.metadata.ownerReferences?.some((o) => o.uid === uid))
        owned.push(`${kind}/${item.metadata.name}`)
    }
  }
  return owned.sort()
}

/** Children of one parent, "Kind/name" -> {uid, resourceVersion}. */
export async function childrenOf(c: Cluster, ns: string, parentUid: string) {
  const children: Record<string, { uid: string; resourceVersion: string; object: KubeObject }> = {}
  for (const { kind, apiVersion, path } of CHILD_KINDS) {
    for (const item of (await c.kube.list(path(ns))).items) {
      if (item.metadata.ownerReferences?.some((o) => o.uid === parentUid)) {
        children[`${kind}/${item.metadata.name}`] = {
          uid: item.metadata.uid!,
          resourceVersion: item.metadata.resourceVersion!,
          // The items of a list carry no apiVersion/kind (the list does); Metacontroller's informers add them.
          object: { ...item, apiVersion, kind },
        }
      }
    }
  }
  return children
}

/**
 * Where two versions of an object differ, as JSON paths with both values (metadata the API server maintains left
 * out): what a test reports when an object it expected untouched was written.
 */
export function changedPaths(before: unknown, after: unknown, path = ''): string[] {
  const skip = new Set(['.metadata.resourceVersion', '.metadata.managedFields', '.metadata.generation'])
  if (skip.has(path)) return []
  const isRecord = (v: unknown): v is Record<string, unknown> => !!v && typeof v === 'object'
  if (isRecord(before) && isRecord(after) && Array.isArray(before) === Array.isArray(after)) {
    const keys = new Set([...Object.keys(before), ...Object.keys(after)])
    return [...keys].flatMap((k) => changedPaths(before[k], after[k], `${path}.${k}`))
  }
  return JSON.stringify(before) === JSON.stringify(after)
    ? []
    : [`${path}: ${JSON.stringify(before)} -> ${JSON.stringify(after)}`.slice(0, 400)]
}

/**
 * Counts writes in a namespace: every MODIFIED/ADDED/DELETED event of the parent kind and the child kinds after
 * the watch started (a resourceVersion change is a write). Pods are left out: the kubelet's probes are not ours.
 */
export function countWrites(c: Cluster, ns: string) {
  const stop = new AbortController()
  const writes: string[] = []
  const paths = [dittoServersPath(ns), ...CHILD_KINDS.map((k) => k.path(ns))]
  const started = paths.map(async (path) => {
    const list = await c.kube.list(path)
    void c.kube
      .watch(
        path,
        (event) =>
          writes.push(
            `${event.type} ${path.split('/').at(-1)}/${event.object.metadata.name} rv=${event.object.metadata.resourceVersion}`,
          ),
        stop.signal,
        { resourceVersion: list.metadata.resourceVersion },
      )
      .catch(() => undefined)
  })
  return {
    ready: Promise.all(started),
    writes,
    stop: () => stop.abort(),
  }
}

/**
 * The writes in `ns` over `windowMs` of quiet: waits for the last convergence writes to settle, starts counting,
 * runs `beforeWindow` (e.g. resetting other counters) once the watches are ready, then counts for the window.
 */
export async function writesOver(
  c: Cluster,
  ns: string,
  windowMs: number,
  beforeWindow?: () => Promise<unknown>,
): Promise<string[]> {
  await sleep(15_000)
  const counter = countWrites(c, ns)
  await counter.ready
  await beforeWindow?.()
  await sleep(windowMs)
  counter.stop()
  return [...counter.writes]
}

// ---- the real DittoFS, through the Service proxy ----------------------------------------------------------

export interface DittoFsAnswer {
  status: number
  body: any
}

/** One request to the DittoFS API of `<name>` (its `<name>-api` Service), marked as a test call (not counted). */
export function dittofs(
  c: Cluster,
  ns: string,
  name: string,
  method: string,
  path: string,
  options: { token?: string; body?: unknown; port?: number } = {},
): Promise<DittoFsAnswer> {
  const payload = options.body === undefined ? undefined : Buffer.from(JSON.stringify(options.body))
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        host: '127.0.0.1',
        port: c.layout.ports.serviceProxy,
        method,
        path: `/${ns}/${name}-api/${options.port ?? 8080}${path}`,
        headers: {
          'x-dittofs-test-client': '1',
          ...(options.token ? { authorization: `Bearer ${options.token}` } : {}),
          ...(payload ? { 'content-type': 'application/json', 'content-length': payload.length } : {}),
        },
        timeout: 10_000,
      },
      (res) => {
        let text = ''
        res.setEncoding('utf8')
        res.on('data', (chunk: string) => (text += chunk))
        res.on('end', () => {
          let body: unknown = text
          try {
            body = JSON.parse(text)
          } catch {
            // plain text (DittoFS' auth middleware)
          }
          resolve({ status: res.statusCode ?? 0, body })
        })
      },
    )
    req.on('timeout', () => req.destroy(new Error('timeout')))
    req.on('error', reject)
    req.end(payload)
  })
}

export async function secretValue(c: Cluster, ns: string, name: string, key: string): Promise<string> {
  const secret = await c.kube.get(`${collectionPath('v1', 'secrets', ns)}/${name}`)
  return Buffer.from(secret.data?.[key] ?? '', 'base64').toString()
}

/** Logs in to the real DittoFS with a Secret's username/password; returns the access token. */
export async function login(c: Cluster, ns: string, name: string, secret: string): Promise<string> {
  const username = await secretValue(c, ns, secret, 'username')
  const password = await secretValue(c, ns, secret, 'password')
  const answer = await dittofs(c, ns, name, 'POST', '/api/v1/auth/login', { body: { username, password } })
  if (answer.status !== 200)
    throw new Error(`login as ${username}: ${answer.status} ${JSON.stringify(answer.body)}`)
  return answer.body.access_token as string
}

// ---- the node agent ---------------------------------------------------------------------------------------

export async function agent(c: Cluster, method: string, path: string): Promise<any> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port: c.layout.ports.nodeAgent, method, path }, (res) => {
      let text = ''
      res.on('data', (chunk) => (text += chunk))
      res.on('end', () =>
        res.statusCode === 200 ? resolve(JSON.parse(text)) : reject(new Error(`${path}: ${text}`)),
      )
    })
    req.on('error', reject)
    req.end()
  })
}

/** DittoFS API calls the hook made to `<ns>/<name>-api` since the counters were last reset. */
export async function dittofsCalls(c: Cluster, ns: string, name: string): Promise<number> {
  const counts = await agent(c, 'GET', '/counts')
  return counts.dittofs[`${ns}/${name}-api`]?.total ?? 0
}

// ---- restarting components --------------------------------------------------------------------------------

export async function restartMetacontroller(c: Cluster, strategy: ApplyStrategy): Promise<void> {
  await stopProcess(c.layout.state, 'metacontroller')
  await startComponent(c.layout, metacontrollerSpec(c.layout, strategy))
}

export async function restartHook(c: Cluster, replica = 0): Promise<void> {
  await stopProcess(c.layout.state, hookName(replica))
  await startComponent(c.layout, hookSpec(c.layout, replica))
}

export async function setHookReplicas(c: Cluster, replicas: number): Promise<void> {
  for (let r = 1; r < c.layout.ports.hooks.length; r++) {
    if (r < replicas) await startComponent(c.layout, hookSpec(c.layout, r))
    else await stopProcess(c.layout.state, hookName(r))
  }
  writeBalancerBackends(
    c.layout,
    Array.from({ length: replicas }, (_, r) => r),
  )
}

export { KubeError, kubectl }
