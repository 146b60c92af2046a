/**
 * An in-memory Kubernetes API server: typed objects with uid, resourceVersion, generation, timestamps,
 * finalizers, ownerReferences and background garbage collection, plus the defaulting and validation that matter
 * to a Metacontroller hook. Every write notifies watchers synchronously; watchers must not expect to write from
 * inside the callback (schedule a timer on the clock instead, as a real controller would work asynchronously).
 *
 * Behaviour worth knowing:
 * - An update that leaves the stored object unchanged is a no-op: no resourceVersion bump, no watch event.
 * - Types with a status subresource keep the stored status on `update`; only `updateStatus` changes it, and it
 *   never bumps `generation`.
 * - `delete` of an object with finalizers only sets `deletionTimestamp`; the object goes away when an update
 *   removes the last finalizer. Then its dependents (ownerReferences) are deleted in the background, each
 *   respecting its own finalizers.
 * - A dependent whose every owner is absent (or in another namespace) is garbage-collected right after create.
 */

import { rfc3339, VirtualClock } from './clock.js'
import { applyServerDefaults, applyStatusDefaults } from './defaults.js'
import { ApiError } from './errors.js'
import { clone, deepEqual } from './json.js'
import { selectorMatches } from './labels.js'
import { pruneObject } from './prune.js'
import { describeRef, ResourceRegistry, type ResourceType, refOf, typeKey } from './resources.js'
import type { JsonObject, KubeObject, LabelSelector, ObjectRef } from './types.js'
import { validateObject, validateUpdate } from './validation.js'

export type WatchEventType = 'ADDED' | 'MODIFIED' | 'DELETED'

export interface WatchEvent {
  type: WatchEventType
  object: KubeObject
  /** The object before a MODIFIED event. */
  oldObject?: KubeObject
}

export type WatchListener = (event: WatchEvent) => void

export interface ClusterOptions {
  clock?: VirtualClock
  resources?: ResourceRegistry
}

export interface ListOptions {
  namespace?: string
  labelSelector?: LabelSelector
}

export interface DeleteOptions {
  /** Precondition: only delete the object with this uid (409 Conflict otherwise). */
  uid?: string
}

/** Fields the server owns: never taken from a client's object. */
const SYSTEM_METADATA = [
  'uid',
  'resourceVersion',
  'generation',
  'creationTimestamp',
  'deletionTimestamp',
  'deletionGracePeriodSeconds',
  'selfLink',
  'managedFields',
] as const

export class Cluster {
  readonly clock: VirtualClock
  readonly resources: ResourceRegistry
  /** typeKey -> "namespace/name" -> stored object */
  #objects = new Map<string, Map<string, KubeObject>>()
  #byUid = new Map<string, KubeObject>()
  /** owner uid -> dependent uids */
  #dependents = new Map<string, Set<string>>()
  #listeners = new Set<WatchListener>()
  #resourceVersion = 1000
  #uidCounter = 0
  #ipCounter = 0
  #nodePortCounter = 30000

  constructor(options: ClusterOptions = {}) {
    this.clock = options.clock ?? new VirtualClock()
    this.resources = options.resources ?? new ResourceRegistry()
  }

  /** Registers a CustomResourceDefinition (object form) so its custom resources can be stored. */
  registerCrd(crd: KubeObject): ResourceType[] {
    return this.resources.registerCrd(crd)
  }

  watch(listener: WatchListener): () => void {
    this.#listeners.add(listener)
    return () => this.#listeners.delete(listener)
  }

  get(ref: ObjectRef): KubeObject | undefined {
    const stored = this.#stored(ref)
    return stored && clone(stored)
  }

  /** Like `get`, but a missing object is a 404 ApiError. */
  mustGet(ref: ObjectRef): KubeObject {
    const found = this.get(ref)
    if (!found) throw notFound(ref)
    return found
  }

  list(apiVersion: string, kind: string, options: ListOptions = {}): KubeObject[] {
    const bucket = this.#objects.get(typeKey(apiVersion, kind))
    if (!bucket) return []
    const out: KubeObject[] = []
    for (const obj of bucket.values()) {
      if (options.namespace !== undefined && (obj.metadata.namespace ?? '') !== options.namespace) continue
      if (options.labelSelector && !selectorMatches(options.labelSelector, obj.metadata.labels)) continue
      out.push(clone(obj))
    }
    return out.sort(byNamespaceAndName)
  }

