// What happened in a world, told for people: one line per thing that changed (a child created, updated,
// deleted; a pod that became ready; a load balancer address; a condition that flipped; the adapter list),
// with virtual time offsets. Built from the cluster's watch events, so it sees the companions' work as well
// as Metacontroller's.
import { diffPaths, type KubeObject, LAST_APPLIED_ANNOTATION, type WatchEvent } from '../sim/index.js'
import type { World } from './world.js'

type Loose = Record<string, any>

export interface NarrationLine {
  at: number
  text: string
}

/** `+MM:SS`, or `+H:MM:SS` past the first hour. */
export function formatOffset(ms: number): string {
  const total = Math.max(0, Math.floor(ms / 1000))
  const hours = Math.floor(total / 3600)
  const minutes = String(Math.floor((total % 3600) / 60)).padStart(2, '0')
  const seconds = String(total % 60).padStart(2, '0')
  return hours > 0 ? `+${hours}:${minutes}:${seconds}` : `+${minutes}:${seconds}`
}

const conditionsOf = (obj: KubeObject | undefined): Map<string, Loose> =>
  new Map(((obj?.status as Loose | undefined)?.conditions ?? []).map((c: Loose) => [c.type as string, c]))

/** `nfs:12049 → 203.0.113.10:12049`, `smb:1445 disabled, Service kept until 00:02:10`. */
export function describeAdapter(adapter: Loose): string {
  const parts = [`${adapter.type}:${adapter.port}`]
  if (!adapter.enabled) parts.push('disabled')
  if (adapter.enabled && !adapter.running) parts.push('not running')
  if (adapter.missingSince) parts.push(`leaving since ${String(adapter.missingSince).slice(11, 19)}`)
  if (adapter.serviceName) {
    const endpoints: string[] = adapter.endpoints ?? []
    parts.push(
      endpoints.length > 0 ? `→ ${endpoints.join(', ')}` : `→ ${adapter.serviceType} (no address yet)`,
    )
  }
  return parts.join(' ')
}

/** The parts of an object a person would call its content (no bookkeeping, no status). */
function content(obj: KubeObject): Loose {
  const {
    resourceVersion,
    generation,
    managedFields,
    finalizers,
    deletionTimestamp,
    deletionGracePeriodSeconds,
    ...metadata
  } = obj.metadata as Loose
  const annotations = { ...(metadata.annotations ?? {}) }
  delete annotations[LAST_APPLIED_ANNOTATION]
  const { status, ...rest } = obj as Loose
  return { ...rest, metadata: { ...metadata, annotations } }
}

function describeCreated(obj: KubeObject): string {
  const spec = (obj.spec ?? {}) as Loose
  if (obj.kind === 'Service') {
    const ports = (spec.ports ?? []).map((p: Loose) => p.port).join(',')
    return ` (${spec.type ?? 'ClusterIP'}${spec.clusterIP === 'None' ? ', headless' : ''}, port ${ports})`
  }
  if (obj.kind === 'NetworkPolicy') {
    const ports = (spec.ingress ?? []).flatMap((rule: Loose) => (rule.ports ?? []).map((p: Loose) => p.port))
    return ` (ingress on port ${[...new Set(ports)].join(',')})`
  }
  if (obj.kind === 'StatefulSet') return ` (replicas ${spec.replicas ?? 1})`
  return ''
}

const ingressOf = (obj: KubeObject | undefined): string[] =>
  ((obj?.status as Loose | undefined)?.loadBalancer?.ingress ?? []).map((i: Loose) => i.ip ?? i.hostname)

export class Narrator {
  readonly lines: NarrationLine[] = []
  readonly #world: World
  readonly #origin: number
  #taken = 0
  #unwatch: () => void

  constructor(world: World, origin = world.clock.now()) {
    this.#world = world
    this.#origin = origin
    this.#unwatch = world.cluster.watch((event) => this.#onEvent(event))
  }

  stop(): void {
    this.#unwatch()
  }

  /** Adds a line of our own (e.g. what the scenario is doing now). */
  note(text: string): void {
    this.#say(text)
  }

