// In-memory token cache for the DittoFS API: never persisted, bounded, keyed by API URL and user name.
import { createHmac, randomBytes } from 'node:crypto'
import type { TokenSet } from './client.js'
import { BoundedLru } from './lru.js'

/** Renew this long before the access token expires (the DittoFS CLI uses the same margin). */
export const REFRESH_MARGIN_MS = 60_000
export const DEFAULT_TOKEN_CACHE_SIZE = 10_000

export interface CachedToken {
  accessToken: string
  refreshToken: string
  /** When the access token expires, on the local clock. */
  expiresAtMs: number
  /** Ties the token to the password that obtained it: a caller must know the same password to reuse it. */
  credentialTag: string
}

// A per-process key: the tag proves knowledge of the password without keeping a reversible copy of it.
const TAG_KEY = randomBytes(32)

export function credentialTag(password: string): string {
  return createHmac('sha256', TAG_KEY).update(password).digest('base64url')
}

export function tokenCacheKey(apiBase: string, username: string): string {
  return `${apiBase}\n${username}`
}

/**
 * When the access token expires on the local clock. `expires_in` is preferred because it does not depend on
 * the server's clock agreeing with ours; `expires_at` is the fallback. A token without either is unusable.
 */
export function accessExpiry(tokens: TokenSet, now: number): number {
  if (tokens.expiresInMs !== undefined) return now + tokens.expiresInMs
  return tokens.expiresAtMs ?? now
}

export function needsRenewal(token: CachedToken, now: number): boolean {
  return now >= token.expiresAtMs - REFRESH_MARGIN_MS
}

export class TokenCache {
  readonly #lru: BoundedLru<string, CachedToken>

  constructor(maxEntries = DEFAULT_TOKEN_CACHE_SIZE) {
    this.#lru = new BoundedLru(maxEntries)
  }

  /** The cached token for this key if it was obtained with the same password; a stale-password entry is dropped. */
  get(key: string, tag: string): CachedToken | undefined {
    const token = this.#lru.get(key)
    if (token !== undefined && token.credentialTag !== tag) {
      this.#lru.delete(key)
      return undefined
    }
    return token
  }

  set(key: string, token: CachedToken): void {
    this.#lru.set(key, token)
  }

  /** Drop the entry only if it still holds this access token (a concurrent caller may have renewed it). */
  dropIfCurrent(key: string, accessToken: string): void {
    if (this.#lru.peek(key)?.accessToken === accessToken) this.#lru.delete(key)
  }

  delete(key: string): void {
    this.#lru.delete(key)
  }

  get size(): number {
    return this.#lru.size
  }
}
