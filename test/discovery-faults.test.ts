// A sick DittoFS API: every fault ends in a classified failure before the poll's deadline, and the
// token cache survives it.
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import t, { type Test } from 'tap'
import { Discovery, OPERATOR_USERNAME, pollDeadlineMs } from '../hooks/discovery/discovery.js'
import type { PollOutcome, PollTarget } from '../hooks/discovery/types.js'
import { type Emulator, type Fault, startEmulator } from './emulator/index.js'

const TIMEOUT_MS = 200
const DEADLINE_MS = pollDeadlineMs(TIMEOUT_MS)
/** Scheduling slack on a busy CI machine; the point is that the poll ends, not how fast. */
const SLACK_MS = 1_500
const ADMIN_PASSWORD = 'faults-admin-pw'
const OPERATOR_PASSWORD = 'faults-operator-pw'

async function setup(t: Test): Promise<{ emu: Emulator; discovery: Discovery; target: PollTarget }> {
  const emu = await startEmulator({ adminPassword: ADMIN_PASSWORD })
  t.teardown(() => emu.close())
  const discovery = new Discovery({ timeoutMs: TIMEOUT_MS })
  const target: PollTarget = {
    apiUrl: emu.url,
    operator: { username: OPERATOR_USERNAME, password: OPERATOR_PASSWORD },
    admin: { username: 'admin', password: ADMIN_PASSWORD },
  }
  return { emu, discovery, target }
}

async function timedPoll(
  discovery: Discovery,
  target: PollTarget,
): Promise<{ outcome: PollOutcome; ms: number }> {
  const started = performance.now()
  const outcome = await discovery.poll(target)
  return { outcome, ms: performance.now() - started }
}

interface Case {
  fault: Fault
  reason: string
  status?: number
  message: RegExp
}

const cases: Case[] = [
  { fault: { mode: 'status', status: 500 }, reason: 'APIUnreachable', status: 500, message: /HTTP 500/ },
  { fault: { mode: 'status', status: 503 }, reason: 'APIUnreachable', status: 503, message: /HTTP 503/ },
  { fault: { mode: 'reset' }, reason: 'APIUnreachable', message: /connection reset \(ECONNRESET\)/ },
  { fault: { mode: 'latency', ms: 1_000 }, reason: 'APIUnreachable', message: /within \d+ ms \(timeout\)/ },
  { fault: { mode: 'garbage' }, reason: 'InvalidResponse', status: 200, message: /response is not JSON/ },
  {
    fault: { mode: 'redirect', location: 'http://169.254.169.254/latest/meta-data' },
    reason: 'APIUnreachable',
    status: 302,
    message: /HTTP 302, redirect not followed/,
  },
  {
    fault: { mode: 'hugeBody', bytes: 8 * 1024 * 1024 },
    reason: 'InvalidResponse',
    message: /exceeds the size limit/,
  },
  {
    fault: { mode: 'hugeBody', bytes: 8 * 1024 * 1024, declareLength: true },
    reason: 'InvalidResponse',
    message: /exceeds the size limit/,
  },
  {
    fault: { mode: 'slowBody', bytesPerTick: 16, tickMs: 20 },
    reason: 'APIUnreachable',
    message: /within \d+ ms \(timeout\)/,
  },
  { fault: { mode: 'blackhole' }, reason: 'APIUnreachable', message: /within \d+ ms \(timeout\)/ },
]

function describeFault(fault: Fault): string {
  return JSON.stringify(fault)
}

