/**
 * A deterministic stand-in for Metacontroller v4.17 running one CompositeController against the simulated
 * cluster, calling a REAL hook server over HTTP. It follows reference/metacontroller.md §2-§5:
 *
 *   queue a parent (events, resyncs, backoff) -> sync it:
 *     1. ignore it if it does not match parentResource.labelSelector and has no finalizer of ours
 *     2. add our finalizer when a finalize hook exists (a full parent update), remove it when none exists
 *     3. claim children: adopt matching orphans, release owned children whose labels stopped matching
 *     4. related objects from the customize hook (cached per parent uid + generation, 20 min)
 *     5. call sync (or finalize when the parent is being deleted and carries our finalizer)
 *     6. resyncAfterSeconds > 0 schedules one more sync
 *     7. finalized: true removes our finalizer
 *     8. every desired child must match the parent selector (generateSelector adds controller-uid), else abort
 *     9. manage children: create (last-applied annotation + controller ownerReference), 3-way-merge update per
 *        updateStrategy, delete owned children left out
 *    10. write the parent status (response status + observedGeneration) when it differs
 *   Any hook failure aborts before step 6: nothing changes, a SyncError event, exponential backoff.
 *
 * Differences from the real thing, on purpose: one worker (syncs never overlap, so runs are reproducible); no
 * informer lag; Rolling* strategies behave like their non-rolling twins (no ControllerRevisions); no ETag; the
 * client-go 10 qps bucket is left out of the backoff.
 */

import type { VirtualClock } from './clock.js'
import type { Cluster, WatchEvent } from './cluster.js'
import { isApiError } from './errors.js'
import { clone, deepEqual, diffPaths, isObject } from './json.js'
import { selectorIsEmpty, selectorMatches } from './labels.js'
import { mergeForUpdate, setLastApplied } from './merge.js'
import {
  type HookVersion,
  objectKey,
  RelatedRuleError,
  relatedObjects,
  ruleSelects,
  toRelatedRule,
} from './related.js'
import { describeRef, objectMapKey, type ResourceType, refOf, typeKey } from './resources.js'
import {
  bump,
  type ChildAction,
  type ChildEntry,
  type Counters,
  emptyCounters,
  type HookEntry,
  type TimelineEntry,
} from './timeline.js'
import type {
  CompositeController,
  Hook,
  JsonObject,
  KubeObject,
  LabelSelector,
  ObjectMap,
  OwnerReference,
  RelatedResourceRule,
  UpdateMethod,
} from './types.js'
import {
  callHook,
  type HookExchange,
  HookFailure,
  type HookName,
  hookUrl,
  parseCustomizeResponse,
  parseGoDuration,
  parseSyncResponse,
  type SyncHookResponse,
} from './webhook.js'
import { type BackoffOptions, DEFAULT_BACKOFF, WorkQueue } from './workqueue.js'

export const CONTROLLER_UID_LABEL = 'controller-uid'
const DEFAULT_HOOK_TIMEOUT_MS = 10_000
const CUSTOMIZE_CACHE_MS = 20 * 60_000
/** Finalizers of the garbage collector: with one of them the finalize hook still runs but children are not managed. */
const GC_FINALIZERS = ['foregroundDeletion', 'orphan']

export interface MetacontrollerOptions {
  /** Where the hook server listens, e.g. `http://127.0.0.1:8080`. Each hook's URL path is called on it. */
  baseUrl: string
  /** The CompositeController object (as in manifests/compositecontroller.yaml). */
  controller: CompositeController
  cluster: Cluster
  /** Defaults to the cluster's clock. */
  clock?: VirtualClock
  /** Real-time limit per hook call; defaults to the hook's `webhook.timeout` (10 s when unset). */
  fetchTimeoutMs?: number
  backoff?: BackoffOptions
}

export interface RunOptions {
  /** Stop after this many parents were taken from the queue (a hot-loop guard). Default 1000. */
  maxSyncs?: number
  /** Do not move the virtual clock further than this from the start. Default: no limit. */
  maxVirtualMs?: number
}

export interface RunResult {
  /** 'idle': nothing queued and no timer due before the limit (periodic resync ticks do not count). */
  stoppedBy: 'idle' | 'maxSyncs'
  /** Parents taken from the queue during this run. */
  reconciles: number
  /** Sync/finalize hook calls during this run. */
  syncs: number
  /** Virtual time that passed. */
  virtualMs: number
}

interface ChildRule {
  type: ResourceType
  method: UpdateMethod
}

interface CustomizeEntry {
  generation: number | undefined
  at: number
  rules: RelatedResourceRule[]
}

/** Thrown inside a sync to abort it with a SyncError (after the hook answered). */
class SyncAbort extends Error {
  override name = 'SyncAbort'
}

