// A broken or malicious DittoFS, through the whole hook: every fault ends in a bounded, classified answer (a 200
// well within the hook deadline), the last known adapters and their Services stay, malformed entries are skipped and
// reported, and no credential reaches the status or the logs.
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import t, { type Test } from 'tap'
import { pollDeadlineMs } from '../hooks/discovery/discovery.js'
import type { Fault } from './emulator/index.js'
import {
  API_TIMEOUT_MS,
  adapterServiceNames,
  adapterTypes,
  hookWithEmulator,
} from './support/fuzz-harness.js'
import { derivedSecrets, leakedIn, withoutSecretData } from './support/fuzz-secrets.js'
import { advanceToNextPoll, conditionOf } from './support/requests.js'

/** The hook's own deadline is 9 s; a poll is capped at 2.5 request timeouts. Slack for a busy machine. */
const BOUND_MS = pollDeadlineMs(API_TIMEOUT_MS) + 3_000
const KNOWN = ['nfs:12049', 'smb:1445']
const KNOWN_SERVICES = ['ditto-adapter-nfs', 'ditto-adapter-smb']
const SECRETS = { ...derivedSecrets() }

async function steady(t: Test) {
  const h = await hookWithEmulator(t)
  await h.sync()
  const settled = await h.sync()
  t.same(adapterTypes(settled.body), KNOWN, 'steady: adapters known')
  t.same(adapterServiceNames(settled.body), KNOWN_SERVICES, 'steady: their Services exist')
  return h
}

interface Mode {
  fault: Fault
  reason: string
  message?: RegExp
}

const modes: Array<[string, Mode]> = [
  [
    'multi-megabyte body',
    {
      fault: { mode: 'hugeBody', bytes: 8 * 2 ** 20 },
      reason: 'InvalidResponse',
      message: /exceeds the size limit/,
    },
  ],
  [
    'multi-megabyte body, length declared',
    {
      fault: { mode: 'hugeBody', bytes: 64 * 2 ** 20, declareLength: true },
      reason: 'InvalidResponse',
      message: /exceeds the size limit/,
    },
  ],
  [
    'endless slow body',
    {
      fault: { mode: 'slowBody', bytesPerTick: 8, tickMs: 10 },
      reason: 'APIUnreachable',
      message: /timeout/,
    },
  ],
  ['no answer at all', { fault: { mode: 'blackhole' }, reason: 'APIUnreachable', message: /timeout/ }],
  ['invalid JSON', { fault: { mode: 'garbage' }, reason: 'InvalidResponse', message: /not JSON/ }],
  [
    'an object instead of a list',
    {
      fault: { mode: 'raw', status: 200, contentType: 'application/json', body: '{"adapters":[]}' },
      reason: 'InvalidResponse',
      message: /not a JSON array|token response/,
    },
  ],
  [
    'JSON with a prototype key',
    {
      fault: {
        mode: 'raw',
        status: 200,
        contentType: 'application/json',
        body: '{"__proto__":{"polluted":1}}',
      },
      reason: 'InvalidResponse',
    },
  ],
  ['a 500', { fault: { mode: 'status', status: 500 }, reason: 'APIUnreachable', message: /HTTP 500/ }],
  [
    'a 401 on every call',
    { fault: { mode: 'unauthorized' }, reason: 'AuthenticationFailed', message: /HTTP 401/ },
  ],
  [
    'the request echoed back in a 500 problem',
    { fault: { mode: 'echo', status: 500, as: 'problem' }, reason: 'APIUnreachable', message: /HTTP 500/ },
  ],
  [
    'the request echoed back in a 401 text',
    { fault: { mode: 'echo', status: 401, as: 'text' }, reason: 'AuthenticationFailed', message: /HTTP 401/ },
  ],
  [
    'the request echoed back in a 400 text',
    { fault: { mode: 'echo', status: 400, as: 'text' }, reason: 'InvalidResponse', message: /HTTP 400/ },
  ],
]

