// The ten defect classes hostile testing found (issue 15), one test each, written from the class rather than
// from the one example that revealed it. Every answer posted here is also checked by support/apimachinery.ts
// (post() throws on an answer the API server would refuse).
import t from 'tap'
import { ADAPTER_SERVICE_LABEL } from '../hooks/children/adapter-services.js'
import { adapterChildName, adapterPortName, childNames } from '../hooks/children/naming.js'
import type { Discovery } from '../hooks/discovery/discovery.js'
import { secretForms, withoutCredentials } from '../hooks/discovery/discovery.js'
import { SLOT_AIM_MS, slotStartAtOrBefore } from '../hooks/discovery/schedule.js'
import type { ApiAdapter, PollOutcome } from '../hooks/discovery/types.js'
import { MAX_DURATIONS } from '../hooks/dittoserver/schema.js'
import { parseSpec } from '../hooks/dittoserver/spec.js'
import type { KubeObject, ObjectMap, SyncResponse } from '../hooks/metacontroller/types.js'
import { planAdapters } from '../hooks/reconcile/adapters.js'
import {
  child,
  entry,
  inputOf,
  MINUTE,
  makeSpec,
  newWorld,
  nfs,
  PARENT,
  readyCondition,
  serviceNames,
  svcName,
  sync,
} from './adapters-helpers.js'
import { childProblems, isPortName, MAX_RESYNC_SECONDS } from './support/apimachinery.js'
import { post, testApp } from './support/app.js'
import {
  asObserved,
  conditionOf,
  findChild,
  minimalSpec,
  PARENT_UID,
  parent,
  syncRequest,
  withReadyStatefulSet,
} from './support/requests.js'

const T0 = Date.parse('2026-03-01T00:00:00Z')

/** A Discovery that answers whatever the test sets, without a network. */
function scriptedDiscovery(initial: PollOutcome) {
  let outcome = initial
  const discovery = {
    poll: async (): Promise<PollOutcome> => structuredClone(outcome),
    removeOperatorUser: async () => true,
    counters: () => ({ logins: 0, refreshes: 0, provisions: 0, polls: 0 }),
  } as unknown as Discovery
  return { discovery, set: (next: PollOutcome) => (outcome = next) }
}

/** An app on a clock the test moves, polling whenever a sync comes (interval 10 s, the clock moves a minute). */
function hook(t: Parameters<typeof testApp>[0], outcome: PollOutcome) {
  let now = T0
  const scripted = scriptedDiscovery(outcome)
  const app = testApp(t, {}, { now: () => now, discovery: scripted.discovery })
  const send = async (
    spec: unknown,
    options: { children?: ObjectMap; status?: unknown; name?: string; finalizing?: boolean } = {},
  ) => {
    // A minute on, at a poll slot's start: each call is the resync an earlier answer asked for, and polls.
    now = slotStartAtOrBefore(PARENT_UID, 30_000, now + MINUTE) + SLOT_AIM_MS
    const meta = {
      ...(options.name ? { name: options.name } : {}),
      ...(options.finalizing ? { deletionTimestamp: new Date(now).toISOString() } : {}),
    }
    const res = await post(
      app,
      options.finalizing ? '/finalize' : '/sync',
      syncRequest(parent(spec, meta, options.status), {
        ...(options.children ? { children: options.children } : {}),
        ...(options.finalizing ? { finalizing: true } : {}),
      }),
    )
    return { status: res.status, body: res.json() as SyncResponse }
  }
  return { app, send, set: scripted.set }
}

const ok = (adapters: ApiAdapter[], rejected: string[] = []): PollOutcome => ({
  ok: true,
  adapters,
  rejected,
})
const observedFrom = (body: SyncResponse) => withReadyStatefulSet(asObserved(body.children))
const invalidFields = (body: SyncResponse): string => conditionOf(body.status, 'Ready')?.message ?? ''

