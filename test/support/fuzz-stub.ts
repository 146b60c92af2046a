// A Discovery stand-in without a network: it records every poll target (to check which URL and credentials the
// hook would have used) and answers as told.
import type { FastifyInstance } from 'fastify'
import type { Discovery } from '../../hooks/discovery/discovery.js'
import type { ApiAdapter, PollOutcome, PollTarget } from '../../hooks/discovery/types.js'
import type { KubeObject, ObjectMap, SyncResponse } from '../../hooks/metacontroller/types.js'
import { post } from './app.js'
import { asObserved, syncRequest, withReadyStatefulSet } from './requests.js'

export const STUB_ADAPTERS: ApiAdapter[] = [
  { type: 'nfs', port: 12049, enabled: true, running: true },
  { type: 'smb', port: 1445, enabled: true, running: true },
]

export interface StubDiscovery {
  discovery: Discovery
  /** Every poll target since the last splice, in call order. */
  targets: PollTarget[]
  /** Operator-account removals requested (finalize). */
  removals: PollTarget[]
  setOk(ok: boolean): void
}

export function stubDiscovery(adapters: ApiAdapter[] = STUB_ADAPTERS): StubDiscovery {
  const targets: PollTarget[] = []
  const removals: PollTarget[] = []
  let ok = true
  const discovery = {
    poll: async (target: PollTarget): Promise<PollOutcome> => {
      targets.push(target)
      return ok
        ? { ok: true, adapters: structuredClone(adapters), rejected: [] }
        : { ok: false, reason: 'APIUnreachable', message: 'stub: API down' }
    },
    removeOperatorUser: async (target: PollTarget) => {
      removals.push(target)
      return true
    },
    counters: () => ({ logins: 0, refreshes: 0, provisions: 0, polls: targets.length }),
  }
  return {
    discovery: discovery as unknown as Discovery,
    targets,
    removals,
    setOk: (value) => {
      ok = value
    },
  }
}

/**
 * Runs syncs as Metacontroller would (children and status fed back, the StatefulSet made ready) until the parent
 * is steady; returns what the next sync request would carry. Needs an app whose polls are always due or stubbed.
 */
export async function converge(
  app: FastifyInstance,
  p: KubeObject,
  options: { version?: 'v1' | 'v2'; related?: ObjectMap; rounds?: number; advance?: () => void } = {},
): Promise<{ children: ObjectMap; status: unknown; last: SyncResponse }> {
  let children: ObjectMap | undefined
  let status: unknown = p.status
  let last: SyncResponse | undefined
  for (let round = 0; round < (options.rounds ?? 4); round++) {
    options.advance?.()
    const request = syncRequest(
      { ...p, ...(status === undefined ? {} : { status }) },
      { related: options.related ?? {}, ...(children ? { children } : {}) },
    )
    const res = await post(app, '/sync', request)
    if (res.status !== 200) throw new Error(`converge: sync answered ${res.status}: ${res.text}`)
    last = res.json() as SyncResponse
    status = last.status
    const namespace = p.metadata.namespace ?? 'storage'
    children = withReadyStatefulSet(
      asObserved(last.children, { namespace, version: options.version ?? 'v1', parentUid: p.metadata.uid }),
    )
  }
  return { children: children as ObjectMap, status, last: last as SyncResponse }
}
