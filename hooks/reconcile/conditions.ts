import { formatTime, parseTime } from '../loose.js'

// Status conditions. The status is replaced whole by every response and each write triggers another sync, so a
// condition's `lastTransitionTime` is carried over from the observed status unless its `status` flipped.

export type ConditionStatus = 'True' | 'False' | 'Unknown'

export interface Condition {
  type: string
  status: ConditionStatus
  reason: string
  message: string
  lastTransitionTime?: string
  observedGeneration?: number
}

export const condition = (
  type: string,
  status: ConditionStatus,
  reason: string,
  message: string,
): Condition => ({
  type,
  status,
  reason,
  message,
})

/** The observed conditions, keeping only well-formed entries (the status is user-writable). */
export function readConditions(status: unknown): Condition[] {
  const list = (status as { conditions?: unknown } | undefined)?.conditions
  if (!Array.isArray(list)) return []
  return list.filter(
    (c): c is Condition =>
      !!c &&
      typeof c === 'object' &&
      typeof (c as Condition).type === 'string' &&
      ['True', 'False', 'Unknown'].includes((c as Condition).status),
  )
}

/** Stamps transition times (kept unless the status flipped) and the parent generation on each condition. */
export function stampConditions(
  desired: Condition[],
  observed: Condition[],
  now: number,
  generation: number | undefined,
): Condition[] {
  const previous = new Map(observed.map((c) => [c.type, c]))
  const nowText = formatTime(now)
  return desired.map((c) => {
    const before = previous.get(c.type)
    const kept =
      before && before.status === c.status && typeof before.lastTransitionTime === 'string'
        ? before.lastTransitionTime
        : undefined
    return {
      type: c.type,
      status: c.status,
      reason: c.reason,
      message: c.message,
      lastTransitionTime: kept !== undefined && parseTime(kept) !== undefined ? kept : nowText,
      ...(generation === undefined ? {} : { observedGeneration: generation }),
    }
  })
}

export const findCondition = (conditions: Condition[], type: string): Condition | undefined =>
  conditions.find((c) => c.type === type)
