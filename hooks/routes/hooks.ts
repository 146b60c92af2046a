import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { validateCustomize, validateSync } from '../metacontroller/validate.js'
import type { HookMetrics, HookName, Outcome } from '../metrics.js'
import { type Condition, findCondition } from '../reconcile/conditions.js'
import { describeErrors, UnprocessableSpecError } from '../reconcile/invalid.js'
import type { HookService } from '../reconcile/service.js'
import { sendProblem } from './problem.js'

// Thin HTTP layer: validate → call the service → reply exactly 200 with the complete answer, or an error status
// (Metacontroller keeps every child on a non-200 and retries). Never a partial 200.

export interface HookRouteOptions {
  service: HookService
  metrics: HookMetrics
  requestDeadlineMs: number
  maxInFlight: number
}

class DeadlineExceeded extends Error {}

function withDeadline<T>(work: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new DeadlineExceeded()), ms)
  })
  return Promise.race([work, deadline]).finally(() => clearTimeout(timer))
}

/** Only what could be a Kubernetes name is logged: a request that failed validation may carry anything there. */
const loggable = (value: unknown): value is string =>
  typeof value === 'string' && value.length <= 253 && /^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/.test(value)

const parentOf = (body: unknown): string => {
  const meta = (body as { parent?: { metadata?: { namespace?: unknown; name?: unknown } } } | null)?.parent
    ?.metadata
  // Never String() of what was sent: an object whose `toString` is not callable throws, a deep array overflows.
  const namespace = loggable(meta?.namespace) ? meta.namespace : ''
  return loggable(meta?.name) ? `${namespace}/${meta.name}` : '-'
}

export async function hookRoutes(app: FastifyInstance, options: HookRouteOptions): Promise<void> {
  const { service, metrics, requestDeadlineMs, maxInFlight } = options
  let inFlight = 0
  // The per-call line holds only values built here (a literal hook and outcome, a validated name, numbers), so it
  // skips redaction, which cost more than the rest of the line (bench/README.md). Every other line keeps it.
  const callLog = app.log.child({}, { redact: [] })

  const handle =
    (hook: HookName, run: (body: unknown) => Promise<{ outcome: Outcome; body: unknown }>) =>
    async (request: FastifyRequest, reply: FastifyReply) => {
      const started = process.hrtime.bigint()
      let outcome: Outcome = 'error'
      const finish = (status: number) => {
        const seconds = Number(process.hrtime.bigint() - started) / 1e9
        metrics.observeHook(hook, outcome, seconds)
        callLog.info(
          {
            reqId: request.id,
            hook,
            parent: parentOf(request.body),
            outcome,
            statusCode: status,
            ms: Math.round(seconds * 1e4) / 10,
          },
          'hook call',
        )
      }
      if (inFlight >= maxInFlight) {
        outcome = 'overloaded'
        finish(429)
        return sendProblem(
          reply.header('retry-after', '1'),
          429,
          `more than ${maxInFlight} hook calls in flight`,
        )
      }
      inFlight++
      metrics.inFlight.inc()
      try {
        const result = await withDeadline(run(request.body), requestDeadlineMs)
        outcome = result.outcome
        if (outcome === 'invalid_request') {
          finish(400)
          return sendProblem(reply, 400, String(result.body))
        }
        finish(200)
        return reply.code(200).send(result.body)
      } catch (error) {
        if (error instanceof UnprocessableSpecError) {
          outcome = 'unprocessable'
          finish(422)
          const detail = `${describeErrors(error.errors)}; the children ${error.unknownChildren.join(', ')} carry no last-applied configuration, so they cannot be kept unchanged`
          return sendProblem(reply, 422, detail)
        }
        if (error instanceof DeadlineExceeded) {
          outcome = 'deadline'
          finish(503)
          return sendProblem(reply, 503, `the ${hook} hook did not finish within ${requestDeadlineMs} ms`)
        }
        outcome = 'error'
        finish(500)
        request.log.error({ hook, parent: parentOf(request.body), err: error }, 'hook failed')
        return sendProblem(reply, 500, `the ${hook} hook failed; see the hook server log`)
      } finally {
        inFlight--
        metrics.inFlight.dec()
      }
    }

  const syncLike = (hook: 'sync' | 'finalize') =>
    handle(hook, async (body) => {
      const parsed = validateSync(body)
      if (!parsed.ok) return { outcome: 'invalid_request', body: parsed.problem }
      const response = await service.sync(parsed.value)
      // Ready is always the hook's own verdict; other conditions may carry reasons over from the user-writable status.
      const ready = findCondition((response.status.conditions as Condition[] | undefined) ?? [], 'Ready')
      return { outcome: ready?.reason === 'InvalidSpec' ? 'invalid_spec' : 'ok', body: response }
    })

  // Both paths accept both kinds of call: Metacontroller's docs suggest pointing sync and finalize at one URL.
  app.post('/sync', syncLike('sync'))
  app.post('/finalize', syncLike('finalize'))
  app.post(
    '/customize',
    handle('customize', async (body) => {
      const parsed = validateCustomize(body)
      if (!parsed.ok) return { outcome: 'invalid_request', body: parsed.problem }
      return { outcome: 'ok', body: service.customize(parsed.value) }
    }),
  )
}
