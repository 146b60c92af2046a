// The optional DittoFS listeners on adapter Services and NetworkPolicies. Facts from the DittoFS v0.29.0 server:
// - pkg/adapter/nfs/auxservices.go starts the portmapper (pkg/adapter/nfs/portmap.go: TCP and UDP on
//   portmapper_port, 10111 by default, internal/adapter/nfs/portmap/server.go), the UDP transport (NLM, NSM and
//   MOUNT on the NFS port, pkg/adapter/nfs/udp.go) and the mDNS advertiser only when their settings are on;
// - pkg/adapter/smb/discovery.go starts mDNS and WS-Discovery (pkg/discovery/wsd/responder.go: 3702/UDP and the
//   metadata HTTP server on 5357/TCP) only when their settings are on;
// - every one of those settings defaults to false (pkg/controlplane/models/adapter_settings.go), and they are
//   readable only at the admin-only /api/v1/adapters/{type}/settings (pkg/controlplane/api/router.go).
import t from 'tap'
import { UDP_COMPANION_LABEL } from '../hooks/children/adapter-services.js'
import { listenerPorts } from '../hooks/children/listener-ports.js'
import type { KubeObject } from '../hooks/metacontroller/types.js'
import {
  child,
  makeSpec,
  newWorld,
  nfs,
  readyCondition,
  resetWrites,
  serviceNames,
  setIngress,
  smb,
  svcName,
  sync,
  T0,
} from './adapters-helpers.js'
import { mergeForUpdate, setLastApplied } from './sim/merge.js'

/** IANA_SVC_NAME: a letter, [a-z0-9-] without leading, trailing or double dashes (length checked apart). */
const IANA_SERVICE_NAME = /^(?=.*[a-z])[a-z0-9]([a-z0-9]|-(?!-))*[a-z0-9]$/
const ALL_NFS = { nfs: { portmapper: true, udp: true, mdns: true } }
const ALL_SMB = { smb: { mdns: true, wsDiscovery: true } }
const portsOf = (service: KubeObject) =>
  ((service.spec as Record<string, unknown>).ports as Array<Record<string, unknown>>).map(
    (p) => `${p.name} ${p.port}->${p.targetPort}/${p.protocol}`,
  )
/** Ports per ingress rule. */
const policyPorts = (policy: KubeObject) =>
  ((policy.spec as any).ingress as Array<{ ports: Array<{ port: number; protocol: string }> }>).map((rule) =>
    rule.ports.map((p) => `${p.port}/${p.protocol}`),
  )

t.test('none declared (DittoFS defaults): one TCP port, as before', async (t) => {
  const world = newWorld(makeSpec({ networkPolicy: { enabled: true } }))
  sync(world, [nfs(), smb()])
  const plan = sync(world, [nfs(), smb()])
  t.same(serviceNames(plan), [svcName('nfs'), svcName('smb')])
  t.same(portsOf(child(plan, 'Service', svcName('nfs'))), ['nfs 12049->12049/TCP'])
  t.same(portsOf(child(plan, 'Service', svcName('smb'))), ['smb 1445->1445/TCP'])
  t.same(policyPorts(child(plan, 'NetworkPolicy', svcName('nfs'))), [['12049/TCP']])
})