for (const [name, mode] of modes) {
  for (const where of ['/api/v1/adapters', '/api/v1/auth']) {
    t.test(`${name} on ${where}`, async (t) => {
      const h = await steady(t)
      h.emulator.setFault({ ...mode.fault, pathPrefix: where })
      // The cached token still works on the list; a fault on auth needs the token to be renewed first.
      if (where === '/api/v1/auth') h.clock.advance(20 * 60_000)
      else advanceToNextPoll(h.clock)
      for (let round = 0; round < 3; round++) {
        const before = h.emulator.counters.requests ?? 0
        const res = await h.sync()
        const sent = (h.emulator.counters.requests ?? 0) - before
        t.equal(res.status, 200, `round ${round}: 200`)
        t.ok(res.ms < BOUND_MS, `round ${round}: answered within ${BOUND_MS} ms (${Math.round(res.ms)} ms)`)
        t.ok(sent <= 6, `round ${round}: ${sent} API requests, no storm`)
        if (round === 0) {
          const synced = conditionOf(res.body.status, 'AdaptersSynced')
          t.equal(synced?.reason, mode.reason, 'classified')
          if (mode.message) t.match(synced?.message, mode.message)
          t.match(synced?.message, /keeping the last known 2 adapters/)
        }
        t.same(adapterTypes(res.body), KNOWN, 'last known adapters kept')
        t.same(adapterServiceNames(res.body), KNOWN_SERVICES, 'their Services kept')
        t.same(leakedIn(withoutSecretData(res.body), SECRETS), [], 'no credential in the answer')
        h.clock.advance(10 * 60_000)
      }
      t.same(leakedIn(h.lines.join('\n'), SECRETS), [], 'no credential in the logs')
      h.emulator.setFault(null)
      h.clock.advance(10 * 60_000)
      const back = await h.sync()
      t.equal(conditionOf(back.body.status, 'AdaptersSynced')?.reason, 'PollSucceeded', 'recovers')
      t.equal(({} as Record<string, unknown>).polluted, undefined, 'nothing polluted')
    })
  }
}

t.test('a redirect to another host is not followed, and that host never hears from the hook', async (t) => {
  let calls = 0
  const other = createServer((_req, res) => {
    calls++
    res.end('[]')
  })
  await new Promise<void>((resolve) => other.listen(0, '127.0.0.1', resolve))
  t.teardown(() => new Promise<void>((resolve) => other.close(() => resolve())))
  const target = `http://127.0.0.1:${(other.address() as AddressInfo).port}/api/v1/adapters`
  for (const [where, status] of [
    ['/api/v1/adapters', 302],
    ['/api/v1/auth', 307],
    ['/', 301],
  ] as const) {
    const h = await steady(t)
    h.emulator.setFault({ mode: 'redirect', location: target, status, pathPrefix: where })
    h.clock.advance(20 * 60_000)
    const res = await h.sync()
    t.equal(res.status, 200)
    t.equal(conditionOf(res.body.status, 'AdaptersSynced')?.reason, 'APIUnreachable', `${where}: classified`)
    t.match(conditionOf(res.body.status, 'AdaptersSynced')?.message, /redirect not followed/)
    t.same(adapterServiceNames(res.body), KNOWN_SERVICES)
  }
  t.equal(calls, 0, 'the other host got no request')
})

t.test('wrong types: malformed entries skipped and reported, never trusted, nothing lost', async (t) => {
  const h = await steady(t)
  h.emulator.setFault({ mode: 'wrongTypes' })
  for (let round = 0; round < 4; round++) {
    h.clock.advance(10 * 60_000) // far past the 60 s removal grace period
    const res = await h.sync()
    t.equal(res.status, 200)
    const synced = conditionOf(res.body.status, 'AdaptersSynced')
    t.match(synced?.message, /ignored 6 malformed entries/, 'reported')
    t.notMatch(synced?.message, /\.\.\/x|70000|"12049"/, 'the rejected values themselves are not repeated')
    // `nfs` with port "12049" and `smb` with port 70000 were not understood: what was known about them stands.
    t.same(
      adapterTypes(res.body),
      ['nfs:12049', 'smb:1445', 'webdav:8081'],
      `round ${round}: known ones kept, valid one added`,
    )
    t.same(adapterServiceNames(res.body), [...KNOWN_SERVICES, 'ditto-adapter-webdav'], 'no Service for ../x')
  }
  h.emulator.setFault(null)
  h.emulator.setAdapters([{ type: 'nfs', port: 12049, enabled: true }])
  h.clock.advance(10 * 60_000)
  const clean = await h.sync()
  t.same(
    adapterTypes(clean.body).filter((a) => !a.startsWith('nfs')).length,
    2,
    'a clean list is trusted again',
  )
  t.ok(
    (clean.body.status.adapters as Array<{ type: string; missingSince?: string }>).every(
      (a) => a.type === 'nfs' || a.missingSince !== undefined,
    ),
    'the others now start their grace period',
  )
})

