// Memoisation of pure, shared results on the sync path (bench/README.md has the profiles behind each use).
// Parents share a few distinct specs and configs, so a small map is hit almost always. Keys come from tenant
// input (a spec can be ~1 MB), so the map is bounded by entries and by the characters of its keys: it is
// forgotten whole when either bound is reached, and a key longer than `maxKeyChars` is never stored.

export interface MemoBounds {
  entries: number
  /** Sum of key lengths kept at most (values are derived from their keys and of similar size). */
  keyChars: number
  /** Longer keys are computed every time, never stored. */
  maxKeyChars: number
}

export class BoundedMemo<V> {
  readonly #entries = new Map<string, V>()
  #keyChars = 0

  constructor(private readonly bounds: MemoBounds) {}

  /** The value stored under `key`, computed (and stored, within the bounds) on a miss. */
  get(key: string, compute: () => V): V {
    const hit = this.#entries.get(key)
    if (hit !== undefined) return hit
    const value = compute()
    if (key.length > this.bounds.maxKeyChars) return value
    if (this.#entries.size >= this.bounds.entries || this.#keyChars + key.length > this.bounds.keyChars) {
      this.#entries.clear()
      this.#keyChars = 0
    }
    this.#entries.set(key, value)
    this.#keyChars += key.length
    return value
  }

  get size(): number {
    return this.#entries.size
  }
}

/** 1,000 specs or configs, 1 M key characters (~4 MB with the values, bench section 5), keys up to 16 K characters. */
export const HOT_PATH_MEMO: MemoBounds = { entries: 1000, keyChars: 1_000_000, maxKeyChars: 16_384 }

/** Freezes a JSON-like value all the way down, so that a memoised result shared between syncs cannot change. */
export function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value)
    for (const child of Object.values(value)) deepFreeze(child)
  }
  return value
}
