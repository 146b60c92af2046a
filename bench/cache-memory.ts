// Heap cost of the in-memory caches at their bounds, in a process of its own started with --expose-gc: the token
// cache full (10,000 API URLs, realistic DittoFS JWTs), the poll schedule full (50,000 parents), and the memoised
// specs and configs full (distinct ~2 K-character specs until the key budget is reached). The many-parents run
// fills none of these but the schedule: all its parents share one API URL and one spec.
import { renderConfig } from '../hooks/children/config.js'
import { DEFAULT_SCHEDULE_ENTRIES, PollSchedule } from '../hooks/discovery/schedule.js'
import {
  credentialTag,
  DEFAULT_TOKEN_CACHE_SIZE,
  TokenCache,
  tokenCacheKey,
} from '../hooks/discovery/token-cache.js'
import { parseSpec } from '../hooks/dittoserver/spec.js'
import { HOT_PATH_MEMO } from '../hooks/memo.js'
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
  // Distinct specs of ~2,000 characters (a padded Service annotation and a distinct SQLite path, so the rendered
  // configs differ too): as many as fit the memo's key budget, the worst the memo maps can hold together.
  const specChars = 2000
  let memoEntries = 0
  for (let i = 0; i * specChars < HOT_PATH_MEMO.keyChars && i < HOT_PATH_MEMO.entries; i++) {
    const raw = {
      storage: { metadataSize: '10Gi' },
      database: {
        sqlite: { path: `/data/controlplane/${String(i).padStart(6, '0')}-${'p'.repeat(800)}.db` },
      },
      service: { annotations: { note: `${i}-${'a'.repeat(specChars - 1000)}` } },
    }
    const parsed = parseSpec(raw)
    if (!parsed.ok) throw new Error(`bench spec invalid: ${JSON.stringify(parsed.errors)}`)
    renderConfig(parsed.spec)
    memoEntries++
  }
  const withMemos = heapAfterGc()
  // Keep them alive until measured.
  if (tokens.size + schedule.size() === 0) throw new Error('empty caches')
  return {
    tokenEntries: tokens.size,
    tokenBytes: withTokens - start,
    scheduleEntries: schedule.size(),
    scheduleBytes: withSchedule - withTokens,
    memoEntries,
    memoBytes: withMemos - withSchedule,
  }
}

serveIpc({
  measure,
  exit: () => setImmediate(() => process.exit(0)),
})
announceReady(0)
