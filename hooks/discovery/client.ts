// Thin DittoFS REST client: one request per method, no retries, no redirects, capped bodies.
// It reports what happened (an answer with a status, no answer, or an answer it cannot use) and leaves
// the decisions (refresh, re-login, provisioning, backoff) to the caller.
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv'
import got, { type Method } from 'got'
import { isObject } from '../loose.js'
import type { ApiAdapter, Credentials, DiscoveryFailureReason, TlsTrust } from './types.js'

export const DEFAULT_MAX_BODY_BYTES = 1024 * 1024
/** More adapters than this is not a DittoFS answer but a fault: each one would become a cloud load balancer. */
export const MAX_ADAPTERS = 64
const MAX_REJECTED_NOTES = 20
const MAX_DETAIL_CHARS = 200
/** Adapter types become parts of Kubernetes names and labels: only a conservative alphabet is trusted. */
export const ADAPTER_TYPE_PATTERN = '^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$'
/** RFC 6750 b64token: a token is put into an Authorization header, so nothing else is accepted. */
const TOKEN_PATTERN = '^[A-Za-z0-9._~+/=-]+$'
const RFC3339_PATTERN = '^\\d{4}-\\d{2}-\\d{2}[Tt]\\d{2}:\\d{2}:\\d{2}(\\.\\d{1,9})?([Zz]|[+-]\\d{2}:\\d{2})$'

/** How long one call may take, and a signal that ends it early (the caller's overall deadline). */
export interface CallBudget {
  timeoutMs: number
  signal?: AbortSignal
  /** TLS trust for an https:// API (from the certificate Secret, read on every sync: rotation needs no restart). */
  tls?: TlsTrust
}

export interface TokenSet {
  accessToken: string
  refreshToken: string
  /** Lifetime of the access token as the server states it; undefined when only `expires_at` was sent. */
  expiresInMs: number | undefined
  /** `expires_at` in ms since epoch (the server's clock); undefined when absent. */
  expiresAtMs: number | undefined
  mustChangePassword: boolean
}

/** The upsert body as DittoFS v0.29.0 reads it (pkg/controlplane/api/dto/snapshot_policy.go). */
export interface SnapshotPolicyBody {
  interval: string
  keep_last?: number
  ttl?: string
  enabled?: boolean
  name_prefix?: string
}

export interface AdapterList {
  adapters: ApiAdapter[]
  rejected: string[]
}

export type CallFailure =
  /** No usable HTTP answer: refused, reset, DNS, TLS, timeout, aborted, malformed HTTP. */
  | { kind: 'transport'; message: string }
  /** An HTTP answer whose status is not the documented success. */
  | { kind: 'status'; status: number; message: string }
  /** A success status with a body that is not what the API documents (or is too large). */
  | { kind: 'invalid'; status?: number; message: string }

export type CallResult<T> = { ok: true; value: T } | { ok: false; failure: CallFailure }

export interface ClientOptions {
  maxBodyBytes?: number
}

/** Classification by HTTP status only, never by body (DittoFS errors are problem JSON or plain text). */
export function failureReason(failure: CallFailure): DiscoveryFailureReason {
  if (failure.kind === 'transport') return 'APIUnreachable'
  if (failure.kind === 'invalid') return 'InvalidResponse'
  const status = failure.status
  if (status === 401 || status === 403) return 'AuthenticationFailed'
  if (status >= 500 || (status >= 300 && status < 400) || status === 408 || status === 429)
    return 'APIUnreachable'
  return 'InvalidResponse'
}

export function isAuthRejection(failure: CallFailure): boolean {
  return failure.kind === 'status' && (failure.status === 401 || failure.status === 403)
}

export function failureStatus(failure: CallFailure): number | undefined {
  return failure.kind === 'transport' ? undefined : failure.status
}

/**
 * The API base URL reduced to scheme, host, port and path: user info, query and fragment are dropped so
 * they can neither leak into a message nor be sent. Undefined when the URL is unusable.
 */
