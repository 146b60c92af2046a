// The node agent: everything a real cluster has around the control plane that this one needs, in one process.
//   - the test kubelet (kubelet.ts) running real `dfs` pods, and the cloud controller (cloud.ts);
//   - a Service proxy standing in for cluster DNS + kube-proxy: /<namespace>/<service>/<port>/<path> goes to a
//     Ready pod selected by that Service, at the Service port's targetPort; it counts the DittoFS calls;
//   - the hook balancer: round-robin over the hook replicas listed in <state>/hook-backends.json (a Service in
//     front of a Deployment's pods);
//   - a small control API for tests (health, counters, holding a DittoFS process down).
// Usage: node node-agent.js <state folder>
import { readFileSync } from 'node:fs'
import http from 'node:http'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { CloudController } from './cloud.js'
import { collectionPath, Kube, type KubeObject } from './kube.js'
import { Kubelet } from './kubelet.js'
import { apiserverUrl, loadLayout, pki } from './layout.js'

const state = process.argv[2]
if (!state) throw new Error('usage: node-agent <state folder>')
const layout = loadLayout(state)
const log = (line: string) => process.stdout.write(`${new Date().toISOString()} ${line}\n`)
const kube = new Kube({
  server: apiserverUrl(layout),
  caFile: pki(state, 'ca.crt'),
  token: layout.tokens.nodeAgent,
})
const here = path.dirname(fileURLToPath(import.meta.url))

const kubelet = new Kubelet({
  kube,
  state,
  dfsBinary: path.join(layout.bin.dittofs, 'dfs'),
  forwarderScript: path.join(here, 'pod-forwarder.js'),
  log,
})
const cloud = new CloudController({ kube, provisionDelayMs: 3000, releaseDelayMs: 4000, log })

/** Requests the hook made to each DittoFS API (by `<namespace>/<service>`) and per path, and hook calls per replica. */
const counts = {
  dittofs: {} as Record<string, { total: number; byPath: Record<string, number> }>,
  hooks: {} as Record<string, number>,
}

// ---- Service proxy ----------------------------------------------------------------------------------------

async function serviceTarget(namespace: string, service: string, port: number) {
  const svc = await kube.find(`${collectionPath('v1', 'services', namespace)}/${service}`)
  const svcPort = svc?.spec?.ports?.find((p: any) => p.port === port)
  if (!svc || !svcPort || !svc.spec.selector) return undefined
  const run = kubelet.readyPods(namespace, svc.spec.selector)[0]
  if (!run) return undefined
  const target = svcPort.targetPort ?? port
  const containerPort =
    typeof target === 'number'
      ? target
      : run.pod.spec.containers.flatMap((c: any) => c.ports ?? []).find((p: any) => p.name === target)
          ?.containerPort
  return containerPort === undefined ? undefined : { run, containerPort: containerPort as number }
}

const serviceProxy = http.createServer((req, res) => {
  const match = /^\/([^/]+)\/([^/]+)\/(\d+)(\/.*)?$/.exec(req.url ?? '')
  if (!match) {
    res.writeHead(404).end()
    return
  }
  const [, namespace, service, port, rest] = match as unknown as [string, string, string, string, string?]
  // Tests talk to DittoFS through the proxy too; only the hook's calls are counted.
  if (req.headers['x-dittofs-test-client'] === undefined) {
    const key = `${namespace}/${service}`
    counts.dittofs[key] ??= { total: 0, byPath: {} }
    const entry = counts.dittofs[key]
    const p = `${req.method} ${(rest ?? '/').split('?')[0]}`
    entry.total++
    entry.byPath[p] = (entry.byPath[p] ?? 0) + 1
  }
  serviceTarget(namespace, service, Number(port))
    .then((target) => {
      // No ready endpoint: as kube-proxy with no endpoints, the connection is refused (reset).
      if (!target) return void req.socket.destroy()
      const upstream = http.request(
        {
          method: req.method,
          path: rest ?? '/',
          headers: { ...req.headers, host: `${service}.${namespace}.svc.cluster.local:${port}` },
          createConnection: () => kubelet.connect(target.run, target.containerPort),
        },
        (answer) => {
          res.writeHead(answer.statusCode ?? 502, answer.headers)
          answer.pipe(res)
        },
      )
      upstream.on('error', () => req.socket.destroy())
      req.pipe(upstream)
    })
    .catch(() => req.socket.destroy())
})

