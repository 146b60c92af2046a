// Request fuzzing: thousands of mutated Metacontroller requests (sync, finalize, customize; fresh and steady-state,
// hook v1 and v2) against the real app through inject(). Reproducible: case i uses the PRNG seeded with SEED + i,
// so a failure names the one case to rerun (FUZZ_SEED, FUZZ_CASES override the defaults).

import { setFlagsFromString } from 'node:v8'
import { runInNewContext } from 'node:vm'
import t from 'tap'
import type { AppDeps } from '../hooks/app.js'
import { PollSchedule } from '../hooks/discovery/schedule.js'
import type { KubeObject, ObjectMap } from '../hooks/metacontroller/types.js'
import { assertValidAnswer, testApp } from './support/app.js'
import {
  deepNest,
  getAt,
  type Json,
  mutateRaw,
  mutateValue,
  PROTO_KEYS,
  Rng,
  setOwn,
  stringifyDeep,
} from './support/fuzz.js'
import {
  type Answer,
  checkCustomizeAnswer,
  checkProblem,
  checkSyncAnswer,
  prototypeSnapshot,
} from './support/fuzz-oracle.js'
import { stubDiscovery } from './support/fuzz-stub.js'
import {
  asObserved,
  LAST_APPLIED,
  minimalSpec,
  parent,
  syncRequest,
  withReadyStatefulSet,
} from './support/requests.js'

const SEED = Number(process.env.FUZZ_SEED ?? 0x0d177f05)
const CASES = Number(process.env.FUZZ_CASES ?? 1500)
const START = Date.parse('2026-03-01T00:00:00Z')

setFlagsFromString('--expose-gc')
const gc = runInNewContext('gc') as () => void

const fullSpec = () => ({
  storage: { metadataSize: '10Gi', contentSize: '100Gi', storageClassName: 'fast' },
  metrics: { enabled: true, port: 9091 },
  controlPlane: { port: 8081 },
  service: { type: 'ClusterIP', annotations: { 'example.com/team': 'storage' } },
  adapterServices: {
    type: 'LoadBalancer',
    annotations: { 'service.beta.kubernetes.io/aws-load-balancer-type': 'nlb' },
    loadBalancerSourceRanges: ['10.0.0.0/8'],
    overrides: { smb: { type: 'NodePort' } },
  },
  networkPolicy: { enabled: true, from: [{ podSelector: { matchLabels: { role: 'client' } } }] },
  identity: {
    jwt: { secretRef: { name: 'my-jwt', key: 'signing' } },
    admin: { username: 'root', passwordSecretRef: { name: 'my-admin', key: 'password' } },
  },
  resources: { limits: { memory: '1Gi' }, requests: { cpu: '100m' } },
  nfsPort: 2049,
})

const secret = (name: string, data: Record<string, string>): KubeObject => ({
  apiVersion: 'v1',
  kind: 'Secret',
  metadata: { name, namespace: 'storage' },
  data: Object.fromEntries(Object.entries(data).map(([k, v]) => [k, Buffer.from(v).toString('base64')])),
})
const related = (version: 'v1' | 'v2'): ObjectMap => {
  const key = (n: string) => (version === 'v2' ? `storage/${n}` : n)
  return {
    'Secret.v1': {
      [key('my-jwt')]: secret('my-jwt', { signing: 'j'.repeat(40) }),
      [key('my-admin')]: secret('my-admin', { password: 'admin-password-from-secret' }),
    },
  }
}

interface Base {
  name: string
  hook: '/sync' | '/finalize' | '/customize'
  request: Json
  baseAdapters?: string
}