export function apiBase(apiUrl: string): string | undefined {
  let url: URL
  try {
    url = new URL(apiUrl)
  } catch {
    return undefined
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return undefined
  return url.origin + url.pathname.replace(/\/+$/, '')
}

type RawAnswer =
  | { kind: 'response'; status: number; contentType: string; body: Buffer }
  | { kind: 'transport'; message: string }
  | { kind: 'tooLarge' }

interface SendOptions {
  json?: object
  token?: string
  /** Values that must never appear in a message, even when the server echoes them. */
  secrets: string[]
}

export class DittoFsClient {
  readonly #maxBodyBytes: number
  readonly #validateTokens: ValidateFunction
  readonly #validateAdapter: ValidateFunction

  constructor(opts: ClientOptions = {}) {
    this.#maxBodyBytes = opts.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES
    // Own instance: no coercion, no defaults, no removal; a body is either what the API documents or rejected.
    const ajv = new Ajv({ allErrors: false, coerceTypes: false, useDefaults: false, removeAdditional: false })
    this.#validateTokens = ajv.compile(TOKEN_RESPONSE_SCHEMA)
    this.#validateAdapter = ajv.compile(ADAPTER_SCHEMA)
  }

  async login(base: string, creds: Credentials, budget: CallBudget): Promise<CallResult<TokenSet>> {
    const body = { username: creds.username, password: creds.password }
    const answer = await this.#send('POST', base, '/api/v1/auth/login', budget, {
      json: body,
      secrets: [creds.password],
    })
    return this.#tokens('POST', base, '/api/v1/auth/login', answer, [creds.password])
  }

  async refresh(base: string, refreshToken: string, budget: CallBudget): Promise<CallResult<TokenSet>> {
    const answer = await this.#send('POST', base, '/api/v1/auth/refresh', budget, {
      json: { refresh_token: refreshToken },
      secrets: [refreshToken],
    })
    return this.#tokens('POST', base, '/api/v1/auth/refresh', answer, [refreshToken])
  }

  async createUser(
    base: string,
    adminToken: string,
    user: Credentials & { role: string },
    budget: CallBudget,
  ): Promise<CallResult<void>> {
    const json = { username: user.username, password: user.password, role: user.role }
    const answer = await this.#send('POST', base, '/api/v1/users', budget, {
      json,
      token: adminToken,
      secrets: [adminToken, user.password],
    })
    return noContent('POST', base, '/api/v1/users', answer, [adminToken, user.password])
  }

  async resetPassword(
    base: string,
    adminToken: string,
    username: string,
    newPassword: string,
    budget: CallBudget,
  ): Promise<CallResult<void>> {
    const path = `/api/v1/users/${encodeURIComponent(username)}/password`
    const secrets = [adminToken, newPassword]
    const answer = await this.#send('POST', base, path, budget, {
      json: { new_password: newPassword },
      token: adminToken,
      secrets,
    })
    return noContent('POST', base, path, answer, secrets)
  }

  async deleteUser(
    base: string,
    adminToken: string,
    username: string,
    budget: CallBudget,
  ): Promise<CallResult<void>> {
    const path = `/api/v1/users/${encodeURIComponent(username)}`
    const answer = await this.#send('DELETE', base, path, budget, {
      token: adminToken,
      secrets: [adminToken],
    })
    return noContent('DELETE', base, path, answer, [adminToken])
  }

  /** PUT /api/v1/shares/{name}/snapshot-policy (admin only in v0.29.0, pkg/controlplane/api/router.go). */
  async upsertSnapshotPolicy(
    base: string,
    adminToken: string,
    share: string,
    body: SnapshotPolicyBody,
    budget: CallBudget,
  ): Promise<CallResult<void>> {
    // One path segment: the server unescapes it and normalises the leading slash (handlers/shares.go).
    const path = `/api/v1/shares/${encodeURIComponent(share)}/snapshot-policy`
    const answer = await this.#send('PUT', base, path, budget, {
      json: body,
      token: adminToken,
      secrets: [adminToken],
    })
    return noContent('PUT', base, path, answer, [adminToken])
  }

  async listAdapters(base: string, token: string, budget: CallBudget): Promise<CallResult<AdapterList>> {
    const path = '/api/v1/adapters'
    const answer = await this.#send('GET', base, path, budget, { token, secrets: [token] })
    const body = successBody('GET', base, path, answer, [token])
    if (!body.ok) return body
    const parsed = parseJson(body.value.body)
    const where = `GET ${base}${path}`
    if (parsed === undefined) return invalid(body.value.status, `${where}: response is not JSON`)
    if (!Array.isArray(parsed)) return invalid(body.value.status, `${where}: response is not a JSON array`)
    return { ok: true, value: this.#adapters(parsed) }
  }

  #adapters(entries: unknown[]): AdapterList {
    const adapters: ApiAdapter[] = []
    const notes: string[] = []
    const seen = new Set<string>()
    entries.forEach((entry, index) => {
      if (!this.#validateAdapter(entry)) {
        notes.push(`entry ${index} rejected: ${describeAjvError(this.#validateAdapter.errors)}`)
        return
      }
      const valid = entry as { type: string; port: number; enabled: boolean; running?: boolean }
      // Types are compared exactly, as everywhere else: `NFS` and `nfs` are two adapters with two Services
      // (naming.ts gives them distinct names), never one refused and then carried from the status for ever.
      const key = valid.type
      if (seen.has(key)) {
        notes.push(`entry ${index} rejected: duplicate adapter type`)
        return
      }
      if (adapters.length >= MAX_ADAPTERS) {
        notes.push(`entry ${index} rejected: more than ${MAX_ADAPTERS} adapters`)
        return
      }
      seen.add(key)
      // Every DittoFS version that serves this route sends `running`. Should a server omit it, `enabled`
      // is the best stand-in (DittoFS starts every enabled adapter) and it is only reported, never acted on.
      adapters.push({
        type: valid.type,
        port: valid.port,
        enabled: valid.enabled,
        running: valid.running ?? valid.enabled,
      })
    })
    return { adapters, rejected: capNotes(notes) }
  }

  #tokens(
    method: string,
    base: string,
    path: string,
    answer: RawAnswer,
    secrets: string[],
  ): CallResult<TokenSet> {
    const body = successBody(method, base, path, answer, secrets)
    if (!body.ok) return body
    const where = `${method} ${base}${path}`
    const parsed = parseJson(body.value.body)
    if (parsed === undefined) return invalid(body.value.status, `${where}: response is not JSON`)
    if (!this.#validateTokens(parsed)) {
      return invalid(
        body.value.status,
        `${where}: token response ${describeAjvError(this.#validateTokens.errors)}`,
      )
    }
    const value = parsed as {
      access_token: string
      refresh_token: string
      expires_in?: number
      expires_at?: string
      user?: { must_change_password?: boolean }
    }
    const expiresAtMs = value.expires_at === undefined ? undefined : Date.parse(value.expires_at)
    if (expiresAtMs !== undefined && Number.isNaN(expiresAtMs)) {
      return invalid(body.value.status, `${where}: token response has an unreadable expires_at`)
    }
    return {
      ok: true,
      value: {
        accessToken: value.access_token,
        refreshToken: value.refresh_token,
        expiresInMs: value.expires_in === undefined ? undefined : value.expires_in * 1000,
        expiresAtMs,
        mustChangePassword: value.user?.must_change_password === true,
      },
    }
  }

  async #send(
    method: Method,
    base: string,
    path: string,
    budget: CallBudget,
    opts: SendOptions,
  ): Promise<RawAnswer> {
    const timeoutMs = Math.max(1, Math.floor(budget.timeoutMs))
    if (budget.signal?.aborted) {
      return { kind: 'transport', message: `${method} ${base}${path}: overall deadline reached` }
    }
    const headers: Record<string, string> = { accept: 'application/json', 'user-agent': 'dittofs-hooks' }
    if (opts.token !== undefined) headers.authorization = `Bearer ${opts.token}`
    const request = got(base + path, {
      method,
      headers,
      ...(opts.json === undefined ? {} : { json: opts.json }),
      timeout: { request: timeoutMs },
      retry: { limit: 0 },
      followRedirect: false,
      throwHttpErrors: false,
      // A compressed body would defeat the size cap; DittoFS does not compress anyway.
      decompress: false,
      responseType: 'buffer',
      ...(budget.signal === undefined ? {} : { signal: budget.signal }),
      ...(budget.tls === undefined ? {} : { https: httpsOptions(budget.tls) }),
    })
    let tooLarge = false
    request.on('downloadProgress', (progress) => {
      if (progress.transferred > this.#maxBodyBytes || (progress.total ?? 0) > this.#maxBodyBytes) {
        tooLarge = true
        request.cancel()
      }
    })
    try {
      const response = await request
      return {
        kind: 'response',
        status: response.statusCode,
        contentType: String(response.headers['content-type'] ?? ''),
        body: response.body,
      }
    } catch (error) {
      if (tooLarge) return { kind: 'tooLarge' }
      const why = describeTransportError(error, timeoutMs, budget.signal?.aborted === true)
      return { kind: 'transport', message: `${method} ${base}${path}: ${why}` }
    }
  }
}

