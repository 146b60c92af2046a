// The whole world for end-to-end scenarios, on one virtual clock: the simulated cluster with our CRD, the
// simulated Metacontroller running our CompositeController, the StatefulSet and cloud controllers, the
// DittoFS emulator, and the REAL hook server on loopback behind a front (see front.ts) that can swap the hook
// process (a restart).
//
// DittoFS is modelled as the pod behaves: its API answers only while the pod is ready (otherwise connections
// are reset), and at its first start it takes the admin password from the Secret the pod is given
// (DITTOFS_ADMIN_INITIAL_PASSWORD), so nothing here needs to know how the hook derives it. Once the
// StatefulSet is garbage collected the API keeps answering (the pod's termination grace period), so the
// best-effort removal of the operator account that finalize starts in the background can finish.
import { existsSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { FastifyInstance } from 'fastify'
import { buildApp, REDACT_PATHS } from '../../hooks/app.js'
import { loadSettings } from '../../hooks/settings.js'
import { type Emulator, type EmulatorAdapter, type Fault, startEmulator } from '../emulator/index.js'
import {
  type ChildEntry,
  CloudController,
  Cluster,
  type KubeObject,
  loadCompositeController,
  loadCrds,
  Metacontroller,
  type ObjectRef,
  type RunResult,
  StatefulSetController,
  type StatusEntry,
  VirtualClock,
} from '../sim/index.js'
import { type HookFront, startHookFront } from './front.js'

export const HOOKS_SECRET_KEY = 'e2e-hooks-secret-key-0123456789abcdef'
export const PARENT_API_VERSION = 'dittofs.dittofs.com/v1alpha1'

/** A file of this repository, found from here (sources or `dist/`), else from the working directory. */
export function repoFile(relative: string): string {
  let dir = dirname(fileURLToPath(import.meta.url))
  for (;;) {
    const candidate = join(dir, relative)
    if (existsSync(candidate)) return candidate
    const parent = dirname(dir)
    if (parent === dir) break
    dir = parent
  }
  const fromCwd = join(process.cwd(), relative)
  if (existsSync(fromCwd)) return fromCwd
  throw new Error(`${relative} not found above ${fileURLToPath(import.meta.url)} nor in ${process.cwd()}`)
}

type Loose = Record<string, any>

export interface WorldOptions {
  name?: string
  namespace?: string
  /** Merged (deeply) over the base spec: 10Gi metadata, control plane on the emulator's port. */
  spec?: Loose
  /** What DittoFS reports at first (default: the emulator's nfs 12049 and smb 1445). */
  adapters?: EmulatorAdapter[]
  /** Virtual ms from pod start to ready. */
  podReadyDelayMs?: number
  /** Virtual ms until a LoadBalancer gets its address; null = never. */
  lbProvisionDelayMs?: number | null
  /** Whether the cloud builds load balancers mixing TCP and UDP (default true, Kubernetes >= 1.26). */
  mixedProtocolLoadBalancers?: boolean
  lbCleanupDelayMs?: number
  /** DITTOFS_API_TIMEOUT_MS (real time); the default leaves room for a busy machine. */
  apiTimeoutMs?: number
  /** The hook server's log level (its lines are captured in `logs`). */
  logLevel?: string
  /** Hook server processes behind the front (default 1); calls go to them in turn, as through a Service. */
  hookReplicas?: number
  /** Overrides the CompositeController's resyncPeriodSeconds (the manifest's 300 s by default). */
  resyncPeriodSeconds?: number
}

/** A watch event on an object in the parent's namespace, as the cluster emitted it (in order). */
export interface ClusterEvent {
  at: number
  type: 'ADDED' | 'MODIFIED' | 'DELETED'
  kind: string
  name: string
  /** Set when this event marked the object for deletion (deletionTimestamp appeared). */
  deletionRequested?: boolean
}

/** A point in the run, to look at what happened after it. */
export interface Mark {
  timeline: number
  exchanges: number
  at: number
}

const WRITE_ACTIONS = new Set(['create', 'update', 'delete', 'recreate'])

const isPlainObject = (value: unknown): value is Loose =>
  typeof value === 'object' && value !== null && !Array.isArray(value)

export function deepMerge(base: Loose, extra: Loose): Loose {
  const out: Loose = { ...base }
  for (const [key, value] of Object.entries(extra)) {
    out[key] = isPlainObject(value) && isPlainObject(out[key]) ? deepMerge(out[key], value) : value
  }
  return out
}

const decode = (value: unknown): string | undefined =>
  typeof value === 'string' ? Buffer.from(value, 'base64').toString('utf8') : undefined

export class World {
  readonly name: string
  readonly namespace: string
  readonly clock: VirtualClock
  readonly cluster: Cluster
  readonly mc: Metacontroller
  readonly statefulSets: StatefulSetController
  readonly cloud: CloudController
  readonly emulator: Emulator
  readonly front: HookFront
  /** Every line the hook server logged (JSON, one per line), across restarts. */
  readonly logs: string[]
  /** Every value any Secret in the cluster ever held (decoded): none may appear in a log or a status. */
  readonly secretValues = new Set<string>()
  /** Every watch event in the parent's namespace, in order. */
  readonly events: ClusterEvent[] = []
  /** Virtual times at which the pod became ready. */
  readonly podReadyAt: number[] = []
  readonly spec: Loose
  parentUid: string | undefined
  /** Times the hook process was restarted. */
  hookRestarts = 0

  #apps: FastifyInstance[]
  #apiTimeoutMs: number
  #logLevel: string
  #userFault: Fault | null = null
  #podReady = false
  #adminInitialised = false
  #requestsAtPodDown = 0
  #requestsInClosedDownWindows = 0
  #unwatch: () => void

  private constructor(parts: {
    options: WorldOptions
    clock: VirtualClock
    cluster: Cluster
    emulator: Emulator
    apps: FastifyInstance[]
    front: HookFront
    logs: string[]
  }) {
    const { options } = parts
    this.logs = parts.logs
    this.name = options.name ?? 'demo'
    this.namespace = options.namespace ?? 'storage'
    this.clock = parts.clock
    this.cluster = parts.cluster
    this.emulator = parts.emulator
    this.front = parts.front
    this.#apps = parts.apps
    this.#apiTimeoutMs = options.apiTimeoutMs ?? 2000
    this.#logLevel = options.logLevel ?? 'debug'
    this.spec = deepMerge(
      { storage: { metadataSize: '10Gi' }, controlPlane: { port: parts.emulator.port } },
      options.spec ?? {},
    )
    this.mc = new Metacontroller({
      baseUrl: parts.front.url,
      controller: compositeController(options.resyncPeriodSeconds),
      cluster: this.cluster,
    })
    this.statefulSets = new StatefulSetController({
      cluster: this.cluster,
      readyDelayMs: options.podReadyDelayMs ?? 20_000,
    })
    this.cloud = new CloudController({
      cluster: this.cluster,
      provisionDelayMs: options.lbProvisionDelayMs === undefined ? 30_000 : options.lbProvisionDelayMs,
      cleanupDelayMs: options.lbCleanupDelayMs ?? 10_000,
      ...(options.mixedProtocolLoadBalancers === undefined
        ? {}
        : { mixedProtocol: options.mixedProtocolLoadBalancers }),
    })
    this.#unwatch = this.cluster.watch(({ type, object, oldObject }) => {
      if (object.metadata.namespace === this.namespace) {
        const event: ClusterEvent = {
          at: this.clock.now(),
          type,
          kind: object.kind,
          name: object.metadata.name,
        }
        if (
          object.metadata.deletionTimestamp &&
          !oldObject?.metadata.deletionTimestamp &&
          type === 'MODIFIED'
        )
          event.deletionRequested = true
        this.events.push(event)
      }
      this.#observe(object)
    })
    this.#applyFault()
  }

  static async start(options: WorldOptions = {}): Promise<World> {
    const clock = new VirtualClock()
    const cluster = new Cluster({ clock })
    for (const crd of loadCrds(repoFile('manifests/crd/dittoservers.yaml'))) cluster.registerCrd(crd)
    const emulator = await startEmulator({ now: () => clock.now() })
    if (options.adapters) emulator.setAdapters(options.adapters)
    const logs: string[] = []
    const apps = await listenHookApps(
      options.hookReplicas ?? 1,
      clock,
      logs,
      options.apiTimeoutMs ?? 2000,
      options.logLevel ?? 'debug',
    )
    let attributed = 0
    const front = await startHookFront({
      targets: apps.map((a) => a.url),
      now: () => clock.now(),
      onExchange: (exchange) => {
        const requests = emulator.counters.requests ?? 0
        exchange.apiRequests = requests - attributed
        attributed = requests
      },
    })
    return new World({ options, clock, cluster, emulator, apps: apps.map((a) => a.app), front, logs })
  }

  // --- the parent
  // -------------------------------------------------------------------------------------------

  get parentRef(): ObjectRef {
    return { apiVersion: PARENT_API_VERSION, kind: 'DittoServer', namespace: this.namespace, name: this.name }
  }

  /** DittoFS API requests made while the pod was not ready (the hook must not call before readiness). */
  get requestsWhilePodDown(): number {
    const open = this.#podReady ? 0 : (this.emulator.counters.requests ?? 0) - this.#requestsAtPodDown
    return this.#requestsInClosedDownWindows + open
  }

  createParent(): KubeObject {
    const created = this.cluster.create({
      apiVersion: PARENT_API_VERSION,
      kind: 'DittoServer',
      metadata: { name: this.name, namespace: this.namespace },
      spec: structuredClone(this.spec),
    })
    this.parentUid = created.metadata.uid
    return created
  }

  /** Edits the parent's spec as a user would (kubectl edit). */
  editSpec(change: (spec: Loose) => void): KubeObject {
    return this.cluster.mutate(this.parentRef, (draft) => {
      const spec = (draft.spec ?? {}) as Loose
      change(spec)
      draft.spec = spec
    })
  }

  deleteParent(): void {
    this.cluster.delete(this.parentRef)
  }

  parent(): KubeObject | undefined {
    return this.cluster.get(this.parentRef)
  }

  status(): Loose {
    return (this.parent()?.status ?? {}) as Loose
  }

  condition(type: string): Loose | undefined {
    return (this.status().conditions as Loose[] | undefined)?.find((c) => c.type === type)
  }

  /** `status.adapters` as `type:port` plus flags, for compact assertions. */
  adapterSummary(): string[] {
    return ((this.status().adapters ?? []) as Loose[]).map(
      (a) =>
        `${a.type}:${a.port}${a.enabled ? '' : ' disabled'}${a.missingSince ? ' leaving' : ''}` +
        `${a.endpoints?.length ? ` ${a.endpoints.join(',')}` : ''}`,
    )
  }

  // --- children
  // ---------------------------------------------------------------------------------------------

  /** Every object whose controller is the parent (by uid: works while and after the parent is deleted). */
  owned(): KubeObject[] {
    return this.cluster
      .listAll()
      .filter((obj) =>
        (obj.metadata.ownerReferences ?? []).some((ref) => ref.controller && ref.uid === this.parentUid),
      )
  }

  get(kind: string, name: string): KubeObject | undefined {
    const apiVersion =
      kind === 'StatefulSet' ? 'apps/v1' : kind === 'NetworkPolicy' ? 'networking.k8s.io/v1' : 'v1'
    return this.cluster.get({ apiVersion, kind, namespace: this.namespace, name })
  }

  adapterServices(): KubeObject[] {
    return this.cluster
      .list('v1', 'Service', { namespace: this.namespace })
      .filter((svc) => svc.metadata.labels?.['dittofs.io/adapter-service'] === 'true')
  }

  adapterServiceName(type: string): string {
    return `${this.name}-adapter-${type}`
  }

  // --- DittoFS
  // ----------------------------------------------------------------------------------------------

  /** A DittoFS API fault (or null), in effect while the pod is up (a pod not ready resets connections). */
  setApiFault(fault: Fault | null): void {
    this.#userFault = fault
    this.#applyFault()
  }

  setAdapters(adapters: EmulatorAdapter[]): void {
    this.emulator.setAdapters(adapters)
  }

  /** The index of the first event matching, or -1. */
  eventIndex(type: ClusterEvent['type'], kind: string, name: string, deletionRequested = false): number {
    return this.events.findIndex(
      (e) =>
        e.type === type &&
        e.kind === kind &&
        e.name === name &&
        (e.deletionRequested ?? false) === deletionRequested,
    )
  }

  /** Virtual times of hook calls that made DittoFS API requests, since the mark. */
  apiCallTimesSince(mark: Mark): number[] {
    return this.front.exchanges
      .slice(mark.exchanges)
      .filter((e) => (e.apiRequests ?? 0) > 0)
      .map((e) => e.at)
  }

  // --- running
  // ----------------------------------------------------------------------------------------------

  /** Runs `ms` of virtual time. */
  runFor(ms: number, maxSyncs = 2000): Promise<RunResult> {
    return this.mc.runFor(ms, { maxSyncs })
  }

  /**
   * Runs until nothing is queued within `withinMs` of virtual time. A hot loop (syncs that keep triggering
   * each other) ends it by `maxSyncs` instead of 'idle'.
   */
  settle(withinMs = 2 * 60_000, maxSyncs = 200): Promise<RunResult> {
    return this.mc.runUntilIdle({ maxVirtualMs: withinMs, maxSyncs })
  }

  mark(): Mark {
    return { timeline: this.mc.timeline.length, exchanges: this.front.exchanges.length, at: this.clock.now() }
  }

  /** Child creates, updates, deletes and recreates made by Metacontroller since the mark. */
  childWritesSince(mark: Mark): ChildEntry[] {
    return this.mc.timeline
      .slice(mark.timeline)
      .filter((e): e is ChildEntry => e.type === 'child' && WRITE_ACTIONS.has(e.action) && e.result === 'ok')
  }

  statusWritesSince(mark: Mark): StatusEntry[] {
    return this.mc.timeline
      .slice(mark.timeline)
      .filter((e): e is StatusEntry => e.type === 'status' && e.changed)
  }

  /** Replaces the hook processes: close them, start new ones (empty memory) on new ports, switch the front. */
  async restartHooks(): Promise<void> {
    await Promise.all(this.#apps.map((app) => app.close()))
    const next = await listenHookApps(
      this.#apps.length,
      this.clock,
      this.logs,
      this.#apiTimeoutMs,
      this.#logLevel,
    )
    this.#apps = next.map((a) => a.app)
    this.front.setTargets(next.map((a) => a.url))
    this.hookRestarts += 1
  }

  async close(): Promise<void> {
    this.#unwatch()
    this.mc.stop()
    this.statefulSets.stop()
    this.cloud.stop()
    await Promise.all(this.#apps.map((app) => app.close()))
    await this.front.close()
    await this.emulator.close()
  }

  // --- internals
  // --------------------------------------------------------------------------------------------

  #applyFault(): void {
    this.emulator.setFault(this.#podReady ? this.#userFault : { mode: 'reset' })
  }

  #observe(obj: KubeObject): void {
    if (obj.kind === 'Secret') {
      for (const [key, value] of Object.entries((obj.data ?? {}) as Loose)) {
        if (key === 'username') continue
        const text = decode(value)
        if (text && text.length >= 8) this.secretValues.add(text)
      }
      return
    }
    if (obj.kind !== 'StatefulSet' || obj.metadata.name !== this.name) return
    const status = (obj.status ?? {}) as Loose
    if ((status.replicas ?? 0) >= 1 && !this.#adminInitialised) this.#initialiseAdmin()
    const ready = (status.readyReplicas ?? 0) >= 1 && !obj.metadata.deletionTimestamp
    if (ready === this.#podReady) return
    const requests = this.emulator.counters.requests ?? 0
    if (ready) {
      this.#requestsInClosedDownWindows += requests - this.#requestsAtPodDown
      this.podReadyAt.push(this.clock.now())
    } else {
      this.#requestsAtPodDown = requests
    }
    this.#podReady = ready
    this.#applyFault()
  }

  /** DittoFS's first start: the admin password comes from the Secret the pod is given. */
  #initialiseAdmin(): void {
    const ref = (this.spec.identity as Loose | undefined)?.admin?.passwordSecretRef as Loose | undefined
    const secretName = ref?.name ?? `${this.name}-admin-credentials`
    const key = ref?.key ?? 'password'
    const secret = this.cluster.get({
      apiVersion: 'v1',
      kind: 'Secret',
      namespace: this.namespace,
      name: secretName,
    })
    const password = decode((secret?.data as Loose | undefined)?.[key])
    if (password === undefined) return
    this.emulator.setAdminPassword(password)
    this.#adminInitialised = true
  }
}

function compositeController(resyncPeriodSeconds: number | undefined) {
  const controller = loadCompositeController(repoFile('manifests/compositecontroller.yaml'))
  if (resyncPeriodSeconds !== undefined) controller.spec.resyncPeriodSeconds = resyncPeriodSeconds
  return controller
}

function listenHookApps(
  replicas: number,
  ...args: Parameters<typeof listenHookApp>
): Promise<{ app: FastifyInstance; url: string }[]> {
  return Promise.all(Array.from({ length: Math.max(1, replicas) }, () => listenHookApp(...args)))
}

async function listenHookApp(
  clock: VirtualClock,
  logs: string[],
  apiTimeoutMs: number,
  logLevel: string,
): Promise<{ app: FastifyInstance; url: string }> {
  const settings = loadSettings({
    HOOKS_SECRET_KEY,
    LOG_LEVEL: logLevel,
    DITTOFS_API_URL_TEMPLATE: 'http://127.0.0.1:{port}',
    DITTOFS_API_TIMEOUT_MS: String(apiTimeoutMs),
  })
  // The production logger configuration (level, redaction), writing into memory instead of stdout.
  const app = buildApp(settings, {
    now: () => clock.now(),
    logger: {
      level: settings.logLevel,
      redact: { paths: REDACT_PATHS, censor: '[redacted]' },
      stream: { write: (line: string) => logs.push(line) },
    },
  })
  const url = await app.listen({ host: '127.0.0.1', port: 0 })
  return { app, url }
}