  /** Every stored object, sorted by type, namespace and name. */
  listAll(): KubeObject[] {
    return [...this.#objects.keys()]
      .sort()
      .flatMap((key) =>
        [...this.#objects.get(key)!.values()].sort(byNamespaceAndName).map((obj) => clone(obj)),
      )
  }

  create(input: KubeObject): KubeObject {
    const type = this.#typeOf(input)
    const obj = clone(input)
    obj.metadata = { ...(obj.metadata ?? {}) }
    this.#normaliseNamespace(type, obj)
    if (this.#stored(refOf(obj))) {
      throw new ApiError('AlreadyExists', `${type.plural} "${obj.metadata.name}" already exists`)
    }
    for (const key of SYSTEM_METADATA) delete obj.metadata[key]
    if (type.statusSubresource) {
      const initial = initialStatus(obj.kind)
      if (initial) obj.status = initial
      else delete obj.status
    }
    this.#prepare(type, obj, undefined)
    obj.metadata.uid = this.#nextUid()
    obj.metadata.creationTimestamp = rfc3339(this.clock.now())
    if (type.tracksGeneration) obj.metadata.generation = 1
    obj.metadata.resourceVersion = this.#nextResourceVersion()
    this.#store(obj)
    this.#emit({ type: 'ADDED', object: obj })
    const created = clone(obj)
    if (this.#isOrphanedByDanglingOwners(obj)) this.delete(refOf(obj), { uid: obj.metadata.uid! })
    return created
  }

  /** A full update (PUT). A stale `metadata.resourceVersion` is a 409 Conflict; status is kept when it is a subresource. */
  update(input: KubeObject): KubeObject {
    const type = this.#typeOf(input)
    const obj = clone(input)
    obj.metadata = { ...(obj.metadata ?? {}) }
    this.#normaliseNamespace(type, obj)
    const old = this.#storedOrThrow(refOf(obj))
    checkPreconditions(old, obj)
    for (const key of SYSTEM_METADATA) {
      if (old.metadata[key] === undefined) delete obj.metadata[key]
      else (obj.metadata as Record<string, unknown>)[key] = clone(old.metadata[key])
    }
    if (type.statusSubresource) {
      if (old.status === undefined) delete obj.status
      else obj.status = clone(old.status)
    }
    this.#prepare(type, obj, old)
    validateUpdate(old, obj)
    if (old.metadata.deletionTimestamp) {
      const added = (obj.metadata.finalizers ?? []).filter(
        (f) => !(old.metadata.finalizers ?? []).includes(f),
      )
      if (added.length > 0) {
        throw new ApiError(
          'Forbidden',
          `no new finalizers can be added if the object is being deleted: ${added}`,
        )
      }
    }
    if (type.tracksGeneration && !deepEqual(specPart(old), specPart(obj))) {
      obj.metadata.generation = (old.metadata.generation ?? 0) + 1
    }
    if (deepEqual(obj, old)) return clone(old)
    return this.#write(obj, old)
  }

  /** Writes `.status` only (the /status subresource). */
  updateStatus(input: KubeObject): KubeObject {
    const type = this.#typeOf(input)
    if (!type.statusSubresource) throw new ApiError('NotFound', `${type.plural} has no status subresource`)
    const old = this.#storedOrThrow(refOf(input))
    checkPreconditions(old, input)
    const obj = clone(old)
    if (input.status === undefined) delete obj.status
    else obj.status = clone(input.status)
    applyStatusDefaults(obj)
    if (type.schema) pruneObject(obj, type.schema)
    if (deepEqual(obj, old)) return clone(old)
    return this.#write(obj, old)
  }

  /**
   * Deletes in the background. With finalizers the object is only marked (`deletionTimestamp`); it is removed
   * once an update clears them. Returns the object as it is after the call, or undefined once it is gone.
   */
  delete(ref: ObjectRef, options: DeleteOptions = {}): KubeObject | undefined {
    const type = this.#typeOf(ref)
    const old = this.#storedOrThrow(ref)
    if (options.uid !== undefined && options.uid !== old.metadata.uid) {
      throw new ApiError(
        'Conflict',
        `Precondition failed: UID in precondition: ${options.uid}, in object: ${old.metadata.uid}`,
      )
    }
    if ((old.metadata.finalizers ?? []).length === 0) {
      this.#deleteStored(old)
      return undefined
    }
    if (old.metadata.deletionTimestamp) return clone(old)
    const obj = clone(old)
    obj.metadata.deletionTimestamp = rfc3339(this.clock.now())
    obj.metadata.deletionGracePeriodSeconds = 0
    if (type.tracksGeneration) obj.metadata.generation = (old.metadata.generation ?? 0) + 1
    return this.#write(obj, old)
  }

  /** Reads, lets `change` edit the copy, and updates. Convenient for scenario steps ("edit the parent spec"). */
  mutate(ref: ObjectRef, change: (draft: KubeObject) => void): KubeObject {
    const draft = this.mustGet(ref)
    change(draft)
    return this.update(draft)
  }

  /** Like `mutate`, for the status subresource. */
  mutateStatus(ref: ObjectRef, change: (draft: KubeObject) => void): KubeObject {
    const draft = this.mustGet(ref)
    change(draft)
    return this.updateStatus(draft)
  }

  // --- internals -------------------------------------------------------------------------------------------

  #typeOf(ref: { apiVersion: string; kind: string }): ResourceType {
    const type = this.resources.byKind(ref.apiVersion, ref.kind)
    if (!type) {
      throw new ApiError(
        'NotFound',
        `the server could not find the requested resource (${ref.kind} ${ref.apiVersion})`,
      )
    }
    return type
  }

  #normaliseNamespace(type: ResourceType, obj: KubeObject): void {
    if (!type.namespaced) {
      delete obj.metadata.namespace
    } else if (!obj.metadata.namespace) {
      throw new ApiError(
        'BadRequest',
        `${describeRef(refOf(obj))}: a namespace is required for ${type.plural}`,
      )
    }
  }

  #prepare(type: ResourceType, obj: KubeObject, old: KubeObject | undefined): void {
    dropEmptyMetadata(obj)
    applyServerDefaults(obj, old, {
      clusterIP: () => this.#nextClusterIP(),
      nodePort: () => this.#nodePortCounter++,
    })
    if (type.schema) pruneObject(obj, type.schema)
    validateObject(obj)
  }

