import { childNames } from '../children/naming.js'
import type { ResolvedSecrets } from '../children/secrets.js'
import { apiBase } from '../discovery/client.js'
import type { Discovery } from '../discovery/discovery.js'
import type { PollSchedule } from '../discovery/schedule.js'
import { SnapshotSchedule } from '../discovery/snapshot-schedule.js'
import type { PollOutcome, PollTarget } from '../discovery/types.js'
import type { DittoServerSpec, SpecPolicy } from '../dittoserver/spec.js'
import type {
  CustomizeRequest,
  CustomizeResponse,
  SyncRequest,
  SyncResponse,
} from '../metacontroller/types.js'
import { apiUrlFor, type OptionalChild } from '../settings.js'
import { findCondition, readConditions } from './conditions.js'
import { customize } from './customize.js'
import { invalidSpecResponse } from './invalid.js'
import { type Observed, observe, statefulSetCounts } from './observe.js'
import { duePushes, policyDigest, type SnapshotInput } from './snapshots.js'
import type { DiscoveryInput } from './status.js'
import { buildResponse, secretsFor } from './sync.js'

// The only place where a sync touches the outside world: deciding whether a poll is due, and doing it. Everything
// before and after is pure; the poll's result enters the pure step as data.

export interface HookServiceDeps {
  discovery: Pick<Discovery, 'poll' | 'removeOperatorUser'> & Partial<Pick<Discovery, 'pushSnapshotPolicies'>>
  schedule: PollSchedule
  apiUrlTemplate: string
  secretKey: Buffer
  hookPeer?: Record<string, unknown>
  /** How strict spec parsing is about security contexts; strict when omitted. */
  specPolicy?: SpecPolicy
  /** Optional child kinds the CompositeController lists; none when unset. */
  optionalChildren?: ReadonlySet<OptionalChild>
  now: () => number
  onPoll?: (outcome: PollOutcome) => void
}

const NO_OPTIONAL_CHILDREN: ReadonlySet<OptionalChild> = new Set()

type Gate = { waiting: string; reason?: 'TLSNotReady' } | { target: PollTarget }

