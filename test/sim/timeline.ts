/** What the simulated Metacontroller did, in order: for assertions, and for people reading a demo run. */

interface Base {
  /** Virtual time (ms since the Unix epoch). */
  at: number
  /** Parent key: `namespace/name`, or `name` for a cluster-scoped parent. */
  parent: string
}

export interface HookEntry extends Base {
  type: 'hook'
  hook: 'customize' | 'sync' | 'finalize'
  /** HTTP status, or undefined when no response arrived (timeout, connection error). */
  status: number | undefined
  error?: string
  /** Why the parent was queued for this sync. */
  triggers?: string[]
  /** Desired children per Kind in a successful sync/finalize response. */
  desired?: Record<string, number>
  resyncAfterSeconds?: number
  finalized?: boolean
}

export type ChildAction = 'create' | 'update' | 'delete' | 'recreate' | 'skip-update' | 'adopt' | 'release'

export interface ChildEntry extends Base {
  type: 'child'
  action: ChildAction
  /** `Kind namespace/name` */
  child: string
  kind: string
  name: string
  namespace?: string
  /** ok, or what went wrong: 'AlreadyExists', 'Conflict', 'NotFound', 'Invalid', ... */
  result: string
  reason: string
  /** For updates: the paths that differ between the observed object and what was sent. */
  paths?: string[]
  error?: string
}

export interface StatusEntry extends Base {
  type: 'status'
  /** False when the API server stored nothing new (e.g. CRD pruning removed the difference). */
  changed: boolean
  status: Record<string, unknown>
}

export interface FinalizerEntry extends Base {
  type: 'finalizer'
  action: 'add' | 'remove'
  finalizer: string
}

export interface EventEntry extends Base {
  type: 'event'
  eventType: 'Warning' | 'Normal'
  reason: string
  message: string
}

export interface RequeueEntry extends Base {
  type: 'requeue'
  why: 'backoff' | 'Retry-After' | 'resyncAfterSeconds'
  afterMs: number
}

export type TimelineEntry = HookEntry | ChildEntry | StatusEntry | FinalizerEntry | EventEntry | RequeueEntry

export interface Counters {
  /** Parent keys taken from the work queue (a gone or ignored parent costs a reconcile but no hook call). */
  reconciles: number
  /** Sync and finalize hook calls. */
  syncs: number
  finalizeCalls: number
  customizeCalls: number
  /** Hook calls that failed (non-200, bad JSON, bad shape, timeout, connection error; 429 included). */
  hookErrors: number
  /** SyncError events: failed hook calls (not 429) and failed syncs after the hook answered. */
  syncErrors: number
  statusWrites: number
  /** Per Kind. `updates` counts update calls made (merge differed, InPlace), `skippedUpdates` the OnDelete ones. */
  creates: Record<string, number>
  updates: Record<string, number>
  deletes: Record<string, number>
  skippedUpdates: Record<string, number>
}

export function emptyCounters(): Counters {
  return {
    reconciles: 0,
    syncs: 0,
    finalizeCalls: 0,
    customizeCalls: 0,
    hookErrors: 0,
    syncErrors: 0,
    statusWrites: 0,
    creates: {},
    updates: {},
    deletes: {},
    skippedUpdates: {},
  }
}

export function bump(map: Record<string, number>, key: string): void {
  map[key] = (map[key] ?? 0) + 1
}

/** Sum of a per-Kind counter, or one Kind's count. */
export function total(map: Record<string, number>, kind?: string): number {
  if (kind !== undefined) return map[kind] ?? 0
  return Object.values(map).reduce((sum, n) => sum + n, 0)
}

/** One line per entry, times relative to `originMs`: readable output for demos and failing tests. */
export function formatTimeline(entries: TimelineEntry[], originMs = entries[0]?.at ?? 0): string {
  return entries.map((entry) => `${formatOffset(entry.at - originMs)}  ${formatEntry(entry)}`).join('\n')
}

function formatOffset(ms: number): string {
  const sign = ms < 0 ? '-' : '+'
  const abs = Math.abs(ms)
  const hours = Math.floor(abs / 3_600_000)
  const minutes = Math.floor((abs % 3_600_000) / 60_000)
  const seconds = ((abs % 60_000) / 1000).toFixed(3).padStart(6, '0')
  return `${sign}${String(hours).padStart(2, '0')}:${String(minutes).padStart(2, '0')}:${seconds}`
}

function formatEntry(entry: TimelineEntry): string {
  switch (entry.type) {
    case 'hook': {
      const outcome = entry.error
        ? `FAILED (${entry.status ?? 'no response'}: ${entry.error})`
        : `${entry.status}`
      const desired = entry.desired
        ? ` children{${Object.entries(entry.desired)
            .map(([kind, n]) => `${kind}:${n}`)
            .join(' ')}}`
        : ''
      const extra = [
        entry.resyncAfterSeconds ? `resyncAfter=${entry.resyncAfterSeconds}s` : '',
        entry.finalized ? 'finalized' : '',
        entry.triggers?.length ? `[${entry.triggers.join(', ')}]` : '',
      ]
        .filter(Boolean)
        .join(' ')
      return `${entry.hook.padEnd(9)} ${entry.parent} -> ${outcome}${desired}${extra ? ` ${extra}` : ''}`
    }
    case 'child': {
      const paths = entry.paths?.length ? ` (${entry.paths.join(', ')})` : ''
      const result =
        entry.result === 'ok' ? '' : ` -> ${entry.result}${entry.error ? `: ${entry.error}` : ''}`
      return `${entry.action.padEnd(9)} ${entry.child}: ${entry.reason}${paths}${result}`
    }
    case 'status':
      return `status    ${entry.parent}${entry.changed ? '' : ' (unchanged by the API server)'} ${JSON.stringify(entry.status)}`
    case 'finalizer':
      return `finalizer ${entry.parent}: ${entry.action} ${entry.finalizer}`
    case 'event':
      return `event     ${entry.parent}: ${entry.eventType} ${entry.reason}: ${entry.message}`
    case 'requeue':
      return `requeue   ${entry.parent} in ${entry.afterMs} ms (${entry.why})`
  }
}