t.test(
  'NFS portmapper, UDP transport and mDNS: TCP and UDP Services, the policy on the pod side',
  async (t) => {
    const world = newWorld(
      makeSpec({
        networkPolicy: { enabled: true },
        adapterServices: { listeners: { nfs: { ...ALL_NFS.nfs, portmapperPort: 20111 } } },
      }),
    )
    sync(world, [nfs()])
    sync(world, [nfs()])
    const plan = sync(world, [nfs()])
    t.same(serviceNames(plan), [svcName('nfs'), `${svcName('nfs')}-udp`])
    t.same(portsOf(child(plan, 'Service', svcName('nfs'))), [
      'nfs 12049->12049/TCP',
      'portmap 111->20111/TCP',
    ])
    t.same(portsOf(child(plan, 'Service', `${svcName('nfs')}-udp`)), [
      'portmap-udp 111->20111/UDP',
      'nfs-udp 12049->12049/UDP',
      'mdns 5353->5353/UDP',
    ])
    t.same(
      policyPorts(child(plan, 'NetworkPolicy', svcName('nfs'))),
      [
        ['12049/TCP', '20111/TCP'],
        ['20111/UDP', '12049/UDP', '5353/UDP'],
      ],
      'the policy opens what the pod listens on (targetPort), one rule per protocol',
    )
    for (const name of [svcName('nfs'), `${svcName('nfs')}-udp`]) {
      t.same(
        portsOf(world.services.get(name)!),
        portsOf(child(plan, 'Service', name)),
        `${name}: what is stored after Metacontroller merged its updates is what was asked for`,
      )
    }
    t.same(
      policyPorts(world.policies.get(svcName('nfs'))!),
      policyPorts(child(plan, 'NetworkPolicy', svcName('nfs'))),
    )
  },
)

// Metacontroller's dynamic apply (pkg/dynamic/apply/apply.go: knownMergeKeys, containerPort then port) merges
// Service ports and policy port lists as maps keyed by `port`: one number twice in one list cannot survive it.
t.test(
  'why UDP ports sharing a TCP port number get their own Service: the merge keys ports by number',
  async (t) => {
    const observed = {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: 'x' },
      spec: {
        ports: [
          { name: 'portmap', port: 111, targetPort: 10111, protocol: 'TCP' },
          { name: 'portmap-udp', port: 111, targetPort: 10111, protocol: 'UDP' },
        ],
      },
    }
    setLastApplied(observed as never, structuredClone(observed) as never)
    const merged = mergeForUpdate(
      observed as never,
      structuredClone(observed) as never,
    ) as unknown as KubeObject
    t.same(
      portsOf(merged),
      ['portmap-udp 111->10111/UDP'],
      'an unchanged Service with 111/TCP and 111/UDP loses one of them on its next update',
    )
  },
)

t.test('SMB mDNS and WS-Discovery (3702/UDP, 5357/TCP); NFS settings do not reach SMB', async (t) => {
  const world = newWorld(makeSpec({ adapterServices: { listeners: { ...ALL_NFS, ...ALL_SMB } } }))
  const plan = sync(world, [smb()])
  t.same(portsOf(child(plan, 'Service', svcName('smb'))), [
    'smb 1445->1445/TCP',
    'mdns 5353->5353/UDP',
    'wsd 3702->3702/UDP',
    'wsd-meta 5357->5357/TCP',
  ])
})

t.test('listener port names are valid IANA service names, distinct from the adapter port name', async (t) => {
  const listeners = makeSpec({ adapterServices: { listeners: { ...ALL_NFS, ...ALL_SMB } } }).adapterServices
    .listeners
  for (const type of ['nfs', 'smb']) {
    const names = [type, ...listenerPorts(type, 1, listeners).map((p) => p.name)]
    t.same(new Set(names).size, names.length, `${type}: no duplicate name`)
    for (const name of names) {
      t.match(name, IANA_SERVICE_NAME, `${name} is a valid port name`)
      t.ok(name.length <= 15, `${name} has at most 15 characters`)
    }
  }
  t.same(listenerPorts('custom', 1, listeners), [], 'only the server adapter types have listeners')
  t.same(listenerPorts('NFS', 1, listeners), [], 'matched on the sanitised type the Services carry')
})