t.test('1. spec values the API server would refuse on a child are refused, naming the field', async (t) => {
  const base = minimalSpec()
  const cases: Array<[string, Record<string, unknown>, string]> = [
    [
      'API Service annotation key',
      { service: { annotations: { 'bad key!': 'x' } } },
      'spec.service.annotations',
    ],
    [
      'two slashes',
      { adapterServices: { annotations: { 'a/b/c': 'x' } } },
      'spec.adapterServices.annotations',
    ],
    ['prefix not DNS', { service: { annotations: { 'Example.com/x': 'y' } } }, 'spec.service.annotations'],
    [
      'override annotation key',
      { adapterServices: { overrides: { NFS: { annotations: { '-x': 'y' } } } } },
      'spec.adapterServices.overrides["NFS"].annotations',
    ],
    [
      'source-ranges annotation not CIDRs',
      {
        adapterServices: { annotations: { 'service.beta.kubernetes.io/load-balancer-source-ranges': 'any' } },
      },
      'spec.adapterServices.annotations',
    ],
    [
      'source range',
      { adapterServices: { loadBalancerSourceRanges: ['999.1.1.1/99'] } },
      'loadBalancerSourceRanges',
    ],
    [
      'IPv4 prefix',
      { adapterServices: { loadBalancerSourceRanges: ['10.0.0.0/33'] } },
      'loadBalancerSourceRanges',
    ],
    [
      'leading zero',
      { adapterServices: { loadBalancerSourceRanges: ['010.0.0.0/8'] } },
      'loadBalancerSourceRanges',
    ],
    [
      'IPv6 nonsense',
      { adapterServices: { loadBalancerSourceRanges: ['1:2:3/64'] } },
      'loadBalancerSourceRanges',
    ],
    ['empty peer', { networkPolicy: { enabled: true, from: [{}] } }, 'spec.networkPolicy.from[0]'],
    [
      'selector not an object',
      { networkPolicy: { from: [{ podSelector: 'app=x' }] } },
      'spec.networkPolicy.from',
    ],
    [
      'peer label key',
      { networkPolicy: { from: [{ podSelector: { matchLabels: { 'bad key!': 'v' } } }] } },
      'spec.networkPolicy.from[0].podSelector.matchLabels',
    ],
    [
      'peer label value',
      { networkPolicy: { from: [{ namespaceSelector: { matchLabels: { team: 'a b' } } }] } },
      'spec.networkPolicy.from[0].namespaceSelector.matchLabels',
    ],
    [
      'In without values',
      { networkPolicy: { from: [{ podSelector: { matchExpressions: [{ key: 'a', operator: 'In' }] } }] } },
      'spec.networkPolicy.from[0].podSelector.matchExpressions[0].values',
    ],
    [
      'bad ipBlock',
      { networkPolicy: { from: [{ ipBlock: { cidr: '10.0.0.0' } }] } },
      'spec.networkPolicy.from',
    ],
    [
      'ipBlock with a selector',
      { networkPolicy: { from: [{ ipBlock: { cidr: '10.0.0.0/8' }, podSelector: {} }] } },
      'spec.networkPolicy.from[0]',
    ],
    [
      'except outside cidr',
      { networkPolicy: { from: [{ ipBlock: { cidr: '10.0.0.0/8', except: ['11.0.0.0/16'] } }] } },
      'spec.networkPolicy.from[0].ipBlock.except[0]',
    ],
    [
      'S3 key with a slash',
      { s3: { credentialsSecretRef: { secretName: 's3', accessKeyIdKey: 'aws/id' } } },
      'spec.s3.credentialsSecretRef.accessKeyIdKey',
    ],
    ['not a quantity', { resources: { limits: { cpu: 'lots' } } }, 'spec.resources.limits'],
    [
      'negative quantity',
      { resources: { requests: { memory: '-1Gi' } } },
      'spec.resources.requests["memory"]',
    ],
    ['unknown resource', { resources: { limits: { gpu: 1 } } }, 'spec.resources.limits["gpu"]'],
    [
      'request above limit',
      { resources: { requests: { cpu: '2' }, limits: { cpu: '500m' } } },
      'spec.resources.requests["cpu"]',
    ],
    ['resource claims', { resources: { claims: [{ name: 'gpu' }] } }, 'spec.resources.claims'],
    ['storage class', { storage: { metadataSize: '1Gi', storageClassName: 'Fast_SSD' } }, 'storageClassName'],
    ['image whitespace', { image: ' dittofs:1' }, 'spec.image'],
    [
      'annotations over 256 KiB',
      {
        service: {
          annotations: Object.fromEntries([...Array(3000)].map((_, i) => [`k${i}`, 'v'.repeat(100)])),
        },
      },
      'spec.service.annotations',
    ],
  ]
  const { send } = hook(t, ok([]))
  for (const [name, fields, field] of cases) {
    const spec = { ...base, ...fields }
    const parsed = parseSpec(spec)
    t.notOk(parsed.ok, `${name}: refused`)
    if (!parsed.ok)
      t.ok(
        parsed.errors.some((e) => e.field.includes(field)),
        `${name}: names ${field}`,
      )
    const res = await send(spec)
    t.equal(res.status, 200, `${name}: a 200, not an error Metacontroller would only log`)
    t.match(invalidFields(res.body), field, `${name}: Ready InvalidSpec names ${field}`)
  }
  const good = await send({
    ...base,
    service: { annotations: { 'service.beta.kubernetes.io/load-balancer-source-ranges': '10.0.0.0/8' } },
    adapterServices: { loadBalancerSourceRanges: ['10.0.0.0/8', 'fd00::/64', '::ffff:10.0.0.0/104'] },
    networkPolicy: {
      enabled: true,
      from: [
        { ipBlock: { cidr: '10.0.0.0/8', except: ['10.1.0.0/16'] } },
        { podSelector: { matchExpressions: [{ key: 'team', operator: 'Exists' }] }, namespaceSelector: {} },
      ],
    },
    resources: {
      requests: { cpu: '250m', memory: '1Gi' },
      limits: { cpu: 1, memory: '2Gi', 'example.com/fpga': 1 },
    },
  })
  t.equal(conditionOf(good.body.status, 'Ready')?.reason === 'InvalidSpec', false, 'valid values pass')
  const api = findChild(good.body.children, 'Service', 'ditto-api')
  t.same(
    api?.metadata.annotations ?? {},
    {},
    'the LoadBalancer-only annotation is not kept on a ClusterIP API Service',
  )
})

