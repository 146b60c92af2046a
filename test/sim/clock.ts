/**
 * A virtual clock with timers. Nothing in the simulator reads the real time: timestamps, resyncs, backoff and the
 * companions' delays all come from here, so minutes of cluster behaviour run in milliseconds and every run of a
 * scenario gives the same timeline.
 *
 * Timers fire only when someone moves the clock (`advance`, `set`, `runDue`); firing order is (time, creation order).
 */

export const DEFAULT_EPOCH_MS = Date.parse('2026-01-01T00:00:00Z')

export interface PendingTimer {
  readonly id: number
  readonly at: number
  readonly label: string
  /** Like Node's `timer.unref()`: a background tick that does not keep `runUntilIdle` busy on its own. */
  readonly unref: boolean
}

export interface TimerOptions {
  unref?: boolean
}

interface Timer extends PendingTimer {
  readonly fire: () => void
}

/** RFC3339 with second precision, as the API server writes `creationTimestamp`. */
export function rfc3339(ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z')
}

export class VirtualClock {
  #now: number
  #nextId = 1
  /** Binary min-heap ordered by (at, id); cancelled timers are removed lazily. */
  #heap: Timer[] = []
  #live = new Map<number, Timer>()
  #refTimers = 0

  constructor(startMs: number = DEFAULT_EPOCH_MS) {
    this.#now = startMs
  }

  now(): number {
    return this.#now
  }

  /** The current time as an RFC3339 string. */
  iso(): string {
    return rfc3339(this.#now)
  }

  /** Moves the clock forward by `ms`, firing every timer that falls due on the way. */
  advance(ms: number): void {
    if (!(ms >= 0)) throw new RangeError(`cannot advance the clock by ${ms} ms`)
    this.advanceTo(this.#now + ms)
  }

  /** Jumps to an absolute time (never backwards), firing timers on the way. */
  set(ms: number): void {
    if (ms < this.#now) throw new RangeError('the virtual clock never goes backwards')
    this.advanceTo(ms)
  }

  /** Fires the timers that are due now (delay 0 timers included). */
  runDue(): void {
    this.advanceTo(this.#now)
  }

  advanceTo(target: number): void {
    for (;;) {
      const next = this.#peek()
      if (next === undefined || next.at > target) break
      this.#pop()
      this.#forget(next)
      this.#now = Math.max(this.#now, next.at)
      next.fire()
    }
    this.#now = Math.max(this.#now, target)
  }

  /** Calls `fire` once, `delayMs` virtual milliseconds from now. Returns an id for `clearTimer`. */
  setTimer(delayMs: number, label: string, fire: () => void, options: TimerOptions = {}): number {
    const at = this.#now + Math.max(0, delayMs)
    const timer: Timer = { id: this.#nextId++, at, label, fire, unref: options.unref === true }
    this.#live.set(timer.id, timer)
    if (!timer.unref) this.#refTimers += 1
    this.#push(timer)
    return timer.id
  }

  clearTimer(id: number | undefined): void {
    const timer = id === undefined ? undefined : this.#live.get(id)
    if (timer) this.#forget(timer)
  }

  /** When the next live timer fires, or undefined when none is pending. */
  nextTimerAt(): number | undefined {
    return this.#peek()?.at
  }

  /** Whether any timer other than background (unref) ticks is pending. */
  hasRefTimers(): boolean {
    return this.#refTimers > 0
  }

  #forget(timer: Timer): void {
    if (this.#live.delete(timer.id) && !timer.unref) this.#refTimers -= 1
  }

  #peek(): Timer | undefined {
    while (this.#heap.length > 0) {
      const top = this.#heap[0]!
      if (this.#live.has(top.id)) return top
      this.#pop()
    }
    return undefined
  }

  #push(timer: Timer): void {
    const heap = this.#heap
    heap.push(timer)
    let i = heap.length - 1
    while (i > 0) {
      const parent = (i - 1) >> 1
      if (!before(heap[i]!, heap[parent]!)) break
      swap(heap, i, parent)
      i = parent
    }
  }

  #pop(): void {
    const heap = this.#heap
    const last = heap.pop()
    if (last === undefined || heap.length === 0) return
    heap[0] = last
    let i = 0
    for (;;) {
      const left = 2 * i + 1
      const right = left + 1
      let smallest = i
      if (left < heap.length && before(heap[left]!, heap[smallest]!)) smallest = left
      if (right < heap.length && before(heap[right]!, heap[smallest]!)) smallest = right
      if (smallest === i) break
      swap(heap, i, smallest)
      i = smallest
    }
  }
}

function before(a: Timer, b: Timer): boolean {
  return a.at < b.at || (a.at === b.at && a.id < b.id)
}

function swap(heap: Timer[], i: number, j: number): void {
  const tmp = heap[i]!
  heap[i] = heap[j]!
  heap[j] = tmp
}
