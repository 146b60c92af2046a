import { CONFIG_HASH_ANNOTATION } from '../children/statefulset.js'
import type { ApiAdapter, PollOutcome } from '../discovery/types.js'
import type { DittoServerSpec } from '../dittoserver/spec.js'
import type { KubeObject } from '../metacontroller/types.js'
import { type Condition, condition, findCondition } from './conditions.js'
import { statefulSetCounts } from './observe.js'

// Conditions computed from what was observed (children, the poll made in this sync) — never from what this
// response asks for, so that status only changes when something observable did.

/** What discovery did in this sync; decided by the impure edge, consumed here as data. */
export type DiscoveryInput =
  | { kind: 'waiting'; reason: 'WaitingForPod' | 'TLSNotReady'; message: string }
  | { kind: 'carried'; nextPollAt: number }
  | { kind: 'polled'; apiUrl: string; outcome: PollOutcome; nextPollAt: number }

const describeAdapters = (adapters: ApiAdapter[]): string =>
  adapters.length === 0
    ? 'no adapters configured'
    : adapters
        .map((a) => `${a.type}:${a.port}${a.enabled ? '' : ' (disabled)'}`)
        .sort()
        .join(', ')

export function discoveryConditions(
  discovery: DiscoveryInput,
  observed: Condition[],
  known: number,
): Condition[] {
  const keep = (type: string, fallback: Condition) => {
    const before = findCondition(observed, type)
    return before ? condition(before.type, before.status, before.reason, before.message) : fallback
  }
  const keeping =
    known === 0
      ? 'no adapter is known yet'
      : `keeping the last known ${known} adapter${known === 1 ? '' : 's'} and their Services`
  switch (discovery.kind) {
    case 'waiting':
      return [
        keep('Authenticated', condition('Authenticated', 'Unknown', discovery.reason, discovery.message)),
        condition('AdaptersSynced', 'False', discovery.reason, `${discovery.message}; ${keeping}`),
      ]
    case 'carried':
      return [
        keep(
          'Authenticated',
          condition('Authenticated', 'Unknown', 'NotYetPolled', 'the DittoFS API was not polled yet'),
        ),
        keep(
          'AdaptersSynced',
          condition('AdaptersSynced', 'Unknown', 'NotYetPolled', 'the DittoFS API was not polled yet'),
        ),
      ]
    case 'polled': {
      const { outcome, apiUrl } = discovery
      if (outcome.ok) {
        const rejected =
          outcome.rejected.length > 0
            ? `; ignored ${outcome.rejected.length} malformed entr${outcome.rejected.length === 1 ? 'y' : 'ies'}: ${outcome.rejected.join('; ')}`
            : ''
        return [
          condition(
            'Authenticated',
            'True',
            'AuthenticationSucceeded',
            `authenticated to ${apiUrl} as the operator account`,
          ),
          condition(
            'AdaptersSynced',
            'True',
            'PollSucceeded',
            `${describeAdapters(outcome.adapters)}${rejected}`,
          ),
        ]
      }
      if (outcome.reason === 'InvalidResponse') {
        // The garbage may have come from the login as well as from the adapter list: authentication is not proven.
        return [
          keep('Authenticated', condition('Authenticated', 'Unknown', 'InvalidResponse', outcome.message)),
          condition('AdaptersSynced', 'False', 'InvalidResponse', `${outcome.message}; ${keeping}`),
        ]
      }
      return [
        condition('Authenticated', 'False', outcome.reason, outcome.message),
        condition('AdaptersSynced', 'False', outcome.reason, `${outcome.message}; ${keeping}`),
      ]
    }
  }
}

