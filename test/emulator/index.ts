// A DittoFS control-plane emulator: a real HTTP server on 127.0.0.1 that behaves like the DittoFS REST API
// for everything the hooks touch (reference/dittofs.md §4): login/refresh with HS256 tokens that expire on
// the emulator's clock, users and roles, adapters, DittoFS's two error shapes, and fault injection.
// Shared by tests, the demo and the benchmarks.
import { randomBytes, randomUUID, timingSafeEqual } from 'node:crypto'
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import { createServer as createHttpsServer, Server as HttpsServer } from 'node:https'
import type { AddressInfo } from 'node:net'
import { parseDuration } from '../../hooks/dittoserver/duration.js'
import {
  type Fault,
  type FaultMode,
  interceptWithFault,
  sendJson,
  sendProblem,
  sendText,
  Timers,
  WRONG_TYPES_ADAPTERS,
} from './faults.js'
import { type Claims, signJwt, type TokenType, verifyJwt } from './jwt.js'

export { type VirtualClock, virtualClock } from './clock.js'
export type { Fault, FaultMode } from './faults.js'
export { WRONG_TYPES_ADAPTERS } from './faults.js'

export interface EmulatorOptions {
  /** Clock in ms since epoch (a virtual clock lets tests expire tokens without sleeping); default Date.now. */
  now?: () => number
  /** Password of the bootstrap `admin` user; default a random one (as DittoFS generates). */
  adminPassword?: string
  /** HS256 secret, at least 32 characters; default random. */
  jwtSecret?: string
  /** Access token lifetime; default 900 s (DittoFS's 15 min). */
  accessTtlSec?: number
  /** Refresh token lifetime; default 604800 s (7 days). */
  refreshTtlSec?: number
  /** The admin must change its password before anything but /auth/me and /users/me/password; default false. */
  adminMustChangePassword?: boolean
  /** Shares that exist (snapshot policies need one); default none. */
  shares?: string[]
  /**
   * Serve HTTPS with this certificate (PEM), as DittoFS does with controlplane.tls; with `clientCa` it also
   * requires a client certificate signed by it (client_ca). `setTls` swaps the certificate at run time (rotation).
   */
  tls?: { cert: string; key: string; clientCa?: string }
}

/** A snapshot policy as DittoFS v0.29.0 stores and returns it (pkg/controlplane/api/dto/snapshot_policy.go). */
export interface EmulatorSnapshotPolicy {
  share: string
  enabled: boolean
  interval: string
  keep_last: number
  ttl?: string
  name_prefix?: string
  created_at: string
  updated_at: string
}

export interface EmulatorAdapter {
  type: string
  port: number
  enabled: boolean
  running?: boolean
}

export interface Emulator {
  url: string
  port: number
  close(): Promise<void>
  setAdapters(list: EmulatorAdapter[]): void
  setFault(fault: Fault | null): void
  /**
   * Requests per route: login, loginFailed, refresh, refreshFailed, adaptersList, usersCreate, usersPassword,
   * usersDelete, requests (every request, faults included), plus `login:<username>` per successful login.
   */
  counters: Record<string, number>
  resetCounters(): void
  users(): Array<{ username: string; role: string }>
  setAdminPassword(pw: string): void
  /** Creates a share (a name without a leading slash gets one, as DittoFS normalises it). */
  addShare(name: string): void
  /** Serves a new certificate from the next connection on (DittoFS reloads rotated files the same way). */
  setTls(tls: { cert: string; key: string }): void
  snapshotPolicies(): EmulatorSnapshotPolicy[]
}

export const ROLES = ['user', 'admin', 'operator'] as const
/** The listener settings of a fresh DittoFS v0.29.0 (pkg/controlplane/models/adapter_settings.go): all off. */
export const DEFAULT_SETTINGS: Record<string, Record<string, unknown>> = {
  nfs: { portmapper_enabled: false, portmapper_port: 10111, udp_enabled: false, mdns_enabled: false },
  smb: { mdns_enabled: false, wsdiscovery_enabled: false },
}
export const ADMIN_USERNAME = 'admin'
export const DEFAULT_ADAPTERS: EmulatorAdapter[] = [
  { type: 'nfs', port: 12049, enabled: true },
  { type: 'smb', port: 1445, enabled: true },
]
const MAX_REQUEST_BODY = 1024 * 1024
const PASSWORD_CHANGE_REQUIRED = 'Password change required. Please change your password before proceeding.'

