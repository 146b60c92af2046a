// When each snapshot policy of a parent is next pushed, in memory only. Losing it (restart, eviction) only means
// the policies are pushed again at the next sync: the upsert is idempotent.
import { BoundedLru } from './lru.js'

/** A missing share is retried after 30 s, doubling up to 30 min: a share created later is picked up, no storm. */
export const SNAPSHOT_RETRY_BASE_MS = 30_000
export const SNAPSHOT_RETRY_CAP_MS = 30 * 60_000
/** Applied policies are upserted again this often, in case someone changed or removed them through the API. */
export const SNAPSHOT_REASSERT_MS = 60 * 60_000
const MAX_PARENTS = 50_000

export function snapshotRetryMs(failures: number): number {
  if (!(failures >= 1)) return 0
  if (failures > 7) return SNAPSHOT_RETRY_CAP_MS
  return Math.min(SNAPSHOT_RETRY_BASE_MS * 2 ** (Math.floor(failures) - 1), SNAPSHOT_RETRY_CAP_MS)
}

interface ShareAttempts {
  /** The policy body digest these attempts were for: a changed policy starts afresh. */
  digest: string
  failures: number
  lastAttemptAt: number
}

export class SnapshotSchedule {
  readonly #parents = new BoundedLru<string, Map<string, ShareAttempts>>(MAX_PARENTS)

  /** When the policy for `share` (with this digest) is next due; `now` or earlier when due. */
  dueAt(uid: string, share: string, digest: string): number {
    const attempts = this.#parents.peek(uid)?.get(share)
    if (attempts === undefined || attempts.digest !== digest) return 0
    return (
      attempts.lastAttemptAt +
      (attempts.failures === 0 ? SNAPSHOT_REASSERT_MS : snapshotRetryMs(attempts.failures))
    )
  }

  record(uid: string, share: string, digest: string, applied: boolean, now: number): void {
    let shares = this.#parents.get(uid)
    if (shares === undefined) {
      shares = new Map()
      this.#parents.set(uid, shares)
    }
    const before = shares.get(share)
    const failures = applied ? 0 : before?.digest === digest ? before.failures + 1 : 1
    shares.set(share, { digest, failures, lastAttemptAt: now })
  }

  forget(uid: string): void {
    this.#parents.delete(uid)
  }
}
