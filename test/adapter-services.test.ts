import t from 'tap'
import {
  ADAPTER_SERVICE_LABEL,
  ADAPTER_TYPE_ANNOTATION,
  ADAPTER_TYPE_LABEL,
  adapterIdentity,
  buildAdapterService,
  isAdapterService,
  loadBalancerEndpoints,
  observedAdapterIdentity,
} from '../hooks/children/adapter-services.js'
import { childLabels, podLabels } from '../hooks/children/naming.js'
import { adapterServiceTuning } from '../hooks/dittoserver/spec.js'
import type { KubeObject } from '../hooks/metacontroller/types.js'
import { makeSpec, PARENT, validateChild } from './adapters-helpers.js'
import { labelValueProblem } from './sim/labels.js'

const DNS_1035 = /^[a-z]([-a-z0-9]*[a-z0-9])?$/
const IANA_SERVICE = /^(?=.*[a-z])[a-z0-9]([a-z0-9]|-(?!-))*[a-z0-9]$/

const specOf = (service: KubeObject) => service.spec as Record<string, unknown>

const build = (spec = makeSpec(), type = 'nfs', port = 12049) =>
  buildAdapterService(PARENT, adapterIdentity(PARENT, type, port), adapterServiceTuning(spec, type))

t.test('an adapter Service has the upstream shape and only fields the hook owns', async (t) => {
  const service = build()
  validateChild(service)
  t.same(service, {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: {
      name: 'files-adapter-nfs',
      labels: { ...childLabels(PARENT), [ADAPTER_TYPE_LABEL]: 'nfs', [ADAPTER_SERVICE_LABEL]: 'true' },
      annotations: { [ADAPTER_TYPE_ANNOTATION]: 'nfs' },
    },
    spec: {
      type: 'LoadBalancer',
      selector: podLabels(PARENT),
      ports: [{ name: 'nfs', port: 12049, targetPort: 12049, protocol: 'TCP' }],
    },
  })
  const text = JSON.stringify(service)
  for (const field of ['clusterIP', 'nodePort', 'healthCheckNodePort', 'status']) {
    t.notOk(text.includes(`"${field}"`), `no ${field}`)
  }
})

t.test('the per-type override wins field by field and annotations merge', async (t) => {
  const spec = makeSpec({
    adapterServices: {
      type: 'LoadBalancer',
      annotations: { 'metallb.universe.tf/address-pool': 'dittofs', team: 'storage' },
      overrides: { smb: { type: 'NodePort', annotations: { team: 'windows', 'smb-only': 'yes' } } },
    },
  })
  const smb = build(spec, 'smb', 1445)
  validateChild(smb)
  t.equal(specOf(smb).type, 'NodePort')
  t.same(smb.metadata.annotations, {
    'metallb.universe.tf/address-pool': 'dittofs',
    team: 'windows',
    'smb-only': 'yes',
    [ADAPTER_TYPE_ANNOTATION]: 'smb',
  })
  const nfs = build(spec, 'nfs', 12049)
  t.equal(specOf(nfs).type, 'LoadBalancer', 'other types keep the base settings')
  t.same(nfs.metadata.annotations, {
    'metallb.universe.tf/address-pool': 'dittofs',
    team: 'storage',
    [ADAPTER_TYPE_ANNOTATION]: 'nfs',
  })
  t.equal(specOf(build(spec, 'SMB', 1445)).type, 'NodePort', 'overrides match the type case-insensitively')
})

t.test('type-dependent fields are written only where the API server accepts them', async (t) => {
  const tuning = {
    loadBalancerSourceRanges: ['10.0.0.0/8', '192.168.0.0/16'],
    externalTrafficPolicy: 'Local',
    annotations: { 'service.beta.kubernetes.io/load-balancer-source-ranges': '10.0.0.0/8', keep: 'me' },
  }
  const lb = build(makeSpec({ adapterServices: { type: 'LoadBalancer', ...tuning } }))
  t.same(specOf(lb).loadBalancerSourceRanges, ['10.0.0.0/8', '192.168.0.0/16'])
  t.equal(specOf(lb).externalTrafficPolicy, 'Local')
  t.equal(lb.metadata.annotations?.['service.beta.kubernetes.io/load-balancer-source-ranges'], '10.0.0.0/8')

  const nodePort = build(makeSpec({ adapterServices: { type: 'NodePort', ...tuning } }))
  t.equal(specOf(nodePort).externalTrafficPolicy, 'Local', 'NodePort takes a traffic policy')
  t.notOk('loadBalancerSourceRanges' in specOf(nodePort), 'source ranges are LoadBalancer-only')
  t.same(
    nodePort.metadata.annotations,
    { keep: 'me', [ADAPTER_TYPE_ANNOTATION]: 'nfs' },
    'so is the legacy source-ranges annotation',
  )

  const clusterIP = build(makeSpec({ adapterServices: { type: 'ClusterIP', ...tuning } }))
  t.notOk('externalTrafficPolicy' in specOf(clusterIP), 'ClusterIP rejects externalTrafficPolicy: dropped')
  t.notOk('loadBalancerSourceRanges' in specOf(clusterIP))
  for (const service of [lb, nodePort, clusterIP]) validateChild(service)

  const unset = build(makeSpec({ adapterServices: { loadBalancerSourceRanges: [] } }))
  t.notOk('loadBalancerSourceRanges' in specOf(unset), 'an empty list is not written (the server drops it)')
  t.notOk('externalTrafficPolicy' in specOf(unset), 'unset stays unset (the server defaults it)')
})