interface User {
  id: string
  username: string
  password: string
  role: string
  enabled: boolean
  mustChangePassword: boolean
}

interface StoredAdapter {
  id: string
  type: string
  enabled: boolean
  running: boolean
  port: number
  config?: Record<string, unknown>
  created_at: string
  updated_at: string
}

type Access = 'public' | 'self' | 'adapters' | 'admin'

interface Context {
  req: IncomingMessage
  res: ServerResponse
  params: string[]
  body: unknown
  claims: Claims | undefined
  /** The active fault, for faults that change a route's answer rather than intercept the request. */
  fault: FaultMode | undefined
}

interface Route {
  method: string
  /** Path segments; `*` matches one segment (passed in `params`). */
  path: string[]
  access: Access
  /** Reachable while the caller still has to change its password. */
  exemptFromPasswordChange?: boolean
  handle(ctx: Context): void
}

const COUNTER_NAMES = [
  'requests',
  'login',
  'loginFailed',
  'refresh',
  'refreshFailed',
  'adaptersList',
  'usersCreate',
  'usersPassword',
  'usersDelete',
  'snapshotPolicyPut',
  'snapshotPolicyGet',
]

/** handlers/shares.go normalizeShareName: exactly one leading slash. */
const normalizeShare = (name: string): string => `/${name.replace(/^\/+/, '')}`
const SNAPSHOT_SHORTHANDS: Record<string, string> = {
  '@hourly': '1h0m0s',
  '@daily': '24h0m0s',
  '@weekly': '168h0m0s',
}
const NAME_PREFIX = /^[A-Za-z0-9_-]{0,64}$/

/** Go's rendering of a duration, for the wire form ("24h0m0s"); whole seconds are enough here. */
function goDuration(ms: number): string {
  const total = Math.round(ms / 1000)
  const h = Math.floor(total / 3600)
  const m = Math.floor((total % 3600) / 60)
  const sec = total % 60
  return h > 0 ? `${h}h${m}m${sec}s` : m > 0 ? `${m}m${sec}s` : `${sec}s`
}

/** schedule.ParseInterval: a positive Go duration or an @-shorthand (trimmed, case-insensitive). */
function snapshotInterval(raw: unknown): string | undefined {
  if (typeof raw !== 'string') return undefined
  const trimmed = raw.trim()
  const shorthand = SNAPSHOT_SHORTHANDS[trimmed.toLowerCase()]
  if (shorthand) return shorthand
  const ms = parseDuration(trimmed)
  return ms !== undefined && ms > 0 ? goDuration(ms) : undefined
}

