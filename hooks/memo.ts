// Memoisation of pure, shared results on the sync path (bench/README.md has the profiles behind each use).
// Parents share a few distinct specs and configs, so a small map is hit almost always; it is bounded by being
// forgotten whole when full, which costs one recomputation per entry and never grows memory.

export class BoundedMemo<V> {
  readonly #entries = new Map<string, V>()

  constructor(private readonly limit: number) {}

  /** The value stored under `key`, computed (and stored) on a miss. */
  get(key: string, compute: () => V): V {
    const hit = this.#entries.get(key)
    if (hit !== undefined) return hit
    const value = compute()
    if (this.#entries.size >= this.limit) this.#entries.clear()
    this.#entries.set(key, value)
    return value
  }

  get size(): number {
    return this.#entries.size
  }
}

/** Freezes a JSON-like value all the way down, so that a memoised result shared between syncs cannot change. */
export function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value)
    for (const child of Object.values(value)) deepFreeze(child)
  }
  return value
}