t.test('2. every duration is bounded: a huge one is an InvalidSpec, never a 500', async (t) => {
  const fields: Array<[string, (value: string) => Record<string, unknown>, string]> = [
    [
      'pollingInterval',
      (v) => ({ adapterDiscovery: { pollingInterval: v } }),
      'spec.adapterDiscovery.pollingInterval',
    ],
    ['removalGracePeriod', (v) => ({ adapterServices: { removalGracePeriod: v } }), 'removalGracePeriod'],
    ['loadBalancerTimeout', (v) => ({ adapterServices: { loadBalancerTimeout: v } }), 'loadBalancerTimeout'],
    [
      'accessTokenDuration',
      (v) => ({ identity: { jwt: { accessTokenDuration: v } } }),
      'accessTokenDuration',
    ],
    [
      'refreshTokenDuration',
      (v) => ({ identity: { jwt: { refreshTokenDuration: v } } }),
      'refreshTokenDuration',
    ],
  ]
  const { send } = hook(t, ok([nfs()]))
  for (const [key, make, field] of fields) {
    const max = MAX_DURATIONS[key as keyof typeof MAX_DURATIONS]
    t.ok(parseSpec({ ...minimalSpec(), ...make(max) }).ok, `${key}: ${max} is accepted`)
    for (const huge of ['2500000000h', `${max}1s`, '9999999999999999999999h']) {
      const res = await send({ ...minimalSpec(), ...make(huge) })
      t.equal(res.status, 200, `${key} ${huge}: answered`)
      t.match(invalidFields(res.body), field, `${key} ${huge}: InvalidSpec names the field`)
    }
  }
  // The longest grace period with an adapter in it: every sync still answers, the resync stays bounded.
  const world = newWorld(
    makeSpec({ adapterServices: { removalGracePeriod: MAX_DURATIONS.removalGracePeriod } }),
  )
  sync(world, [nfs()])
  world.now += MINUTE
  const plan = sync(world, [])
  t.ok(entry(plan, 'nfs')?.missingSince, 'in its grace period')
  t.same(serviceNames(plan), [svcName('nfs')])
})

t.test('3. resyncAfterSeconds never exceeds a day, whatever the intervals', async (t) => {
  const specs = [
    { adapterDiscovery: { pollingInterval: MAX_DURATIONS.pollingInterval } },
    { adapterServices: { removalGracePeriod: MAX_DURATIONS.removalGracePeriod } },
    { adapterServices: { loadBalancerTimeout: MAX_DURATIONS.loadBalancerTimeout } },
  ]
  for (const fields of specs) {
    const { send, set } = hook(t, ok([nfs()]))
    const spec = { ...minimalSpec(), ...fields }
    let res = await send(spec)
    for (let round = 0; round < 4; round++) {
      res = await send(spec, { children: observedFrom(res.body), status: res.body.status })
      if (round === 1) set(ok([]))
      const resync = res.body.resyncAfterSeconds ?? 0
      t.ok(
        resync >= 1 && resync <= MAX_RESYNC_SECONDS,
        `${JSON.stringify(fields)} round ${round}: ${resync}s`,
      )
    }
  }
})