export async function startEmulator(opts: EmulatorOptions = {}): Promise<Emulator> {
  const now = opts.now ?? Date.now
  const jwtSecret = opts.jwtSecret ?? randomBytes(32).toString('base64url')
  if (jwtSecret.length < 32)
    throw new RangeError('jwtSecret must be at least 32 characters (DittoFS refuses to start)')
  const accessTtlSec = opts.accessTtlSec ?? 900
  const refreshTtlSec = opts.refreshTtlSec ?? 604_800
  const timers = new Timers()
  const counters: Record<string, number> = {}
  const users = new Map<string, User>()
  let adapters: StoredAdapter[] = []
  let fault: Fault | null = null
  const shares = new Set((opts.shares ?? []).map(normalizeShare))
  const policies = new Map<string, EmulatorSnapshotPolicy>()

  const resetCounters = () => {
    for (const key of Object.keys(counters)) delete counters[key]
    for (const name of COUNTER_NAMES) counters[name] = 0
  }
  const count = (name: string) => {
    counters[name] = (counters[name] ?? 0) + 1
  }
  const nowSec = () => Math.floor(now() / 1000)
  const timestamp = () => new Date(now()).toISOString()

  const addUser = (username: string, password: string, role: string, mustChangePassword: boolean): User => {
    const user = { id: randomUUID(), username, password, role, enabled: true, mustChangePassword }
    users.set(username, user)
    return user
  }
  addUser(
    ADMIN_USERNAME,
    opts.adminPassword ?? randomBytes(18).toString('base64url'),
    'admin',
    opts.adminMustChangePassword === true,
  )

  const toStored = (a: EmulatorAdapter, at: string): StoredAdapter => ({
    id: randomUUID(),
    type: a.type,
    enabled: a.enabled,
    running: a.running ?? a.enabled,
    port: a.port,
    created_at: at,
    updated_at: at,
  })
  const setAdapters = (list: EmulatorAdapter[]) => {
    const at = timestamp()
    adapters = list.map((a) => toStored(a, at))
  }
  setAdapters(DEFAULT_ADAPTERS)
  resetCounters()

  const issue = (user: User, type: TokenType, ttl: number): string => {
    const iat = nowSec()
    const claims: Claims = {
      iss: 'dittofs',
      sub: user.username,
      exp: iat + ttl,
      iat,
      uid: user.id,
      username: user.username,
      role: user.role,
      token_type: type,
    }
    if (user.mustChangePassword) claims.must_change_password = true
    return signJwt(claims, jwtSecret)
  }
  const tokenResponse = (user: User) => ({
    access_token: issue(user, 'access', accessTtlSec),
    refresh_token: issue(user, 'refresh', refreshTtlSec),
    token_type: 'Bearer',
    expires_in: accessTtlSec,
    expires_at: new Date((nowSec() + accessTtlSec) * 1000).toISOString(),
    user: userView(user),
  })

  const routes: Route[] = [
    {
      method: 'GET',
      path: ['health'],
      access: 'public',
      handle: ({ res }) =>
        sendJson(res, 200, { status: 'healthy', timestamp: timestamp(), data: { service: 'dittofs' } }),
    },
    {
      method: 'POST',
      path: ['api', 'v1', 'auth', 'login'],
      access: 'public',
      handle: ({ res, body }) => {
        const username = field(body, 'username')
        const password = field(body, 'password')
        if (username === undefined || password === undefined) {
          return sendProblem(res, 400, 'Username and password are required')
        }
        const user = users.get(username)
        if (user === undefined || !samePassword(user.password, password)) {
          count('loginFailed')
          return sendProblem(res, 401, 'Invalid username or password')
        }
        if (!user.enabled) return sendProblem(res, 403, 'User account is disabled')
        count('login')
        count(`login:${username}`)
        sendJson(res, 200, tokenResponse(user))
      },
    },
    {
      method: 'POST',
      path: ['api', 'v1', 'auth', 'refresh'],
      access: 'public',
      handle: ({ res, body }) => {
        const token = field(body, 'refresh_token')
        if (token === undefined) return sendProblem(res, 400, 'Refresh token is required')
        const verified = verifyJwt(token, jwtSecret, nowSec())
        const reject = (detail: string) => {
          count('refreshFailed')
          sendProblem(res, 401, detail)
        }
        if (verified.status === 'expired') return reject('Refresh token has expired')
        if (verified.status === 'invalid' || verified.claims.token_type !== 'refresh') {
          return reject('Invalid refresh token')
        }
        const user = users.get(verified.claims.username)
        if (user === undefined) return reject('User not found')
        if (!user.enabled) return sendProblem(res, 403, 'User account is disabled')
        count('refresh')
        sendJson(res, 200, tokenResponse(user))
      },
    },
    {
      method: 'GET',
      path: ['api', 'v1', 'auth', 'me'],
      access: 'self',
      exemptFromPasswordChange: true,
      handle: ({ res, claims }) => {
        const user = claims === undefined ? undefined : users.get(claims.username)
        if (user === undefined) return sendProblem(res, 404, 'User not found')
        sendJson(res, 200, userView(user))
      },
    },
    {
      method: 'POST',
      path: ['api', 'v1', 'users', 'me', 'password'],
      access: 'self',
      exemptFromPasswordChange: true,
      handle: ({ res, body, claims }) => {
        const user = claims === undefined ? undefined : users.get(claims.username)
        if (user === undefined) return sendProblem(res, 404, 'User not found')
        const current = field(body, 'current_password')
        const next = field(body, 'new_password')
        if (current === undefined || next === undefined) {
          return sendProblem(res, 400, 'Current and new password are required')
        }
        if (!samePassword(user.password, current))
          return sendProblem(res, 401, 'Current password is incorrect')
        user.password = next
        user.mustChangePassword = false
        sendJson(res, 200, tokenResponse(user))
      },
    },
    {
      method: 'GET',
      path: ['api', 'v1', 'users'],
      access: 'admin',
      handle: ({ res }) => sendJson(res, 200, [...users.values()].map(userView)),
    },
    {
      method: 'POST',
      path: ['api', 'v1', 'users'],
      access: 'admin',
      handle: ({ res, body }) => {
        const username = field(body, 'username')
        const password = field(body, 'password')
        const role = isRecord(body) && body.role !== undefined ? body.role : 'user'
        if (username === undefined) return sendProblem(res, 400, 'Username is required')
        if (password === undefined) return sendProblem(res, 400, 'Password is required')
        if (typeof role !== 'string' || !(ROLES as readonly string[]).includes(role)) {
          return sendProblem(res, 400, "Invalid role. Must be 'user', 'admin', or 'operator'")
        }
        if (users.has(username)) return sendProblem(res, 409, 'User already exists')
        count('usersCreate')
        sendJson(res, 201, userView(addUser(username, password, role, role === 'admin')))
      },
    },
    {
      method: 'GET',
      path: ['api', 'v1', 'users', '*'],
      access: 'self',
      handle: ({ res, params, claims }) => {
        const username = params[0] ?? ''
        if (claims?.role !== 'admin' && claims?.username !== username) {
          return sendProblem(res, 403, 'Access denied')
        }
        const user = users.get(username)
        if (user === undefined) return sendProblem(res, 404, 'User not found')
        sendJson(res, 200, userView(user))
      },
    },
    {
      method: 'DELETE',
      path: ['api', 'v1', 'users', '*'],
      access: 'admin',
      handle: ({ res, params }) => {
        const username = params[0] ?? ''
        if (username === ADMIN_USERNAME) return sendProblem(res, 403, 'Cannot delete admin user')
        if (!users.delete(username)) return sendProblem(res, 404, 'User not found')
        count('usersDelete')
        res.writeHead(204).end()
      },
    },
    {
      method: 'POST',
      path: ['api', 'v1', 'users', '*', 'password'],
      access: 'admin',
      handle: ({ res, params, body }) => {
        const next = field(body, 'new_password')
        if (next === undefined) return sendProblem(res, 400, 'New password is required')
        const user = users.get(params[0] ?? '')
        if (user === undefined) return sendProblem(res, 404, 'User not found')
        user.password = next
        user.mustChangePassword = user.role === 'admin'
        count('usersPassword')
        res.writeHead(204).end()
      },
    },
    {
      method: 'GET',
      path: ['api', 'v1', 'adapters'],
      access: 'adapters',
      handle: ({ req, res, fault, claims }) => {
        count('adaptersList')
        if (fault?.mode === 'wrongTypes') return sendJson(res, 200, WRONG_TYPES_ADAPTERS)
        if (fault?.mode === 'echoCredentials') {
          const user = claims === undefined ? undefined : users.get(claims.username)
          const token = /^bearer\s+(\S+)$/i.exec(req.headers.authorization ?? '')?.[1] ?? ''
          const signature = token.split('.')[2] ?? ''
          const echoed = [
            user?.password ?? '',
            `x-${user?.password ?? ''}`,
            signature,
            signature.slice(0, 20),
          ]
          const list = [
            ...echoed.map((type, i) => ({ type, port: 20_000 + i, enabled: true, running: true })),
            ...adapters.map(adapterView),
          ]
          return sendJson(res, 200, list)
        }
        sendJson(res, 200, adapters.map(adapterView))
      },
    },
    {
      method: 'POST',
      path: ['api', 'v1', 'adapters'],
      access: 'admin',
      handle: ({ res, body }) => {
        const type = field(body, 'type')
        if (type === undefined) return sendProblem(res, 400, 'Adapter type is required')
        if (adapters.some((a) => a.type === type)) return sendProblem(res, 409, 'Adapter already exists')
        const changes = adapterChanges(body)
        if (changes === undefined) return sendProblem(res, 400, 'Invalid request body')
        const enabled = changes.enabled ?? true
        const created = toStored({ type, port: changes.port ?? 0, enabled }, timestamp())
        if (changes.config !== undefined) created.config = changes.config
        adapters.push(created)
        sendJson(res, 201, adapterView(created))
      },
    },
    {
      method: 'GET',
      path: ['api', 'v1', 'adapters', '*'],
      access: 'admin',
      handle: ({ res, params }) => {
        const adapter = adapters.find((a) => a.type === params[0])
        if (adapter === undefined) return sendProblem(res, 404, 'Adapter not found')
        sendJson(res, 200, adapterView(adapter))
      },
    },
    {
      // Admin only, like every /adapters/{type}/... route (pkg/controlplane/api/router.go): the operator account
      // the hook polls with cannot see which optional listeners (portmapper, UDP, mDNS, WS-Discovery) are on.
      method: 'GET',
      path: ['api', 'v1', 'adapters', '*', 'settings'],
      access: 'admin',
      handle: ({ res, params }) => {
        const adapter = adapters.find((a) => a.type === params[0])
        if (adapter === undefined) return sendProblem(res, 404, 'Adapter not found')
        sendJson(res, 200, DEFAULT_SETTINGS[adapter.type] ?? {})
      },
    },
    {
      method: 'PUT',
      path: ['api', 'v1', 'adapters', '*'],
      access: 'admin',
      handle: ({ res, params, body }) => {
        const adapter = adapters.find((a) => a.type === params[0])
        if (adapter === undefined) return sendProblem(res, 404, 'Adapter not found')
        const changes = adapterChanges(body)
        if (changes === undefined) return sendProblem(res, 400, 'Invalid request body')
        if (changes.enabled !== undefined) adapter.enabled = changes.enabled
        if (changes.port !== undefined) adapter.port = changes.port
        if (changes.config !== undefined) adapter.config = changes.config
        adapter.running = adapter.enabled
        adapter.updated_at = timestamp()
        sendJson(res, 200, adapterView(adapter))
      },
    },
    {
      method: 'DELETE',
      path: ['api', 'v1', 'adapters', '*'],
      access: 'admin',
      handle: ({ res, params }) => {
        const before = adapters.length
        adapters = adapters.filter((a) => a.type !== params[0])
        if (adapters.length === before) return sendProblem(res, 404, 'Adapter not found')
        res.writeHead(204).end()
      },
    },
  ]

  // Snapshot policies: every /api/v1/shares/* route is admin-only in v0.29.0 (pkg/controlplane/api/router.go);
  // the handlers answer problem JSON (internal/controlplane/api/handlers/snapshot_policy.go).
  routes.push(
    {
      method: 'PUT',
      path: ['api', 'v1', 'shares', '*', 'snapshot-policy'],
      access: 'admin',
      handle: ({ res, params, body }) => {
        count('snapshotPolicyPut')
        const share = normalizeShare(params[0] ?? '')
        if (!isRecord(body)) return sendProblem(res, 400, 'Invalid request body')
        const interval = snapshotInterval(body.interval)
        if (interval === undefined) return sendProblem(res, 400, 'invalid interval')
        const ttl =
          body.ttl === undefined || body.ttl === '' || body.ttl === '0' ? 0 : parseDuration(String(body.ttl))
        if (ttl === undefined) return sendProblem(res, 400, 'invalid ttl')
        const keepLast = body.keep_last ?? 0
        if (typeof keepLast !== 'number' || keepLast < 0)
          return sendProblem(res, 400, 'keep_last must be >= 0')
        const prefix = body.name_prefix ?? ''
        if (typeof prefix !== 'string' || !NAME_PREFIX.test(prefix))
          return sendProblem(res, 400, 'invalid name_prefix: must match ^[A-Za-z0-9_-]{0,64}$')
        if (!shares.has(share)) return sendProblem(res, 404, 'share not found')
        const at = timestamp()
        const policy: EmulatorSnapshotPolicy = {
          share,
          enabled: body.enabled === undefined ? true : body.enabled === true,
          interval,
          keep_last: keepLast,
          ...(ttl > 0 ? { ttl: goDuration(ttl) } : {}),
          ...(prefix !== '' ? { name_prefix: prefix } : {}),
          created_at: policies.get(share)?.created_at ?? at,
          updated_at: at,
        }
        policies.set(share, policy)
        sendJson(res, 200, policy)
      },
    },
    {
      method: 'GET',
      path: ['api', 'v1', 'shares', '*', 'snapshot-policy'],
      access: 'admin',
      handle: ({ res, params }) => {
        count('snapshotPolicyGet')
        const share = normalizeShare(params[0] ?? '')
        if (!shares.has(share)) return sendProblem(res, 404, 'share not found')
        const policy = policies.get(share)
        if (policy === undefined) return sendProblem(res, 404, 'snapshot policy not found')
        sendJson(res, 200, policy)
      },
    },
    {
      method: 'GET',
      path: ['api', 'v1', 'snapshot-policies'],
      access: 'admin',
      handle: ({ res }) => sendJson(res, 200, [...policies.values()]),
    },
  )

  /** The current fault if it applies to this path; a counted fault is used up here. */
  const takeFault = (path: string): FaultMode | undefined => {
    if (fault === null || !path.startsWith(fault.pathPrefix ?? '/')) return undefined
    const taken = fault
    if (taken.count !== undefined) {
      const left = taken.count - 1
      fault = left > 0 ? { ...taken, count: left } : null
    }
    return taken
  }
  /** The auth middleware chain: JWT → must-change-password gate → role. Writes the plain-text error itself. */
  const authorize = (route: Route, req: IncomingMessage, res: ServerResponse): Claims | undefined | false => {
    if (route.access === 'public') return undefined
    const match = /^bearer\s+(\S+)$/i.exec(req.headers.authorization ?? '')
    if (match === null) return fail(res, 401, 'Authorization header required')
    const verified = verifyJwt(match[1] ?? '', jwtSecret, nowSec())
    if (verified.status !== 'ok' || verified.claims.token_type !== 'access') {
      return fail(res, 401, 'Invalid or expired token')
    }
    const claims = verified.claims
    if (claims.must_change_password === true && route.exemptFromPasswordChange !== true) {
      return fail(res, 403, PASSWORD_CHANGE_REQUIRED)
    }
    if (route.access === 'admin' && claims.role !== 'admin') return fail(res, 403, 'Admin access required')
    if (route.access === 'adapters' && claims.role !== 'admin' && claims.role !== 'operator') {
      return fail(res, 403, 'Insufficient permissions')
    }
    return claims
  }

  const dispatch = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    count('requests')
    const url = new URL(req.url ?? '/', 'http://emulator')
    const active = takeFault(url.pathname)
    if (active !== undefined && interceptWithFault(active, req, res, timers)) return
    if (active?.mode === 'latency') await timers.delay(active.ms)
    const segments = pathSegments(url.pathname)
    if (segments === undefined) return sendProblem(res, 400, 'Invalid path')
    const matching = routes.filter((r) => matchPath(r.path, segments) !== undefined)
    const route = matching.find((r) => r.method === req.method)
    if (route === undefined) {
      if (matching.length > 0) return sendText(res, 405, 'Method Not Allowed')
      return sendText(res, 404, '404 page not found')
    }
    const claims = authorize(route, req, res)
    if (claims === false) return
    const body = await readJsonBody(req)
    if (body === TOO_LARGE) return sendProblem(res, 413, 'Request body too large')
    if (body === MALFORMED) return sendProblem(res, 400, 'Invalid request body')
    route.handle({ req, res, params: matchPath(route.path, segments) ?? [], body, claims, fault: active })
  }

  const handler = (req: IncomingMessage, res: ServerResponse) => {
    dispatch(req, res).catch(() => {
      if (!res.headersSent) sendProblem(res, 500, 'Internal server error')
      else res.destroy()
    })
  }
  const tls = opts.tls
  const server = tls
    ? createHttpsServer(
        {
          cert: tls.cert,
          key: tls.key,
          ...(tls.clientCa ? { ca: tls.clientCa, requestCert: true, rejectUnauthorized: true } : {}),
        },
        handler,
      )
    : createServer(handler)
  server.on('clientError', (_error, socket) => socket.destroy())
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => resolve())
  })
  const port = (server.address() as AddressInfo).port

  return {
    url: `${tls ? 'https' : 'http'}://127.0.0.1:${port}`,
    port,
    counters,
    resetCounters,
    setAdapters,
    setFault: (next) => {
      fault = next === null ? null : { ...next }
    },
    users: () => [...users.values()].map((u) => ({ username: u.username, role: u.role })),
    setTls: (next) => {
      if (server instanceof HttpsServer)
        server.setSecureContext({
          cert: next.cert,
          key: next.key,
          ...(tls?.clientCa ? { ca: tls.clientCa } : {}),
        })
      // Connections kept alive from before still carry the old certificate; new ones get the new one.
      server.closeIdleConnections()
    },
    addShare: (name) => {
      shares.add(normalizeShare(name))
    },
    snapshotPolicies: () => [...policies.values()],
    setAdminPassword: (pw) => {
      const admin = users.get(ADMIN_USERNAME)
      if (admin !== undefined) admin.password = pw
    },
    close: async () => {
      timers.clear()
      server.closeAllConnections()
      await new Promise<void>((resolve) => server.close(() => resolve()))
    },
  }
}

