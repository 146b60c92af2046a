// Adapter discovery against the DittoFS REST API (DESIGN 5.1): poll GET /api/v1/adapters as the
// least-privileged `k8s-operator` user, keep its tokens in memory, provision the account with the admin
// credentials when its login is rejected. Every call is bounded by one overall deadline and never throws.
import {
  apiBase,
  type CallBudget,
  type CallFailure,
  type CallResult,
  DEFAULT_MAX_BODY_BYTES,
  DittoFsClient,
  failureReason,
  failureStatus,
  isAuthRejection,
  type SnapshotPolicyBody,
  type TokenSet,
} from './client.js'
import {
  accessExpiry,
  type CachedToken,
  credentialTag,
  DEFAULT_TOKEN_CACHE_SIZE,
  needsRenewal,
  TokenCache,
  tokenCacheKey,
} from './token-cache.js'
import {
  type Credentials,
  type DiscoveryFailureReason,
  OPERATOR_USERNAME,
  type PollOutcome,
  type PollTarget,
  type TlsTrust,
} from './types.js'

export { OPERATOR_USERNAME }

export const OPERATOR_ROLE = 'operator'
/** Metacontroller gives a hook 10 s; a poll (several requests in the worst case) must end well before. */
export const MAX_POLL_DEADLINE_MS = 8_000

export interface DiscoveryLog {
  warn(obj: object, msg: string): void
  info(obj: object, msg: string): void
  debug?(obj: object, msg: string): void
}

export interface DiscoveryOptions {
  /** Per request (DITTOFS_API_TIMEOUT_MS, default 3000). */
  timeoutMs: number
  /** Clock for token expiry, ms since epoch; default Date.now. Deadlines always use real time. */
  now?: () => number
  maxBodyBytes?: number
  tokenCacheSize?: number
  log?: DiscoveryLog
}

export interface DiscoveryCounters {
  /** Login requests sent (operator and admin, successful or not). */
  logins: number
  /** Refresh requests sent. */
  refreshes: number
  /** Provisioning runs started (operator login rejected, admin credentials known). */
  provisions: number
  /** Calls of poll(). */
  polls: number
  /** Snapshot policy upserts sent (PUT /api/v1/shares/{name}/snapshot-policy). */
  snapshotPushes: number
}

/** One snapshot policy to upsert: the share and the body as DittoFS reads it. */
export interface SnapshotPush {
  share: string
  body: SnapshotPolicyBody
}

export type SnapshotResult =
  | { share: string; state: 'Applied' }
  | { share: string; state: 'ShareNotFound' | 'Rejected'; message: string }

export type PushOutcome =
  | { ok: true; results: SnapshotResult[] }
  | { ok: false; reason: DiscoveryFailureReason; message: string }

/** The overall time one poll (or one removal) may take: 2.5 request timeouts, at most 8 s. */
export function pollDeadlineMs(timeoutMs: number): number {
  return Math.min(Math.max(1, timeoutMs) * 2.5, MAX_POLL_DEADLINE_MS)
}

type Failure = Extract<PollOutcome, { ok: false }>
type TokenOutcome = { ok: true; token: CachedToken; fresh: boolean } | { ok: false; failure: Failure }

const NO_LOG: DiscoveryLog = { warn() {}, info() {} }

/** Real-time deadline shared by all requests of one operation: each request gets what is left of it. */
class Deadline {
  readonly #endsAt: number
  readonly #signal: AbortSignal
  readonly #tls: TlsTrust | undefined

  constructor(ms: number, tls?: TlsTrust) {
    this.#endsAt = performance.now() + ms
    this.#signal = AbortSignal.timeout(Math.max(1, Math.ceil(ms)))
    this.#tls = tls
  }