t.test('long and odd adapter types give valid, distinct names', async (t) => {
  const types = ['a-twenty-char-type-x', 'x'.repeat(70), 'NFS', 'nfs', 'nfs_v4', 'nfs-v4', '4444']
  const ids = types.map((type) => adapterIdentity('a'.repeat(52), type, 2049))
  for (const [i, id] of ids.entries()) {
    t.ok(id.name.length <= 63 && DNS_1035.test(id.name), `Service name ${id.name} (${types[i]})`)
    t.ok(id.portName.length <= 15 && IANA_SERVICE.test(id.portName), `port name ${id.portName} (${types[i]})`)
    t.equal(labelValueProblem(id.typeLabel), undefined, `label value ${id.typeLabel} (${types[i]})`)
    validateChild(buildAdapterService('a'.repeat(52), id, adapterServiceTuning(makeSpec(), types[i] ?? '')))
  }
  t.equal(new Set(ids.map((id) => id.name)).size, types.length, 'names are distinct')
  t.equal(new Set(ids.map((id) => id.portName)).size, types.length, 'port names are distinct')
  t.equal(
    adapterIdentity(PARENT, 'x'.repeat(70), 1).typeLabel.length,
    63,
    'a long slug is cut to a label value',
  )
  const upper = adapterIdentity(PARENT, 'NFS', 2049)
  const lower = adapterIdentity(PARENT, 'nfs', 2049)
  t.not(upper.name, lower.name, 'NFS and nfs get different Services')
  t.not(upper.typeLabel, lower.typeLabel, 'and different labels')
})

t.test('load-balancer endpoints come from the observed ingress', async (t) => {
  const observed = (ingress: unknown): KubeObject => ({
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name: 's' },
    status: { loadBalancer: { ingress } },
  })
  t.same(loadBalancerEndpoints(observed([{ ip: '1.2.3.4' }]), 12049), ['1.2.3.4:12049'])
  t.same(loadBalancerEndpoints(observed([{ hostname: 'lb.example.com' }]), 2049), ['lb.example.com:2049'])
  t.same(
    loadBalancerEndpoints(observed([{ ip: '2001:db8::1' }]), 2049),
    ['[2001:db8::1]:2049'],
    'IPv6 in brackets',
  )
  t.same(
    loadBalancerEndpoints(
      observed([{ ip: '5.6.7.8' }, { ip: '1.2.3.4', hostname: 'x' }, { ip: '5.6.7.8' }]),
      1,
    ),
    ['1.2.3.4:1', '5.6.7.8:1'],
    'sorted, deduplicated, ip preferred over hostname',
  )
  t.same(loadBalancerEndpoints(observed([{}, { ip: '' }, null, 'x', { ip: 7 }]), 1), [], 'garbage is ignored')
  t.same(loadBalancerEndpoints(observed(undefined), 1), [], 'pending: no ingress')
  t.same(loadBalancerEndpoints(observed('nope'), 1), [])
  t.same(loadBalancerEndpoints(undefined, 1), [], 'not observed')
})

t.test('observed adapter Services are recognised by label and read defensively', async (t) => {
  const service = build()
  t.ok(isAdapterService(service))
  t.notOk(
    isAdapterService({ apiVersion: 'v1', kind: 'Service', metadata: { name: 'files-api', labels: {} } }),
  )
  t.same(observedAdapterIdentity('files', service), {
    type: 'nfs',
    name: 'files-adapter-nfs',
    typeLabel: 'nfs',
    portName: 'nfs',
    port: 12049,
  })
  const noPorts = { ...service, spec: { ports: [] } }
  t.equal(observedAdapterIdentity('files', noPorts), undefined, 'no usable port: not rebuilt')
  const badPort = { ...service, spec: { ports: [{ port: 'x' }] } }
  t.equal(observedAdapterIdentity('files', badPort), undefined)
  const unlabelled = {
    ...service,
    metadata: { name: 'files-adapter-q', labels: { [ADAPTER_SERVICE_LABEL]: 'true' } },
  }
  t.equal(observedAdapterIdentity('files', unlabelled)?.typeLabel, 'unknown')
  const olderHook = { ...service, metadata: { ...service.metadata, annotations: {} } }
  t.same(
    observedAdapterIdentity('files', olderHook),
    { name: 'files-adapter-nfs', typeLabel: 'nfs', portName: 'nfs', port: 12049 },
    'a Service without the recorded type (an older hook made it): read from its label',
  )
  const forged = {
    ...service,
    metadata: { ...service.metadata, annotations: { [ADAPTER_TYPE_ANNOTATION]: 'smb' } },
  }
  t.equal(observedAdapterIdentity('files', forged)?.type, undefined, 'a recorded type must name this Service')
})