t.test(
  'declaring listeners later: the same Service and policy updated in place, the UDP Service added',
  async (t) => {
    const world = newWorld(makeSpec({ networkPolicy: { enabled: true } }))
    sync(world, [nfs()])
    sync(world, [nfs()])
    const before = world.services.get(svcName('nfs'))
    resetWrites(world)
    world.spec = makeSpec({ networkPolicy: { enabled: true }, adapterServices: { listeners: ALL_NFS } })
    sync(world, [nfs()])
    t.same(world.deletes, [], 'nothing deleted')
    t.same(world.updates.sort(), [`NetworkPolicy/${svcName('nfs')}`, `Service/${svcName('nfs')}`])
    t.same(world.creates, [`Service/${svcName('nfs')}-udp`])
    t.equal(
      (world.services.get(svcName('nfs'))!.spec as any).clusterIP,
      (before!.spec as any).clusterIP,
      'the same Service (its cluster IP kept)',
    )
    resetWrites(world)
    sync(world, [nfs()])
    t.same([...world.creates, ...world.updates, ...world.deletes], [], 'then steady: no write')
    world.spec = makeSpec({ networkPolicy: { enabled: true } })
    sync(world, [nfs()])
    t.same(world.deletes, [`Service/${svcName('nfs')}-udp`], 'undeclared: the UDP Service goes')
    t.same(portsOf(world.services.get(svcName('nfs'))!), ['nfs 12049->12049/TCP'])
  },
)

t.test(
  'SMB listeners share one Service (no number twice) unless splitProtocols; undone in place',
  async (t) => {
    const mixed = newWorld(makeSpec({ adapterServices: { listeners: ALL_SMB } }))
    sync(mixed, [smb()])
    t.same(serviceNames(sync(mixed, [smb()])), [svcName('smb')])
    t.same(portsOf(mixed.services.get(svcName('smb'))!), [
      'smb 1445->1445/TCP',
      'mdns 5353->5353/UDP',
      'wsd 3702->3702/UDP',
      'wsd-meta 5357->5357/TCP',
    ])

    const world = newWorld(
      makeSpec({ adapterServices: { listeners: ALL_SMB, overrides: { smb: { splitProtocols: true } } } }),
    )
    sync(world, [nfs(), smb()])
    const plan = sync(world, [nfs(), smb()])
    t.same(serviceNames(plan), [svcName('nfs'), svcName('smb'), `${svcName('smb')}-udp`])
    t.same(portsOf(child(plan, 'Service', svcName('smb'))), ['smb 1445->1445/TCP', 'wsd-meta 5357->5357/TCP'])
    const udp = child(plan, 'Service', `${svcName('smb')}-udp`)
    t.same(portsOf(udp), ['mdns 5353->5353/UDP', 'wsd 3702->3702/UDP'])
    t.match(udp.metadata.labels, { [UDP_COMPANION_LABEL]: svcName('smb'), 'dittofs.io/adapter-type': 'smb' })
    t.same(
      plan.status.map((e) => e.serviceName),
      [svcName('nfs'), svcName('smb')],
      'status names the adapter Service',
    )
    t.same(
      portsOf(child(plan, 'Service', svcName('nfs'))),
      ['nfs 12049->12049/TCP'],
      'no UDP: no second Service',
    )

    resetWrites(world)
    world.spec = makeSpec({ adapterServices: { listeners: ALL_SMB } })
    sync(world, [nfs(), smb()])
    t.same(world.deletes, [`Service/${svcName('smb')}-udp`], 'the UDP Service goes')
    t.same(world.updates, [`Service/${svcName('smb')}`], 'the adapter Service takes the UDP ports, in place')
    t.same(world.creates, [])
  },
)

t.test('finalize: the UDP Service is an adapter Service too (deleted first, waited for)', async (t) => {
  const world = newWorld(makeSpec({ adapterServices: { listeners: ALL_NFS } }))
  sync(world, [nfs()])
  const plan = sync(world, [nfs()], true)
  t.same(serviceNames(plan), [], 'no adapter Service returned')
  t.same(plan.remainingAdapterServices, [svcName('nfs'), `${svcName('nfs')}-udp`])
})

t.test(
  'status lost: an unaccounted UDP Service is kept with its adapter Service, never rebuilt as one',
  async (t) => {
    const world = newWorld(makeSpec({ adapterServices: { listeners: ALL_NFS } }))
    sync(world, [nfs()])
    world.lastKnown = []
    const plan = sync(world, undefined)
    t.same(serviceNames(plan), [svcName('nfs'), `${svcName('nfs')}-udp`])
    t.same(portsOf(child(plan, 'Service', svcName('nfs'))), [
      'nfs 12049->12049/TCP',
      'portmap 111->10111/TCP',
    ])
    t.same(portsOf(child(plan, 'Service', `${svcName('nfs')}-udp`)), [
      'portmap-udp 111->10111/UDP',
      'nfs-udp 12049->12049/UDP',
      'mdns 5353->5353/UDP',
    ])
  },
)

