/**
 * Server-side defaulting for the kinds our children use, as the API server applies it on every create and update.
 * It is what makes "emit list items in the form the API server stores them" testable: a hook that emits the short
 * form of a list that Metacontroller replaces wholesale causes an update on every sync.
 *
 * Not exhaustive: the fields a hook is likely to leave out, with their real default values.
 */

import { ensureObject, field, isObject, objectItems } from './json.js'
import type { JsonObject, KubeObject } from './types.js'

/** Hands out cluster IPs and node ports, deterministically. */
export interface Allocator {
  clusterIP(): string
  nodePort(): number
}

export function applyServerDefaults(obj: KubeObject, old: KubeObject | undefined, alloc: Allocator): void {
  switch (`${obj.apiVersion}/${obj.kind}`) {
    case 'v1/Service':
      defaultService(obj, old, alloc)
      break
    case 'v1/Secret':
      defaultSecret(obj)
      break
    case 'apps/v1/StatefulSet':
      defaultStatefulSet(obj)
      break
    case 'apps/v1/Deployment':
      defaultDeployment(obj)
      break
    case 'networking.k8s.io/v1/NetworkPolicy':
      defaultNetworkPolicy(obj)
      break
    case 'v1/Pod':
      if (isObject(obj.spec)) defaultPodSpec(obj.spec)
      break
  }
}

/**
 * Defaulting on a status write. The real API server (1.30+, LoadBalancerIPMode) stores `ipMode: VIP` on every
 * load-balancer ingress that has an `ip` (seen on the real control plane, test/cluster/).
 */
export function applyStatusDefaults(obj: KubeObject): void {
  if (`${obj.apiVersion}/${obj.kind}` !== 'v1/Service') return
  for (const ingress of objectItems(field(obj, 'status', 'loadBalancer', 'ingress'))) {
    if (ingress.ip !== undefined) setDefault(ingress, 'ipMode', 'VIP')
  }
}

function setDefault(target: JsonObject, key: string, value: unknown): void {
  if (target[key] === undefined || target[key] === null) target[key] = value
}

const NODE_PORT_TYPES = new Set(['NodePort', 'LoadBalancer'])

function defaultService(svc: KubeObject, old: KubeObject | undefined, alloc: Allocator): void {
  const spec = ensureObject(svc, 'spec')
  const oldSpec = isObject(old?.spec) ? old.spec : undefined
  setDefault(spec, 'type', 'ClusterIP')
  const type = spec.type
  const oldPorts = objectItems(oldSpec?.ports)
  const typeChanged = oldSpec !== undefined && oldSpec.type !== type

  if (type !== 'ExternalName') {
    // PUT without clusterIP keeps the allocated one (the apiserver's patchAllocatedValues).
    if (spec.clusterIP === undefined || spec.clusterIP === '') {
      spec.clusterIP = typeof oldSpec?.clusterIP === 'string' ? oldSpec.clusterIP : alloc.clusterIP()
    }
    if (spec.clusterIPs === undefined) {
      spec.clusterIPs = Array.isArray(oldSpec?.clusterIPs) ? oldSpec.clusterIPs : [spec.clusterIP]
    }
    setDefault(spec, 'ipFamilies', ['IPv4'])
    setDefault(spec, 'ipFamilyPolicy', 'SingleStack')
    setDefault(spec, 'internalTrafficPolicy', 'Cluster')
  }
  setDefault(spec, 'sessionAffinity', 'None')

  for (const port of objectItems(spec.ports)) {
    setDefault(port, 'protocol', 'TCP')
    setDefault(port, 'targetPort', port.port)
    const previous = oldPorts.find((p) => p.port === port.port && (p.protocol ?? 'TCP') === port.protocol)
    if (NODE_PORT_TYPES.has(String(type))) {
      setDefault(port, 'nodePort', previous?.nodePort ?? alloc.nodePort())
    } else if (typeChanged && previous !== undefined && port.nodePort === previous.nodePort) {
      // Moving away from NodePort/LoadBalancer drops the node ports the user did not change.
      delete port.nodePort
    }
  }

  if (NODE_PORT_TYPES.has(String(type))) {
    setDefault(spec, 'externalTrafficPolicy', 'Cluster')
  } else if (typeChanged) {
    if (spec.externalTrafficPolicy === oldSpec?.externalTrafficPolicy) delete spec.externalTrafficPolicy
    if (spec.healthCheckNodePort === oldSpec?.healthCheckNodePort) delete spec.healthCheckNodePort
  }
  if (type === 'LoadBalancer') {
    setDefault(spec, 'allocateLoadBalancerNodePorts', true)
    if (spec.externalTrafficPolicy === 'Local') {
      setDefault(spec, 'healthCheckNodePort', oldSpec?.healthCheckNodePort ?? alloc.nodePort())
    }
  } else if (typeChanged && spec.allocateLoadBalancerNodePorts === oldSpec?.allocateLoadBalancerNodePorts) {
    delete spec.allocateLoadBalancerNodePorts
  }
}

