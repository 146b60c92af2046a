/**
 * Calling a hook the way Metacontroller's webhook client does: POST JSON, success is exactly HTTP 200 with a
 * JSON body; 429 asks for a retry after `Retry-After`; anything else (another status, a body that is not JSON,
 * a timeout, a connection error) is a failed call.
 */

import { isObject } from './json.js'
import type { Hook, JsonObject } from './types.js'

export type HookName = 'customize' | 'sync' | 'finalize'

export type HookFailureKind = 'connection' | 'timeout' | 'status' | 'json' | 'shape' | 'tooManyRequests'

export class HookFailure extends Error {
  readonly kind: HookFailureKind
  readonly hook: HookName
  readonly status: number | undefined
  /** For 429: how long to wait before retrying. */
  readonly retryAfterMs: number

  constructor(hook: HookName, kind: HookFailureKind, message: string, status?: number, retryAfterMs = 0) {
    super(`${hook} hook failed: ${message}`)
    this.name = 'HookFailure'
    this.hook = hook
    this.kind = kind
    this.status = status
    this.retryAfterMs = retryAfterMs
  }
}

export interface HookExchange {
  hook: HookName
  url: string
  request: JsonObject
  /** HTTP status, or undefined when no response came back. */
  status: number | undefined
  /** The parsed JSON body, or the raw text when it was not JSON. */
  response: unknown
  error?: string
}

export interface CallOptions {
  hook: HookName
  url: string
  body: JsonObject
  timeoutMs: number
  /** Virtual "now", to turn an HTTP-date Retry-After into a delay. */
  nowMs: number
  onExchange?: (exchange: HookExchange) => void
}

const MAX_ERROR_BODY = 300

/** POSTs the request; returns the parsed 200 body or throws a HookFailure. */
export async function callHook(options: CallOptions): Promise<unknown> {
  const { hook, url, body, timeoutMs } = options
  const exchange: HookExchange = { hook, url, request: body, status: undefined, response: undefined }
  try {
    let response: Response
    let text: string
    try {
      response = await fetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', accept: 'application/json' },
        body: JSON.stringify(body),
        signal: AbortSignal.timeout(timeoutMs),
        redirect: 'manual',
      })
      exchange.status = response.status
      text = await response.text()
    } catch (error) {
      const timedOut =
        error instanceof Error && (error.name === 'TimeoutError' || error.name === 'AbortError')
      if (timedOut) throw new HookFailure(hook, 'timeout', `timed out after ${timeoutMs} ms`, exchange.status)
      throw new HookFailure(hook, 'connection', describeFetchError(error), exchange.status)
    }
    exchange.response = text
    if (response.status === 429) {
      const retryAfterMs = parseRetryAfter(response.headers.get('retry-after'), options.nowMs)
      throw new HookFailure(hook, 'tooManyRequests', 'too many requests', 429, retryAfterMs)
    }
    if (response.status !== 200) {
      throw new HookFailure(
        hook,
        'status',
        `unsupported status code: ${response.status} body: ${text.slice(0, MAX_ERROR_BODY)}`,
        response.status,
      )
    }
    try {
      exchange.response = JSON.parse(text)
    } catch {
      throw new HookFailure(hook, 'json', `response is not JSON: ${text.slice(0, MAX_ERROR_BODY)}`, 200)
    }
    return exchange.response
  } catch (error) {
    exchange.error = error instanceof Error ? error.message : String(error)
    throw error
  } finally {
    options.onExchange?.(exchange)
  }
}

function describeFetchError(error: unknown): string {
  if (!(error instanceof Error)) return String(error)
  const cause = (error as Error & { cause?: unknown }).cause
  const code = isObject(cause) && typeof cause.code === 'string' ? ` (${cause.code})` : ''
  return `${error.message}${code}`
}

/** Seconds, or an HTTP date (relative to the virtual clock); missing or unparsable means 0. */
export function parseRetryAfter(header: string | null, nowMs: number): number {
  if (header === null) return 0
  const trimmed = header.trim()
  if (/^\d+$/.test(trimmed)) return Number(trimmed) * 1000
  const date = Date.parse(trimmed)
  return Number.isNaN(date) ? 0 : Math.max(0, date - nowMs)
}

