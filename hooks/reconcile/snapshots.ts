import { hash } from 'node:crypto'
import type { SnapshotPolicyBody } from '../discovery/client.js'
import type { PushOutcome, SnapshotPush } from '../discovery/discovery.js'
import type { SnapshotPolicySpec } from '../dittoserver/spec.js'
import { isObject } from '../loose.js'
import { type Condition, condition, findCondition } from './conditions.js'

// Snapshot policies (spec.snapshotPolicies) as data: the upsert bodies, which are due, and what the status says.
// The push itself happens at the I/O edge (service.ts); its outcome comes back here as data.

export type SnapshotState = 'Pending' | 'Applied' | 'ShareNotFound' | 'Rejected'

export interface SnapshotStatus {
  share: string
  state: SnapshotState
  /** Digest of the policy body DittoFS accepted: a spec edit makes the entry Pending again. */
  applied?: string
  message?: string
}

/** What this sync did about snapshot policies, decided by the I/O edge. */
export type SnapshotInput =
  | { kind: 'none'; nextDueAt?: number }
  | { kind: 'pushed'; outcome: PushOutcome; nextDueAt?: number }

/** The upsert body as DittoFS v0.29.0 reads it: unset fields are left out (the server's defaults apply). */
export function policyBody(policy: SnapshotPolicySpec): SnapshotPolicyBody {
  const body: SnapshotPolicyBody = { interval: policy.interval }
  if (policy.keepLast !== undefined && policy.keepLast > 0) body.keep_last = policy.keepLast
  if (policy.ttl !== undefined && policy.ttl !== '') body.ttl = policy.ttl
  if (policy.enabled !== undefined) body.enabled = policy.enabled
  if (policy.namePrefix !== undefined && policy.namePrefix !== '') body.name_prefix = policy.namePrefix
  return body
}

export const policyDigest = (policy: SnapshotPolicySpec): string =>
  hash('sha256', JSON.stringify(policyBody(policy)), 'hex').slice(0, 16)

const PUSH_FAILURES: readonly string[] = ['APIUnreachable', 'AuthenticationFailed', 'InvalidResponse']
const STATES: readonly string[] = ['Pending', 'Applied', 'ShareNotFound', 'Rejected']

/** `status.snapshotPolicies` as observed (user-writable: read defensively). */
export function readSnapshotStatus(status: Record<string, unknown>): Map<string, SnapshotStatus> {
  const out = new Map<string, SnapshotStatus>()
  const list = status.snapshotPolicies
  if (!Array.isArray(list)) return out
  for (const item of list) {
    if (!isObject(item) || typeof item.share !== 'string' || !STATES.includes(item.state as string)) continue
    const entry: SnapshotStatus = { share: item.share, state: item.state as SnapshotState }
    if (typeof item.applied === 'string') entry.applied = item.applied
    if (typeof item.message === 'string') entry.message = item.message
    out.set(entry.share, entry)
  }
  return out
}

/** Policies due within this window of one that is due go along: one admin login serves them all. */
export const SNAPSHOT_BATCH_WINDOW_MS = 30 * 60_000

/** The policies to push now: `dueAt` says when each one is next due (0: at once). */
export function duePushes(
  policies: SnapshotPolicySpec[],
  dueAt: (share: string, digest: string) => number,
  now: number,
): { pushes: SnapshotPush[]; nextDueAt: number | undefined } {
  const due = policies.map((policy) => ({ policy, at: dueAt(policy.share, policyDigest(policy)) }))
  const horizon = due.some(({ at }) => at <= now) ? now + SNAPSHOT_BATCH_WINDOW_MS : now
  const pushes: SnapshotPush[] = []
  let nextDueAt: number | undefined
  for (const { policy, at } of due) {
    if (at <= horizon) pushes.push({ share: policy.share, body: policyBody(policy) })
    else nextDueAt = nextDueAt === undefined ? at : Math.min(nextDueAt, at)
  }
  return { pushes, nextDueAt }
}

/** One entry per policy: this sync's result, else the observed entry while it still describes this policy. */
export function snapshotStatus(
  policies: SnapshotPolicySpec[],
  observed: Map<string, SnapshotStatus>,
  input: SnapshotInput,
): SnapshotStatus[] {
  const results =
    input.kind === 'pushed' && input.outcome.ok
      ? new Map(input.outcome.results.map((r) => [r.share, r]))
      : new Map()
  return policies.map((policy) => {
    const digest = policyDigest(policy)
    const result = results.get(policy.share)
    if (result?.state === 'Applied') return { share: policy.share, state: 'Applied', applied: digest }
    if (result) return { share: policy.share, state: result.state, message: result.message }
    const before = observed.get(policy.share)
    if (before?.state === 'Applied' && before.applied === digest) return before
    if (before && before.state !== 'Applied' && before.state !== 'Pending') return before
    return { share: policy.share, state: 'Pending' }
  })
}

export function snapshotCondition(
  entries: SnapshotStatus[],
  input: SnapshotInput,
  observedConditions: Condition[],
): Condition | undefined {
  if (entries.length === 0) return undefined
  if (input.kind === 'pushed' && !input.outcome.ok)
    return condition('SnapshotPoliciesSynced', 'False', input.outcome.reason, input.outcome.message)
  // A failed push keeps its verdict until the next push says otherwise (no flapping between pushes).
  const before = findCondition(observedConditions, 'SnapshotPoliciesSynced')
  if (input.kind === 'none' && before && PUSH_FAILURES.includes(before.reason ?? ''))
    return condition(before.type, before.status, before.reason, before.message)
  const of = (state: SnapshotState) => entries.filter((e) => e.state === state).map((e) => e.share)
  const rejected = entries.filter((e) => e.state === 'Rejected')
  if (rejected.length > 0)
    return condition(
      'SnapshotPoliciesSynced',
      'False',
      'PolicyRejected',
      rejected.map((e) => `${e.share}: ${e.message ?? 'rejected'}`).join('; '),
    )
  const missing = of('ShareNotFound')
  if (missing.length > 0)
    return condition(
      'SnapshotPoliciesSynced',
      'False',
      'ShareNotFound',
      `waiting for ${missing.join(', ')} to exist in DittoFS (retried with back-off, up to every 30 min)`,
    )
  const pending = of('Pending')
  if (pending.length > 0) {
    return condition('SnapshotPoliciesSynced', 'False', 'Pending', `not pushed yet: ${pending.join(', ')}`)
  }
  return condition(
    'SnapshotPoliciesSynced',
    'True',
    'PoliciesApplied',
    `${entries.length} snapshot polic${entries.length === 1 ? 'y' : 'ies'} applied`,
  )
}
