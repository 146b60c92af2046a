// Per-parent poll schedule. What a replica remembers is in memory only (when it last polled, its back-off);
// losing it (restart, eviction) only means the parent is polled at its next sync. When a poll is due is not
// per replica: polls fall on a grid of slots derived from the parent's uid and the interval, the same on every
// replica, and every answer asks Metacontroller to come back just after the next slot starts. Behind a Service
// that spreads calls over several replicas, the sync for a slot reaches one of them and only that one polls;
// the other syncs in the slot (status writes, periodic resyncs) carry the status, whichever replica gets them.
import { MIN_POLLING_INTERVAL_MS } from '../dittoserver/spec.js'
import { BoundedLru } from './lru.js'

export const BACKOFF_BASE_MS = 2_000
export const BACKOFF_CAP_MS = 300_000
export const DEFAULT_SCHEDULE_ENTRIES = 50_000
/**
 * Metacontroller is asked to come back this long after a slot starts. A replica whose clock is behind by more
 * sees the sync just before the slot and asks again for the slot's start by its own clock: one more sync, no
 * extra poll.
 */
export const SLOT_AIM_MS = 100
/**
 * A sync up to this long after its slot started polls for it: room for Metacontroller's own lag (milliseconds
 * when it is not backlogged) and clocks ahead. Every other sync in the window — a periodic resync landing there
 * — polls again on the replica it reaches, so the window is the price of an extra poll: window / resync period
 * of the polls (0.3 % at 1 s and 293 s).
 */
export const SLOT_WINDOW_MS = 1_000
/**
 * A replica that has not polled a parent for this many intervals polls at its next sync, in or out of a window:
 * slots missed because Metacontroller was late cost at most this much staleness. Above two replicas' share of
 * the slots, so round-robin alone never triggers it.
 */
export const STALE_INTERVALS = 3

/** 32-bit FNV-1a: spreads parents' slots over the interval, identically on every replica and across restarts. */
function fnv1a(text: string): number {
  let hash = 0x811c9dc5
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i)
    hash = Math.imul(hash, 0x01000193) >>> 0
  }
  return hash
}

/** Start of the poll slot that contains `now` for this parent and interval (interval > 0, finite). */
export function slotStartAtOrBefore(uid: string, intervalMs: number, now: number): number {
  const offset = fnv1a(uid) % intervalMs
  return now - ((((now - offset) % intervalMs) + intervalMs) % intervalMs)
}

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

/**
 * A success covers the slot it happened in, and the next one too when it came in the second half of its slot (a
 * first poll that lands just before a slot starts does not poll again a moment later).
 */
function covers(lastSuccessAt: number, slot: number, intervalMs: number): boolean {
  return lastSuccessAt >= slot - intervalMs / 2
}

export class PollSchedule {
  readonly #parents: BoundedLru<string, ParentPolls>
  readonly #inFlight = new Map<string, Promise<unknown>>()

  constructor(opts: { maxEntries?: number } = {}) {
    this.#parents = new BoundedLru(opts.maxEntries ?? DEFAULT_SCHEDULE_ENTRIES)
  }

  /**
   * True when this replica never polled the parent, when its back-off after a failure ended, or — after a
   * success — when `now` is within a slot's window and this replica has not polled for that slot; also when it
   * has not polled for STALE_INTERVALS intervals (a slot it missed), or when the clock went back.
   */
  isDue(uid: string, now: number, intervalMs: number): boolean {
    const entry = this.#parents.peek(uid)
    if (entry === undefined) return true
    // A clock that went backwards says nothing about elapsed time: poll rather than wait for it to catch up.
    const last = this.#lastAttemptAt(uid)
    if (last !== undefined && now < last) return true
    if (entry.consecutiveFailures > 0 && entry.lastFailureAt !== undefined)
      return now >= entry.lastFailureAt + backoffMs(entry.consecutiveFailures)
    if (entry.lastSuccessAt === undefined) return true
    const interval = safeInterval(intervalMs)
    if (interval === 0) return true
    const slot = slotStartAtOrBefore(uid, interval, now)
    if (covers(entry.lastSuccessAt, slot, interval)) return false
    if (now - slot < SLOT_WINDOW_MS) return true
    return now - entry.lastSuccessAt >= STALE_INTERVALS * interval
  }

  /**
   * When to be called again for the next poll: the end of the back-off, or just after the next slot this
   * replica has not covered; undefined when this parent has no recorded poll (it is due now).
   */
  nextPollAt(uid: string, intervalMs: number, now: number): number | undefined {
    const entry = this.#parents.peek(uid)
    if (entry === undefined) return undefined
    if (entry.consecutiveFailures > 0 && entry.lastFailureAt !== undefined) {
      return entry.lastFailureAt + backoffMs(entry.consecutiveFailures)
    }
    if (entry.lastSuccessAt === undefined) return undefined
    const interval = safeInterval(intervalMs)
    if (interval === 0) return now
    let slot = slotStartAtOrBefore(uid, interval, now) + interval
    if (covers(entry.lastSuccessAt, slot, interval)) slot += interval
    return slot + SLOT_AIM_MS
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
