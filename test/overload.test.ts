// Overload on a real socket: beyond MAX_IN_FLIGHT the hook sheds load with 429 + Retry-After (Metacontroller
// honours it) instead of queueing past its deadline, /healthz keeps answering, and a hook call that cannot finish
// within REQUEST_DEADLINE_MS answers 503 in time.
import type { AddressInfo } from 'node:net'
import t from 'tap'
import type { SyncResponse } from '../hooks/metacontroller/types.js'
import { hookWithEmulator } from './support/fuzz-harness.js'
import { advanceToNextPoll, conditionOf } from './support/requests.js'

const BURST = 50
const MAX_IN_FLIGHT = 4

async function listening(app: { listen(o: object): Promise<string>; server: { address(): unknown } }) {
  await app.listen({ port: 0, host: '127.0.0.1' })
  return `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`
}

const postJson = async (url: string, body: unknown) => {
  const started = performance.now()
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  })
  return { status: res.status, headers: res.headers, text: await res.text(), ms: performance.now() - started }
}

t.test(
  `a burst of ${BURST} slow syncs with MAX_IN_FLIGHT=${MAX_IN_FLIGHT}: 429 + Retry-After, health kept`,
  async (t) => {
    const h = await hookWithEmulator(t, {
      logLevel: 'silent',
      env: { MAX_IN_FLIGHT: String(MAX_IN_FLIGHT), DITTOFS_API_TIMEOUT_MS: '1500' },
    })
    await h.sync()
    await h.sync() // provisioned, token cached: the next polls go straight to the adapter list
    const base = await listening(h.app)
    h.emulator.setFault({ mode: 'blackhole', pathPrefix: '/api/v1/adapters' })
    advanceToNextPoll(h.clock)

    // Distinct parents: each has a poll due, so each call waits for its own black-holed poll.
    const calls = Array.from({ length: BURST }, (_, i) =>
      postJson(`${base}/sync`, h.nextRequest({ meta: { uid: `burst-${i}` } })),
    )
    const health = []
    for (let i = 0; i < 5; i++) {
      const res = await fetch(`${base}/healthz`)
      health.push(res.status)
      await new Promise((resolve) => setTimeout(resolve, 50))
    }
    t.same(health, [200, 200, 200, 200, 200], '/healthz answers during the burst')
    const metricsDuring = await (await fetch(`${base}/metrics`)).text()
    t.match(
      metricsDuring,
      new RegExp(`dittofs_hooks_in_flight_requests ${MAX_IN_FLIGHT}\\b`),
      'exactly the limit in flight',
    )

    const answers = await Promise.all(calls)
    const byStatus: Record<number, number> = {}
    for (const a of answers) byStatus[a.status] = (byStatus[a.status] ?? 0) + 1
    t.same(byStatus, { 200: MAX_IN_FLIGHT, 429: BURST - MAX_IN_FLIGHT }, 'the limit served, the rest shed')
    for (const shed of answers.filter((a) => a.status === 429)) {
      t.equal(shed.headers.get('retry-after'), '1', 'Retry-After for Metacontroller')
      t.match(shed.headers.get('content-type'), /^application\/problem\+json/)
      t.match(JSON.parse(shed.text), {
        status: 429,
        title: 'Too Many Requests',
        detail: /more than 4 hook calls in flight/,
      })
    }
    const served = answers.filter((a) => a.status === 200)
    for (const ok of served) {
      const body = JSON.parse(ok.text) as SyncResponse
      t.equal(
        conditionOf(body.status, 'AdaptersSynced')?.reason,
        'APIUnreachable',
        'the black-holed poll timed out',
      )
      t.ok(ok.ms < 9_000, `answered before the hook deadline (${Math.round(ok.ms)} ms)`)
    }
    // Shedding answers at once: every 429 came back before the first served call finished.
    const slowestShed = Math.max(...answers.filter((a) => a.status === 429).map((a) => a.ms))
    t.ok(slowestShed < Math.min(...served.map((a) => a.ms)), 'no 429 waited for a slot')

    const metrics = await (await fetch(`${base}/metrics`)).text()
    t.match(
      metrics,
      new RegExp(
        `dittofs_hooks_requests_total\\{hook="sync",outcome="overloaded"\\} ${BURST - MAX_IN_FLIGHT}\\b`,
      ),
    )
    t.match(metrics, /dittofs_hooks_in_flight_requests 0\b/, 'every slot given back')
    h.emulator.setFault(null)
    const after = await postJson(`${base}/sync`, h.nextRequest())
    t.equal(after.status, 200, 'serves again after the burst')
  },
)

t.test('REQUEST_DEADLINE_MS: a call that cannot finish in time answers 503, in time', async (t) => {
  const h = await hookWithEmulator(t, {
    logLevel: 'silent',
    env: { REQUEST_DEADLINE_MS: '300', DITTOFS_API_TIMEOUT_MS: '5000' },
  })
  await h.sync()
  await h.sync()
  const base = await listening(h.app)
  h.emulator.setFault({ mode: 'blackhole', pathPrefix: '/api/v1/adapters' })
  advanceToNextPoll(h.clock)
  const res = await postJson(`${base}/sync`, h.nextRequest())
  t.equal(res.status, 503)
  t.match(res.headers.get('content-type'), /^application\/problem\+json/)
  t.match(JSON.parse(res.text), { status: 503, detail: /did not finish within 300 ms/ })
  // The bound is the behaviour here: far below the 5 s request timeout the poll itself would wait for.
  t.ok(res.ms < 3_000, `answered within the deadline, not the poll's (${Math.round(res.ms)} ms)`)
  t.equal((await fetch(`${base}/healthz`)).status, 200)
  const metrics = await (await fetch(`${base}/metrics`)).text()
  t.match(metrics, /dittofs_hooks_requests_total\{hook="sync",outcome="deadline"\} 1\b/)
  t.match(metrics, /dittofs_hooks_in_flight_requests 0\b/, 'the slot is given back at the deadline')
})