function defaultSecret(secret: KubeObject): void {
  setDefault(secret, 'type', 'Opaque')
  // stringData is write-only: folded into data (base64) and never stored.
  if (isObject(secret.stringData)) {
    const data = ensureObject(secret, 'data')
    for (const [key, value] of Object.entries(secret.stringData)) {
      data[key] = Buffer.from(String(value), 'utf8').toString('base64')
    }
  }
  delete secret.stringData
}

function defaultStatefulSet(sts: KubeObject): void {
  const spec = ensureObject(sts, 'spec')
  setDefault(spec, 'replicas', 1)
  setDefault(spec, 'podManagementPolicy', 'OrderedReady')
  setDefault(spec, 'revisionHistoryLimit', 10)
  const strategy = ensureObject(spec, 'updateStrategy')
  setDefault(strategy, 'type', 'RollingUpdate')
  if (strategy.type === 'RollingUpdate') setDefault(ensureObject(strategy, 'rollingUpdate'), 'partition', 0)
  const retention = ensureObject(spec, 'persistentVolumeClaimRetentionPolicy')
  setDefault(retention, 'whenDeleted', 'Retain')
  setDefault(retention, 'whenScaled', 'Retain')
  const podSpec = field(spec, 'template', 'spec')
  if (isObject(podSpec)) defaultPodSpec(podSpec)
  for (const claim of objectItems(spec.volumeClaimTemplates)) {
    setDefault(claim, 'apiVersion', 'v1')
    setDefault(claim, 'kind', 'PersistentVolumeClaim')
    setDefault(ensureObject(claim, 'spec'), 'volumeMode', 'Filesystem')
    setDefault(claim, 'status', { phase: 'Pending' })
  }
}

function defaultDeployment(deployment: KubeObject): void {
  const spec = ensureObject(deployment, 'spec')
  setDefault(spec, 'replicas', 1)
  setDefault(spec, 'revisionHistoryLimit', 10)
  setDefault(spec, 'progressDeadlineSeconds', 600)
  const podSpec = field(spec, 'template', 'spec')
  if (isObject(podSpec)) defaultPodSpec(podSpec)
}

function defaultNetworkPolicy(policy: KubeObject): void {
  const spec = ensureObject(policy, 'spec')
  if (spec.policyTypes === undefined) {
    spec.policyTypes = spec.egress === undefined ? ['Ingress'] : ['Ingress', 'Egress']
  }
  for (const rule of [...objectItems(spec.ingress), ...objectItems(spec.egress)]) {
    for (const port of objectItems(rule.ports)) setDefault(port, 'protocol', 'TCP')
  }
}

function defaultPodSpec(podSpec: JsonObject): void {
  setDefault(podSpec, 'dnsPolicy', 'ClusterFirst')
  setDefault(podSpec, 'restartPolicy', 'Always')
  setDefault(podSpec, 'schedulerName', 'default-scheduler')
  setDefault(podSpec, 'securityContext', {})
  setDefault(podSpec, 'terminationGracePeriodSeconds', 30)
  for (const container of [...objectItems(podSpec.containers), ...objectItems(podSpec.initContainers)]) {
    defaultContainer(container)
  }
  for (const volume of objectItems(podSpec.volumes)) {
    if (isObject(volume.configMap)) setDefault(volume.configMap, 'defaultMode', 420)
    if (isObject(volume.secret)) setDefault(volume.secret, 'defaultMode', 420)
  }
}

function defaultContainer(container: JsonObject): void {
  setDefault(container, 'imagePullPolicy', pullPolicyFor(String(container.image ?? '')))
  setDefault(container, 'resources', {})
  setDefault(container, 'terminationMessagePath', '/dev/termination-log')
  setDefault(container, 'terminationMessagePolicy', 'File')
  for (const port of objectItems(container.ports)) setDefault(port, 'protocol', 'TCP')
  for (const probeName of ['livenessProbe', 'readinessProbe', 'startupProbe']) {
    const probe = container[probeName]
    if (!isObject(probe)) continue
    setDefault(probe, 'timeoutSeconds', 1)
    setDefault(probe, 'periodSeconds', 10)
    setDefault(probe, 'successThreshold', 1)
    setDefault(probe, 'failureThreshold', 3)
    if (isObject(probe.httpGet)) setDefault(probe.httpGet, 'scheme', 'HTTP')
  }
  for (const env of objectItems(container.env)) {
    const fieldRef = field(env, 'valueFrom', 'fieldRef')
    if (isObject(fieldRef)) setDefault(fieldRef, 'apiVersion', 'v1')
  }
}

/** `Always` for `:latest` or an untagged image, `IfNotPresent` otherwise. */
function pullPolicyFor(image: string): string {
  if (image.includes('@')) return 'IfNotPresent'
  const lastSegment = image.slice(image.lastIndexOf('/') + 1)
  const colon = lastSegment.lastIndexOf(':')
  const tag = colon < 0 ? '' : lastSegment.slice(colon + 1)
  return tag === '' || tag === 'latest' ? 'Always' : 'IfNotPresent'
}