  #stored(ref: ObjectRef): KubeObject | undefined {
    const namespaced = this.resources.byKind(ref.apiVersion, ref.kind)?.namespaced ?? true
    const namespace = namespaced ? (ref.namespace ?? '') : ''
    return this.#objects.get(typeKey(ref.apiVersion, ref.kind))?.get(`${namespace}/${ref.name}`)
  }

  #storedOrThrow(ref: ObjectRef): KubeObject {
    const stored = this.#stored(ref)
    if (!stored) throw notFound(ref)
    return stored
  }

  #write(obj: KubeObject, old: KubeObject): KubeObject {
    obj.metadata.resourceVersion = this.#nextResourceVersion()
    this.#store(obj)
    if (obj.metadata.deletionTimestamp && (obj.metadata.finalizers ?? []).length === 0) {
      // The write that clears the last finalizer of a deleting object is the delete itself: one DELETED event.
      this.#deleteStored(obj)
    } else {
      this.#emit({ type: 'MODIFIED', object: obj, oldObject: old })
    }
    return clone(obj)
  }

  #store(obj: KubeObject): void {
    const key = typeKey(obj.apiVersion, obj.kind)
    let bucket = this.#objects.get(key)
    if (!bucket) {
      bucket = new Map()
      this.#objects.set(key, bucket)
    }
    const uid = obj.metadata.uid!
    const previous = this.#byUid.get(uid)
    for (const ref of previous?.metadata.ownerReferences ?? []) this.#dependents.get(ref.uid)?.delete(uid)
    bucket.set(`${obj.metadata.namespace ?? ''}/${obj.metadata.name}`, obj)
    this.#byUid.set(uid, obj)
    for (const ref of obj.metadata.ownerReferences ?? []) {
      let set = this.#dependents.get(ref.uid)
      if (!set) {
        set = new Set()
        this.#dependents.set(ref.uid, set)
      }
      set.add(uid)
    }
  }

  #deleteStored(obj: KubeObject): void {
    const uid = obj.metadata.uid!
    if (!this.#byUid.has(uid)) return
    this.#objects
      .get(typeKey(obj.apiVersion, obj.kind))
      ?.delete(`${obj.metadata.namespace ?? ''}/${obj.metadata.name}`)
    this.#byUid.delete(uid)
    for (const ref of obj.metadata.ownerReferences ?? []) this.#dependents.get(ref.uid)?.delete(uid)
    this.#emit({ type: 'DELETED', object: obj })
    this.#collectDependentsOf(uid)
  }

  /** Background propagation: dependents left without any live owner are deleted (respecting their finalizers). */
  #collectDependentsOf(ownerUid: string): void {
    const dependents = [...(this.#dependents.get(ownerUid) ?? [])].sort()
    this.#dependents.delete(ownerUid)
    for (const uid of dependents) {
      const dependent = this.#byUid.get(uid)
      if (dependent && this.#isOrphanedByDanglingOwners(dependent)) {
        this.delete(refOf(dependent), { uid })
      }
    }
  }

  #isOrphanedByDanglingOwners(obj: KubeObject): boolean {
    const refs = obj.metadata.ownerReferences ?? []
    if (refs.length === 0) return false
    return refs.every((ref) => {
      const owner = this.#byUid.get(ref.uid)
      if (!owner) return true
      // A namespaced owner in another namespace counts as absent (OwnerRefInvalidNamespace).
      return owner.metadata.namespace !== undefined && owner.metadata.namespace !== obj.metadata.namespace
    })
  }

  #emit(event: WatchEvent): void {
    for (const listener of [...this.#listeners]) {
      const copy: WatchEvent = { type: event.type, object: clone(event.object) }
      if (event.oldObject) copy.oldObject = clone(event.oldObject)
      listener(copy)
    }
  }

  #nextResourceVersion(): string {
    this.#resourceVersion += 1
    return String(this.#resourceVersion)
  }

  #nextUid(): string {
    this.#uidCounter += 1
    return `00000000-0000-4000-8000-${this.#uidCounter.toString().padStart(12, '0')}`
  }

  #nextClusterIP(): string {
    this.#ipCounter += 1
    return `10.96.${Math.floor(this.#ipCounter / 250)}.${(this.#ipCounter % 250) + 1}`
  }
}