function fail(res: ServerResponse, status: number, message: string): false {
  sendText(res, status, message)
  return false
}

function userView(user: User) {
  return {
    id: user.id,
    username: user.username,
    role: user.role,
    enabled: user.enabled,
    must_change_password: user.mustChangePassword,
  }
}

/** Field order as DittoFS writes it; `config` is omitted when empty. */
function adapterView(a: StoredAdapter) {
  const { config, created_at, updated_at, ...head } = a
  const hasConfig = config !== undefined && Object.keys(config).length > 0
  return { ...head, ...(hasConfig ? { config } : {}), created_at, updated_at }
}

function adapterChanges(
  body: unknown,
): { enabled?: boolean; port?: number; config?: Record<string, unknown> } | undefined {
  if (!isRecord(body)) return undefined
  const { enabled, port, config } = body
  if (enabled !== undefined && typeof enabled !== 'boolean') return undefined
  if (
    port !== undefined &&
    !(Number.isInteger(port) && (port as number) >= 0 && (port as number) <= 65_535)
  ) {
    return undefined
  }
  if (config !== undefined && !isRecord(config)) return undefined
  return {
    ...(enabled === undefined ? {} : { enabled }),
    ...(port === undefined ? {} : { port: port as number }),
    ...(config === undefined ? {} : { config }),
  }
}