/** The path of a hook's webhook (from `url`, or `path` for the service form), called on the simulator's base URL. */
export function hookUrl(baseUrl: string, hook: Hook | undefined): string | undefined {
  const webhook = hook?.webhook
  if (!webhook) return undefined
  let path: string
  if (typeof webhook.url === 'string' && webhook.url !== '') {
    const parsed = new URL(webhook.url)
    path = parsed.pathname + parsed.search
  } else if (typeof webhook.path === 'string') {
    path = webhook.path
  } else {
    return undefined
  }
  return baseUrl.replace(/\/+$/, '') + (path.startsWith('/') ? path : `/${path}`)
}

/** Go duration strings as in `webhook.timeout` ("10s", "1m30s", "500ms"). Undefined when unparsable. */
export function parseGoDuration(text: string | undefined): number | undefined {
  if (text === undefined) return undefined
  const units: Record<string, number> = {
    h: 3_600_000,
    m: 60_000,
    s: 1000,
    ms: 1,
    us: 0.001,
    µs: 0.001,
    ns: 1e-6,
  }
  const part = /(\d+(?:\.\d+)?)(ms|us|µs|ns|h|m|s)/g
  let total = 0
  let consumed = 0
  for (const match of text.matchAll(part)) {
    if (match.index !== consumed) return undefined
    total += Number(match[1]) * units[match[2]!]!
    consumed += match[0].length
  }
  return consumed === text.length && consumed > 0 ? total : undefined
}

// --- response shapes -----------------------------------------------------------------------------------------

export interface SyncHookResponse {
  status: JsonObject | null
  children: unknown[]
  resyncAfterSeconds: number
  finalized: boolean
}

const SYNC_RESPONSE_FIELDS = new Set(['status', 'children', 'resyncAfterSeconds', 'finalized'])

/** Validates a sync/finalize response as Go's decoder would (types; unknown top-level fields when strict). */
export function parseSyncResponse(hook: HookName, body: unknown, strict: boolean): SyncHookResponse {
  if (!isObject(body)) throw new HookFailure(hook, 'shape', 'response body is not a JSON object', 200)
  if (strict) rejectUnknownFields(hook, body, SYNC_RESPONSE_FIELDS)
  const { status, children, resyncAfterSeconds, finalized } = body
  if (status !== undefined && status !== null && !isObject(status)) {
    throw new HookFailure(hook, 'shape', '"status" must be an object', 200)
  }
  if (children !== undefined && children !== null && !Array.isArray(children)) {
    throw new HookFailure(hook, 'shape', '"children" must be an array', 200)
  }
  if (
    resyncAfterSeconds !== undefined &&
    resyncAfterSeconds !== null &&
    typeof resyncAfterSeconds !== 'number'
  ) {
    throw new HookFailure(hook, 'shape', '"resyncAfterSeconds" must be a number', 200)
  }
  if (finalized !== undefined && finalized !== null && typeof finalized !== 'boolean') {
    throw new HookFailure(hook, 'shape', '"finalized" must be a boolean', 200)
  }
  return {
    status: isObject(status) ? status : null,
    children: Array.isArray(children) ? children : [],
    resyncAfterSeconds: typeof resyncAfterSeconds === 'number' ? resyncAfterSeconds : 0,
    finalized: finalized === true,
  }
}

const CUSTOMIZE_RESPONSE_FIELDS = new Set(['relatedResources'])
const RELATED_RULE_FIELDS = new Set([
  'apiVersion',
  'resource',
  'namespace',
  'names',
  'labelSelector',
  'namespaceSelector',
])

export function parseCustomizeResponse(body: unknown, strict: boolean): JsonObject[] {
  if (!isObject(body)) throw new HookFailure('customize', 'shape', 'response body is not a JSON object', 200)
  if (strict) rejectUnknownFields('customize', body, CUSTOMIZE_RESPONSE_FIELDS)
  const rules = body.relatedResources
  if (rules === undefined || rules === null) return []
  if (!Array.isArray(rules) || !rules.every(isObject)) {
    throw new HookFailure('customize', 'shape', '"relatedResources" must be an array of objects', 200)
  }
  if (strict) for (const rule of rules) rejectUnknownFields('customize', rule, RELATED_RULE_FIELDS)
  return rules
}

function rejectUnknownFields(hook: HookName, body: JsonObject, known: Set<string>): void {
  const unknown = Object.keys(body).filter((key) => !known.has(key))
  if (unknown.length > 0) {
    throw new HookFailure(
      hook,
      'shape',
      `unknown field(s) ${unknown.map((k) => `"${k}"`).join(', ')} (strict mode)`,
      200,
    )
  }
}
