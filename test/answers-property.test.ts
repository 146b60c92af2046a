// A property test over generated specs and adapter lists (seeded, bounded): whatever mix of plausible and nasty
// values a spec holds and whatever adapters DittoFS lists (odd types, the API or metrics port, duplicates that
// differ in case, malformed entries, a lost status), every answer is a 200, and every 200 answer keeps the API
// server's rules: post() checks each with support/apimachinery.ts (names, labels, annotation keys, port names
// and numbers, CIDRs, peers, Secret keys, quantities, no two children of one kind and name, no adapter Service on
// the API or metrics port, resyncAfterSeconds within bounds). Two parents in one namespace never want the same
// child. Reproducible: case i uses the PRNG seeded with SEED + i (PROPERTY_SEED, PROPERTY_CASES override).
import t from 'tap'
import type { Discovery } from '../hooks/discovery/discovery.js'
import type { ApiAdapter, PollOutcome } from '../hooks/discovery/types.js'
import type { ObjectMap, SyncResponse } from '../hooks/metacontroller/types.js'
import { post, testApp } from './support/app.js'
import { Rng } from './support/fuzz.js'
import { asObserved, conditionOf, parent, syncRequest, withReadyStatefulSet } from './support/requests.js'

const SEED = Number(process.env.PROPERTY_SEED ?? 0x15a5eed)
const CASES = Number(process.env.PROPERTY_CASES ?? 120)
const MINUTE = 60_000

const NAMES = [
  'ditto',
  'files',
  'ga',
  'ga-adapter-x',
  'ga-adapter',
  'x-api',
  'a'.repeat(52),
  'a'.repeat(53),
  '1abc',
  'a.b',
]
const TYPES = [
  'nfs',
  'NFS',
  'smb',
  'nfs_v4',
  'x-api',
  'x-adapter-y',
  'headless',
  `2049${'0'.repeat(14)}a`,
  '9'.repeat(40),
  'a'.repeat(63),
  'Weird Type!',
  'nfs-1a2b',
]
const PORTS = [2049, 12049, 1445, 8080, 9090, 7000, 1, 65535]

/**
 * A spec of valid values, or (one case in three) one that may hold values the API server would refuse on a child,
 * so that both the valid path and the InvalidSpec path are well exercised.
 */
function generateSpec(rng: Rng): Record<string, unknown> {
  const nasty = rng.chance(1 / 3)
  /** A good value, or, in a nasty case and now and then, a bad one. */
  const choose = <T>(good: readonly T[], bad: readonly T[]): T =>
    nasty && rng.chance(0.3) ? rng.pick(bad) : rng.pick(good)
  const spec: Record<string, unknown> = { storage: { metadataSize: rng.pick(['1Gi', '10Gi']) } }
  if (rng.chance(0.3)) spec.controlPlane = { port: rng.pick([8080, 7000, 2049]) }
  if (rng.chance(0.4)) spec.metrics = { enabled: rng.chance(0.7), port: rng.pick([9090, 7001, 12049]) }
  if (rng.chance(0.4)) {
    spec.service = {
      type: rng.pick(['ClusterIP', 'NodePort', 'LoadBalancer']),
      annotations: choose<Record<string, string>>(
        [
          {},
          { 'example.com/team': 'storage' },
          { 'service.beta.kubernetes.io/load-balancer-source-ranges': '10.0.0.0/8' },
        ],
        [{ 'bad key!': 'x' }, { 'a/b/c': 'x' }],
      ),
    }
  }
  const adapterServices: Record<string, unknown> = {
    type: rng.pick(['ClusterIP', 'NodePort', 'LoadBalancer']),
  }
  if (rng.chance(0.3)) {
    adapterServices.loadBalancerSourceRanges = [
      choose(['10.0.0.0/8', 'fd00::/64'], ['999.1.1.1/99', '10.0.0.0']),
    ]
  }
  if (rng.chance(0.3)) adapterServices.externalTrafficPolicy = rng.pick(['Cluster', 'Local'])
  if (rng.chance(0.3)) {
    adapterServices.overrides = {
      [rng.pick(['nfs', 'smb', 'nfs_v4'])]: { type: rng.pick(['NodePort', 'ClusterIP']) },
    }
  }
  if (rng.chance(0.3)) adapterServices.removalGracePeriod = choose(['1s', '60s', '720h'], ['2500000000h'])
  if (rng.chance(0.2)) adapterServices.loadBalancerTimeout = choose(['1m', '24h'], ['25h'])
  spec.adapterServices = adapterServices
  if (rng.chance(0.3)) spec.adapterDiscovery = { pollingInterval: choose(['10s', '24h'], ['3000000h']) }
  if (rng.chance(0.4)) {
    spec.networkPolicy = {
      enabled: rng.chance(0.8),
      from: choose<unknown[]>(
        [
          [],
          [{ podSelector: { matchLabels: { team: 'a' } } }],
          [{ ipBlock: { cidr: '10.0.0.0/8', except: ['10.1.0.0/16'] } }],
        ],
        [
          [{}],
          [{ podSelector: { matchLabels: { 'bad key!': 'v' } } }],
          [{ ipBlock: { cidr: '999.0.0.0/8' } }],
        ],
      ),
    }
  }
  if (rng.chance(0.3)) {
    spec.resources = choose<Record<string, unknown>>(
      [{ requests: { cpu: '250m', memory: '1Gi' }, limits: { cpu: 1, memory: '2Gi' } }],
      [{ limits: { cpu: 'lots' } }, { limits: { gpu: 1 } }, { requests: { cpu: '2' }, limits: { cpu: '1' } }],
    )
  }
  if (rng.chance(0.2)) {
    spec.s3 = {
      credentialsSecretRef: { secretName: 's3', accessKeyIdKey: choose(['id', 'key.id'], ['a/b']) },
    }
  }
  return spec
}

