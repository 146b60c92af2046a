import sensible from '@fastify/sensible'
import Fastify, { errorCodes, type FastifyInstance, type FastifyServerOptions, LogController } from 'fastify'
import { Discovery } from './discovery/discovery.js'
import { PollSchedule } from './discovery/schedule.js'
import { createMetrics } from './metrics.js'
import { HookService } from './reconcile/service.js'
import { hookRoutes } from './routes/hooks.js'
import { sendProblem } from './routes/problem.js'
import { hookPeer, type Settings } from './settings.js'

// buildApp wires settings and dependencies into a Fastify instance with every route, without listening: tests
// use it through inject() or listen on port 0; server.ts adds the process concerns (signals, listen).

export interface AppDeps {
  /** Clock in ms since epoch; the Metacontroller simulator injects a virtual one. */
  now?: () => number
  discovery?: Discovery
  schedule?: PollSchedule
  /** Logger options (e.g. a destination `stream`, a level); redaction of REDACT_PATHS always applies. */
  logger?: FastifyServerOptions['logger']
}

/** Log paths that could ever hold a credential; pino replaces them with "[redacted]". */
export const REDACT_PATHS = [
  'req.headers.authorization',
  'req.headers.cookie',
  '*.password',
  '*.token',
  '*.access_token',
  '*.refresh_token',
  '*.data',
  // got errors carry their request options (headers, body) under whatever key they are logged with.
  '*.options',
  '*.headers.authorization',
  '*.headers.cookie',
]

/** Fastify's own errors and messages for an empty or malformed JSON body (400, without echoing the body). */
function parseJson(
  _request: unknown,
  body: string | Buffer,
  done: (error: Error | null, value?: unknown) => void,
) {
  if (body.length === 0) return done(new errorCodes.FST_ERR_CTP_EMPTY_JSON_BODY())
  let value: unknown
  try {
    value = JSON.parse(body as string)
  } catch {
    return done(new errorCodes.FST_ERR_CTP_INVALID_JSON_BODY())
  }
  done(null, value)
}

export function buildApp(settings: Settings, deps: AppDeps = {}): FastifyInstance {
  const now = deps.now ?? Date.now
  const redact = { paths: REDACT_PATHS, censor: '[redacted]' }
  const logger =
    deps.logger === undefined || deps.logger === true
      ? { level: settings.logLevel, redact }
      : deps.logger === false
        ? false
        : { level: settings.logLevel, ...deps.logger, redact }
  const app = Fastify({
    logger,
    bodyLimit: settings.bodyLimitBytes,
    // Metacontroller's Go client keeps idle connections for 90 s: outlive it so it never reuses a closed socket.
    keepAliveTimeout: 95_000,
    requestTimeout: 30_000,
    // One line per hook call is written by the hook routes themselves (with parent, outcome and duration).
    logController: new LogController({ disableRequestLogging: true }),
  })
  // Plain JSON.parse. Fastify's default parser also scans the whole text with two regular expressions for
  // prototype-polluting keys: 7 % of a 45 KB sync's CPU (bench/README.md). The hook routes refuse the same keys
  // while validating, in the walk over the parsed body they do anyway (metacontroller/validate.ts), and no other
  // route reads a body.
  app.removeContentTypeParser('application/json')
  app.addContentTypeParser('application/json', { parseAs: 'string' }, parseJson)
  const discovery = deps.discovery ?? new Discovery({ timeoutMs: settings.apiTimeoutMs, now, log: app.log })
  const schedule = deps.schedule ?? new PollSchedule()
  const metrics = createMetrics({
    discoveryCounters: () => ({ ...discovery.counters() }),
    scheduleSize: () => schedule.size(),
  })
  const service = new HookService({
    discovery,
    schedule,
    apiUrlTemplate: settings.apiUrlTemplate,
    secretKey: settings.secretKey,
    hookPeer: hookPeer(settings.hooksNamespace),
    specPolicy: { allowLooserSecurity: settings.allowLooserSecurity },
    optionalChildren: settings.optionalChildren,
    now,
    onPoll: (outcome) => metrics.observePoll(outcome.ok ? 'ok' : outcome.reason),
  })
  let closing = false

  app.register(sensible)
  app.setErrorHandler((error: { statusCode?: number; message?: string }, request, reply) => {
    const status =
      typeof error.statusCode === 'number' && error.statusCode >= 400 && error.statusCode < 500
        ? error.statusCode
        : 500
    if (status === 500) request.log.error({ err: error }, 'unexpected error')
    // Fastify's 4xx messages name the problem (body too large, invalid JSON) without echoing the body.
    return sendProblem(
      reply,
      status,
      status === 500 ? 'internal error; see the hook server log' : (error.message ?? 'bad request'),
    )
  })
  app.setNotFoundHandler((request, reply) =>
    sendProblem(
      reply,
      404,
      `no route ${request.method} ${request.url.split('?')[0]}; hooks are POST /sync, /finalize, /customize`,
    ),
  )
  app.addHook('preClose', async () => {
    closing = true
  })

  app.register(hookRoutes, {
    service,
    metrics,
    requestDeadlineMs: settings.requestDeadlineMs,
    maxInFlight: settings.maxInFlight,
  })
  app.get('/healthz', { logLevel: 'silent' }, async () => ({ status: 'ok' }))
  app.get('/readyz', { logLevel: 'silent' }, async (_request, reply) =>
    closing ? sendProblem(reply, 503, 'shutting down') : { status: 'ready' },
  )
  app.get('/metrics', { logLevel: 'silent' }, async (_request, reply) =>
    reply.type(metrics.registry.contentType).send(await metrics.registry.metrics()),
  )
  return app
}
