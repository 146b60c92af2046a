import { NetworkPolicy } from 'kubernetes-models/networking.k8s.io/v1/NetworkPolicy'
import { Service } from 'kubernetes-models/v1/Service'
import { ADAPTER_SERVICE_LABEL } from '../hooks/children/adapter-services.js'
import type { ApiAdapter } from '../hooks/discovery/types.js'
import { type DittoServerSpec, parseSpec } from '../hooks/dittoserver/spec.js'
import type { KubeObject } from '../hooks/metacontroller/types.js'
import type { AdapterPlan, AdapterPlanInput, AdapterStatus } from '../hooks/reconcile/adapter-types.js'
import { planAdapters, readAdapterStatus } from '../hooks/reconcile/adapters.js'
import { rfc3339 } from './sim/clock.js'

export { rfc3339 }

import { applyServerDefaults } from './sim/defaults.js'
import { deepEqual } from './sim/json.js'
import { mergeForUpdate, setLastApplied } from './sim/merge.js'
import { validateObject, validateUpdate } from './sim/validation.js'
import { childProblems } from './support/apimachinery.js'

// A small stand-in for Metacontroller and the API server around planAdapters: what a plan returns becomes the
// observed children of the next call (created, updated by 3-way merge, or deleted), and its status is written
// and read back through readAdapterStatus. Every child is validated against the official schema
// (kubernetes-models) and the simulator's API-server rules on the way in.

export const PARENT = 'files'
export const T0 = Date.parse('2026-03-01T10:00:00Z')
export const SECOND = 1000
export const MINUTE = 60 * SECOND

export function makeSpec(extra: Record<string, unknown> = {}): DittoServerSpec {
  const result = parseSpec({ storage: { metadataSize: '10Gi' }, ...extra })
  if (!result.ok) throw new Error(`bad test spec: ${JSON.stringify(result.errors)}`)
  return result.spec
}

export const nfs = (over: Partial<ApiAdapter> = {}): ApiAdapter => ({
  type: 'nfs',
  port: 12049,
  enabled: true,
  running: true,
  ...over,
})
export const smb = (over: Partial<ApiAdapter> = {}): ApiAdapter => ({
  type: 'smb',
  port: 1445,
  enabled: true,
  running: true,
  ...over,
})

export const svcName = (slug: string): string => `${PARENT}-adapter-${slug}`

export interface World {
  spec: DittoServerSpec
  now: number
  namespace?: string
  lastKnown: AdapterStatus[]
  services: Map<string, KubeObject>
  policies: Map<string, KubeObject>
  /** Writes the API server accepted, by `<kind>/<name>`. */
  creates: string[]
  updates: string[]
  deletes: string[]
}

export function newWorld(spec: DittoServerSpec = makeSpec(), now = T0): World {
  return {
    spec,
    now,
    lastKnown: [],
    services: new Map(),
    policies: new Map(),
    creates: [],
    updates: [],
    deletes: [],
  }
}

export function inputOf(world: World, fresh: ApiAdapter[] | undefined, finalizing = false): AdapterPlanInput {
  return {
    parentName: PARENT,
    spec: world.spec,
    lastKnown: world.lastKnown,
    fresh,
    observedServices: new Map(world.services),
    observedPolicies: new Map(world.policies),
    finalizing,
    now: world.now,
    ...(world.namespace ? { namespace: world.namespace } : {}),
  }
}

let nextIp = 1
const allocator = {
  clusterIP: () => `10.96.0.${nextIp++ % 250}`,
  nodePort: () => 30000 + (nextIp++ % 2000),
}

/** Throws when a child is not a valid object of its kind. */
export function validateChild(child: KubeObject): void {
  if (child.kind === 'Service') new Service(child as never).validate()
  else if (child.kind === 'NetworkPolicy') new NetworkPolicy(child as never).validate()
  else throw new Error(`planAdapters returned an unexpected ${child.kind}`)
  validateObject(child as never)
  const problems = childProblems(child)
  if (problems.length > 0) throw new Error(problems.join('\n'))
}