function pollGate(
  observed: Observed,
  spec: DittoServerSpec,
  operator: PollTarget['operator'] | undefined,
  admin: PollTarget['admin'],
  template: string,
  apiTls: ResolvedSecrets['apiTls'],
): Gate {
  const names = childNames(observed.name)
  if (spec.replicas === 0)
    return { waiting: 'replicas is 0: the DittoFS API is not polled while the server is stopped' }
  const statefulSet = observed.statefulSets.get(names.statefulSet)
  if (statefulSetCounts(statefulSet).readyReplicas < 1)
    return { waiting: 'waiting for the DittoFS pod to become ready' }
  if (!operator) return { waiting: `waiting for Secret ${names.operatorCredentials} to exist` }
  if (apiTls && 'problem' in apiTls) return { waiting: apiTls.problem, reason: 'TLSNotReady' }
  const url = apiUrlFor(template, {
    name: observed.name,
    namespace: observed.namespace,
    port: spec.apiPort,
  })
  // The scheme follows the spec (the template's host and path stay): never plain HTTP to a TLS API.
  const apiUrl = apiTls ? url.replace(/^http:\/\//, 'https://') : url
  return {
    target: { apiUrl, operator, ...(admin ? { admin } : {}), ...(apiTls ? { tls: apiTls.trust } : {}) },
  }
}

/** Reasons for AdaptersSynced that no poll wrote: the status says nothing was polled since the pod came up. */
const NOT_POLLED_REASONS = new Set(['WaitingForPod', 'TLSNotReady', 'NotYetPolled'])

/**
 * The parent's status says no poll happened since the pod became ready (or ever): every replica polls at once
 * instead of waiting for the next slot, so a pod that just became ready gets its adapters without delay.
 */
function awaitsFirstPoll(observed: Observed): boolean {
  const adaptersSynced = findCondition(readConditions(observed.status), 'AdaptersSynced')
  return adaptersSynced === undefined || NOT_POLLED_REASONS.has(adaptersSynced.reason)
}

export class HookService {
  /** Parents whose DittoFS operator account was already removed by this process (best effort, bounded). */
  private readonly removedAccounts = new Set<string>()
  private readonly snapshotSchedule = new SnapshotSchedule()

  constructor(private readonly deps: HookServiceDeps) {}

  customize(request: CustomizeRequest): CustomizeResponse {
    return customize(request, this.deps.specPolicy)
  }

  async sync(request: SyncRequest): Promise<SyncResponse> {
    const now = this.deps.now()
    const observed = observe(request, this.deps.specPolicy)
    if (!observed.spec.ok) return invalidSpecResponse(observed, observed.spec.errors, now)
    const spec = observed.spec.spec
    const secrets = secretsFor(observed, spec, this.deps.secretKey)
    const gate = pollGate(
      observed,
      spec,
      secrets.operator,
      secrets.admin,
      this.deps.apiUrlTemplate,
      secrets.apiTls,
    )

    let discovery: DiscoveryInput
    if (request.finalizing) {
      discovery = { kind: 'carried', nextPollAt: now }
      if ('target' in gate) this.removeAccountOnce(observed.uid, gate.target)
    } else if ('waiting' in gate) {
      discovery = { kind: 'waiting', reason: gate.reason ?? 'WaitingForPod', message: gate.waiting }
    } else {
      discovery = await this.pollIfDue(
        observed.uid,
        gate.target,
        spec.pollingIntervalMs,
        now,
        awaitsFirstPoll(observed),
      )
    }
    const snapshots = await this.snapshotsIfDue(
      observed.uid,
      spec,
      gate,
      discovery,
      now,
      request.finalizing === true,
    )
    const response = buildResponse({
      snapshots,
      observed,
      spec,
      secrets,
      discovery,
      now,
      hookPeer: this.deps.hookPeer,
      optionalChildren: this.deps.optionalChildren ?? NO_OPTIONAL_CHILDREN,
      // A call to DittoFS may have taken a while: Metacontroller counts resyncAfterSeconds from when it gets
      // the answer. Without one, the answer depends on the request and `now` only.
      answeredAt: discovery.kind === 'polled' || snapshots.kind === 'pushed' ? this.deps.now() : now,
    })
    // A finalized parent is gone for good: its schedule entry would only wait for the LRU to evict it.
    if (response.finalized) {
      this.deps.schedule.forget(observed.uid)
      this.snapshotSchedule.forget(observed.uid)
    }
    return response
  }

  /**
   * Pushes the snapshot policies that are due, in a sync that did not poll (one DittoFS operation per sync keeps
   * each hook call within its deadline); a sync that polled successfully asks to be called again in a second.
   */
  private async snapshotsIfDue(
    uid: string,
    spec: DittoServerSpec,
    gate: Gate,
    discovery: DiscoveryInput,
    now: number,
    finalizing: boolean,
  ): Promise<SnapshotInput> {
    const push = this.deps.discovery.pushSnapshotPolicies?.bind(this.deps.discovery)
    if (
      spec.snapshotPolicies.length === 0 ||
      finalizing ||
      !('target' in gate) ||
      !gate.target.admin ||
      !push
    )
      return { kind: 'none' }
    const schedule = this.snapshotSchedule
    const dueAt = (share: string, digest: string) => schedule.dueAt(uid, share, digest)
    const due = duePushes(spec.snapshotPolicies, dueAt, now)
    if (due.pushes.length === 0) return { kind: 'none', nextDueAt: due.nextDueAt }
    if (discovery.kind === 'polled') {
      // Retried once this sync's poll is through; after a failed poll, the poll's own back-off wakes us.
      return discovery.outcome.ok ? { kind: 'none', nextDueAt: now + 1000 } : { kind: 'none' }
    }
    const outcome = await push(gate.target, due.pushes)
    const applied = new Set(
      outcome.ok ? outcome.results.filter((r) => r.state === 'Applied').map((r) => r.share) : [],
    )
    const at = this.deps.now()
    for (const policy of spec.snapshotPolicies) {
      if (due.pushes.some((p) => p.share === policy.share))
        schedule.record(uid, policy.share, policyDigest(policy), applied.has(policy.share), at)
    }
    return { kind: 'pushed', outcome, nextDueAt: duePushes(spec.snapshotPolicies, dueAt, at).nextDueAt }
  }

  private async pollIfDue(
    uid: string,
    target: PollTarget,
    intervalMs: number,
    now: number,
    firstPoll: boolean,
  ): Promise<DiscoveryInput> {
    const { schedule, discovery } = this.deps
    if (!firstPoll && !schedule.isDue(uid, now, intervalMs)) {
      return { kind: 'carried', nextPollAt: schedule.nextPollAt(uid, intervalMs, now) ?? now + intervalMs }
    }
    const outcome = await schedule.runOnce(uid, async () => {
      // A success counts for the slot it started in, however long DittoFS took to answer; the back-off after a
      // failure starts when the failure is known.
      const startedAt = this.deps.now()
      const result = await discovery.poll(target)
      if (result.ok) schedule.recordSuccess(uid, startedAt)
      else schedule.recordFailure(uid, this.deps.now())
      return result
    })
    this.deps.onPoll?.(outcome)
    return {
      kind: 'polled',
      // As the client used it: user info and query from the template are never shown.
      apiUrl: apiBase(target.apiUrl) ?? 'the DittoFS API',
      outcome,
      nextPollAt: schedule.nextPollAt(uid, intervalMs, this.deps.now()) ?? now + intervalMs,
    }
  }

  /** Deletes the `k8s-operator` DittoFS user once per parent, without ever delaying the finalize answer. */
  private removeAccountOnce(uid: string, target: PollTarget): void {
    if (!target.admin || this.removedAccounts.has(uid)) return
    if (this.removedAccounts.size >= 10_000) this.removedAccounts.clear()
    this.removedAccounts.add(uid)
    void this.deps.discovery.removeOperatorUser(target)
  }
}
