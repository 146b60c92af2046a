// Everything observed comes from the cluster or from users (status is user-writable): it is read field by field,
// never trusted to have the shape its type says. Shared helpers for that, and for Kubernetes timestamps.

export type JsonObject = Record<string, unknown>

export const isObject = (value: unknown): value is JsonObject =>
  !!value && typeof value === 'object' && !Array.isArray(value)

/** The value when it is a plain object, otherwise an empty one (so chained reads never throw). */
export const asObject = (value: unknown): JsonObject => (isObject(value) ? value : {})

const RFC3339 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/

/** Milliseconds of an RFC 3339 timestamp, or undefined for anything else. */
export function parseTime(text: unknown): number | undefined {
  if (typeof text !== 'string' || !RFC3339.test(text)) return undefined
  const ms = Date.parse(text)
  return Number.isFinite(ms) ? ms : undefined
}

let lastSecond = Number.NaN
let lastFormatted = ''

/** RFC 3339 at seconds precision, the form Kubernetes writes timestamps in. */
export function formatTime(ms: number): string {
  const second = Math.floor(ms / 1000)
  // A sync stamps several conditions with the same `now`: format each second once.
  if (second !== lastSecond) {
    lastFormatted = new Date(second * 1000).toISOString().replace('.000Z', 'Z')
    lastSecond = second
  }
  return lastFormatted
}