function samePassword(stored: string, given: string): boolean {
  const a = Buffer.from(stored, 'utf8')
  const b = Buffer.from(given, 'utf8')
  return a.length === b.length && timingSafeEqual(a, b)
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

/** A non-empty string field of a JSON object body. */
function field(body: unknown, name: string): string | undefined {
  const value = isRecord(body) ? body[name] : undefined
  return typeof value === 'string' && value !== '' ? value : undefined
}

function pathSegments(pathname: string): string[] | undefined {
  try {
    return pathname
      .split('/')
      .filter((s) => s !== '')
      .map((s) => decodeURIComponent(s))
  } catch {
    return undefined
  }
}

function matchPath(pattern: string[], segments: string[]): string[] | undefined {
  if (pattern.length !== segments.length) return undefined
  const params: string[] = []
  for (const [i, part] of pattern.entries()) {
    const segment = segments[i] ?? ''
    if (part === '*') params.push(segment)
    else if (part !== segment) return undefined
  }
  return params
}

const TOO_LARGE = Symbol('too large')
const MALFORMED = Symbol('malformed')

/** The request body as JSON; undefined when empty. */
async function readJsonBody(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = []
  let size = 0
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length
    if (size > MAX_REQUEST_BODY) return TOO_LARGE
    chunks.push(chunk)
  }
  if (size === 0) return undefined
  try {
    return JSON.parse(Buffer.concat(chunks).toString('utf8'))
  } catch {
    return MALFORMED
  }
}
