// Heap cost of the two in-memory caches at their bounds, in a process of its own started with --expose-gc:
// the token cache full (10,000 API URLs, realistic DittoFS JWTs) and the poll schedule full (50,000 parents).
// The many-parents run cannot fill the token cache: all its parents share one API URL on loopback.
import { DEFAULT_SCHEDULE_ENTRIES, PollSchedule } from '../hooks/discovery/schedule.js'
import {
  credentialTag,
  DEFAULT_TOKEN_CACHE_SIZE,
  TokenCache,
  tokenCacheKey,
} from '../hooks/discovery/token-cache.js'
import { signJwt } from '../test/emulator/jwt.js'
import { announceReady, serveIpc } from './ipc.js'

const gc = (globalThis as { gc?: () => void }).gc
const heapAfterGc = (): number => {
  gc?.()
  gc?.()
  return process.memoryUsage().heapUsed
}

function measure() {
  if (gc === undefined) throw new Error('start with --expose-gc')
  const secret = 'x'.repeat(43)
  const now = Math.floor(Date.now() / 1000)
  const token = (i: number, type: 'access' | 'refresh') =>
    signJwt(
      {
        iss: 'dittofs',
        sub: 'k8s-operator',
        exp: now + (type === 'access' ? 900 : 604_800),
        iat: now,
        uid: `0b7e${String(i).padStart(4, '0')}-1c2d-4e5f-8a9b-0c1d2e3f4a5b`,
        username: 'k8s-operator',
        role: 'operator',
        token_type: type,
      },
      secret,
    )
  const start = heapAfterGc()
  const tokens = new TokenCache(DEFAULT_TOKEN_CACHE_SIZE)
  for (let i = 0; i < DEFAULT_TOKEN_CACHE_SIZE; i++) {
    const api = `http://dittofs-${i}-api.tenant-${i}.svc.cluster.local:8080`
    tokens.set(tokenCacheKey(api, 'k8s-operator'), {
      accessToken: token(i, 'access'),
      refreshToken: token(i, 'refresh'),
      expiresAtMs: Date.now() + 900_000,
      credentialTag: credentialTag(`password-${i}`),
    })
  }
  const withTokens = heapAfterGc()
  const schedule = new PollSchedule()
  for (let i = 0; i < DEFAULT_SCHEDULE_ENTRIES; i++) {
    const uid = `6f1c2a3e-9b3d-4c8e-a1f7-${String(i).padStart(12, '0')}`
    schedule.recordSuccess(uid, Date.now())
    if (i % 2 === 0) schedule.recordFailure(uid, Date.now())
  }
  const withSchedule = heapAfterGc()
  // Keep both alive until measured.
  if (tokens.size + schedule.size() === 0) throw new Error('empty caches')
  return {
    tokenEntries: tokens.size,
    tokenBytes: withTokens - start,
    scheduleEntries: schedule.size(),
    scheduleBytes: withSchedule - withTokens,
  }
}

serveIpc({
  measure,
  exit: () => setImmediate(() => process.exit(0)),
})
announceReady(0)