function reconcileKind(
  world: World,
  observed: Map<string, KubeObject>,
  desired: KubeObject[],
  manages: (o: KubeObject) => boolean,
) {
  const wanted = new Set(desired.map((c) => c.metadata.name))
  for (const child of desired) {
    validateChild(child)
    const key = `${child.kind}/${child.metadata.name}`
    const before = observed.get(child.metadata.name)
    if (!before) {
      const created = structuredClone(child)
      setLastApplied(created as never, structuredClone(child) as never)
      applyServerDefaults(created as never, undefined, allocator)
      created.metadata.creationTimestamp = rfc3339(world.now)
      observed.set(child.metadata.name, created)
      world.creates.push(key)
      continue
    }
    const merged = mergeForUpdate(before as never, structuredClone(child) as never) as unknown as KubeObject
    applyServerDefaults(merged as never, before as never, allocator)
    if (deepEqual(merged, before)) continue
    validateUpdate(before as never, merged as never)
    observed.set(child.metadata.name, merged)
    world.updates.push(key)
  }
  for (const [name, object] of [...observed]) {
    if (manages(object) && !wanted.has(name)) {
      observed.delete(name)
      world.deletes.push(`${object.kind}/${name}`)
    }
  }
}

/** Plays Metacontroller for one response: manage the children, then write the status (read back validated). */
export function apply(world: World, plan: AdapterPlan): void {
  const ids = plan.children.map((c) => `${c.kind}/${c.metadata.name}`)
  if (new Set(ids).size !== ids.length)
    throw new Error(`two children of one kind and name: ${ids.join(', ')}`)
  const services = plan.children.filter((c) => c.kind === 'Service')
  const policies = plan.children.filter((c) => c.kind === 'NetworkPolicy')
  reconcileKind(world, world.services, services, (o) => o.metadata.labels?.[ADAPTER_SERVICE_LABEL] === 'true')
  reconcileKind(world, world.policies, policies, () => true)
  world.lastKnown = readAdapterStatus(JSON.parse(JSON.stringify({ adapters: plan.status })))
}

/** One sync at `world.now`: plan, then apply. */
export function sync(world: World, fresh: ApiAdapter[] | undefined, finalizing = false): AdapterPlan {
  const plan = planAdapters(inputOf(world, fresh, finalizing))
  apply(world, plan)
  return plan
}

export const resetWrites = (world: World): void => {
  world.creates = []
  world.updates = []
  world.deletes = []
}

export const kindNames = (plan: AdapterPlan, kind: string): string[] =>
  plan.children.filter((c) => c.kind === kind).map((c) => c.metadata.name)

export const serviceNames = (plan: AdapterPlan): string[] => kindNames(plan, 'Service')
export const policyNames = (plan: AdapterPlan): string[] => kindNames(plan, 'NetworkPolicy')

export const child = (plan: AdapterPlan, kind: string, name: string): KubeObject => {
  const found = plan.children.find((c) => c.kind === kind && c.metadata.name === name)
  if (!found) throw new Error(`no ${kind}/${name} in the plan`)
  return found
}

export const entry = (plan: AdapterPlan, type: string): AdapterStatus | undefined =>
  plan.status.find((e) => e.type === type)

export const readyCondition = (plan: AdapterPlan) => {
  const found = plan.conditions.find((c) => c.type === 'AdapterServicesReady')
  if (!found) throw new Error('AdapterServicesReady missing')
  return found
}

/** The cloud controller's part: give an observed Service its load-balancer ingress. */
export function setIngress(world: World, name: string, ingress: Array<Record<string, string>>): void {
  const service = world.services.get(name)
  if (!service) throw new Error(`no observed Service ${name}`)
  service.status = { loadBalancer: { ingress } }
}