  /** The formatted lines added since the last call. */
  take(): string[] {
    const fresh = this.lines.slice(this.#taken)
    this.#taken = this.lines.length
    return fresh.map((line) => `${formatOffset(line.at - this.#origin).padEnd(8)} ${line.text}`)
  }

  #say(text: string): void {
    this.lines.push({ at: this.#world.clock.now(), text })
  }

  #onEvent({ type, object, oldObject }: WatchEvent): void {
    const world = this.#world
    if (object.kind === 'DittoServer' && object.metadata.name === world.name) {
      this.#onParent(type, object, oldObject)
      return
    }
    const owned = (object.metadata.ownerReferences ?? []).some(
      (ref) => ref.controller && ref.uid === world.parentUid,
    )
    if (!owned) return
    const id = `${object.kind}/${object.metadata.name}`
    if (type === 'ADDED') {
      this.#say(`${id} created${describeCreated(object)}`)
      return
    }
    if (type === 'DELETED') {
      this.#say(`${id} deleted`)
      return
    }
    if (!oldObject) return
    if (object.metadata.deletionTimestamp && !oldObject.metadata.deletionTimestamp) {
      const holders = object.metadata.finalizers ?? []
      this.#say(`${id} deleting${holders.length > 0 ? ` (held by ${holders.join(', ')})` : ''}`)
    }
    const changed = diffPaths(content(oldObject), content(object), 4)
    if (changed.length > 0) this.#say(`${id} updated (${changed.join(', ')})`)
    if (object.kind === 'StatefulSet') this.#onStatefulSet(object, oldObject)
    if (object.kind === 'Service') {
      const before = ingressOf(oldObject)
      const after = ingressOf(object)
      if (after.join() !== before.join()) {
        this.#say(
          after.length > 0
            ? `${id} load balancer address ${after.join(', ')}`
            : `${id} load balancer released`,
        )
      }
    }
  }

  #onStatefulSet(object: KubeObject, oldObject: KubeObject): void {
    const pod = `pod ${object.metadata.name}-0`
    const status = (object.status ?? {}) as Loose
    const before = (oldObject.status ?? {}) as Loose
    if ((status.replicas ?? 0) > 0 && !((before.replicas ?? 0) > 0)) this.#say(`${pod} started`)
    if (!((status.replicas ?? 0) > 0) && (before.replicas ?? 0) > 0) this.#say(`${pod} stopped`)
    const ready = (status.readyReplicas ?? 0) > 0
    if (ready !== (before.readyReplicas ?? 0) > 0) this.#say(`${pod} ${ready ? 'ready' : 'not ready'}`)
  }

  #onParent(type: WatchEvent['type'], object: KubeObject, oldObject: KubeObject | undefined): void {
    const id = `DittoServer/${object.metadata.name}`
    if (type === 'ADDED') {
      this.#say(`${id} created`)
      return
    }
    if (type === 'DELETED') {
      this.#say(`${id} gone (finalizer removed)`)
      return
    }
    if (!oldObject) return
    if (object.metadata.deletionTimestamp && !oldObject.metadata.deletionTimestamp) {
      this.#say(`${id} deletion requested (held by ${(object.metadata.finalizers ?? []).join(', ')})`)
    }
    const before = (oldObject.status ?? {}) as Loose
    const after = (object.status ?? {}) as Loose
    if (before.phase !== after.phase && after.phase !== undefined) {
      this.#say(`${id} phase ${before.phase ?? '-'} → ${after.phase}`)
    }
    const old = conditionsOf(oldObject)
    for (const [kind, now] of conditionsOf(object)) {
      const was = old.get(kind)
      if (was && was.status === now.status && was.reason === now.reason) continue
      const change =
        was === undefined
          ? `${now.status} (${now.reason})`
          : was.status === now.status
            ? `${now.status} (${was.reason} → ${now.reason})`
            : `${was.status} → ${now.status} (${now.reason})`
      this.#say(`${id} ${kind} ${change}`)
    }
    for (const kind of old.keys()) {
      if (!conditionsOf(object).has(kind)) this.#say(`${id} ${kind} removed`)
    }
    const adapters = (after.adapters ?? []) as Loose[]
    const described = adapters.map(describeAdapter)
    if (described.join('; ') !== ((before.adapters ?? []) as Loose[]).map(describeAdapter).join('; ')) {
      this.#say(`${id} adapters: ${described.length > 0 ? described.join('; ') : 'none'}`)
    }
  }
}
