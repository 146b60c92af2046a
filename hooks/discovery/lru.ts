/** A Map bounded by entry count; reading with `get` marks an entry as recently used, the oldest goes first. */
export class BoundedLru<K, V> {
  readonly #entries = new Map<K, V>()
  readonly #maxEntries: number

  constructor(maxEntries: number) {
    if (!Number.isInteger(maxEntries) || maxEntries < 1)
      throw new RangeError('maxEntries must be a positive integer')
    this.#maxEntries = maxEntries
  }

  get(key: K): V | undefined {
    const value = this.#entries.get(key)
    if (value !== undefined) {
      // Map keeps insertion order: re-inserting moves the entry to the young end.
      this.#entries.delete(key)
      this.#entries.set(key, value)
    }
    return value
  }

  /** Read without changing the order. */
  peek(key: K): V | undefined {
    return this.#entries.get(key)
  }

  set(key: K, value: V): void {
    this.#entries.delete(key)
    this.#entries.set(key, value)
    if (this.#entries.size > this.#maxEntries) {
      const oldest = this.#entries.keys().next()
      if (oldest.done !== true) this.#entries.delete(oldest.value)
    }
  }

  delete(key: K): boolean {
    return this.#entries.delete(key)
  }

  get size(): number {
    return this.#entries.size
  }
}
