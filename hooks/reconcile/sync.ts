import { buildConfigMap, CONFIG_KEY, configHash, renderConfig } from '../children/config.js'
import { childNames } from '../children/naming.js'
import {
  buildPerconaCluster,
  perconaClusterName,
  perconaState,
  withPerconaDatabase,
} from '../children/percona.js'
import { missingSecretKeys, secretDigestAnnotation } from '../children/secret-digest.js'
import { consumedSecretRefs, type ResolvedSecrets, resolveSecrets } from '../children/secrets.js'
import { buildServiceMonitor, wantsServiceMonitor } from '../children/service-monitor.js'
import { buildStaticServices } from '../children/services.js'
import { buildStatefulSet, containerEnv, observedSecretDigest } from '../children/statefulset.js'
import type { ApiAdapter } from '../discovery/types.js'
import { type DittoServerSpec, describeDeprecated } from '../dittoserver/spec.js'
import { parseTime } from '../loose.js'
import type { KubeObject, SyncResponse } from '../metacontroller/types.js'
import { OPTIONAL_CHILDREN, type OptionalChild } from '../settings.js'
import type { AdapterStatus } from './adapter-types.js'
import { ADAPTER_SERVICES_READY, planAdapters, readAdapterStatus, WAITING_FOR_DISCOVERY } from './adapters.js'
import { type Condition, condition, findCondition, readConditions, stampConditions } from './conditions.js'
import type { Observed } from './observe.js'
import { statefulSetCounts } from './observe.js'
import { readSnapshotStatus, type SnapshotInput, snapshotCondition, snapshotStatus } from './snapshots.js'
import {
  availability,
  configReadiness,
  type DiscoveryInput,
  discoveryConditions,
  phaseOf,
  progress,
  readiness,
} from './status.js'

// The pure core: observed state + what discovery found + the clock → the complete desired children and status.

/** How long finalize waits for adapter Services (and their cloud load balancers) before giving up on them. */
export const FINALIZE_TIMEOUT_MS = 5 * 60_000

/** When finalize stops waiting for adapter Services; undefined without a usable deletion timestamp. */
export function finalizeDeadline(deletionTimestamp: string | undefined): number | undefined {
  const deletedAt = parseTime(deletionTimestamp)
  return deletedAt === undefined ? undefined : deletedAt + FINALIZE_TIMEOUT_MS
}

/** Finalize is done once no adapter Service is left, or once waiting for them has passed its deadline. */
export const isFinalized = (remainingAdapterServices: number, deadline: number | undefined, now: number) =>
  remainingAdapterServices === 0 || (deadline !== undefined && now >= deadline)
/** Before the pod is ready, Metacontroller is asked to come back this soon. */
export const WAITING_RESYNC_SECONDS = 10

export interface SyncContext {
  observed: Observed
  spec: DittoServerSpec
  secrets: ResolvedSecrets
  discovery: DiscoveryInput
  now: number
  /** NetworkPolicyPeer for the hook pods (see buildBaselinePolicy). */
  hookPeer?: Record<string, unknown>
  /** What the I/O edge did about snapshot policies this sync. */
  snapshots?: SnapshotInput
  /** Optional child kinds the CompositeController lists (a child of another kind would fail every sync). */
  optionalChildren?: ReadonlySet<OptionalChild>
  /** When the answer leaves (after any poll); resyncAfterSeconds counts from here. `now` when omitted. */
  answeredAt?: number
}

export const secretsFor = (observed: Observed, spec: DittoServerSpec, secretKey: Buffer): ResolvedSecrets =>
  resolveSecrets({
    spec,
    parentName: observed.name,
    parentUid: observed.uid,
    secretKey,
    ownSecrets: observed.secrets,
    relatedSecrets: observed.relatedSecrets,
  })

interface OptionalChildren {
  children: KubeObject[]
  /** Install options the spec needs and this installation lacks. */
  missing: string[]
  /** The spec as the server gets it: the database switched to the Percona cluster when the hook runs one. */
  spec: DittoServerSpec
  conditions: Condition[]
  perconaClusterName?: string
}

