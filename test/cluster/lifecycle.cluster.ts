// One DittoServer's life on the real control plane: created -> infrastructure children accepted by the API
// server -> the real DittoFS pod Ready -> the k8s-operator account provisioned through the real API -> adapters
// discovered -> adapter Services and NetworkPolicies -> status; then an adapter disabled and re-enabled through
// the real DittoFS API, a port change, a DittoFS outage, a hook restart; finally deletion with the cloud
// finalizer, the finalize hook and the garbage collector.
import t from 'tap'
import { collectionPath } from './kube.js'
import {
  agent,
  changedPaths,
  childrenOf,
  clusterWithNamespace,
  conditionOf,
  dittofs,
  dittofsCalls,
  dittoServer,
  dittoServersPath,
  login,
  ownedBy,
  restartHook,
  waitUntil,
} from './support.js'

const NAME = 'life'
const GRACE_SECONDS = 40
const { c, ns } = await clusterWithNamespace('lifecycle')

const parentPath = `${dittoServersPath(ns)}/${NAME}`
const servicePath = (name: string) => `${collectionPath('v1', 'services', ns)}/${name}`
const parent = () => c.kube.get(parentPath)
const adapterStatus = async (type: string) =>
  ((await parent()).status?.adapters as any[] | undefined)?.find((a) => a.type === type)
const report: Record<string, number | string> = {}

const INFRASTRUCTURE = [
  'ConfigMap/life-config',
  'NetworkPolicy/life-baseline',
  'Secret/life-admin-credentials',
  'Secret/life-jwt-secret',
  'Secret/life-operator-credentials',
  'Service/life-api',
  'Service/life-headless',
  'StatefulSet/life',
]

let parentUid = ''
let created = 0
let adminToken = ''

t.test('create: every infrastructure child exists, accepted by the API server', async (t) => {
  created = Date.now()
  const object = await c.kube.create(
    dittoServersPath(ns),
    dittoServer(NAME, ns, {
      storage: { metadataSize: '1Gi' },
      adapterDiscovery: { pollingInterval: '10s' },
      adapterServices: { removalGracePeriod: `${GRACE_SECONDS}s` },
      networkPolicy: { enabled: true },
    }),
  )
  parentUid = object.metadata.uid!
  const children = await waitUntil('the infrastructure children', async () => {
    const names = Object.keys(await childrenOf(c, ns, parentUid))
    return INFRASTRUCTURE.every((n) => names.includes(n)) ? names : undefined
  })
  report.createdToInfrastructureMs = Date.now() - created
  t.same(
    children.filter((n) => !n.includes('-adapter-')).sort(),
    INFRASTRUCTURE,
    'exactly the infrastructure children (no adapter child before the pod is ready)',
  )
  const status = await waitUntil(
    'a status from the hook',
    async () => (await parent()).status?.conditions && (await parent()).status,
  )
  t.equal(conditionOf({ metadata: { name: NAME }, status }, 'AdaptersSynced')?.reason, 'WaitingForPod')
})

t.test(
  'pod Ready: the real DittoFS answers, the operator account is provisioned, adapters are discovered',
  async (t) => {
    const readyAt = await waitUntil(
      'the StatefulSet ready',
      async () =>
        ((await c.kube.get(`${collectionPath('apps/v1', 'statefulsets', ns)}/${NAME}`)).status
          ?.readyReplicas ?? 0) >= 1 && Date.now(),
      240_000,
    )
    report.createdToPodReadyMs = readyAt - created
    const health = await dittofs(c, ns, NAME, 'GET', '/health/ready')
    t.equal(health.status, 200, 'DittoFS /health/ready through the Service')
    t.match(health.body, { status: 'healthy' })

    // The admin password the hook generated (a child Secret) is the one the real server bootstrapped with.
    adminToken = await login(c, ns, NAME, `${NAME}-admin-credentials`)
    await waitUntil('the k8s-operator login', () =>
      login(c, ns, NAME, `${NAME}-operator-credentials`).catch(() => undefined),
    )
    const users = await dittofs(c, ns, NAME, 'GET', '/api/v1/users', { token: adminToken })
    t.equal(users.status, 200)
    t.match(
      (users.body as any[]).find((u) => u.username === 'k8s-operator'),
      { username: 'k8s-operator', role: 'operator' },
      'the hook created k8s-operator with the operator role',
    )

    const services = await waitUntil('the adapter Services', async () => {
      const names = Object.keys(await childrenOf(c, ns, parentUid))
      return ['Service/life-adapter-nfs', 'Service/life-adapter-smb'].every((n) => names.includes(n)) && names
    })
    report.podReadyToAdapterServicesMs = Date.now() - readyAt
    t.ok(services.includes('NetworkPolicy/life-adapter-nfs'), 'per-adapter NetworkPolicy for nfs')
    t.ok(services.includes('NetworkPolicy/life-adapter-smb'), 'per-adapter NetworkPolicy for smb')

    const nfs = await c.kube.get(servicePath('life-adapter-nfs'))
    t.match(nfs.spec, { type: 'LoadBalancer', ports: [{ port: 12049 }] })
    const status = await waitUntil(
      'the adapters in the status with their load balancer addresses',
      async () => {
        const s = (await parent()).status
        const ready = conditionOf({ metadata: { name: NAME }, status: s }, 'AdapterServicesReady')
        return ready?.status === 'True' && s
      },
    )
    t.match(status.adapters, [
      {
        type: 'nfs',
        port: 12049,
        enabled: true,
        running: true,
        serviceName: 'life-adapter-nfs',
        endpoints: [/^192\.0\.2\.\d+:12049$/],
      },
      {
        type: 'smb',
        port: 1445,
        enabled: true,
        running: true,
        serviceName: 'life-adapter-smb',
        endpoints: [/^192\.0\.2\.\d+:1445$/],
      },
    ])
    t.match(conditionOf({ metadata: { name: NAME }, status }, 'AdaptersSynced'), {
      status: 'True',
      reason: 'PollSucceeded',
    })
    t.match(conditionOf({ metadata: { name: NAME }, status }, 'Authenticated'), { status: 'True' })
    t.equal(status.phase, 'Running')
  },
)