const TOKEN_STRING = { type: 'string', minLength: 1, maxLength: 16_384, pattern: TOKEN_PATTERN }

const TOKEN_RESPONSE_SCHEMA = {
  type: 'object',
  required: ['access_token', 'refresh_token'],
  properties: {
    access_token: TOKEN_STRING,
    refresh_token: TOKEN_STRING,
    expires_in: { type: 'number', exclusiveMinimum: 0, maximum: 31_622_400 },
    expires_at: { type: 'string', maxLength: 64, pattern: RFC3339_PATTERN },
    user: { type: 'object', properties: { must_change_password: { type: 'boolean' } } },
  },
  anyOf: [{ required: ['expires_in'] }, { required: ['expires_at'] }],
}

const ADAPTER_SCHEMA = {
  type: 'object',
  required: ['type', 'port', 'enabled'],
  properties: {
    type: { type: 'string', pattern: ADAPTER_TYPE_PATTERN },
    port: { type: 'integer', minimum: 1, maximum: 65_535 },
    enabled: { type: 'boolean' },
    running: { type: 'boolean' },
  },
}

function successBody(
  method: string,
  base: string,
  path: string,
  answer: RawAnswer,
  secrets: string[],
): CallResult<{ status: number; body: Buffer }> {
  const where = `${method} ${base}${path}`
  if (answer.kind === 'transport') return { ok: false, failure: answer }
  if (answer.kind === 'tooLarge') return invalid(undefined, `${where}: response body exceeds the size limit`)
  if (answer.status >= 200 && answer.status < 300) {
    return { ok: true, value: { status: answer.status, body: answer.body } }
  }
  const redirect = answer.status >= 300 && answer.status < 400 ? ', redirect not followed' : ''
  const detail = errorDetail(answer.contentType, answer.body, secrets)
  const message = `${where}: HTTP ${answer.status}${redirect}${detail === '' ? '' : ` (${detail})`}`
  return { ok: false, failure: { kind: 'status', status: answer.status, message } }
}