export class Metacontroller {
  readonly name: string
  readonly cluster: Cluster
  readonly clock: VirtualClock
  /** The CompositeController as sent to hooks (CRD defaults such as hook `version: v1` filled in). */
  readonly controller: CompositeController
  readonly finalizerName: string
  readonly timeline: TimelineEntry[] = []
  readonly counters: Counters = emptyCounters()
  /** The request body of the last sync/finalize call. */
  lastRequest: JsonObject | undefined

  readonly #baseUrl: string
  readonly #fetchTimeoutMs: number | undefined
  readonly #parentType: ResourceType
  readonly #childRules: ChildRule[]
  readonly #queue: WorkQueue
  readonly #customizeCache = new Map<string, CustomizeEntry>()
  /** Types some customize response asked for: changes to them may trigger parents. */
  readonly #relatedTypes = new Set<string>()
  #unwatch: (() => void) | undefined
  #periodicTimer: number | undefined

  constructor(options: MetacontrollerOptions) {
    this.cluster = options.cluster
    this.clock = options.clock ?? options.cluster.clock
    this.controller = withCrdDefaults(options.controller)
    this.name = this.controller.metadata.name
    this.finalizerName = `metacontroller.io/compositecontroller-${this.name}`
    this.#baseUrl = options.baseUrl
    this.#fetchTimeoutMs = options.fetchTimeoutMs
    const spec = this.controller.spec
    const parentType = this.cluster.resources.byResource(
      spec.parentResource.apiVersion,
      spec.parentResource.resource,
    )
    if (!parentType) {
      throw new Error(
        `can't find resource "${spec.parentResource.resource}" in ${spec.parentResource.apiVersion}`,
      )
    }
    if (!parentType.statusSubresource) {
      throw new Error(
        `ignoring ${this.name}: CRD ${parentType.plural} does not have subresource 'Status' enabled`,
      )
    }
    if (!spec.hooks) throw new Error(`${this.name}: no hooks defined`)
    if (!spec.hooks.sync) throw new Error(`${this.name}: sync hook not defined`)
    this.#parentType = parentType
    this.#childRules = (spec.childResources ?? []).map((rule) => {
      const type = this.cluster.resources.byResource(rule.apiVersion, rule.resource)
      if (!type) throw new Error(`can't find resource "${rule.resource}" in apiVersion "${rule.apiVersion}"`)
      return { type, method: rule.updateStrategy?.method ?? 'OnDelete' }
    })
    this.#queue = new WorkQueue(this.clock, this.name, options.backoff ?? DEFAULT_BACKOFF)
    this.start()
  }

  /** Watches the cluster and queues every existing parent (what a controller (re)start does). Called by the constructor. */
  start(): void {
    if (this.#unwatch) return
    this.#unwatch = this.cluster.watch((event) => this.#onEvent(event))
    for (const parent of this.#listParents()) this.#queue.add(this.#keyOf(parent), 'controller start')
    const period = this.controller.spec.resyncPeriodSeconds
    if (period !== undefined && period > 0) this.#armPeriodicResync(Math.max(1, period) * 1000)
  }

  /** Stops watching and drops queued work and timers. */
  stop(): void {
    this.#unwatch?.()
    this.#unwatch = undefined
    this.clock.clearTimer(this.#periodicTimer)
    this.#periodicTimer = undefined
    this.#queue.shutDown()
  }

  /** Queues a parent by key (`namespace/name`) or object. */
  enqueue(parent: string | KubeObject, reason = 'manual'): void {
    this.#queue.add(typeof parent === 'string' ? parent : this.#keyOf(parent), reason)
  }

  /** Fires due timers, then processes one queued parent. Returns false when nothing was queued. */
  async step(): Promise<boolean> {
    this.clock.runDue()
    const item = this.#queue.get()
    if (!item) return false
    await this.#process(item.key, item.reasons)
    return true
  }

  /**
   * Processes the queue; when it is empty, moves the virtual clock to the next timer (resync, backoff,
   * companions). Stops when nothing is left before the limit, or after `maxSyncs` parents.
   */
  async runUntilIdle(options: RunOptions = {}): Promise<RunResult> {
    return this.#run(options, false)
  }

  /** Runs for `ms` of virtual time (periodic resyncs included) and leaves the clock `ms` later (unless maxSyncs stops it). */
  async runFor(ms: number, options: Omit<RunOptions, 'maxVirtualMs'> = {}): Promise<RunResult> {
    return this.#run({ ...options, maxVirtualMs: ms }, true)
  }

  /** Child writes recorded for one child, e.g. `childWrites('StatefulSet', 'demo')`. */
  childWrites(kind: string, name: string, action?: ChildAction): ChildEntry[] {
    return this.timeline.filter(
      (entry): entry is ChildEntry =>
        entry.type === 'child' &&
        entry.kind === kind &&
        entry.name === name &&
        (action === undefined || entry.action === action),
    )
  }

  // --- the loop ----------------------------------------------------------------------------------------------

  async #run(options: RunOptions, runWholeWindow: boolean): Promise<RunResult> {
    const maxSyncs = options.maxSyncs ?? 1000
    const start = this.clock.now()
    const deadline = start + (options.maxVirtualMs ?? Number.POSITIVE_INFINITY)
    const syncsBefore = this.counters.syncs
    let reconciles = 0
    let stoppedBy: RunResult['stoppedBy'] = 'idle'
    for (;;) {
      this.clock.runDue()
      if (this.#queue.length > 0) {
        if (reconciles >= maxSyncs) {
          stoppedBy = 'maxSyncs'
          break
        }
        await this.step()
        reconciles += 1
        continue
      }
      const next = this.clock.nextTimerAt()
      if (next === undefined || next > deadline) break
      if (!runWholeWindow && !this.clock.hasRefTimers()) break
      this.clock.advanceTo(next)
    }
    if (runWholeWindow && stoppedBy === 'idle' && Number.isFinite(deadline)) this.clock.advanceTo(deadline)
    return {
      stoppedBy,
      reconciles,
      syncs: this.counters.syncs - syncsBefore,
      virtualMs: this.clock.now() - start,
    }
  }

  async #process(key: string, reasons: string[]): Promise<void> {
    this.counters.reconciles += 1
    try {
      await this.#sync(key, reasons)
      this.#queue.forget(key)
    } catch (error) {
      if (error instanceof HookFailure && error.kind === 'tooManyRequests') {
        this.#queue.addAfter(key, error.retryAfterMs, 'Retry-After')
        this.#record({ type: 'requeue', parent: key, why: 'Retry-After', afterMs: error.retryAfterMs })
      } else {
        this.counters.syncErrors += 1
        const message = `Sync error: ${messageOf(error)}`
        this.#record({ type: 'event', parent: key, eventType: 'Warning', reason: 'SyncError', message })
        const delay = this.#queue.addRateLimited(key, 'backoff')
        this.#record({ type: 'requeue', parent: key, why: 'backoff', afterMs: delay })
      }
    } finally {
      this.#queue.done(key)
    }
  }

  async #sync(key: string, triggers: string[]): Promise<void> {
    const ref = this.#parentRef(key)
    let parent = this.cluster.get(ref)
    if (!parent) return
    if (!this.#matchesParentLabelSelector(parent) && !this.#hasOurFinalizer(parent)) return

    parent = this.#reconcileFinalizer(parent)
    if (!parent) return
    const selector = this.#selectorFor(parent)
    this.#claimChildren(parent, selector)
    const finalizing = this.#hasOurFinalizer(parent) && this.#shouldFinalize(parent)
    const hookName: HookName = finalizing ? 'finalize' : 'sync'
    const version = hookVersion(this.controller.spec.hooks?.[hookName])
    const observed = this.#observedChildren(parent)
    const related = await this.#relatedFor(parent, version)
    const request: JsonObject = {
      controller: this.controller,
      parent,
      children: this.#toObjectMap(observed, parent, version),
      related,
      finalizing,
    }

    const response = await this.#callSyncHook(hookName, key, request, triggers)

    if (response.resyncAfterSeconds > 0) {
      const afterMs = response.resyncAfterSeconds * 1000
      this.#queue.addAfter(key, afterMs, 'resyncAfterSeconds')
      this.#record({ type: 'requeue', parent: key, why: 'resyncAfterSeconds', afterMs })
    }
    let live: KubeObject | undefined = parent
    if (finalizing && response.finalized) live = this.#removeFinalizer(parent, key)

    const desired = this.#desiredChildren(response.children, parent, selector)
    const errors =
      live && this.#shouldManageChildren(live) ? this.#manageChildren(parent, key, observed, desired) : []
    this.#writeStatus(parent, key, response.status)
    if (errors.length > 0) throw new SyncAbort(`can't reconcile children: ${errors.join('; ')}`)
  }

  async #callSyncHook(
    hookName: HookName,
    key: string,
    request: JsonObject,
    triggers: string[],
  ): Promise<SyncHookResponse> {
    const hook = this.controller.spec.hooks?.[hookName]
    this.counters.syncs += 1
    if (hookName === 'finalize') this.counters.finalizeCalls += 1
    return this.#recordHookCall(hookName, key, async (entry) => {
      if (triggers.length > 0) entry.triggers = triggers
      const body = await this.#post(hookName, hook, request, (exchange) => {
        this.lastRequest = exchange.request
        entry.status = exchange.status
      })
      const response = parseSyncResponse(hookName, body, strictResponses(hook))
      entry.desired = countByKind(response.children)
      if (response.resyncAfterSeconds > 0) entry.resyncAfterSeconds = response.resyncAfterSeconds
      if (response.finalized) entry.finalized = true
      return response
    })
  }

  /** One hook call on the timeline: its entry is filled by `run`, a failure counted and noted, then rethrown. */
  async #recordHookCall<T>(
    hook: HookName,
    parentKey: string,
    run: (entry: HookEntry) => Promise<T>,
  ): Promise<T> {
    const entry: HookEntry = {
      type: 'hook',
      at: this.clock.now(),
      parent: parentKey,
      hook,
      status: undefined,
    }
    try {
      return await run(entry)
    } catch (error) {
      this.counters.hookErrors += 1
      entry.error = messageOf(error)
      throw error
    } finally {
      this.timeline.push(entry)
    }
  }

  async #post(
    hookName: HookName,
    hook: Hook | undefined,
    body: JsonObject,
    onExchange: (exchange: HookExchange) => void,
  ): Promise<unknown> {
    const url = hookUrl(this.#baseUrl, hook)
    if (!url) throw new HookFailure(hookName, 'connection', `${hookName} hook has no webhook url or path`)
    const timeoutMs =
      this.#fetchTimeoutMs ?? parseGoDuration(hook?.webhook?.timeout) ?? DEFAULT_HOOK_TIMEOUT_MS
    return callHook({
      hook: hookName,
      url,
      body,
      timeoutMs: timeoutMs > 0 ? timeoutMs : DEFAULT_HOOK_TIMEOUT_MS,
      nowMs: this.clock.now(),
      onExchange,
    })
  }

  // --- finalizer ---------------------------------------------------------------------------------------------

  #hasOurFinalizer(parent: KubeObject): boolean {
    return (parent.metadata.finalizers ?? []).includes(this.finalizerName)
  }

  #shouldFinalize(parent: KubeObject): boolean {
    return Boolean(parent.metadata.deletionTimestamp) || !this.#matchesParentLabelSelector(parent)
  }

  /** Adds or removes our finalizer as a full parent update, before anything else. Undefined if the parent is gone. */
  #reconcileFinalizer(parent: KubeObject): KubeObject | undefined {
    const wanted = this.controller.spec.hooks?.finalize !== undefined
    const has = this.#hasOurFinalizer(parent)
    const key = this.#keyOf(parent)
    if (wanted && !has && !parent.metadata.deletionTimestamp) {
      const updated = this.cluster.mutate(refOf(parent), (draft) => {
        draft.metadata.finalizers = [...(draft.metadata.finalizers ?? []), this.finalizerName]
      })
      this.#record({ type: 'finalizer', parent: key, action: 'add', finalizer: this.finalizerName })
      return updated
    }
    if (!wanted && has) return this.#removeFinalizer(parent, key)
    return parent
  }

  #removeFinalizer(parent: KubeObject, key: string): KubeObject | undefined {
    try {
      this.cluster.mutate(refOf(parent), (draft) => {
        draft.metadata.finalizers = (draft.metadata.finalizers ?? []).filter((f) => f !== this.finalizerName)
      })
    } catch (error) {
      if (!isApiError(error, 'NotFound')) throw error
    }
    this.#record({ type: 'finalizer', parent: key, action: 'remove', finalizer: this.finalizerName })
    return this.cluster.get(refOf(parent))
  }

  #shouldManageChildren(parent: KubeObject): boolean {
    if (!parent.metadata.deletionTimestamp) return true
    const finalizers = parent.metadata.finalizers ?? []
    return finalizers.includes(this.finalizerName) && !finalizers.some((f) => GC_FINALIZERS.includes(f))
  }

  // --- selector, claiming and observed children --------------------------------------------------------------

  #selectorFor(parent: KubeObject): LabelSelector {
    if (this.controller.spec.generateSelector) {
      return { matchLabels: { [CONTROLLER_UID_LABEL]: parent.metadata.uid ?? '' } }
    }
    const selector = isObject(parent.spec) ? parent.spec.selector : undefined
    if (!isObject(selector) || selectorIsEmpty(selector as LabelSelector)) {
      throw new SyncAbort('.spec.selector must have either matchLabels, matchExpressions, or both')
    }
    return selector as LabelSelector
  }

  #matchesParentLabelSelector(parent: KubeObject): boolean {
    return selectorMatches(this.controller.spec.parentResource.labelSelector, parent.metadata.labels)
  }

  /** Candidate children: in the parent's namespace (any namespace for a cluster-scoped parent). */
  #candidates(parent: KubeObject, type: ResourceType): KubeObject[] {
    const namespace = parent.metadata.namespace
    return this.cluster.list(type.apiVersion, type.kind, namespace ? { namespace } : {})
  }

  /** Adopts matching orphans and releases owned children whose labels no longer match (ControllerRef rules). */
  #claimChildren(parent: KubeObject, selector: LabelSelector): void {
    const parentDeleting = Boolean(parent.metadata.deletionTimestamp)
    const key = this.#keyOf(parent)
    for (const { type } of this.#childRules) {
      for (const child of this.#candidates(parent, type)) {
        const owner = controllerRefOf(child)
        const matches = selectorMatches(selector, child.metadata.labels)
        if (owner && owner.uid === parent.metadata.uid && !matches && !parentDeleting) {
          this.cluster.mutate(refOf(child), (draft) => {
            draft.metadata.ownerReferences = (draft.metadata.ownerReferences ?? []).filter(
              (ref) => ref.uid !== parent.metadata.uid,
            )
          })
          this.#recordChild(key, 'release', child, 'ok', 'labels no longer match the parent selector')
        } else if (!owner && matches && !child.metadata.deletionTimestamp && !parentDeleting) {
          this.cluster.mutate(refOf(child), (draft) => {
            draft.metadata.ownerReferences = [
              ...(draft.metadata.ownerReferences ?? []),
              controllerRefTo(parent),
            ]
          })
          this.#recordChild(key, 'adopt', child, 'ok', 'orphan matching the parent selector')
        }
      }
    }
  }

  /** Owned children per child rule: typeKey -> objects. */
  #observedChildren(parent: KubeObject): Map<string, KubeObject[]> {
    const observed = new Map<string, KubeObject[]>()
    for (const { type } of this.#childRules) {
      const owned = this.#candidates(parent, type).filter(
        (child) => controllerRefOf(child)?.uid === parent.metadata.uid,
      )
      observed.set(typeKey(type.apiVersion, type.kind), owned)
    }
    return observed
  }

  #toObjectMap(observed: Map<string, KubeObject[]>, parent: KubeObject, version: HookVersion): ObjectMap {
    const map: ObjectMap = {}
    const parentNamespaced = Boolean(parent.metadata.namespace)
    for (const { type } of this.#childRules) {
      const group: Record<string, KubeObject> = {}
      map[objectMapKey(type.apiVersion, type.kind)] = group
      for (const child of observed.get(typeKey(type.apiVersion, type.kind)) ?? []) {
        group[objectKey(child, parentNamespaced, version)] = child
      }
    }
    return map
  }

  // --- related objects ---------------------------------------------------------------------------------------

  async #relatedFor(parent: KubeObject, syncVersion: HookVersion): Promise<ObjectMap> {
    const customize = this.controller.spec.hooks?.customize
    if (!customize) return {}
    const rules = await this.#customizeRules(parent, customize)
    try {
      return relatedObjects(rules, {
        cluster: this.cluster,
        parent,
        customizeVersion: hookVersion(customize),
        syncVersion,
      })
    } catch (error) {
      if (error instanceof RelatedRuleError) throw new SyncAbort(error.message)
      throw error
    }
  }

  async #customizeRules(parent: KubeObject, hook: Hook): Promise<RelatedResourceRule[]> {
    const cached = this.#cachedRules(parent)
    if (cached) return cached
    const key = this.#keyOf(parent)
    this.counters.customizeCalls += 1
    return this.#recordHookCall('customize', key, async (entry) => {
      const body = await this.#post(
        'customize',
        hook,
        { controller: this.controller, parent },
        (exchange) => {
          entry.status = exchange.status
        },
      )
      const rules = parseCustomizeResponse(body, strictResponses(hook)).map(toRelatedRule)
      this.#customizeCache.set(parent.metadata.uid ?? key, {
        generation: parent.metadata.generation,
        at: this.clock.now(),
        rules,
      })
      for (const rule of rules) {
        const type = this.cluster.resources.byResource(rule.apiVersion, rule.resource)
        if (type) this.#relatedTypes.add(typeKey(type.apiVersion, type.kind))
      }
      return rules
    })
  }

  #cachedRules(parent: KubeObject): RelatedResourceRule[] | undefined {
    const entry = this.#customizeCache.get(parent.metadata.uid ?? '')
    if (!entry) return undefined
    const fresh = this.clock.now() - entry.at < CUSTOMIZE_CACHE_MS
    return fresh && entry.generation === parent.metadata.generation ? entry.rules : undefined
  }

  // --- desired children and their reconciliation -------------------------------------------------------------

  #desiredChildren(children: unknown[], parent: KubeObject, selector: LabelSelector): KubeObject[] {
    return children.map((raw, index) => {
      if (!isObject(raw)) throw new SyncAbort(`desired child #${index} is not an object`)
      const child = clone(raw) as KubeObject
      if (!isObject(child.metadata)) child.metadata = { name: '' }
      if (typeof child.apiVersion !== 'string' || typeof child.kind !== 'string' || !child.metadata.name) {
        throw new SyncAbort(`desired child #${index} needs apiVersion, kind and metadata.name`)
      }
      if (!child.metadata.namespace && parent.metadata.namespace)
        child.metadata.namespace = parent.metadata.namespace
      if (this.controller.spec.generateSelector) {
        const labels = { ...(child.metadata.labels ?? {}) }
        labels[CONTROLLER_UID_LABEL] ??= parent.metadata.uid ?? ''
        child.metadata.labels = labels
      }
      if (!selectorMatches(selector, child.metadata.labels)) {
        throw new SyncAbort(
          `labels on desired child ${describeRef(refOf(child))} don't match parent selector`,
        )
      }
      return child
    })
  }

  /** Deletes undesired owned children, then creates or updates desired ones. Returns the errors (not thrown). */
  #manageChildren(
    parent: KubeObject,
    key: string,
    observed: Map<string, KubeObject[]>,
    desired: KubeObject[],
  ): string[] {
    const errors: string[] = []
    const identity = (obj: KubeObject) =>
      `${typeKey(obj.apiVersion, obj.kind)}/${obj.metadata.namespace ?? ''}/${obj.metadata.name}`
    const desiredById = new Map(desired.map((child) => [identity(child), child]))
    const observedById = new Map<string, KubeObject>()
    for (const list of observed.values()) for (const child of list) observedById.set(identity(child), child)

    for (const [id, child] of observedById) {
      if (desiredById.has(id) || child.metadata.deletionTimestamp) continue
      this.#deleteChild(key, child, 'delete', 'not in the desired children', errors)
    }
    for (const [id, child] of desiredById) {
      const existing = observedById.get(id)
      if (existing) this.#updateChild(key, existing, child, errors)
      else this.#createChild(parent, key, child, errors)
    }
    return errors
  }

  #createChild(parent: KubeObject, key: string, desired: KubeObject, errors: string[]): void {
    const obj = clone(desired)
    setLastApplied(obj, desired)
    obj.metadata.ownerReferences = [...(obj.metadata.ownerReferences ?? []), controllerRefTo(parent)]
    try {
      this.cluster.create(obj)
      bump(this.counters.creates, obj.kind)
      this.#recordChild(key, 'create', obj, 'ok', 'desired, not observed')
    } catch (error) {
      if (isApiError(error, 'AlreadyExists')) {
        // Swallowed: an object we do not own (or cannot observe) is left alone.
        this.#recordChild(key, 'create', obj, 'AlreadyExists', 'desired, not observed')
        return
      }
      this.#recordChild(key, 'create', obj, failureOf(error), 'desired, not observed', undefined, error)
      errors.push(`create ${describeRef(refOf(obj))}: ${messageOf(error)}`)
    }
  }

  #updateChild(key: string, observed: KubeObject, desired: KubeObject, errors: string[]): void {
    let merged: KubeObject
    try {
      merged = mergeForUpdate(observed, desired)
    } catch (error) {
      errors.push(`merge ${describeRef(refOf(observed))}: ${messageOf(error)}`)
      return
    }
    if (deepEqual(merged, observed) || observed.metadata.deletionTimestamp) return
    const paths = diffPaths(observed, merged)
    const method = this.#methodFor(observed)
    if (method === 'OnDelete') {
      bump(this.counters.skippedUpdates, observed.kind)
      this.#recordChild(key, 'skip-update', observed, 'ok', 'differs, but updateStrategy is OnDelete', paths)
      return
    }
    if (method === 'Recreate' || method === 'RollingRecreate') {
      this.#deleteChild(key, observed, 'recreate', `differs, updateStrategy ${method}`, errors, paths)
      return
    }
    try {
      this.cluster.update(merged)
      bump(this.counters.updates, observed.kind)
      this.#recordChild(key, 'update', observed, 'ok', 'merged object differs from observed', paths)
    } catch (error) {
      bump(this.counters.updates, observed.kind)
      this.#recordChild(
        key,
        'update',
        observed,
        failureOf(error),
        'merged object differs from observed',
        paths,
        error,
      )
      // Conflict and NotFound are swallowed: the next event syncs again.
      if (!isApiError(error, 'Conflict') && !isApiError(error, 'NotFound')) {
        errors.push(`update ${describeRef(refOf(observed))}: ${messageOf(error)}`)
      }
    }
  }

  #deleteChild(
    key: string,
    child: KubeObject,
    action: 'delete' | 'recreate',
    reason: string,
    errors: string[],
    paths?: string[],
  ): void {
    try {
      this.cluster.delete(refOf(child), { uid: child.metadata.uid! })
      bump(this.counters.deletes, child.kind)
      this.#recordChild(key, action, child, 'ok', reason, paths)
    } catch (error) {
      if (isApiError(error, 'NotFound')) return
      this.#recordChild(key, action, child, failureOf(error), reason, paths, error)
      errors.push(`delete ${describeRef(refOf(child))}: ${messageOf(error)}`)
    }
  }

  #methodFor(child: KubeObject): UpdateMethod {
    const rule = this.#childRules.find(
      (r) => r.type.apiVersion === child.apiVersion && r.type.kind === child.kind,
    )
    return rule?.method ?? 'OnDelete'
  }

  // --- parent status -----------------------------------------------------------------------------------------

  /** Replaces the status with the hook's (null -> {}) plus observedGeneration, only when it differs. */
  #writeStatus(parent: KubeObject, key: string, status: JsonObject | null): void {
    const live = this.cluster.get(refOf(parent))
    if (!live) return
    const next: JsonObject = { ...(status ?? {}), observedGeneration: parent.metadata.generation ?? 0 }
    if (deepEqual(live.status, next)) return
    try {
      const written = this.cluster.updateStatus({ ...live, status: next })
      this.counters.statusWrites += 1
      const changed = written.metadata.resourceVersion !== live.metadata.resourceVersion
      this.#record({ type: 'status', parent: key, changed, status: next })
    } catch (error) {
      if (!isApiError(error, 'NotFound') && !isApiError(error, 'Conflict')) throw error
    }
  }

  // --- triggers ----------------------------------------------------------------------------------------------

  #onEvent(event: WatchEvent): void {
    const { object } = event
    const type = typeKey(object.apiVersion, object.kind)
    if (type === typeKey(this.#parentType.apiVersion, this.#parentType.kind)) this.#onParentEvent(event)
    if (this.#childRules.some((rule) => typeKey(rule.type.apiVersion, rule.type.kind) === type)) {
      this.#onChildEvent(event)
    }
    if (this.#relatedTypes.has(type)) this.#onRelatedEvent(event)
  }

  #onParentEvent({ type, object, oldObject }: WatchEvent): void {
    const key = this.#keyOf(object)
    if (type === 'DELETED') this.#customizeCache.delete(object.metadata.uid ?? '')
    if (type !== 'MODIFIED' || !oldObject) {
      this.#queue.add(key, `parent ${type.toLowerCase()}`)
      return
    }
    if (oldObject.metadata.resourceVersion === object.metadata.resourceVersion) return
    if (this.controller.spec.parentResource.ignoreStatusChanges && !parentChangeMatters(oldObject, object))
      return
    this.#queue.add(key, onlyStatusChanged(oldObject, object) ? 'parent status updated' : 'parent updated')
  }

  #onChildEvent({ type, object, oldObject }: WatchEvent): void {
    if (type === 'MODIFIED' && oldObject?.metadata.resourceVersion === object.metadata.resourceVersion) return
    const reason = `${object.kind} ${object.metadata.name} ${type.toLowerCase()}`
    const owners = [controllerRefOf(object), oldObject && controllerRefOf(oldObject)]
    let owned = false
    for (const owner of owners) {
      if (!owner || owner.kind !== this.#parentType.kind) continue
      owned = true
      const parentKey = this.#parentNamespaced() ? `${object.metadata.namespace}/${owner.name}` : owner.name
      const parent = this.cluster.get(this.#parentRef(parentKey))
      if (parent?.metadata.uid === owner.uid) this.#queue.add(parentKey, reason)
    }
    if (owned || type === 'DELETED') return
    // An orphan: every parent in its namespace whose selector matches may want to adopt it.
    for (const parent of this.#listParents(object.metadata.namespace)) {
      try {
        if (selectorMatches(this.#selectorFor(parent), object.metadata.labels))
          this.#queue.add(this.#keyOf(parent), reason)
      } catch {
        // A parent without a valid selector never adopts.
      }
    }
  }

  #onRelatedEvent({ type, object }: WatchEvent): void {
    const reason = `related ${object.kind} ${object.metadata.name} ${type.toLowerCase()}`
    const customize = this.controller.spec.hooks?.customize
    for (const parent of this.#listParents()) {
      const rules = this.#cachedRules(parent)
      // Without cached rules Metacontroller would call customize now; queueing the parent is the safe stand-in.
      const selected =
        rules === undefined ||
        rules.some((rule) =>
          ruleSelects(rule, object, {
            cluster: this.cluster,
            parent,
            customizeVersion: hookVersion(customize),
            syncVersion: hookVersion(this.controller.spec.hooks?.sync),
          }),
        )
      if (selected) this.#queue.add(this.#keyOf(parent), reason)
    }
  }

  #armPeriodicResync(periodMs: number): void {
    this.#periodicTimer = this.clock.setTimer(
      periodMs,
      `${this.name}: resyncPeriodSeconds`,
      () => {
        for (const parent of this.#listParents()) this.#queue.add(this.#keyOf(parent), 'resyncPeriodSeconds')
        this.#armPeriodicResync(periodMs)
      },
      { unref: true },
    )
  }

  // --- helpers -----------------------------------------------------------------------------------------------

  #parentNamespaced(): boolean {
    return this.#parentType.namespaced
  }

  #listParents(namespace?: string): KubeObject[] {
    const { apiVersion, kind } = this.#parentType
    return this.cluster.list(apiVersion, kind, namespace && this.#parentNamespaced() ? { namespace } : {})
  }

  #keyOf(parent: KubeObject): string {
    return parent.metadata.namespace
      ? `${parent.metadata.namespace}/${parent.metadata.name}`
      : parent.metadata.name
  }

  #parentRef(key: string): { apiVersion: string; kind: string; namespace?: string; name: string } {
    const { apiVersion, kind } = this.#parentType
    const slash = key.indexOf('/')
    if (!this.#parentNamespaced() || slash < 0) return { apiVersion, kind, name: key }
    return { apiVersion, kind, namespace: key.slice(0, slash), name: key.slice(slash + 1) }
  }

  #record(entry: WithoutAt<TimelineEntry>): void {
    this.timeline.push({ ...entry, at: this.clock.now() } as TimelineEntry)
  }

  #recordChild(
    parentKey: string,
    action: ChildAction,
    child: KubeObject,
    result: string,
    reason: string,
    paths?: string[],
    error?: unknown,
  ): void {
    const entry: ChildEntry = {
      type: 'child',
      at: this.clock.now(),
      parent: parentKey,
      action,
      child: describeRef(refOf(child)),
      kind: child.kind,
      name: child.metadata.name,
      result,
      reason,
    }
    if (child.metadata.namespace) entry.namespace = child.metadata.namespace
    if (paths && paths.length > 0) entry.paths = paths
    if (error !== undefined) entry.error = messageOf(error)
    this.timeline.push(entry)
  }
}