t.test(`request fuzzing (seed ${SEED}, ${CASES} random cases)`, async (t) => {
  const stub = stubDiscovery()
  let clock = START
  const deps: AppDeps = { discovery: stub.discovery, schedule: new PollSchedule(), now: () => clock }
  const app = testApp(t, {}, deps)
  const prototypesIntact = prototypeSnapshot()

  const send = async (
    url: string,
    payload: string | Buffer,
    contentType: string | undefined,
  ): Promise<Answer> => {
    const res = await app.inject({
      method: 'POST',
      url,
      headers: contentType === undefined ? {} : { 'content-type': contentType },
      payload,
    })
    assertValidAnswer(url, res.statusCode, payload.toString(), res.body)
    return { status: res.statusCode, contentType: String(res.headers['content-type'] ?? ''), text: res.body }
  }

  /** Converges a parent as Metacontroller would (children and status fed back), so steady-state bases are real. */
  const converge = async (spec: unknown, version: 'v1' | 'v2', rel: ObjectMap) => {
    let children: ObjectMap | undefined
    let status: unknown
    for (let round = 0; round < 4; round++) {
      clock += 60_000
      const req = syncRequest(parent(spec, {}, status), { related: rel, ...(children ? { children } : {}) })
      const answer = await send('/sync', JSON.stringify(req), 'application/json')
      t.equal(answer.status, 200, `converging ${version} round ${round}`)
      const body = JSON.parse(answer.text)
      status = body.status
      children = withReadyStatefulSet(asObserved(body.children, { version }))
    }
    return { children: children as ObjectMap, status }
  }

  const bases: Base[] = []
  for (const [label, spec, version] of [
    ['minimal v1', minimalSpec(), 'v1'],
    ['full v1', fullSpec(), 'v1'],
    ['full v2', fullSpec(), 'v2'],
  ] as const) {
    const rel = label === 'minimal v1' ? {} : related(version)
    bases.push({
      name: `fresh ${label}`,
      hook: '/sync',
      request: syncRequest(parent(spec), { related: rel }) as unknown as Json,
    })
    const { children, status } = await converge(spec, version, rel)
    const adapters = stringifyDeep(((status as { adapters?: Json }).adapters ?? null) as Json)
    t.match(adapters, /nfs/, `${label}: the steady state has adapter Services to lose`)
    const steady = syncRequest(parent(spec, {}, status), { children, related: rel })
    bases.push({
      name: `steady ${label}`,
      hook: '/sync',
      request: steady as unknown as Json,
      baseAdapters: adapters,
    })
    const deleting = syncRequest(parent(spec, { deletionTimestamp: '2026-03-01T00:01:00Z' }, status), {
      children,
      related: rel,
      finalizing: true,
    })
    bases.push({ name: `finalize ${label}`, hook: '/finalize', request: deleting as unknown as Json })
    const invalid = syncRequest(parent({ ...spec, storage: { metadataSize: 'ten' } }, {}, status), {
      children,
      related: rel,
    })
    bases.push({ name: `invalid spec ${label}`, hook: '/sync', request: invalid as unknown as Json })
    bases.push({
      name: `customize ${label}`,
      hook: '/customize',
      request: { controller: {}, parent: parent(spec) } as unknown as Json,
    })
  }

  stub.targets.splice(0)
  const counts = { cases: 0, ok200: 0, problems4xx: 0, failures: 0, polls: 0 }
  const byStatus: Record<string, number> = {}
  const failures: string[] = []

  const judge = (label: string, base: Base, sent: Json | undefined, answer: Answer, expect200: boolean) => {
    counts.cases++
    byStatus[answer.status] = (byStatus[answer.status] ?? 0) + 1
    const errors: string[] = []
    if (answer.status === 200) {
      counts.ok200++
      if (sent === undefined) errors.push('200 for a body that is not the JSON we meant')
      else if (base.hook === '/customize') errors.push(...checkCustomizeAnswer(sent, answer))
      else
        errors.push(
          ...checkSyncAnswer(sent, answer, base.baseAdapters ? { baseAdapters: base.baseAdapters } : {}),
        )
    } else if (answer.status >= 400 && answer.status < 500) {
      counts.problems4xx++
      errors.push(...checkProblem(answer))
      if (expect200) errors.push(`unmutated request answered ${answer.status}: ${answer.text.slice(0, 200)}`)
    } else {
      errors.push(`answered ${answer.status}: ${answer.text.slice(0, 200)}`)
    }
    errors.push(...prototypesIntact())
    // The API URL comes only from the template: the parent's own name, namespace and port.
    for (const target of stub.targets.splice(0)) {
      counts.polls++
      const p = (
        sent as { parent?: { metadata?: { name?: string; namespace?: string }; spec?: unknown } } | undefined
      )?.parent
      const port = String((p?.spec as { controlPlane?: { port?: number } })?.controlPlane?.port ?? 8080)
      const url = new URL(target.apiUrl)
      const host = `${p?.metadata?.name}-api.${p?.metadata?.namespace}.svc.cluster.local`
      if (url.hostname !== host || url.port !== port || url.pathname !== '/' || url.username || url.search)
        errors.push(`polled ${target.apiUrl}, expected http://${host}:${port}`)
    }
    if (errors.length > 0) {
      counts.failures++
      if (failures.length < 25) failures.push(`${label} [${base.name}]: ${errors.join('; ')}`)
    }
  }

  const run = async (label: string, base: Base, value: Json, expect200 = false) => {
    const text = stringifyDeep(value)
    judge(label, base, JSON.parse(text), await send(base.hook, text, 'application/json'), expect200)
  }

  const cpu = () => {
    const u = process.cpuUsage()
    return (u.user + u.system) / 1000
  }
  const namedStarted = cpu()
  // Named hostile cases first: each of the brief's inputs at least once, on the bases where it matters.
  const deepBases =
    /^(fresh minimal v1|steady full v2|finalize full v1|invalid spec full v1|customize minimal v1)$/
  const manyBases = /^(steady minimal v1|finalize full v2|invalid spec full v1)$/
  const notCallable = { toString: 'x', valueOf: 'y' } as unknown as Json
  for (const base of bases) {
    clock += 600_000
    await run('unmutated', base, structuredClone(base.request), true)
    for (const key of PROTO_KEYS) {
      // The key in every object of the request at once, children maps and spec included.
      const value = structuredClone(base.request)
      const stack: Json[] = [value]
      while (stack.length > 0) {
        const node = stack.pop()
        if (node && typeof node === 'object') {
          stack.push(...(Array.isArray(node) ? node : Object.values(node)))
          if (!Array.isArray(node)) setOwn(node, key, { polluted: 'yes', prototype: { polluted: 'yes' } })
        }
      }
      await run(`${key} at every level`, base, value)
    }
    // Long and unicode names: 52 is the longest parent name the StatefulSet's pod labels allow.
    for (const name of [
      'a'.repeat(52),
      'a'.repeat(53),
      'a'.repeat(253),
      'a'.repeat(254),
      'dïtto',
      'ditto\u{1F4A9}',
    ]) {
      for (const at of ['name', 'namespace'] as const) {
        const value = structuredClone(base.request) as { parent: { metadata: Record<string, Json> } }
        value.parent.metadata[at] = name
        await run(
          `parent ${at} ${name.length > 20 ? `of ${name.length} characters` : name}`,
          base,
          value as unknown as Json,
        )
      }
    }
    // Values whose String() throws, where the hook formats what it read.
    for (const [label, path] of [
      ['parent namespace', ['parent', 'metadata', 'namespace']],
      [
        'adapter-type label',
        ['children', 'Service.v1', 'ditto-adapter-zzz', 'metadata', 'labels', 'dittofs.io/adapter-type'],
      ],
      [
        'volume claim name',
        ['children', 'StatefulSet.apps/v1', 'ditto', 'spec', 'volumeClaimTemplates', '0', 'metadata', 'name'],
      ],
      [
        'volume claim size',
        [
          'children',
          'StatefulSet.apps/v1',
          'ditto',
          'spec',
          'volumeClaimTemplates',
          '1',
          'spec',
          'resources',
          'requests',
          'storage',
        ],
      ],
      ['condition reason', ['parent', 'status', 'conditions', '0', 'reason']],
      ['adapter status type', ['parent', 'status', 'adapters', '0', 'type']],
    ] as const) {
      for (const bad of [notCallable, [notCallable], 42]) {
        const value = structuredClone(base.request)
        const services = getAt(value, ['children', 'Service.v1'])
        if (services && typeof services === 'object' && !Array.isArray(services)) {
          // An adapter Service the status does not account for: the hook reads its labels to keep it.
          const labels = { 'dittofs.io/adapter-service': 'true', 'dittofs.io/adapter-type': 'zzz' }
          const spec = { type: 'ClusterIP', ports: [{ port: 7000 }] }
          services['ditto-adapter-zzz'] = {
            apiVersion: 'v1',
            kind: 'Service',
            metadata: { name: 'ditto-adapter-zzz', labels },
            spec,
          }
        }
        const holder = getAt(value, path.slice(0, -1))
        if (!holder || typeof holder !== 'object') continue
        setOwn(holder as Record<string, Json>, path[path.length - 1] as string, structuredClone(bad))
        await run(`unformattable ${label} ${stringifyDeep(bad)}`, base, value)
      }
    }
    if (deepBases.test(base.name)) {
      for (const depth of [1_000, 10_000]) {
        const nested = () => deepNest(depth, 'leaf', depth > 1000 ? 'array' : 'object')
        const places: Record<string, (value: Record<string, Json>) => void> = {
          spec: (v) =>
            setOwn((v.parent as Record<string, Json>).spec as Record<string, Json>, 'securityContext', {
              x: nested(),
            }),
          status: (v) => setOwn(v.parent as Record<string, Json>, 'status', { adapters: [nested()] }),
          namespace: (v) =>
            setOwn(
              (v.parent as Record<string, Record<string, Json>>).metadata as Record<string, Json>,
              'namespace',
              nested(),
            ),
          children: (v) => {
            v.children = {
              'Service.v1': {
                x: { apiVersion: 'v1', kind: 'Service', metadata: { name: 'x' }, spec: nested() },
              },
            }
          },
          related: (v) => {
            v.related = {
              'Secret.v1': {
                s: { apiVersion: 'v1', kind: 'Secret', metadata: { name: 's' }, data: nested() },
              },
            }
          },
          controller: (v) => {
            v.controller = { spec: nested() }
          },
          'last-applied annotation': (v) => {
            const applied = {
              apiVersion: 'v1',
              kind: 'ConfigMap',
              metadata: { name: 'ditto-config' },
              data: nested(),
            }
            const group = (v.children as Record<string, Record<string, Json>> | undefined)?.['ConfigMap.v1']
            const child = group && Object.values(group)[0]
            if (child && typeof child === 'object' && !Array.isArray(child)) {
              const meta = child.metadata as Record<string, Record<string, Json>>
              meta.annotations = { [LAST_APPLIED]: stringifyDeep(applied) }
            }
          },
        }
        for (const [at, place] of Object.entries(places)) {
          const value = structuredClone(base.request) as Record<string, Json>
          place(value)
          await run(`deep ${depth} in ${at}`, base, value)
        }
        const raw = `{"parent":${'['.repeat(depth)}${']'.repeat(depth)}}`
        judge(`deep raw ${depth}`, base, undefined, await send(base.hook, raw, 'application/json'), false)
      }
    }
    const many = structuredClone(base.request) as { children?: Record<string, Record<string, Json>> }
    if (many.children && manyBases.test(base.name)) {
      const services: Record<string, Json> = many.children['Service.v1'] ?? {}
      for (let i = 0; i < 10_000; i++) {
        services[`ditto-adapter-x${i}`] = {
          apiVersion: 'v1',
          kind: 'Service',
          metadata: {
            name: `ditto-adapter-x${i}`,
            labels: { 'dittofs.io/adapter-service': 'true', 'dittofs.io/adapter-type': `x${i}` },
          },
          spec: { ports: [{ port: 1 + (i % 65535) }] },
        }
      }
      many.children['Service.v1'] = services
      await run('10,000 children', base, many as Json)
    }
  }

  const namedMs = cpu() - namedStarted
  // Random cases.
  const focus = [['parent', 'spec'], ['parent', 'metadata'], ['parent', 'status'], ['children'], ['related']]
  for (let i = 0; i < CASES; i++) {
    const rng = new Rng(SEED + i)
    const base = rng.pick(bases)
    clock += 600_000 // every poll is due
    stub.setOk(rng.chance(0.5))
    const label = `case ${i} (FUZZ_SEED=${SEED + i} FUZZ_CASES=1)`
    if (rng.chance(0.15)) {
      const raw = mutateRaw(rng, JSON.stringify(base.request))
      let sent: Json | undefined
      try {
        sent =
          typeof raw.payload === 'string' && raw.contentType === 'application/json'
            ? parseJson(raw.payload)
            : undefined
      } catch {
        sent = undefined
      }
      const answer = await send(base.hook, raw.payload, raw.contentType)
      // A body the server may read as JSON under another content type: judge it against what it then means.
      const meant = sent ?? (answer.status === 200 ? tryParse(raw.payload) : undefined)
      judge(`${label} ${raw.note}`, base, meant, answer, false)
      continue
    }
    let value = structuredClone(base.request)
    const notes: string[] = []
    for (let m = 0, n = 1 + rng.int(3); m < n; m++) {
      const mutated = mutateValue(rng, value, focus)
      value = mutated.root
      notes.push(mutated.note)
    }
    await run(`${label} ${notes.join(', ')}`, base, value)
  }

  t.comment(
    `cpu: named cases ${Math.round(namedMs)} ms, random cases ${Math.round(cpu() - namedStarted - namedMs)} ms`,
  )
  clock += 600_000
  gc()
  const heapMb = process.memoryUsage().heapUsed / 2 ** 20
  const health = await app.inject({ method: 'GET', url: '/healthz' })
  t.equal(health.statusCode, 200, 'the app still answers /healthz after the run')
  t.ok(heapMb < 512, `heap after the run and a GC: ${Math.round(heapMb)} MiB (bound 512)`)
  t.comment(
    `fuzz: ${counts.cases} cases, ${counts.ok200} answered 200, ${counts.problems4xx} answered a 4xx problem, ` +
      `${counts.polls} polls checked, ${counts.failures} failures; by status ${JSON.stringify(byStatus)}`,
  )
  for (const failure of failures) t.fail(failure)
  t.equal(counts.failures, 0, 'no case broke the contract')
  // The checks above ran over real traffic, not an empty loop.
  t.ok(counts.polls > 100, `the poll-URL check ran (${counts.polls} polls)`)
  t.ok(counts.ok200 > 100 && counts.problems4xx > 100, 'both answers were exercised')
})

/** As the server reads a JSON body: a leading byte-order mark is skipped. */
const parseJson = (text: string): Json => JSON.parse(text.replace(/^\uFEFF/, ''))

function tryParse(payload: string | Buffer): Json | undefined {
  try {
    return parseJson(payload.toString())
  } catch {
    return undefined
  }
}