// ---- hook balancer ----------------------------------------------------------------------------------------

let turn = 0
const hookBalancer = http.createServer((req, res) => {
  const backends = JSON.parse(readFileSync(path.join(state, 'hook-backends.json'), 'utf8')) as number[]
  const port = backends[turn++ % Math.max(backends.length, 1)]
  if (port === undefined) return void req.socket.destroy()
  counts.hooks[port] = (counts.hooks[port] ?? 0) + 1
  const upstream = http.request(
    { host: '127.0.0.1', port, method: req.method, path: req.url, headers: req.headers },
    (answer) => {
      res.writeHead(answer.statusCode ?? 502, answer.headers)
      answer.pipe(res)
    },
  )
  upstream.on('error', () => req.socket.destroy())
  req.pipe(upstream)
})

// ---- control API ------------------------------------------------------------------------------------------

const json = (res: http.ServerResponse, status: number, body: unknown) =>
  res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body))

const control = http.createServer((req, res) => {
  const url = new URL(req.url ?? '/', 'http://agent')
  if (url.pathname === '/healthz') return json(res, 200, { ok: true })
  if (url.pathname === '/counts' && req.method === 'GET') return json(res, 200, counts)
  if (url.pathname === '/counts' && req.method === 'DELETE') {
    counts.dittofs = {}
    counts.hooks = {}
    return json(res, 200, counts)
  }
  if (url.pathname === '/pods') {
    return json(
      res,
      200,
      kubelet.runs().map((r) => ({
        namespace: r.pod.metadata.namespace,
        name: r.pod.metadata.name,
        uid: r.uid,
        pid: r.process?.pid,
        ready: r.ready,
        restarts: r.restarts,
        held: r.held,
        terminating: r.terminating,
        dir: r.dir,
      })),
    )
  }
  const hold = /^\/pods\/([^/]+)\/([^/]+)\/(hold|release)$/.exec(url.pathname)
  if (hold && req.method === 'POST') {
    const run = kubelet.find(hold[1]!, hold[2]!)
    if (!run) return json(res, 404, { error: 'no such pod on this node' })
    if (hold[3] === 'hold') kubelet.hold(run)
    else kubelet.release(run)
    return json(res, 200, { held: run.held })
  }
  json(res, 404, { error: 'not found' })
})

// ---- main -------------------------------------------------------------------------------------------------

const stop = new AbortController()
const listen = (server: http.Server, port: number) =>
  new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve))

async function main(): Promise<void> {
  await kubelet.registerNode()
  const watchErrors = (what: string) => (error: Error) => log(`${what} watch ended: ${error.message}`)
  void kube
    .watch('/api/v1/pods', (e) => kubelet.onPod(e.type, e.object as KubeObject), stop.signal)
    .catch(watchErrors('pods'))
  void kube
    .watch('/api/v1/services', (e) => cloud.onService(e.type, e.object as KubeObject), stop.signal)
    .catch(watchErrors('services'))
  await listen(serviceProxy, layout.ports.serviceProxy)
  await listen(hookBalancer, layout.ports.hookBalancer)
  await listen(control, layout.ports.nodeAgent)
  log('node agent ready')
}

async function shutdown(): Promise<void> {
  stop.abort()
  await kubelet.shutdown()
  process.exit(0)
}

process.on('SIGTERM', () => void shutdown())
process.on('SIGINT', () => void shutdown())
main().catch((error) => {
  log(`node agent failed: ${(error as Error).stack}`)
  process.exit(1)
})