function notFound(ref: ObjectRef): ApiError {
  return new ApiError('NotFound', `${describeRef(ref)} not found`)
}

function checkPreconditions(stored: KubeObject, incoming: KubeObject): void {
  const { resourceVersion, uid } = incoming.metadata ?? {}
  if (resourceVersion !== undefined && resourceVersion !== stored.metadata.resourceVersion) {
    throw new ApiError(
      'Conflict',
      `Operation cannot be fulfilled on ${describeRef(refOf(stored))}: the object has been modified; ` +
        'please apply your changes to the latest version and try again',
    )
  }
  if (uid !== undefined && uid !== stored.metadata.uid) {
    throw new ApiError(
      'Conflict',
      `Precondition failed: UID in precondition: ${uid}, in object: ${stored.metadata.uid}`,
    )
  }
}

/** Go's `omitempty`: empty lists and maps in metadata are not stored. */
function dropEmptyMetadata(obj: KubeObject): void {
  const metadata = obj.metadata as Record<string, unknown>
  for (const key of ['finalizers', 'ownerReferences', 'labels', 'annotations']) {
    const value = metadata[key]
    if (value === null || (Array.isArray(value) && value.length === 0)) delete metadata[key]
    else if (typeof value === 'object' && value !== null && Object.keys(value).length === 0)
      delete metadata[key]
  }
}

/** Everything but metadata and status: what bumps `generation`. */
function specPart(obj: KubeObject): JsonObject {
  const { metadata: _metadata, status: _status, ...rest } = obj
  return rest
}

function initialStatus(kind: string): JsonObject | undefined {
  if (kind === 'Service') return { loadBalancer: {} }
  if (kind === 'StatefulSet') return { replicas: 0, availableReplicas: 0 }
  return undefined
}

function byNamespaceAndName(a: KubeObject, b: KubeObject): number {
  const left = `${a.metadata.namespace ?? ''}/${a.metadata.name}`
  const right = `${b.metadata.namespace ?? ''}/${b.metadata.name}`
  return left < right ? -1 : left > right ? 1 : 0
}