t.test('an adapter disabled and re-enabled within the grace period keeps its Service', async (t) => {
  const before = await c.kube.get(servicePath('life-adapter-smb'))
  const off = await dittofs(c, ns, NAME, 'PUT', '/api/v1/adapters/smb', {
    token: adminToken,
    body: { enabled: false },
  })
  t.equal(off.status, 200, 'DittoFS disabled smb')
  const missing = await waitUntil(
    'smb reported missing',
    async () => (await adapterStatus('smb'))?.missingSince,
    60_000,
  )
  t.type(missing, 'string')
  t.equal(
    (await c.kube.get(servicePath('life-adapter-smb'))).metadata.uid,
    before.metadata.uid,
    'Service kept in grace',
  )
  const on = await dittofs(c, ns, NAME, 'PUT', '/api/v1/adapters/smb', {
    token: adminToken,
    body: { enabled: true },
  })
  t.equal(on.status, 200, 'DittoFS enabled smb again')
  await waitUntil(
    'smb active again',
    async () => {
      const a = await adapterStatus('smb')
      return a?.enabled && a.missingSince === undefined
    },
    60_000,
  )
  t.equal(
    (await c.kube.get(servicePath('life-adapter-smb'))).metadata.uid,
    before.metadata.uid,
    'the same Service',
  )
})

t.test(
  'an adapter disabled for longer than the grace period loses its Service after the grace',
  async (t) => {
    const off = await dittofs(c, ns, NAME, 'PUT', '/api/v1/adapters/smb', {
      token: adminToken,
      body: { enabled: false },
    })
    t.equal(off.status, 200)
    const since = Date.parse(
      await waitUntil('smb missing', async () => (await adapterStatus('smb'))?.missingSince, 60_000),
    )
    await waitUntil(
      'the smb Service gone',
      async () => !(await c.kube.find(servicePath('life-adapter-smb'))),
      180_000,
    )
    const gone = Date.now()
    t.ok(
      gone - since >= GRACE_SECONDS * 1000,
      `removed ${Math.round((gone - since) / 1000)} s after missingSince (grace ${GRACE_SECONDS} s)`,
    )
    const policy = `${collectionPath('networking.k8s.io/v1', 'networkpolicies', ns)}/life-adapter-smb`
    await waitUntil(
      'the smb NetworkPolicy gone after its Service',
      async () => !(await c.kube.find(policy)),
      60_000,
    )
    // DittoFS still lists the disabled adapter, so the status does too: disabled, with no Service.
    t.match(await adapterStatus('smb'), { type: 'smb', enabled: false, running: false })
    t.equal((await adapterStatus('smb'))?.serviceName, undefined, 'no Service named for smb')
  },
)

t.test('a port change moves the Service port, same Service', async (t) => {
  const before = await c.kube.get(servicePath('life-adapter-nfs'))
  const put = await dittofs(c, ns, NAME, 'PUT', '/api/v1/adapters/nfs', {
    token: adminToken,
    body: { port: 12050 },
  })
  t.equal(put.status, 200)
  const after = await waitUntil(
    'the nfs Service on 12050',
    async () => {
      const svc = await c.kube.get(servicePath('life-adapter-nfs'))
      return svc.spec.ports[0].port === 12050 && svc
    },
    60_000,
  )
  t.equal(after.metadata.uid, before.metadata.uid, 'updated in place')
  t.equal(after.spec.ports[0].targetPort, 12050)
})