function generateAdapters(rng: Rng): ApiAdapter[] {
  return Array.from({ length: rng.int(5) }, () => ({
    type: rng.pick(TYPES),
    port: rng.pick(PORTS),
    enabled: rng.chance(0.8),
    running: rng.chance(0.8),
  }))
}

function generateOutcome(rng: Rng): PollOutcome {
  if (rng.chance(0.15)) return { ok: false, reason: 'APIUnreachable', message: 'down' }
  const rejected = rng.chance(0.2) ? ['entry 0 rejected: /port must be integer'] : []
  return { ok: true, adapters: generateAdapters(rng), rejected }
}

t.test(`generated specs and adapter lists (seed ${SEED}, ${CASES} cases)`, async (t) => {
  let outcome: PollOutcome = { ok: true, adapters: [], rejected: [] }
  const discovery = {
    poll: async () => structuredClone(outcome),
    removeOperatorUser: async () => true,
    counters: () => ({ logins: 0, refreshes: 0, provisions: 0, polls: 0 }),
  } as unknown as Discovery
  let now = Date.parse('2026-03-01T00:00:00Z')
  const app = testApp(t, {}, { now: () => now, discovery })
  const counts = { answers: 0, invalidSpecs: 0, adapterServices: 0 }
  const failures: string[] = []
  /** Which parents wanted each child (`Kind/name`), across all cases: one namespace holds them all. */
  const wantedBy = new Map<string, Set<string>>()

  for (let i = 0; i < CASES; i++) {
    const rng = new Rng(SEED + i)
    const name = rng.pick(NAMES)
    const spec = generateSpec(rng)
    let children: ObjectMap | undefined
    let status: unknown
    for (let round = 0; round < 4; round++) {
      outcome = generateOutcome(rng)
      now += rng.pick([1, 10, 61, 3600]) * 1000 + MINUTE
      if (rng.chance(0.15)) status = undefined // a restore without status
      const finalizing = round === 3 && rng.chance(0.3)
      const meta = { name, ...(finalizing ? { deletionTimestamp: new Date(now).toISOString() } : {}) }
      const request = syncRequest(parent(spec, meta, status), {
        ...(children ? { children } : {}),
        ...(finalizing ? { finalizing: true } : {}),
      })
      let res: Awaited<ReturnType<typeof post>>
      try {
        res = await post(app, finalizing ? '/finalize' : '/sync', request) // throws on a rule broken
      } catch (error) {
        failures.push(`case ${i} round ${round}: ${(error as Error).message}`)
        break
      }
      if (res.status !== 200) {
        failures.push(`case ${i} round ${round}: HTTP ${res.status} ${res.text.slice(0, 200)}`)
        break
      }
      const body = res.json() as SyncResponse
      counts.answers++
      if (conditionOf(body.status, 'Ready')?.reason === 'InvalidSpec') counts.invalidSpecs++
      else {
        for (const c of body.children) {
          const id = `${c.kind}/${c.metadata.name}`
          wantedBy.set(id, (wantedBy.get(id) ?? new Set()).add(name))
        }
      }
      counts.adapterServices += body.children.filter(
        (c) => c.metadata.labels?.['dittofs.io/adapter-service'] === 'true',
      ).length
      status = body.status
      children = withReadyStatefulSet(asObserved(body.children))
    }
  }
  t.same(failures.slice(0, 5), [], 'every answer is a 200 that keeps the API server rules')
  t.equal(counts.answers, CASES * 4, 'every round was answered')
  const shared = [...wantedBy].filter(([, parents]) => parents.size > 1).map(([id, p]) => `${id}: ${[...p]}`)
  t.same(shared, [], 'no child is wanted by two parents')
  // The generator must exercise both paths, or the property says little.
  t.ok(counts.invalidSpecs > CASES / 2, `invalid specs answered: ${counts.invalidSpecs}`)
  t.ok(
    counts.answers - counts.invalidSpecs > CASES,
    `valid specs answered: ${counts.answers - counts.invalidSpecs}`,
  )
  t.ok(counts.adapterServices > CASES, `adapter Services returned: ${counts.adapterServices}`)
})