t.test('thousands of adapters: bounded, the excess reported, the known ones kept', async (t) => {
  const h = await steady(t)
  h.emulator.setAdapters(
    Array.from({ length: 5_000 }, (_, i) => ({ type: `a${i}`, port: 1 + i, enabled: true })),
  )
  advanceToNextPoll(h.clock)
  const res = await h.sync()
  t.equal(res.status, 200)
  t.ok(res.ms < BOUND_MS, 'within the bound')
  const services = adapterServiceNames(res.body)
  t.equal(services.length, 64 + 2, 'the first 64 from the API, and the 2 known ones in their grace period')
  t.ok(services.includes('ditto-adapter-nfs') && services.includes('ditto-adapter-smb'), 'known ones kept')
  const synced = conditionOf(res.body.status, 'AdaptersSynced')
  t.match(synced?.message, /more than 64 adapters/)
  t.ok((synced?.message.length ?? 0) < 8_000, 'the report is bounded too')
})

t.test('a server echoing credentials as adapter types: rejected, never in the status', async (t) => {
  const h = await steady(t)
  h.emulator.setFault({ mode: 'echoCredentials' })
  advanceToNextPoll(h.clock)
  const res = await h.sync()
  t.equal(res.status, 200)
  t.same(adapterTypes(res.body), KNOWN, 'only the real adapters')
  t.same(adapterServiceNames(res.body), KNOWN_SERVICES)
  t.match(conditionOf(res.body.status, 'AdaptersSynced')?.message, /rejected: the type carries a credential/)
  t.same(leakedIn(withoutSecretData(res.body), SECRETS), [], 'no credential in the answer')
  const token = /"([A-Za-z0-9_-]{20,})"/g
  for (const [, piece] of withoutSecretData(res.body).matchAll(token)) {
    t.notOk(SECRETS.operatorPassword.includes(piece as string), 'no long piece of the password either')
  }
  t.same(leakedIn(h.lines.join('\n'), SECRETS), [], 'no credential in the logs')
})

t.test('a user-chosen admin password with quotes and backslashes, echoed JSON-escaped', async (t) => {
  const adminPassword = 'pa"ss\\word-Ünï-123'
  const secrets = { ...SECRETS, adminPassword }
  const h = await hookWithEmulator(t, {
    spec: { identity: { admin: { passwordSecretRef: { name: 'my-admin', key: 'password' } } } },
    related: {
      'Secret.v1': {
        'my-admin': {
          apiVersion: 'v1',
          kind: 'Secret',
          metadata: { name: 'my-admin', namespace: 'storage' },
          data: { password: Buffer.from(adminPassword).toString('base64') },
        },
      },
    },
    emulator: { adminPassword },
  })
  // Every login is answered with the request body reflected: the operator's, then the admin's (provisioning).
  for (const as of ['text', 'problem'] as const) {
    h.emulator.setFault({ mode: 'echo', status: 401, as, pathPrefix: '/api/v1/auth/login' })
    await h.sync()
    h.clock.advance(10 * 60_000)
    const res = await h.sync()
    t.equal(res.status, 200)
    t.equal(
      conditionOf(res.body.status, 'Authenticated')?.reason,
      'AuthenticationFailed',
      `${as}: classified`,
    )
    t.same(leakedIn(withoutSecretData(res.body), secrets), [], `${as}: no credential in the answer`)
    t.notMatch(res.text, /ss\\\\\\\\word|ss\\\\word/, `${as}: not even escaped`)
  }
  t.same(leakedIn(h.lines.join('\n'), secrets), [], 'no credential in the logs')
  t.same(leakedIn(h.answers.join('\n'), { adminPassword }), [], 'the admin password is in no answer at all')
})