t.test(
  'DittoFS down for minutes: nothing is deleted, the conditions say why; back: reconciled',
  async (t) => {
    const before = await childrenOf(c, ns, parentUid)
    const pod = `${NAME}-0`
    await agent(c, 'POST', `/pods/${ns}/${pod}/hold`)
    const reason = await waitUntil(
      'a condition saying DittoFS is unreachable',
      async () => {
        const s = (await parent()).status
        const synced = conditionOf({ metadata: { name: NAME }, status: s }, 'AdaptersSynced')
        return synced?.status === 'False' && synced.reason
      },
      120_000,
    )
    t.match(reason, /^(APIUnreachable|WaitingForPod)$/, `AdaptersSynced False ${reason}`)
    // Stay down for two minutes: polling every 10 s would make 12 attempts; back-off and the readiness gate
    // (the pod turns NotReady, so the hook waits for it instead of polling) must make far fewer.
    const callsBefore = await dittofsCalls(c, ns, NAME)
    await new Promise((r) => setTimeout(r, 120_000))
    const attempts = (await dittofsCalls(c, ns, NAME)) - callsBefore
    report.dittofsAttemptsDuringTwoMinuteOutage = attempts
    t.ok(attempts <= 4, `${attempts} DittoFS attempts in the two minutes`)
    const during = await childrenOf(c, ns, parentUid)
    t.same(Object.keys(during).sort(), Object.keys(before).sort(), 'no child was deleted or added')
    for (const [name, child] of Object.entries(before))
      t.equal(during[name]?.uid, child.uid, `${name} is the same object`)
    await agent(c, 'POST', `/pods/${ns}/${pod}/release`)
    await waitUntil(
      'AdaptersSynced True again',
      async () => {
        const synced = conditionOf(await parent(), 'AdaptersSynced')
        return synced?.status === 'True'
      },
      240_000,
    )
    const after = await childrenOf(c, ns, parentUid)
    for (const [name, child] of Object.entries(before))
      t.equal(after[name]?.uid, child.uid, `${name} survived`)
  },
)

// Resource versions of every owned child and of the parent, to tell a settled world from one still converging.
async function versions(): Promise<string> {
  const children = await childrenOf(c, ns, parentUid)
  const rvs = Object.entries(children).map(([name, child]) => `${name}@${child.resourceVersion}`)
  return [...rvs.sort(), `parent@${(await parent()).metadata.resourceVersion}`].join(' ')
}

/** Waits until nothing owned by the parent (nor its status) was written for `quietMs`. */
async function settled(quietMs: number, timeoutMs: number): Promise<void> {
  let last = await versions()
  let quietSince = Date.now()
  await waitUntil(
    `no writes for ${quietMs / 1000} s`,
    async () => {
      const now = await versions()
      if (now !== last) {
        last = now
        quietSince = Date.now()
      }
      return Date.now() - quietSince >= quietMs
    },
    timeoutMs,
    2_000,
  )
}

t.test('the hook process restarted: nothing changes', async (t) => {
  // The outage before this left the world converging (the pod back to Ready, adapters re-read): start from rest,
  // so that any write counted below is the restart's.
  await settled(25_000, 180_000)
  const before = await childrenOf(c, ns, parentUid)
  const parentBefore = await parent()
  await restartHook(c)
  // Several syncs: the poll interval is 10 s, the resync period is short.
  await new Promise((r) => setTimeout(r, 35_000))
  const after = await childrenOf(c, ns, parentUid)
  // On a failure, say what was written: one earlier run saw an adapter Service, its policy and the status
  // written here, and the cause was never established.
  for (const [name, child] of Object.entries(before)) {
    t.equal(after[name]?.resourceVersion, child.resourceVersion, `${name} not written`, {
      changed: changedPaths(child.object, after[name]?.object),
    })
  }
  const parentAfter = await parent()
  t.equal(
    parentAfter.metadata.resourceVersion,
    parentBefore.metadata.resourceVersion,
    'parent status not written',
    {
      changed: changedPaths(parentBefore, parentAfter),
    },
  )
})

t.test(
  'delete: adapter Services go first (cloud finalizer), then the finalize hook lets go, GC removes the rest',
  async (t) => {
    const watchStart = Date.now()
    await c.kube.delete(parentPath)
    const order: string[] = []
    await waitUntil(
      'the DittoServer gone',
      async () => {
        const services = await c.kube.list(collectionPath('v1', 'services', ns))
        const adapterLeft = services.items.some((s) => s.metadata.name.startsWith('life-adapter-'))
        if (!adapterLeft && !order.includes('adapter Services gone')) order.push('adapter Services gone')
        const p = await c.kube.find(parentPath)
        if (!p) {
          order.push('parent gone')
          return true
        }
        return false
      },
      180_000,
      250,
    )
    t.same(
      order,
      ['adapter Services gone', 'parent gone'],
      'adapter Services were gone before the parent let go',
    )
    await waitUntil(
      'nothing owned by the DittoServer',
      async () => (await ownedBy(c, ns, parentUid)).length === 0,
      120_000,
    )
    t.same(await ownedBy(c, ns, parentUid), [])
    report.deletionMs = Date.now() - watchStart
    t.comment(`measurements: ${JSON.stringify(report)}`)
  },
)
