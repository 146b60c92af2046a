// Per-parent poll schedule, in memory only: when the last poll succeeded or failed, and the backoff.
// Losing it (restart, eviction) only means the parent is polled at its next sync.
import { MIN_POLLING_INTERVAL_MS } from '../dittoserver/spec.js'
import { BoundedLru } from './lru.js'

export const BACKOFF_BASE_MS = 2_000
export const BACKOFF_CAP_MS = 300_000
export const DEFAULT_SCHEDULE_ENTRIES = 50_000

/** 2 s × 2^(n-1) after n consecutive failures (2 s, 4 s, 8 s …), capped at 5 min; 0 without failures. */
export function backoffMs(consecutiveFailures: number): number {
  if (!(consecutiveFailures >= 1)) return 0
  // 2 s × 2^8 already exceeds the cap; stop before the power grows.
  if (consecutiveFailures > 9) return BACKOFF_CAP_MS
  return Math.min(BACKOFF_BASE_MS * 2 ** (Math.floor(consecutiveFailures) - 1), BACKOFF_CAP_MS)
}

interface ParentPolls {
  lastSuccessAt: number | undefined
  lastFailureAt: number | undefined
  consecutiveFailures: number
}

/** A usable interval: negative counts as 0 (always due), a non-number as the floor. */
function safeInterval(intervalMs: number): number {
  return Number.isFinite(intervalMs) ? Math.max(0, intervalMs) : MIN_POLLING_INTERVAL_MS
}

export class PollSchedule {
  readonly #parents: BoundedLru<string, ParentPolls>
  readonly #inFlight = new Map<string, Promise<unknown>>()

  constructor(opts: { maxEntries?: number } = {}) {
    this.#parents = new BoundedLru(opts.maxEntries ?? DEFAULT_SCHEDULE_ENTRIES)
  }

  /** True when never polled, when the interval has passed since the last success, or when the backoff ended. */
  isDue(uid: string, now: number, intervalMs: number): boolean {
    const due = this.nextPollAt(uid, intervalMs)
    if (due === undefined) return true
    // A clock that went backwards says nothing about elapsed time: poll rather than wait for it to catch up.
    const last = this.#lastAttemptAt(uid)
    if (last !== undefined && now < last) return true
    return now >= due
  }

  /** When the next poll is due; undefined when this parent has no recorded poll (it is due now). */
  nextPollAt(uid: string, intervalMs: number): number | undefined {
    const entry = this.#parents.peek(uid)
    if (entry === undefined) return undefined
    if (entry.consecutiveFailures > 0 && entry.lastFailureAt !== undefined) {
      return entry.lastFailureAt + backoffMs(entry.consecutiveFailures)
    }
    if (entry.lastSuccessAt === undefined) return undefined
    return entry.lastSuccessAt + safeInterval(intervalMs)
  }

  consecutiveFailures(uid: string): number {
    return this.#parents.peek(uid)?.consecutiveFailures ?? 0
  }

  recordSuccess(uid: string, now: number): void {
    this.#parents.set(uid, { lastSuccessAt: now, lastFailureAt: undefined, consecutiveFailures: 0 })
  }

  recordFailure(uid: string, now: number): void {
    const previous = this.#parents.peek(uid)
    this.#parents.set(uid, {
      lastSuccessAt: previous?.lastSuccessAt,
      lastFailureAt: now,
      consecutiveFailures: (previous?.consecutiveFailures ?? 0) + 1,
    })
  }

  /**
   * Single flight per parent: while a poll for `uid` runs, further callers get the same promise instead of
   * starting another. The entry goes away when the promise settles.
   */
  runOnce<T>(uid: string, fn: () => Promise<T>): Promise<T> {
    const running = this.#inFlight.get(uid)
    if (running !== undefined) return running as Promise<T>
    const flight = Promise.resolve()
      .then(fn)
      .finally(() => {
        this.#inFlight.delete(uid)
      })
    this.#inFlight.set(uid, flight)
    return flight
  }

  forget(uid: string): void {
    this.#parents.delete(uid)
  }

  size(): number {
    return this.#parents.size
  }

  #lastAttemptAt(uid: string): number | undefined {
    const entry = this.#parents.peek(uid)
    if (entry === undefined) return undefined
    return Math.max(
      entry.lastSuccessAt ?? Number.NEGATIVE_INFINITY,
      entry.lastFailureAt ?? Number.NEGATIVE_INFINITY,
    )
  }
}