  budget(timeoutMs: number): CallBudget {
    return {
      timeoutMs: Math.min(timeoutMs, Math.max(1, this.#endsAt - performance.now())),
      signal: this.#signal,
      ...(this.#tls === undefined ? {} : { tls: this.#tls }),
    }
  }
}

export class Discovery {
  readonly #client: DittoFsClient
  readonly #tokens: TokenCache
  readonly #timeoutMs: number
  readonly #now: () => number
  readonly #log: DiscoveryLog
  /** Single flight: concurrent callers needing a token for the same API and user share one acquisition. */
  readonly #acquiring = new Map<string, Promise<TokenOutcome>>()
  readonly #counters: DiscoveryCounters = {
    logins: 0,
    refreshes: 0,
    provisions: 0,
    polls: 0,
    snapshotPushes: 0,
  }

  constructor(opts: DiscoveryOptions) {
    this.#timeoutMs = opts.timeoutMs
    this.#now = opts.now ?? Date.now
    this.#log = opts.log ?? NO_LOG
    this.#client = new DittoFsClient({ maxBodyBytes: opts.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES })
    this.#tokens = new TokenCache(opts.tokenCacheSize ?? DEFAULT_TOKEN_CACHE_SIZE)
  }

  counters(): DiscoveryCounters {
    return { ...this.#counters }
  }

  async poll(target: PollTarget): Promise<PollOutcome> {
    this.#counters.polls++
    const base = apiBase(target.apiUrl)
    if (base === undefined) {
      return {
        ok: false,
        reason: 'APIUnreachable',
        message: 'the DittoFS API URL is not a valid http(s) URL',
      }
    }
    const logFields = { apiUrl: base, username: target.operator.username }
    let outcome: PollOutcome
    try {
      outcome = await this.#poll(base, target, new Deadline(pollDeadlineMs(this.#timeoutMs), target.tls))
    } catch {
      // A bug, not an API answer; the error itself may carry request details, so it is not passed on.
      outcome = {
        ok: false,
        reason: 'APIUnreachable',
        message: `${base}: unexpected error while polling adapters`,
      }
    }
    const cached = this.#tokens.get(
      tokenCacheKey(base, target.operator.username),
      credentialTag(target.operator.password),
    )
    outcome = withoutCredentials(outcome, [
      target.operator.password,
      target.admin?.password,
      cached?.accessToken,
      cached?.refreshToken,
    ])
    if (outcome.ok) {
      this.#log.debug?.({ ...logFields, outcome: 'ok', adapters: outcome.adapters.length }, 'adapter poll')
      if (outcome.rejected.length > 0) {
        this.#log.warn({ ...logFields, rejected: outcome.rejected.length }, 'adapter entries rejected')
      }
    } else {
      const fields = { ...logFields, status: outcome.httpStatus, outcome: outcome.reason }
      this.#log.warn(fields, 'adapter poll failed')
    }
    return outcome
  }

  /** Best effort on finalize: delete the `k8s-operator` DittoFS user with the admin credentials. */
  async removeOperatorUser(target: PollTarget): Promise<boolean> {
    const base = apiBase(target.apiUrl)
    if (base === undefined || target.admin === undefined) return false
    this.#tokens.delete(tokenCacheKey(base, OPERATOR_USERNAME))
    const logFields = { apiUrl: base, username: OPERATOR_USERNAME }
    try {
      const deadline = new Deadline(pollDeadlineMs(this.#timeoutMs), target.tls)
      this.#counters.logins++
      const admin = await this.#client.login(base, target.admin, deadline.budget(this.#timeoutMs))
      if (!admin.ok) {
        this.#log.warn({ ...logFields, status: failureStatus(admin.failure) }, 'operator user not removed')
        return false
      }
      const budget = deadline.budget(this.#timeoutMs)
      const removed = await this.#client.deleteUser(base, admin.value.accessToken, OPERATOR_USERNAME, budget)
      const gone = removed.ok || failureStatus(removed.failure) === 404
      const status = removed.ok ? undefined : failureStatus(removed.failure)
      this.#log.info({ ...logFields, status, outcome: gone ? 'removed' : 'failed' }, 'operator user removal')
      return gone
    } catch {
      return false
    }
  }

  /**
   * Upserts snapshot policies as the admin account: DittoFS v0.29.0 serves /api/v1/shares/* to role admin only
   * (pkg/controlplane/api/router.go), so the operator account cannot. The admin token is cached like the
   * operator's. A missing share is a result, not a failure; a refused or unreachable API ends the whole push.
   */
  async pushSnapshotPolicies(target: PollTarget, pushes: SnapshotPush[]): Promise<PushOutcome> {
    const base = apiBase(target.apiUrl)
    const admin = target.admin
    if (base === undefined)
      return { ok: false, reason: 'APIUnreachable', message: 'the DittoFS API URL is not valid' }
    if (admin === undefined)
      return { ok: false, reason: 'AuthenticationFailed', message: 'the admin credentials are not known yet' }
    const deadline = new Deadline(pollDeadlineMs(this.#timeoutMs), target.tls)
    const key = tokenCacheKey(base, admin.username)
    const tag = credentialTag(admin.password)
    let outcome: PushOutcome
    try {
      outcome = await this.#push(base, admin, key, tag, pushes, deadline)
    } catch {
      outcome = {
        ok: false,
        reason: 'APIUnreachable',
        message: `${base}: unexpected error while pushing snapshot policies`,
      }
    }
    if (outcome.ok) return outcome
    const cached = this.#tokens.get(key, tag)
    const scrubbed = withoutCredentials(outcome, [admin.password, cached?.accessToken, cached?.refreshToken])
    this.#log.warn({ apiUrl: base, outcome: outcome.reason }, 'snapshot policy push failed')
    return scrubbed as PushOutcome
  }

  async #push(
    base: string,
    admin: Credentials,
    key: string,
    tag: string,
    pushes: SnapshotPush[],
    deadline: Deadline,
  ): Promise<PushOutcome> {
    const cached = this.#tokens.get(key, tag)
    let token = cached !== undefined && !needsRenewal(cached, this.#now()) ? cached.accessToken : undefined
    let fresh = false
    const login = async (): Promise<Failure | undefined> => {
      this.#counters.logins++
      const answer = await this.#client.login(base, admin, deadline.budget(this.#timeoutMs))
      if (!answer.ok) return failed(answer.failure, '; the admin credentials were rejected')
      if (answer.value.mustChangePassword) {
        const message = `POST ${base}/api/v1/auth/login: the admin account must change its password first`
        return { ok: false, reason: 'AuthenticationFailed', message }
      }
      token = this.#store(key, tag, answer.value).accessToken
      fresh = true
      return undefined
    }
    if (token === undefined) {
      const failure = await login()
      if (failure) return failure
    }
    const results: SnapshotResult[] = []
    for (const push of pushes) {
      const put = (): Promise<CallResult<void>> => {
        this.#counters.snapshotPushes++
        const budget = deadline.budget(this.#timeoutMs)
        return this.#client.upsertSnapshotPolicy(base, token as string, push.share, push.body, budget)
      }
      let answer = await put()
      if (!answer.ok && isAuthRejection(answer.failure) && !fresh) {
        // A cached token the server no longer accepts: log in once more.
        this.#tokens.delete(key)
        const failure = await login()
        if (failure) return failure
        answer = await put()
      }
      if (answer.ok) {
        results.push({ share: push.share, state: 'Applied' })
        continue
      }
      const status = failureStatus(answer.failure)
      if (status === 404)
        results.push({ share: push.share, state: 'ShareNotFound', message: 'the share does not exist yet' })
      else if (status === 400 || status === 409 || status === 412 || status === 422)
        results.push({ share: push.share, state: 'Rejected', message: answer.failure.message })
      else return failed(answer.failure, '; the admin account may not manage snapshot policies')
    }
    return { ok: true, results }
  }

  async #poll(base: string, target: PollTarget, deadline: Deadline): Promise<PollOutcome> {
    const first = await this.#operatorToken(base, target, deadline)
    if (!first.ok) return first.failure
    let listed = await this.#client.listAdapters(
      base,
      first.token.accessToken,
      deadline.budget(this.#timeoutMs),
    )
    if (!listed.ok && isAuthRejection(listed.failure) && !first.fresh) {
      // A cached token the server no longer accepts (restart with a new secret, user re-created): once more.
      this.#tokens.dropIfCurrent(tokenCacheKey(base, target.operator.username), first.token.accessToken)
      const second = await this.#operatorToken(base, target, deadline, first.token.accessToken)
      if (!second.ok) return second.failure
      listed = await this.#client.listAdapters(
        base,
        second.token.accessToken,
        deadline.budget(this.#timeoutMs),
      )
    }
    if (!listed.ok) {
      const note =
        failureStatus(listed.failure) === 403
          ? '; the account may not list adapters (it needs role operator or admin)'
          : '; the API refused a freshly obtained token'
      return failed(listed.failure, note)
    }
    return { ok: true, adapters: listed.value.adapters, rejected: listed.value.rejected }
  }

  /**
   * A usable access token for the operator user: cached, refreshed, logged in or provisioned. With
   * `staleAccessToken` the caller saw that token refused and needs a new one from a login.
   */
  async #operatorToken(
    base: string,
    target: PollTarget,
    deadline: Deadline,
    staleAccessToken?: string,
  ): Promise<TokenOutcome> {
    const key = tokenCacheKey(base, target.operator.username)
    const tag = credentialTag(target.operator.password)
    const cached = this.#tokens.get(key, tag)
    const usable = cached !== undefined && !needsRenewal(cached, this.#now())
    if (usable && staleAccessToken === undefined) return { ok: true, token: cached, fresh: false }
    // Someone else already replaced the refused token.
    if (usable && cached.accessToken !== staleAccessToken) return { ok: true, token: cached, fresh: true }
    const flightKey = `${key}\n${tag}`
    const running = this.#acquiring.get(flightKey)
    if (running !== undefined) return running
    const renewable = staleAccessToken === undefined ? cached : undefined
    const flight = this.#acquire(base, target, key, tag, renewable, deadline).finally(() => {
      this.#acquiring.delete(flightKey)
    })
    this.#acquiring.set(flightKey, flight)
    return flight
  }

  async #acquire(
    base: string,
    target: PollTarget,
    key: string,
    tag: string,
    cached: CachedToken | undefined,
    deadline: Deadline,
  ): Promise<TokenOutcome> {
    if (cached !== undefined) {
      this.#counters.refreshes++
      const refreshed = await this.#client.refresh(
        base,
        cached.refreshToken,
        deadline.budget(this.#timeoutMs),
      )
      if (refreshed.ok) return { ok: true, token: this.#store(key, tag, refreshed.value), fresh: false }
      if (failureReason(refreshed.failure) === 'APIUnreachable') {
        // Renewal starts a minute early: a blip while refreshing need not fail a poll the old token can do.
        if (this.#now() < cached.expiresAtMs) return { ok: true, token: cached, fresh: false }
        return { ok: false, failure: failed(refreshed.failure) }
      }
      this.#log.debug?.(
        { apiUrl: base, username: target.operator.username, outcome: 'refresh refused' },
        'login',
      )
    }
    this.#counters.logins++
    const login = await this.#client.login(base, target.operator, deadline.budget(this.#timeoutMs))
    if (login.ok) return { ok: true, token: this.#store(key, tag, login.value), fresh: true }
    const rejected = failureStatus(login.failure) === 401
    if (rejected && target.admin !== undefined && target.operator.username === OPERATOR_USERNAME) {
      return this.#provision(base, target.operator, target.admin, key, tag, deadline)
    }
    const note =
      target.admin === undefined
        ? '; the operator credentials were rejected and no admin credentials are known to provision the account'
        : '; the operator credentials were rejected'
    return { ok: false, failure: failed(login.failure, note) }
  }

  /** Create the operator account (or reset its password when it exists), then log in as it. */
  async #provision(
    base: string,
    operator: Credentials,
    admin: Credentials,
    key: string,
    tag: string,
    deadline: Deadline,
  ): Promise<TokenOutcome> {
    this.#counters.provisions++
    const logFields = { apiUrl: base, username: OPERATOR_USERNAME }
    this.#log.info(logFields, 'provisioning the DittoFS operator account')
    this.#counters.logins++
    const adminLogin = await this.#client.login(base, admin, deadline.budget(this.#timeoutMs))
    if (!adminLogin.ok) {
      const note = '; the admin credentials were rejected, so the operator account cannot be provisioned'
      return { ok: false, failure: failed(adminLogin.failure, note) }
    }
    if (adminLogin.value.mustChangePassword) {
      const message =
        `POST ${base}/api/v1/auth/login: the admin account must change its password before it may ` +
        'provision the operator account (the admin credentials were accepted but cannot be used)'
      return { ok: false, failure: { ok: false, reason: 'AuthenticationFailed', message } }
    }
    const adminToken = adminLogin.value.accessToken
    const account = { username: OPERATOR_USERNAME, password: operator.password, role: OPERATOR_ROLE }
    const created = await this.#client.createUser(base, adminToken, account, deadline.budget(this.#timeoutMs))
    if (!created.ok && failureStatus(created.failure) === 409) {
      const budget = deadline.budget(this.#timeoutMs)
      const reset = await this.#client.resetPassword(
        base,
        adminToken,
        OPERATOR_USERNAME,
        operator.password,
        budget,
      )
      if (!reset.ok) {
        return { ok: false, failure: failed(reset.failure, '; the admin credentials were refused') }
      }
    } else if (!created.ok) {
      return { ok: false, failure: failed(created.failure, '; the admin credentials were refused') }
    }
    this.#counters.logins++
    const login = await this.#client.login(base, operator, deadline.budget(this.#timeoutMs))
    if (!login.ok) {
      const note = '; the operator login was still rejected after provisioning'
      return { ok: false, failure: failed(login.failure, note) }
    }
    this.#log.info(
      { ...logFields, outcome: created.ok ? 'created' : 'password reset' },
      'operator account ready',
    )
    return { ok: true, token: this.#store(key, tag, login.value), fresh: true }
  }

  #store(key: string, tag: string, tokens: TokenSet): CachedToken {
    const token: CachedToken = {
      accessToken: tokens.accessToken,
      refreshToken: tokens.refreshToken,
      expiresAtMs: accessExpiry(tokens, this.#now()),
      credentialTag: tag,
    }
    this.#tokens.set(key, token)
    return token
  }
}

/** Anything shaped like a JWT (header.payload[.signature]). */
const JWT_PATTERN = /eyJ[A-Za-z0-9_-]{2,}\.[A-Za-z0-9_-]{2,}(?:\.[A-Za-z0-9_-]*)?/g
/** The same, without the global flag: `test` keeps no lastIndex between calls. */
const JWT_SHAPED = new RegExp(JWT_PATTERN.source)
/** Shorter values are too common to blank out of text (and too weak to be worth hiding). */
const MIN_SECRET_LENGTH = 6
/** A real adapter type is a short word: a type this long that is part of a credential is a piece of one. */
const MIN_FRAGMENT_LENGTH = 12

/** Encoded forms shorter than this are left alone: they would blank ordinary words. */
const MIN_ENCODED_LENGTH = 8

/**
 * Every form in which `secret` can appear in a text: raw, JSON-escaped, and base64 / base64url — alone (padded
 * or not) and inside a longer encoded text (e.g. `user:password` in a Basic header), where only the characters
 * that depend on the secret alone are fixed, at each of the three byte alignments.
 */
export function secretForms(secret: string): string[] {
  const bytes = Buffer.from(secret)
  const forms = new Set([secret, JSON.stringify(secret).slice(1, -1)])
  const standalone = bytes.toString('base64')
  forms.add(standalone)
  forms.add(standalone.replace(/=+$/, ''))
  for (let offset = 0; offset < 3; offset++) {
    const encoded = Buffer.concat([Buffer.alloc(offset), bytes]).toString('base64')
    forms.add(encoded.slice(Math.ceil((offset * 8) / 6), Math.floor(((offset + bytes.length) * 8) / 6)))
  }
  const all = [...forms].flatMap((form) => [form, form.replaceAll('+', '-').replaceAll('/', '_')])
  // Longest first, so a longer form is blanked whole before a shorter one inside it.
  return [...new Set(all)]
    .filter((form) => form === secret || form.length >= MIN_ENCODED_LENGTH)
    .sort((a, b) => b.length - a.length)
}

/**
 * The outcome without any credential the hook holds for this API: a hostile or broken server may echo what it was
 * sent (in an error text, or as an adapter type), and both end up in the parent's status, which more people can
 * read than the Secrets. Error texts are blanked (every form secretForms lists, and anything JWT-shaped); an adapter
 * whose type carries a credential, in any of those forms, is rejected like any other malformed entry.
 */
export function withoutCredentials(
  outcome: PollOutcome,
  credentials: Array<string | undefined>,
): PollOutcome {
  const secrets = credentials.filter(
    (c): c is string => typeof c === 'string' && c.length >= MIN_SECRET_LENGTH,
  )
  const forms = secrets.map(secretForms)
  if (!outcome.ok) {
    let message = outcome.message
    for (const form of forms.flat()) message = message.split(form).join('[redacted]')
    return { ...outcome, message: message.replace(JWT_PATTERN, '[redacted]') }
  }
  const carries = (type: string) =>
    forms.some((list) =>
      list.some((f) => type.includes(f) || (type.length >= MIN_FRAGMENT_LENGTH && f.includes(type))),
    ) || JWT_SHAPED.test(type)
  const adapters = outcome.adapters.filter((adapter) => !carries(adapter.type))
  const dropped = outcome.adapters.length - adapters.length
  if (dropped === 0) return outcome
  const note = `${dropped} entr${dropped === 1 ? 'y' : 'ies'} rejected: the type carries a credential`
  return { ok: true, adapters, rejected: [...outcome.rejected, note] }
}

/** A poll failure from a call failure; `authNote` is appended only when the server refused credentials. */
function failed(failure: CallFailure, authNote = ''): Failure {
  const reason = failureReason(failure)
  const status = failureStatus(failure)
  const message = reason === 'AuthenticationFailed' ? failure.message + authNote : failure.message
  return status === undefined
    ? { ok: false, reason, message }
    : { ok: false, reason, message, httpStatus: status }
}