t.test('faults on GET /api/v1/adapters (cached token)', async (t) => {
  for (const c of cases) {
    t.test(describeFault(c.fault), async (t) => {
      const { emu, discovery, target } = await setup(t)
      t.equal((await discovery.poll(target)).ok, true, 'provisioned, token cached')
      emu.resetCounters()
      emu.setFault({ ...c.fault, pathPrefix: '/api/v1/adapters' })
      const { outcome, ms } = await timedPoll(discovery, target)
      t.match(outcome, { ok: false, reason: c.reason })
      if (!outcome.ok) {
        t.equal(outcome.httpStatus, c.status)
        t.match(outcome.message, c.message)
        t.match(outcome.message, `GET ${emu.url}/api/v1/adapters`, 'names the URL')
      }
      t.ok(ms < DEADLINE_MS + SLACK_MS, `ended within the deadline (${Math.round(ms)} ms)`)
      t.equal(emu.counters.login, 0, 'a transport or body fault does not cost a login')

      emu.setFault(null)
      emu.resetCounters()
      t.equal((await discovery.poll(target)).ok, true, 'recovers')
      t.equal(emu.counters.requests, 1, 'with the cached token')
    })
  }
})

t.test('faults on every route (first poll, nothing cached)', async (t) => {
  for (const c of cases) {
    t.test(describeFault(c.fault), async (t) => {
      const { emu, discovery, target } = await setup(t)
      emu.setFault(c.fault)
      const { outcome, ms } = await timedPoll(discovery, target)
      t.match(outcome, { ok: false, reason: c.reason })
      if (!outcome.ok) {
        t.match(outcome.message, c.message)
        t.match(outcome.message, `POST ${emu.url}/api/v1/auth/login`)
      }
      t.ok(ms < DEADLINE_MS + SLACK_MS, `ended within the deadline (${Math.round(ms)} ms)`)
      t.equal(emu.counters.requests, 1, 'one request, no retry storm')
      emu.setFault(null)
      t.equal((await discovery.poll(target)).ok, true, 'recovers')
    })
  }
})

t.test('API down: connection refused', async (t) => {
  const probe = createServer()
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve))
  const port = (probe.address() as AddressInfo).port
  await new Promise<void>((resolve) => probe.close(() => resolve()))
  const discovery = new Discovery({ timeoutMs: TIMEOUT_MS })
  const apiUrl = `http://127.0.0.1:${port}`
  const { outcome, ms } = await timedPoll(discovery, {
    apiUrl,
    operator: { username: OPERATOR_USERNAME, password: OPERATOR_PASSWORD },
  })
  t.same(outcome, {
    ok: false,
    reason: 'APIUnreachable',
    message: `POST ${apiUrl}/api/v1/auth/login: connection refused (ECONNREFUSED)`,
  })
  t.ok(ms < DEADLINE_MS + SLACK_MS)
})

t.test('the overall deadline holds when each request is slow but within its own timeout', async (t) => {
  const { emu, discovery, target } = await setup(t)
  // Provisioning needs 5 requests; at 150 ms each that is 750 ms, beyond the 500 ms deadline.
  emu.setFault({ mode: 'latency', ms: 150 })
  const { outcome, ms } = await timedPoll(discovery, target)
  t.match(outcome, { ok: false, reason: 'APIUnreachable', message: /deadline reached|timeout/ })
  t.ok(ms < DEADLINE_MS + SLACK_MS, `ended within the deadline (${Math.round(ms)} ms)`)
  t.ok((emu.counters.requests ?? 0) < 5, `stopped early (${emu.counters.requests} requests)`)
  emu.setFault(null)
  t.equal((await discovery.poll(target)).ok, true, 'the next poll finishes the job')
})

t.test('pollDeadlineMs: 2.5 request timeouts, capped at 8 s', async (t) => {
  t.equal(pollDeadlineMs(200), 500)
  t.equal(pollDeadlineMs(3_000), 7_500)
  t.equal(pollDeadlineMs(10_000), 8_000)
  t.equal(pollDeadlineMs(0), 2.5)
})

t.test('a 401 storm during a poll ends in AuthenticationFailed, not a loop', async (t) => {
  const { emu, discovery, target } = await setup(t)
  t.equal((await discovery.poll(target)).ok, true)
  emu.resetCounters()
  emu.setFault({ mode: 'unauthorized' })
  const outcome = await discovery.poll(target)
  t.match(outcome, { ok: false, reason: 'AuthenticationFailed', httpStatus: 401 })
  t.equal(emu.counters.requests, 3, 'GET refused, operator login refused, admin login refused: then it stops')
})