/** Optional children the spec asks for, and the install options missing for the ones not registered. */
function optionalChildren(
  observed: Observed,
  spec: DittoServerSpec,
  registered: ReadonlySet<OptionalChild>,
): OptionalChildren {
  const out: OptionalChildren = { children: [], missing: [], spec, conditions: [] }
  if (wantsServiceMonitor(spec)) {
    if (registered.has('servicemonitors'))
      out.children.push(buildServiceMonitor(observed.name, observed.namespace, spec))
    else out.missing.push(missingOption('spec.metrics.serviceMonitor.enabled', 'servicemonitors'))
  }
  const percona = spec.percona
  if (!percona) return out
  if (!percona.deleteWithServer) {
    // Metacontroller puts a controller ownerReference on every child it creates or updates (claimOwnership) and
    // the garbage collector deletes such children with their parent: a child cannot outlive the DittoServer.
    out.conditions.push(
      condition(
        'DatabaseReady',
        'False',
        'DeleteWithServerUnsupported',
        'spec.percona.deleteWithServer: false cannot be honoured: every child of a DittoServer is deleted with it, ' +
          'so no PerconaPGCluster is created and the control plane stays on SQLite. Set deleteWithServer: true to ' +
          'have one created (and deleted with the server), or run PostgreSQL yourself and set database.postgresSecretRef',
      ),
    )
    return out
  }
  if (!registered.has('perconapgclusters')) {
    out.missing.push(missingOption('spec.percona.enabled', 'perconapgclusters'))
    out.conditions.push(
      condition(
        'DatabaseReady',
        'False',
        'InstallOptionMissing',
        'no PerconaPGCluster: see OptionalChildrenMissing',
      ),
    )
    return out
  }
  const name = perconaClusterName(observed.name)
  out.children.push(buildPerconaCluster(observed.name, percona))
  out.spec = withPerconaDatabase(spec, observed.name)
  out.perconaClusterName = name
  out.conditions.push(databaseReadiness(name, observed.perconaClusters.get(name)))
  return out
}

function databaseReadiness(name: string, cluster: KubeObject | undefined): Condition {
  if (!cluster)
    return condition('DatabaseReady', 'False', 'PerconaNotFound', `PerconaPGCluster ${name} is being created`)
  const state = perconaState(cluster)
  return state === 'ready'
    ? condition('DatabaseReady', 'True', 'PerconaReady', `PerconaPGCluster ${name} is ready`)
    : condition(
        'DatabaseReady',
        'False',
        'PerconaNotReady',
        `PerconaPGCluster ${name} state: ${state ?? 'unknown'}`,
      )
}

const missingOption = (field: string, kind: OptionalChild): string =>
  `${field} needs the ${kind} child kind, which this installation does not register: install the kustomize ` +
  `component ${OPTIONAL_CHILDREN[kind].kustomize} or set the Helm value ${OPTIONAL_CHILDREN[kind].helm}`

const optionalConditions = (
  spec: DittoServerSpec,
  ignoredStorage: string[],
  missingOptions: string[],
): Condition[] => {
  const extra: Condition[] = []
  if (missingOptions.length > 0) {
    extra.push(
      condition('OptionalChildrenMissing', 'True', 'InstallOptionMissing', missingOptions.join('; ')),
    )
  }
  if (spec.deprecated.length > 0) {
    extra.push(
      condition(
        'DeprecatedFieldsIgnored',
        'True',
        'DeprecatedFields',
        `ignored deprecated fields: ${describeDeprecated(spec.deprecated)}`,
      ),
    )
  }
  if (spec.unsupported.length > 0) {
    extra.push(
      condition('UnsupportedFieldsIgnored', 'True', 'UnsupportedFields', spec.unsupported.join('; ')),
    )
  }
  if (ignoredStorage.length > 0) {
    extra.push(
      condition(
        'StorageChangeIgnored',
        'True',
        'ImmutableVolumeClaims',
        `${ignoredStorage.join('; ')}; a StatefulSet's volume claims cannot change: resize the PVCs directly or recreate the DittoServer`,
      ),
    )
  }
  return extra
}

