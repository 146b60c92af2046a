// Steady state on the real control plane: with nothing changing, over at least three resync periods, no child
// and no parent status is written (counted with watches), under both Metacontroller apply strategies; and two
// hook replicas behind one address give the same answers (DittoFS calls measured against one replica's).
import http from 'node:http'
import t from 'tap'
import type { KubeObject } from './kube.js'
import type { ApplyStrategy } from './layout.js'
import {
  agent,
  type Cluster,
  childrenOf,
  cluster,
  conditionOf,
  createNamespace,
  deleteNamespace,
  dittofsCalls,
  dittoServer,
  dittoServersPath,
  restartMetacontroller,
  setHookReplicas,
  waitUntil,
  writesOver,
} from './support.js'

const c: Cluster = cluster()
const RESYNC_MS = c.layout.resyncPeriodSeconds * 1000
const WINDOW_MS = Math.max(3 * RESYNC_MS, 60_000)
const report: Record<string, unknown> = {
  windowSeconds: WINDOW_MS / 1000,
  resyncPeriodSeconds: RESYNC_MS / 1000,
}

t.teardown(async () => {
  await setHookReplicas(c, 1)
  await restartMetacontroller(c, 'dynamic-apply')
  t.comment(`measurements: ${JSON.stringify(report)}`)
  c.kube.close()
})

/** A DittoServer with every kind of child (adapter Services with LB addresses, policies, metrics), converged. */
async function convergedDittoServer(ns: string, name: string): Promise<KubeObject> {
  await c.kube.create(
    dittoServersPath(ns),
    dittoServer(name, ns, {
      storage: { metadataSize: '1Gi' },
      adapterDiscovery: { pollingInterval: '10s' },
      networkPolicy: { enabled: true },
      metrics: { enabled: true },
    }),
  )
  return waitUntil(
    `${name} converged`,
    async () => {
      const p = await c.kube.get(`${dittoServersPath(ns)}/${name}`)
      const ok = ['AdaptersSynced', 'AdapterServicesReady'].every(
        (type) => conditionOf(p, type)?.status === 'True',
      )
      return ok && (p.status?.adapters?.length ?? 0) >= 2 && p
    },
    300_000,
  )
}

async function quietWindow(ns: string, name: string, windowMs = WINDOW_MS) {
  const writes = await writesOver(c, ns, windowMs, () => agent(c, 'DELETE', '/counts'))
  const calls = await dittofsCalls(c, ns, name)
  const perHour = (n: number) => Math.round((n * 3_600_000) / windowMs)
  return {
    writes,
    writesPerHour: perHour(writes.length),
    dittofsCallsPerHour: perHour(calls),
    calls,
  }
}

for (const strategy of ['dynamic-apply', 'server-side-apply'] as ApplyStrategy[]) {
  t.test(`steady state under ${strategy}: zero writes over ${WINDOW_MS / 1000} s`, async (t) => {
    await restartMetacontroller(c, strategy)
    const ns = await createNamespace(c, strategy === 'dynamic-apply' ? 'steady-da' : 'steady-ssa')
    t.teardown(() => deleteNamespace(c, ns))
    await convergedDittoServer(ns, 'steady')
    const window = await quietWindow(ns, 'steady')
    report[strategy] = {
      writesPerHour: window.writesPerHour,
      dittofsCallsPerHour: window.dittofsCallsPerHour,
    }
    t.same(window.writes, [], 'no child and no parent status written')
    t.ok(window.calls > 0, 'the hook kept polling DittoFS meanwhile')
  })
}

/** The sync request Metacontroller would send now (hook v1: children keyed by name), built from the API. */
async function syncRequest(ns: string, name: string) {
  const parent = await c.kube.get(`${dittoServersPath(ns)}/${name}`)
  const children: Record<string, Record<string, KubeObject>> = {}
  for (const [key, child] of Object.entries(await childrenOf(c, ns, parent.metadata.uid!))) {
    const kind = key.split('/')[0]!
    const group = `${kind}.${child.object.apiVersion}`
    children[group] ??= {}
    children[group][child.object.metadata.name] = child.object
  }
  return {
    controller: { metadata: { name: 'dittofs-hooks' } },
    parent,
    children,
    related: {},
    finalizing: false,
  }
}

function postSync(port: number, body: unknown): Promise<string> {
  const payload = Buffer.from(JSON.stringify(body))
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        host: '127.0.0.1',
        port,
        method: 'POST',
        path: '/sync',
        headers: { 'content-type': 'application/json' },
      },
      (res) => {
        let text = ''
        res.on('data', (chunk) => (text += chunk))
        res.on('end', () =>
          res.statusCode === 200 ? resolve(text) : reject(new Error(`${res.statusCode} ${text}`)),
        )
      },
    )
    req.on('error', reject)
    req.end(payload)
  })
}

// Five minutes each: 30 polls at the 10 s interval, so one poll more or less (where the window's edges fall, a
// token refresh) moves the ratio by about 3 %, not the 17 % it would over one minute.
const PAIR_WINDOW_MS = 300_000

t.test(
  'two hook replicas behind one address: same answers, DittoFS calls within 1.1x one replica',
  async (t) => {
    const ns = await createNamespace(c, 'replicas')
    t.teardown(() => deleteNamespace(c, ns))
    await convergedDittoServer(ns, 'pair')
    const one = await quietWindow(ns, 'pair', PAIR_WINDOW_MS)
    await setHookReplicas(c, 2)
    const two = await quietWindow(ns, 'pair', PAIR_WINDOW_MS)
    report.replicas = {
      windowSeconds: PAIR_WINDOW_MS / 1000,
      one: { calls: one.calls, perHour: one.dittofsCallsPerHour },
      two: { calls: two.calls, perHour: two.dittofsCallsPerHour },
    }
    t.same(two.writes, [], 'no writes with two replicas either')
    t.ok(one.calls > 0, 'one replica polled')
    // Poll slots come from the parent's uid and the interval, the same on both replicas: the sync for a slot polls
    // on whichever replica gets it, the others carry the status.
    t.ok(
      two.calls <= one.calls * 1.1,
      `DittoFS calls over ${PAIR_WINDOW_MS / 1000} s: two replicas ${two.calls}, one replica ${one.calls}`,
    )
    const hooks = (await agent(c, 'GET', '/counts')).hooks as Record<string, number>
    t.equal(Object.keys(hooks).length, 2, 'Metacontroller reached both replicas')
    const request = await syncRequest(ns, 'pair')
    const [a, b] = await Promise.all(c.layout.ports.hooks.map((port) => postSync(port, request)))
    // resyncAfterSeconds counts from each replica's own clock reading; the children and the status must be identical.
    const answer = (text: string) => {
      const { children, status } = JSON.parse(text)
      return { children, status }
    }
    t.same(answer(a!), answer(b!), 'both replicas answer the same request with the same children and status')
  },
)