// --- pure helpers --------------------------------------------------------------------------------------------

/** The CompositeController as the API server returns it: each hook gets the CRD default `version: v1`. */
export function withCrdDefaults(controller: CompositeController): CompositeController {
  const copy = clone(controller)
  for (const hook of Object.values(copy.spec.hooks ?? {})) {
    if (hook && hook.version === undefined) hook.version = 'v1'
  }
  return copy
}

function hookVersion(hook: Hook | undefined): HookVersion {
  return hook?.version === 'v2' ? 'v2' : 'v1'
}

/** v1 responses are decoded loosely, v2 strictly, unless `responseUnMarshallMode` says otherwise. */
function strictResponses(hook: Hook | undefined): boolean {
  const mode = hook?.webhook?.responseUnMarshallMode
  return mode === undefined ? hookVersion(hook) === 'v2' : mode === 'strict'
}

export function controllerRefOf(obj: KubeObject): OwnerReference | undefined {
  return (obj.metadata.ownerReferences ?? []).find((ref) => ref.controller === true)
}

export function controllerRefTo(parent: KubeObject): OwnerReference {
  return {
    apiVersion: parent.apiVersion,
    kind: parent.kind,
    name: parent.metadata.name,
    uid: parent.metadata.uid ?? '',
    controller: true,
    blockOwnerDeletion: true,
  }
}

type WithoutAt<T> = T extends unknown ? Omit<T, 'at'> : never

function onlyStatusChanged(before: KubeObject, after: KubeObject): boolean {
  const strip = (obj: KubeObject) => ({
    ...obj,
    status: null,
    metadata: { ...obj.metadata, resourceVersion: '' },
  })
  return deepEqual(strip(before), strip(after))
}

/** With ignoreStatusChanges, only these parent changes trigger a sync. */
function parentChangeMatters(before: KubeObject, after: KubeObject): boolean {
  return (
    before.metadata.generation !== after.metadata.generation ||
    !deepEqual(before.metadata.labels, after.metadata.labels) ||
    !deepEqual(before.metadata.annotations, after.metadata.annotations) ||
    before.metadata.deletionTimestamp !== after.metadata.deletionTimestamp
  )
}

function countByKind(children: unknown[]): Record<string, number> {
  const counts: Record<string, number> = {}
  for (const child of children) {
    if (isObject(child) && typeof child.kind === 'string') bump(counts, child.kind)
  }
  return counts
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error)
}

function failureOf(error: unknown): string {
  return isApiError(error) ? error.reason : 'error'
}
