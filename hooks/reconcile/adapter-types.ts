import type { ApiAdapter } from '../discovery/types.js'
import type { DittoServerSpec } from '../dittoserver/spec.js'
import type { KubeObject } from '../metacontroller/types.js'
import type { Condition } from './conditions.js'

/** One `status.adapters[]` entry: the last known adapter list lives in the parent's status, not in memory. */
export interface AdapterStatus {
  type: string
  port: number
  enabled: boolean
  running: boolean
  serviceName?: string
  serviceType?: string
  endpoints?: string[]
  /** The Service carrying the adapter's UDP ports when they are split off (`<service>-udp`), and its endpoints. */
  udpServiceName?: string
  udpEndpoints?: string[]
  /** RFC 3339; set once when the adapter vanished or was disabled, carried over until it returns or is removed. */
  missingSince?: string
}

export interface AdapterPlanInput {
  parentName: string
  spec: DittoServerSpec
  /** `status.adapters` as observed (already validated: malformed entries dropped). */
  lastKnown: AdapterStatus[]
  /** The list from a poll that succeeded in this sync; undefined when no poll ran or it failed. */
  fresh: ApiAdapter[] | undefined
  /** The fresh list had malformed entries: it says nothing about the adapters it failed to describe. */
  freshIncomplete?: boolean
  /** Observed Services and NetworkPolicies owned by this parent, by name. */
  observedServices: Map<string, KubeObject>
  observedPolicies: Map<string, KubeObject>
  finalizing: boolean
  now: number
  /** The parent's namespace: with it, ClusterIP and NodePort adapters report `<svc>.<ns>.svc.cluster.local:<port>`. */
  namespace?: string
  /** The hook pods, as a NetworkPolicyPeer: always let in to the API port, so a restrictive `from` never cuts discovery. */
  hookPeer?: Record<string, unknown>
  /** False until an adapter list was ever read (a fresh poll, a last known list, or an earlier verdict). */
  adaptersKnown?: boolean
}

export interface AdapterPlan {
  /** Adapter Services and all NetworkPolicies (baseline included) to return. */
  children: KubeObject[]
  /** The new `status.adapters`. */
  status: AdapterStatus[]
  /** AdapterServicesReady (always present). */
  conditions: Condition[]
  /** The soonest moment something changes on its own (grace end, load-balancer deadline), ms since epoch. */
  nextEventAt?: number
  /** Adapter Services still observed (finalize waits for them to be gone). */
  remainingAdapterServices: string[]
}
