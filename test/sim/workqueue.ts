/**
 * client-go's rate-limited work queue, on the virtual clock:
 * - a key is queued at most once; a key added while it is being processed is queued again when it is done;
 * - `addAfter` keeps one delayed entry per key, the earliest;
 * - `addRateLimited` waits base * 2^failures (5 ms doubling, capped at 1000 s) until `forget`.
 * (client-go also has an overall 10 qps bucket; it is left out: it only matters with many failing parents.)
 */

import type { VirtualClock } from './clock.js'

export interface BackoffOptions {
  baseMs: number
  maxMs: number
}

export const DEFAULT_BACKOFF: BackoffOptions = { baseMs: 5, maxMs: 1_000_000 }

export class WorkQueue {
  readonly #clock: VirtualClock
  readonly #backoff: BackoffOptions
  readonly #label: string
  #queue: string[] = []
  #dirty = new Set<string>()
  #processing = new Set<string>()
  #waiting = new Map<string, { at: number; timer: number }>()
  #failures = new Map<string, number>()
  /** Why each dirty key was queued (kept for the timeline). */
  #reasons = new Map<string, string[]>()

  constructor(clock: VirtualClock, label: string, backoff: BackoffOptions = DEFAULT_BACKOFF) {
    this.#clock = clock
    this.#label = label
    this.#backoff = backoff
  }

  add(key: string, reason = 'added'): void {
    const reasons = this.#reasons.get(key) ?? []
    if (!reasons.includes(reason)) reasons.push(reason)
    this.#reasons.set(key, reasons)
    if (this.#dirty.has(key)) return
    this.#dirty.add(key)
    if (!this.#processing.has(key)) this.#queue.push(key)
  }

  /** Queues `key` after `delayMs`; an earlier pending entry for the same key wins. */
  addAfter(key: string, delayMs: number, reason = 'delayed'): void {
    if (delayMs <= 0) {
      this.add(key, reason)
      return
    }
    const at = this.#clock.now() + delayMs
    const existing = this.#waiting.get(key)
    if (existing && existing.at <= at) return
    this.#clock.clearTimer(existing?.timer)
    const timer = this.#clock.setTimer(delayMs, `${this.#label}: ${reason} ${key}`, () => {
      this.#waiting.delete(key)
      this.add(key, reason)
    })
    this.#waiting.set(key, { at, timer })
  }

  /** Requeues after the per-key exponential backoff; returns the delay used. */
  addRateLimited(key: string, reason = 'backoff'): number {
    const failures = this.#failures.get(key) ?? 0
    this.#failures.set(key, failures + 1)
    const delay = Math.min(this.#backoff.baseMs * 2 ** failures, this.#backoff.maxMs)
    this.addAfter(key, delay, reason)
    return delay
  }

  forget(key: string): void {
    this.#failures.delete(key)
  }

  failures(key: string): number {
    return this.#failures.get(key) ?? 0
  }

  /** Takes the next key to process (with why it was queued), or undefined when none is ready. */
  get(): { key: string; reasons: string[] } | undefined {
    const key = this.#queue.shift()
    if (key === undefined) return undefined
    this.#dirty.delete(key)
    this.#processing.add(key)
    const reasons = this.#reasons.get(key) ?? []
    this.#reasons.delete(key)
    return { key, reasons }
  }

  done(key: string): void {
    this.#processing.delete(key)
    if (this.#dirty.has(key)) this.#queue.push(key)
  }

  get length(): number {
    return this.#queue.length
  }

  shutDown(): void {
    for (const { timer } of this.#waiting.values()) this.#clock.clearTimer(timer)
    this.#waiting.clear()
    this.#queue = []
    this.#dirty.clear()
    this.#reasons.clear()
  }
}