/** got's TLS options: the CA replaces the system roots only when given; verification always stays on. */
const httpsOptions = (tls: TlsTrust) => ({
  rejectUnauthorized: true,
  ...(tls.ca === undefined ? {} : { certificateAuthority: tls.ca }),
  ...(tls.cert === undefined || tls.key === undefined ? {} : { certificate: tls.cert, key: tls.key }),
})

function noContent(
  method: string,
  base: string,
  path: string,
  answer: RawAnswer,
  secrets: string[],
): CallResult<void> {
  const body = successBody(method, base, path, answer, secrets)
  return body.ok ? { ok: true, value: undefined } : body
}

function invalid(status: number | undefined, message: string): { ok: false; failure: CallFailure } {
  return {
    ok: false,
    failure: status === undefined ? { kind: 'invalid', message } : { kind: 'invalid', status, message },
  }
}

function parseJson(body: Buffer): unknown {
  try {
    return JSON.parse(body.toString('utf8'))
  } catch {
    return undefined
  }
}

/**
 * The human part of an error answer, for messages only: `detail` (or `title`) of RFC 7807 problem JSON, or the
 * first line of the plain text DittoFS's auth middleware writes. Shortened, control characters removed, and
 * any secret the request carried blanked out in case the server echoes it.
 */
export function errorDetail(contentType: string, body: Buffer, secrets: string[]): string {
  const text = body.subarray(0, 4096).toString('utf8')
  let detail = ''
  if (/json/i.test(contentType)) {
    const parsed = parseJsonText(text)
    if (isObject(parsed)) {
      const candidate = typeof parsed.detail === 'string' ? parsed.detail : parsed.title
      detail = typeof candidate === 'string' ? candidate : ''
    }
  } else if (/^text\/plain/i.test(contentType)) {
    detail = text.split('\n', 1)[0] ?? ''
  }
  return sanitize(detail, secrets)
}

