import t from 'tap'
import type { TokenSet } from '../hooks/discovery/client.js'
import {
  accessExpiry,
  type CachedToken,
  credentialTag,
  needsRenewal,
  REFRESH_MARGIN_MS,
  TokenCache,
  tokenCacheKey,
} from '../hooks/discovery/token-cache.js'

const NOW = Date.UTC(2026, 0, 1)

function tokens(over: Partial<TokenSet>): TokenSet {
  return {
    accessToken: 'a',
    refreshToken: 'r',
    expiresInMs: undefined,
    expiresAtMs: undefined,
    mustChangePassword: false,
    ...over,
  }
}

function cached(accessToken: string, password = 'pw'): CachedToken {
  return {
    accessToken,
    refreshToken: 'r',
    expiresAtMs: NOW + 900_000,
    credentialTag: credentialTag(password),
  }
}

t.test('expiry: expires_in (clock-skew free) wins over expires_at; expires_at is the fallback', async (t) => {
  t.equal(accessExpiry(tokens({ expiresInMs: 900_000, expiresAtMs: NOW + 3_600_000 }), NOW), NOW + 900_000)
  t.equal(accessExpiry(tokens({ expiresAtMs: NOW + 600_000 }), NOW), NOW + 600_000)
  t.equal(accessExpiry(tokens({}), NOW), NOW, 'neither: already expired')
})

t.test('renewal starts 60 s before expiry', async (t) => {
  const token = cached('a')
  t.equal(REFRESH_MARGIN_MS, 60_000)
  t.equal(needsRenewal(token, token.expiresAtMs - 60_001), false)
  t.equal(needsRenewal(token, token.expiresAtMs - 60_000), true)
  t.equal(needsRenewal(token, token.expiresAtMs + 1), true)
})

t.test('credential tags: stable per password, distinct across passwords, not the password', async (t) => {
  t.equal(credentialTag('pw'), credentialTag('pw'))
  t.not(credentialTag('pw'), credentialTag('pw2'))
  t.notMatch(credentialTag('secret-password'), 'secret-password')
})

t.test('cache: keyed by API and user; a different password does not get the token', async (t) => {
  const cache = new TokenCache(10)
  const key = tokenCacheKey('http://a:8080', 'k8s-operator')
  t.not(key, tokenCacheKey('http://a:8080', 'admin'))
  t.not(key, tokenCacheKey('http://b:8080', 'k8s-operator'))
  cache.set(key, cached('tok-1', 'pw'))
  t.equal(cache.get(key, credentialTag('pw'))?.accessToken, 'tok-1')
  t.equal(cache.get(key, credentialTag('other')), undefined)
  t.equal(cache.size, 0, 'the stale-password entry is dropped')
})

t.test('dropIfCurrent only drops the token the caller saw refused', async (t) => {
  const cache = new TokenCache(10)
  const key = tokenCacheKey('http://a', 'u')
  cache.set(key, cached('new'))
  cache.dropIfCurrent(key, 'old')
  t.equal(cache.get(key, credentialTag('pw'))?.accessToken, 'new', 'a concurrent renewal survives')
  cache.dropIfCurrent(key, 'new')
  t.equal(cache.get(key, credentialTag('pw')), undefined)
})

t.test('the cache is bounded', async (t) => {
  const cache = new TokenCache(3)
  for (let i = 0; i < 10; i++) cache.set(tokenCacheKey(`http://h${i}`, 'u'), cached(`t${i}`))
  t.equal(cache.size, 3)
  t.equal(cache.get(tokenCacheKey('http://h9', 'u'), credentialTag('pw'))?.accessToken, 't9')
  t.equal(cache.get(tokenCacheKey('http://h0', 'u'), credentialTag('pw')), undefined)
  cache.delete(tokenCacheKey('http://h9', 'u'))
  t.equal(cache.size, 2)
})