t.test('4. a port name keeps a letter after any cut (long numeric-looking types)', async (t) => {
  const bad: string[] = []
  for (let i = 0; i < 3000; i++) {
    for (const type of [`2049${'0'.repeat(i % 20)}${i}a`, `${i}`.padStart(18, '9'), `${i}-${i}-${i}-a`]) {
      const name = adapterPortName(type)
      if (!isPortName(name)) bad.push(`${type} → ${name}`)
    }
  }
  t.same(bad.slice(0, 5), [], 'every port name is an IANA service name')
})

t.test('5. an adapter on the API or metrics port is refused, never exposed', async (t) => {
  const spec = makeSpec({ metrics: { enabled: true, port: 9090 } })
  const world = newWorld(spec)
  const plan = sync(world, [
    nfs({ port: 8080 }),
    nfs({ type: 'smb', port: 9090 }),
    nfs({ type: 'x', port: 2049 }),
  ])
  t.same(serviceNames(plan), [svcName('x')], 'only the adapter on its own port gets a Service')
  t.same(
    entry(plan, 'nfs'),
    { type: 'nfs', port: 8080, enabled: true, running: true },
    'reported, no Service',
  )
  t.equal(readyCondition(plan).reason, 'AdapterPortConflict')
  t.match(readyCondition(plan).message, /nfs \(port 8080\), smb \(port 9090\)/)

  // A forged status (or one written by an older hook) naming the API port: no Service either, and an observed one
  // (which an older hook may have made) is removed.
  const forged = newWorld(makeSpec())
  forged.lastKnown = [{ type: 'nfs', port: 8080, enabled: true, running: true }]
  forged.services.set(svcName('nfs'), {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name: svcName('nfs'), labels: { [ADAPTER_SERVICE_LABEL]: 'true' } },
    spec: { type: 'LoadBalancer', ports: [{ port: 8080 }] },
  })
  const again = planAdapters(inputOf(forged, undefined))
  t.same(
    again.children.filter((c) => c.kind === 'Service'),
    [],
    'not exposed from a forged status',
  )
  forged.lastKnown = []
  const lost = planAdapters(inputOf(forged, undefined))
  t.same(
    lost.children.filter((c) => c.kind === 'Service'),
    [],
    'nor kept from observation with the status lost',
  )
})

t.test(
  '6. a lost status and a list with a malformed entry never delete an observed adapter Service',
  async (t) => {
    const { send, set } = hook(t, ok([nfs(), nfs({ type: 'smb', port: 1445 })]))
    let res = await send(minimalSpec())
    res = await send(minimalSpec(), { children: observedFrom(res.body), status: res.body.status })
    const children = observedFrom(res.body)
    t.ok(findChild(res.body.children, 'Service', 'ditto-adapter-nfs'), 'nfs has its Service')
    // The status is lost (a restore without status); DittoFS lists smb fine but nfs malformed.
    set(ok([nfs({ type: 'smb', port: 1445 })], ['entry 0 rejected: /port must be integer']))
    res = await send(minimalSpec(), { children, status: undefined })
    t.ok(findChild(res.body.children, 'Service', 'ditto-adapter-nfs'), 'the observed nfs Service is kept')
    t.ok(findChild(res.body.children, 'Service', 'ditto-adapter-smb'), 'the listed one too')
    // A complete list is the API speaking: then an unlisted Service goes.
    set(ok([nfs({ type: 'smb', port: 1445 })]))
    res = await send(minimalSpec(), { children, status: undefined })
    t.notOk(findChild(res.body.children, 'Service', 'ditto-adapter-nfs'), 'a complete list removes it')
  },
)