function parseJsonText(text: string): unknown {
  try {
    return JSON.parse(text)
  } catch {
    return undefined
  }
}

export function sanitize(text: string, secrets: string[]): string {
  let clean = text
  for (const secret of secrets) {
    if (secret.length > 0) clean = clean.split(secret).join('[redacted]')
  }
  // biome-ignore lint/suspicious/noControlCharactersInRegex: stripping control characters is the point
  clean = clean.replace(/[\u0000-\u001f\u007f]+/g, ' ').trim()
  return clean.length > MAX_DETAIL_CHARS ? `${clean.slice(0, MAX_DETAIL_CHARS)}…` : clean
}

/** ajv's first error as `/path message`: the message names the rule, never the offending value. */
function describeAjvError(errors: ErrorObject[] | null | undefined): string {
  const first = errors?.[0]
  if (first === undefined) return 'is invalid'
  const where = first.instancePath === '' ? '' : `${first.instancePath} `
  return `${where}${first.message ?? 'is invalid'}`
}

function capNotes(notes: string[]): string[] {
  if (notes.length <= MAX_REJECTED_NOTES) return notes
  const more = notes.length - MAX_REJECTED_NOTES
  return [...notes.slice(0, MAX_REJECTED_NOTES), `${more} more entries rejected`]
}

const TRANSPORT_CODES: Record<string, string> = {
  ECONNREFUSED: 'connection refused',
  ECONNRESET: 'connection reset',
  EPIPE: 'connection closed while sending',
  ENOTFOUND: 'host name not found',
  EAI_AGAIN: 'host name lookup failed (temporary)',
  EHOSTUNREACH: 'host unreachable',
  ENETUNREACH: 'network unreachable',
  ECONNABORTED: 'connection aborted',
}

/** Only error codes go into messages: error texts may carry URLs or headers. */
function describeTransportError(error: unknown, timeoutMs: number, deadlineReached: boolean): string {
  if (deadlineReached) return 'overall deadline reached'
  const code = isObject(error) && typeof error.code === 'string' ? error.code : undefined
  if (code === undefined) return 'request failed'
  if (code === 'ETIMEDOUT') return `no complete answer within ${timeoutMs} ms (timeout)`
  const known = TRANSPORT_CODES[code]
  if (known !== undefined) return `${known} (${code})`
  if (code.startsWith('HPE_')) return `malformed HTTP answer (${code})`
  if (/TLS|CERT|SSL|SELF_SIGNED/i.test(code)) return `TLS error (${code})`
  return `request failed (${code})`
}