export function availability(spec: DittoServerSpec, statefulSet: KubeObject | undefined): Condition {
  if (spec.replicas === 0)
    return condition('Available', 'True', 'Stopped', 'replicas is 0: the server is stopped')
  const { readyReplicas } = statefulSetCounts(statefulSet)
  return readyReplicas >= 1
    ? condition(
        'Available',
        'True',
        'MinimumReplicasAvailable',
        `StatefulSet has ${readyReplicas}/1 ready replicas`,
      )
    : condition('Available', 'False', 'NoReplicasAvailable', 'the DittoFS pod is not ready yet')
}

const observedTemplateHash = (statefulSet: KubeObject): string | undefined => {
  const template = (
    statefulSet.spec as { template?: { metadata?: { annotations?: Record<string, unknown> } } }
  )?.template
  const value = template?.metadata?.annotations?.[CONFIG_HASH_ANNOTATION]
  return typeof value === 'string' ? value : undefined
}

export function progress(
  spec: DittoServerSpec,
  statefulSet: KubeObject | undefined,
  desiredHash: string,
): Condition {
  if (!statefulSet) return condition('Progressing', 'True', 'Creating', 'creating the StatefulSet')
  const counts = statefulSetCounts(statefulSet)
  const generation = statefulSet.metadata.generation
  if (observedTemplateHash(statefulSet) !== desiredHash) {
    return condition('Progressing', 'True', 'StatefulSetUpdating', 'applying a new configuration to the pod')
  }
  if (
    (typeof generation === 'number' &&
      counts.observedGeneration !== undefined &&
      counts.observedGeneration < generation) ||
    (counts.currentRevision !== undefined &&
      counts.updateRevision !== undefined &&
      counts.currentRevision !== counts.updateRevision)
  ) {
    return condition(
      'Progressing',
      'True',
      'StatefulSetUpdating',
      'the StatefulSet is rolling out a new revision',
    )
  }
  if (counts.readyReplicas !== spec.replicas) {
    return condition(
      'Progressing',
      'True',
      'ScalingReplicas',
      `${counts.readyReplicas}/${spec.replicas} replicas ready`,
    )
  }
  return condition('Progressing', 'False', 'ReconcileComplete', 'all resources are up to date')
}

export function configReadiness(configMapMatches: boolean | undefined, missingSecrets: string[]): Condition {
  if (missingSecrets.length > 0) {
    return condition(
      'ConfigReady',
      'False',
      'SecretNotFound',
      `Secret key ${missingSecrets.join(', ')} not found in the DittoServer's namespace; the pod cannot start without it`,
    )
  }
  if (configMapMatches === undefined)
    return condition('ConfigReady', 'False', 'ConfigMapNotFound', 'creating the ConfigMap')
  if (!configMapMatches)
    return condition('ConfigReady', 'False', 'ConfigMapUpdating', 'updating the ConfigMap')
  return condition('ConfigReady', 'True', 'ConfigValid', 'ConfigMap is valid and contains configuration')
}

/** Ready is the conjunction, computed in the same sync as its inputs (no lag behind Authenticated). */
export function readiness(spec: DittoServerSpec, parts: Condition[]): Condition {
  const is = (type: string, status: string) => findCondition(parts, type)?.status === status
  const notMet: string[] = []
  if (!is('ConfigReady', 'True')) notMet.push('ConfigNotReady')
  if (!is('Available', 'True')) notMet.push('NotAvailable')
  if (!is('Progressing', 'False')) notMet.push('StillProgressing')
  if (spec.replicas > 0 && !is('Authenticated', 'True')) notMet.push('NotAuthenticated')
  return notMet.length === 0
    ? condition('Ready', 'True', 'AllConditionsMet', 'DittoServer is fully operational')
    : condition('Ready', 'False', 'ConditionsNotMet', `Not ready: ${notMet.join(', ')}`)
}

export function phaseOf(spec: DittoServerSpec, ready: Condition, finalizing: boolean): string {
  if (finalizing) return 'Deleting'
  if (spec.replicas === 0) return 'Stopped'
  return ready.status === 'True' ? 'Running' : 'Pending'
}