t.test('7. a Service rebuilt from observation keeps its per-type override', async (t) => {
  for (const type of ['nfs_v4', 'NFS', 'smb']) {
    const spec = makeSpec({
      adapterServices: { type: 'LoadBalancer', overrides: { [type.toLowerCase()]: { type: 'NodePort' } } },
    })
    const world = newWorld(spec)
    sync(world, [nfs({ type })])
    const name = adapterChildName(PARENT, type)
    t.equal(
      (world.services.get(name)?.spec as { type?: string } | undefined)?.type,
      'NodePort',
      `${type}: NodePort`,
    )
    world.lastKnown = [] // the status is lost; no poll
    world.now += MINUTE
    const plan = sync(world, undefined)
    t.equal(
      (child(plan, 'Service', name).spec as { type: string }).type,
      'NodePort',
      `${type}: still NodePort`,
    )
    t.same(world.updates, [], `${type}: the Service is not touched`)
  }
})

t.test('8. the infrastructure is never an adapter Service, whatever its labels say', async (t) => {
  const { send } = hook(t, ok([nfs()]))
  let res = await send(minimalSpec())
  res = await send(minimalSpec(), { children: observedFrom(res.body), status: res.body.status })
  t.ok(findChild(res.body.children, 'Service', 'ditto-adapter-nfs'), 'an adapter Service exists')
  const children = observedFrom(res.body)
  const names = childNames('ditto')
  for (const name of [names.apiService, names.headlessService]) {
    const observed = children['Service.v1']?.[name] as KubeObject
    observed.metadata.labels = { ...observed.metadata.labels, [ADAPTER_SERVICE_LABEL]: 'true' }
  }
  res = await send(minimalSpec(), { children, status: undefined })
  const api = res.body.children.filter((c) => c.kind === 'Service' && c.metadata.name === names.apiService)
  t.equal(api.length, 1, 'one ditto-api')
  t.equal(
    (api[0]?.spec as { type?: string } | undefined)?.type,
    'ClusterIP',
    'still the API Service, not a LoadBalancer',
  )
  res = await send(minimalSpec(), { children, status: res.body.status, finalizing: true })
  t.notOk(findChild(res.body.children, 'Service', 'ditto-adapter-nfs'), 'finalize drops adapter Services')
  t.ok(findChild(res.body.children, 'Service', names.apiService), 'but not the relabelled API Service')
  t.match(
    conditionOf(res.body.status, 'Ready')?.message ?? '',
    /ditto-adapter-nfs/,
    'waits for the real one only',
  )
  t.notMatch(conditionOf(res.body.status, 'Ready')?.message ?? '', /ditto-api|ditto-headless/)
})

t.test('9. types differing only in case are two adapters that converge', async (t) => {
  const list = [nfs({ type: 'NFS', port: 2049 }), nfs({ port: 12049 })]
  const { send, set } = hook(t, ok(list))
  let res = await send(minimalSpec())
  for (let round = 0; round < 3; round++) {
    res = await send(minimalSpec(), { children: observedFrom(res.body), status: res.body.status })
  }
  const ports = (res.body.status.adapters as Array<{ type: string; port: number }>).map(
    (a) => `${a.type}:${a.port}`,
  )
  t.same(ports.sort(), ['NFS:2049', 'nfs:12049'])
  t.equal(
    new Set(res.body.children.map((c) => `${c.kind}/${c.metadata.name}`)).size,
    res.body.children.length,
  )
  // nfs moves port: the new port is taken at once, nothing stale is carried.
  set(ok([nfs({ type: 'NFS', port: 2049 }), nfs({ port: 13049 })]))
  res = await send(minimalSpec(), { children: observedFrom(res.body), status: res.body.status })
  const moved = (res.body.status.adapters as Array<{ type: string; port: number }>).find(
    (a) => a.type === 'nfs',
  )
  t.equal(moved?.port, 13049)
})