/**
 * A list with rejected (malformed) entries says nothing about the types it failed to describe: unknown is not
 * empty, so a last known adapter the list does not name validly is carried over as it was, not taken as gone.
 */
function trustedList(adapters: ApiAdapter[], rejected: string[], lastKnown: AdapterStatus[]): ApiAdapter[] {
  if (rejected.length === 0) return adapters
  const listed = new Set(adapters.map((a) => a.type))
  const carried = lastKnown
    .filter((entry) => !listed.has(entry.type))
    .map(({ type, port, enabled, running }) => ({ type, port, enabled, running }))
  return [...adapters, ...carried]
}

/** The Secrets the spec names whose required keys the pod reads (the generated ones are this hook's own). */
const userSecretNames = (spec: DittoServerSpec): Set<string> =>
  new Set(
    [
      spec.jwt.secretRef?.name,
      spec.admin.passwordSecretRef?.name,
      spec.database.postgresSecretRef?.name,
    ].filter((name): name is string => name !== undefined),
  )

/**
 * The longest resync asked for: the longest polling interval. Metacontroller turns it into a Go time.Duration
 * (int64 nanoseconds, about 292 years), which a huge grace period or interval would otherwise overflow.
 */
export const MAX_RESYNC_SECONDS = 24 * 60 * 60

/** Millisecond precision: a poll slot's window is two seconds wide, whole seconds would eat half of it. */
const secondsUntil = (at: number, now: number): number =>
  Math.min(MAX_RESYNC_SECONDS, Math.max(1, Math.ceil(at - now) / 1000))