t.test(
  'a LoadBalancer mixing TCP and UDP without an address: the condition points at splitProtocols',
  async (t) => {
    const world = newWorld(makeSpec({ adapterServices: { listeners: ALL_SMB } }))
    sync(world, [smb()])
    world.now = T0 + 6 * 60_000
    const pending = readyCondition(sync(world, [smb()]))
    t.equal(pending.reason, 'LoadBalancerPending')
    t.match(pending.message, /files-adapter-smb mix TCP and UDP ports.*1\.26.*splitProtocols/)
    setIngress(world, svcName('smb'), [{ ip: '203.0.113.7' }])
    t.equal(readyCondition(sync(world, [smb()])).status, 'True')

    const separate = newWorld(makeSpec({ adapterServices: { listeners: ALL_NFS } }))
    sync(separate, [nfs()])
    separate.now = T0 + 6 * 60_000
    t.notMatch(
      readyCondition(sync(separate, [nfs()])).message,
      /mix TCP and UDP/,
      'only said when it applies (the NFS UDP ports are in a Service of their own)',
    )
  },
)

t.test(
  'the UDP Service of its own: named in the status with its addresses, and Ready waits for its load balancer',
  async (t) => {
    const world = newWorld(
      makeSpec({ adapterServices: { listeners: ALL_SMB, overrides: { smb: { splitProtocols: true } } } }),
    )
    sync(world, [smb()])
    setIngress(world, svcName('smb'), [{ ip: '203.0.113.7' }])
    let plan = sync(world, [smb()])
    const udpName = `${svcName('smb')}-udp`
    t.match(plan.status, [{ serviceName: svcName('smb'), udpServiceName: udpName, udpEndpoints: [] }])
    let ready = readyCondition(plan)
    t.equal(ready.status, 'False', 'the TCP address alone is not ready: SMB clients find the server over UDP')
    t.match(ready.message, new RegExp(`Waiting for an external address for ${udpName}`))

    setIngress(world, udpName, [{ ip: '203.0.113.8' }])
    plan = sync(world, [smb()])
    t.match(plan.status, [
      {
        endpoints: ['203.0.113.7:1445'],
        udpServiceName: udpName,
        udpEndpoints: ['203.0.113.8:5353', '203.0.113.8:3702'],
      },
    ])
    ready = readyCondition(plan)
    t.match(ready, {
      status: 'True',
      reason: 'ServicesReady',
      message: /All 2 adapter Service\(s\) are ready/,
    })

    world.now = T0 + 6 * 60_000
    world.services.delete(udpName)
    plan = sync(world, [smb()])
    t.match(
      readyCondition(plan).message,
      new RegExp(`Creating ${udpName}`),
      'a deleted UDP Service is re-created',
    )

    const clusterIp = newWorld(makeSpec({ adapterServices: { type: 'ClusterIP', listeners: ALL_NFS } }))
    clusterIp.namespace = 'storage'
    sync(clusterIp, [nfs()])
    const inCluster = sync(clusterIp, [nfs()])
    t.match(inCluster.status, [
      {
        udpServiceName: `${svcName('nfs')}-udp`,
        udpEndpoints: [
          `${svcName('nfs')}-udp.storage.svc.cluster.local:111`,
          `${svcName('nfs')}-udp.storage.svc.cluster.local:12049`,
          `${svcName('nfs')}-udp.storage.svc.cluster.local:5353`,
        ],
      },
    ])
    t.notOk(
      sync(newWorld(makeSpec()), [nfs()]).status[0]?.udpServiceName,
      'no UDP listener: no UDP Service named',
    )
  },
)