t.test('10. children of different parents never share a name; today’s names are kept', async (t) => {
  const namesOf = (parentName: string, types: string[]) => {
    const infra = childNames(parentName)
    const services = [infra.apiService, infra.headlessService, infra.metricsService]
    const adapters = types.map((type) => adapterChildName(parentName, type))
    return {
      Service: new Set([...services, ...adapters]),
      NetworkPolicy: new Set([infra.baselinePolicy, ...adapters]),
    }
  }
  const parents = ['ga', 'ga-adapter', 'ga-adapter-x', 'ga-adapter-x-adapter', 'x', 'x-api', 'nfs-1a2b']
  const types = [
    'x',
    'x-api',
    'api',
    'x-adapter-y',
    'y',
    'headless',
    'x-metrics',
    'baseline',
    'adapter',
    'nfs',
    'NFS',
  ]
  const clashes: string[] = []
  for (const p of parents) {
    for (const q of parents) {
      if (p === q) continue
      const a = namesOf(p, types)
      const b = namesOf(q, types)
      for (const kind of ['Service', 'NetworkPolicy'] as const) {
        for (const name of a[kind]) if (b[kind].has(name)) clashes.push(`${kind}/${name}: ${p} and ${q}`)
      }
    }
  }
  t.same(clashes, [], 'no two parents want the same child')
  t.same(
    ['nfs', 'smb', 'nfs-v4', 's3', 'ftp'].map((type) => adapterChildName('files', type)),
    [
      'files-adapter-nfs',
      'files-adapter-smb',
      'files-adapter-nfs-v4',
      'files-adapter-s3',
      'files-adapter-ftp',
    ],
    'adapter types that cannot collide keep their Service names',
  )
})

t.test('every encoding of every credential is scrubbed from a condition message', async (t) => {
  const password = 'S3cr3t+/pässword=='
  const basic = Buffer.from(`admin:${password}`).toString('base64')
  const forms = [
    password,
    JSON.stringify(password).slice(1, -1),
    Buffer.from(password).toString('base64'),
    Buffer.from(password).toString('base64url'),
    Buffer.from(`x${password}`).toString('base64url'),
    Buffer.from(`xy${password}`).toString('base64'),
  ]
  for (const form of forms) {
    const failure: PollOutcome = {
      ok: false,
      reason: 'AuthenticationFailed',
      message: `401: bad ${form} (${basic})`,
    }
    const clean = withoutCredentials(failure, [password])
    t.ok(clean.ok === false && !clean.message.includes(form), `${form} scrubbed`)
    // What is left of the Basic value can no longer be decoded into the password.
    const left = clean.ok ? '' : clean.message
    t.notOk(
      Buffer.from(left.replace(/[^A-Za-z0-9+/]/g, ''), 'base64')
        .toString()
        .includes(password),
    )
  }
  for (let i = 0; i < 200; i++) {
    const secret = `${'k'.repeat(i % 7)}${i * 7919}-secret-${i}`
    for (const prefix of ['', 'a', 'ab', 'user:']) {
      const encoded = Buffer.from(`${prefix}${secret}tail`).toString(i % 2 === 0 ? 'base64' : 'base64url')
      const message = withoutCredentials({ ok: false, reason: 'APIUnreachable', message: encoded }, [secret])
      const decoded = Buffer.from(
        message.ok ? '' : message.message.replaceAll('[redacted]', ''),
        'base64',
      ).toString()
      if (decoded.includes(secret)) t.fail(`${secret} survived in ${encoded}`)
    }
  }
  t.ok(secretForms('short').includes('short'), 'a short secret is still scrubbed raw')
  const typed = withoutCredentials(ok([nfs({ type: Buffer.from(password).toString('base64url') })]), [
    password,
  ])
  t.ok(typed.ok && typed.adapters.length === 0, 'an adapter type carrying an encoded credential is rejected')
})

t.test(
  'names: every name the API server stores gets a 200; one no child can carry is an InvalidSpec',
  async (t) => {
    const { send } = hook(t, ok([]))
    for (const name of ['1abc', 'a.b', 'a'.repeat(53), '0', 'x--y.z']) {
      const res = await send(minimalSpec(), { name })
      t.equal(res.status, 200, `${name}: 200`)
      t.match(invalidFields(res.body), /metadata\.name/, `${name}: InvalidSpec names metadata.name`)
      t.same(res.body.children, [], `${name}: no child (nothing observed, nothing built)`)
    }
    for (const name of ['a', 'a'.repeat(52), 'x-1', 'files']) {
      const res = await send(minimalSpec(), { name })
      t.equal(res.status, 200)
      t.not(conditionOf(res.body.status, 'Ready')?.reason, 'InvalidSpec', `${name}: works`)
      t.same(res.body.children.flatMap(childProblems), [], `${name}: every child valid`)
    }
    for (const name of ['Abc', 'a_b', '-a', 'a.']) {
      const res = await send(minimalSpec(), { name })
      t.equal(res.status, 400, `${JSON.stringify(name)}: the API server never stores it; a malformed request`)
    }
  },
)