export function buildResponse(ctx: SyncContext): SyncResponse {
  const { observed, secrets, discovery, now } = ctx
  const finalizing = observed.request.finalizing === true
  const names = childNames(observed.name)
  const observedStatefulSet = observed.statefulSets.get(names.statefulSet)
  const optional = optionalChildren(observed, ctx.spec, ctx.optionalChildren ?? new Set())
  const spec = optional.spec

  // Phase A: infrastructure, from the spec alone.
  const configYaml = renderConfig(spec)
  const env = containerEnv(observed.name, spec)
  const returnedSecrets = new Map(secrets.children.map((child) => [child.metadata.name, child]))
  // The Secret the pod will read: the one in the cluster, else the one this response creates.
  const podSecret = (name: string) =>
    observed.secrets.get(name) ?? observed.relatedSecrets?.get(name) ?? returnedSecrets.get(name)
  const digest = secretDigestAnnotation({
    parentUid: observed.uid,
    env,
    lookup: podSecret,
    files: consumedSecretRefs(spec)
      .filter(({ atStartOnly }) => atStartOnly)
      .map(({ ref }) => ref),
    observed: observedSecretDigest(observedStatefulSet),
  })
  const missingSecrets = [
    ...new Set([
      ...secrets.missing,
      ...missingSecretKeys(env, userSecretNames(spec), observed.relatedSecrets),
    ]),
  ]
  const hash = configHash(configYaml, digest)
  const { statefulSet, ignoredStorageChanges } = buildStatefulSet(
    observed.name,
    spec,
    { configHash: hash, secretDigest: digest },
    observedStatefulSet,
  )
  const infrastructure: KubeObject[] = [
    buildConfigMap(observed.name, configYaml),
    ...secrets.children,
    ...buildStaticServices(observed.name, spec),
    statefulSet,
    ...optional.children,
  ]

  // Phase B: adapters, from the fresh poll or the last known list in status.
  const lastKnown = readAdapterStatus(observed.status)
  const fresh =
    discovery.kind === 'polled' && discovery.outcome.ok
      ? trustedList(discovery.outcome.adapters, discovery.outcome.rejected, lastKnown)
      : undefined
  const observedConditions = readConditions(observed.status)
  const earlierVerdict = findCondition(observedConditions, ADAPTER_SERVICES_READY)
  const plan = planAdapters({
    parentName: observed.name,
    adaptersKnown:
      fresh !== undefined ||
      lastKnown.length > 0 ||
      (earlierVerdict !== undefined && earlierVerdict.reason !== WAITING_FOR_DISCOVERY),
    spec,
    lastKnown,
    fresh,
    freshIncomplete:
      discovery.kind === 'polled' && discovery.outcome.ok && discovery.outcome.rejected.length > 0,
    observedServices: observed.services,
    observedPolicies: observed.policies,
    finalizing,
    now,
    namespace: observed.namespace,
    ...(ctx.hookPeer ? { hookPeer: ctx.hookPeer } : {}),
  })

  const snapshotInput: SnapshotInput = ctx.snapshots ?? { kind: 'none' }
  const snapshotEntries = snapshotStatus(
    spec.snapshotPolicies,
    readSnapshotStatus(observed.status),
    snapshotInput,
  )
  const snapshotVerdict = snapshotCondition(snapshotEntries, snapshotInput, readConditions(observed.status))

  const configMap = observed.configMaps.get(names.config)
  const configData = (configMap?.data as Record<string, unknown> | undefined)?.[CONFIG_KEY]
  const parts = [
    configReadiness(configMap ? configData === configYaml : undefined, missingSecrets),
    availability(spec, observedStatefulSet),
    progress(spec, observedStatefulSet, hash),
    ...discoveryConditions(discovery, observedConditions, plan.status.length),
    ...plan.conditions,
    ...optional.conditions,
    ...(snapshotVerdict ? [snapshotVerdict] : []),
  ]
  let ready = readiness(spec, parts)
  let finalized: boolean | undefined
  const deadline = finalizeDeadline(observed.deletionTimestamp)
  if (finalizing) {
    finalized = isFinalized(plan.remainingAdapterServices.length, deadline, now)
    const waitingFor = plan.remainingAdapterServices.join(', ')
    ready = condition(
      'Ready',
      'False',
      'Deleting',
      plan.remainingAdapterServices.length === 0
        ? 'adapter Services removed; finishing deletion'
        : finalized // with Services left, only because the deadline passed
          ? `gave up waiting after 5m for adapter Services ${waitingFor}; they are left to garbage collection`
          : `waiting for adapter Services ${waitingFor} (and their load balancers) to be removed`,
    )
  }
  const conditions = stampConditions(
    [...parts, ready, ...optionalConditions(spec, ignoredStorageChanges, optional.missing)],
    observedConditions,
    now,
    observed.generation,
  )
  const counts = statefulSetCounts(observedStatefulSet)
  const status = {
    phase: phaseOf(spec, ready, finalizing),
    replicas: counts.replicas,
    readyReplicas: counts.readyReplicas,
    availableReplicas: counts.availableReplicas,
    configHash: hash,
    ...(optional.perconaClusterName ? { perconaClusterName: optional.perconaClusterName } : {}),
    apiEndpoint: `${names.apiService}.${observed.namespace}.svc.cluster.local:${spec.apiPort}`,
    adapters: plan.status,
    ...(snapshotEntries.length > 0 ? { snapshotPolicies: snapshotEntries } : {}),
    conditions,
  }

  const wakeups: number[] = []
  if (plan.nextEventAt !== undefined) wakeups.push(plan.nextEventAt)
  if (discovery.kind === 'waiting') wakeups.push(now + WAITING_RESYNC_SECONDS * 1000)
  else if (!finalizing) wakeups.push(discovery.nextPollAt)
  if (finalizing && !finalized && deadline !== undefined) wakeups.push(deadline)
  if (!finalizing && snapshotInput.nextDueAt !== undefined) wakeups.push(snapshotInput.nextDueAt)
  const soonest = wakeups.length > 0 ? Math.min(...wakeups) : undefined

  return {
    status,
    children: [...infrastructure, ...plan.children],
    ...(soonest === undefined
      ? {}
      : { resyncAfterSeconds: secondsUntil(soonest, Math.max(now, ctx.answeredAt ?? now)) }),
    ...(finalized === undefined ? {} : { finalized }),
  }
}
