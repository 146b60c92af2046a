/**
 * A fake hook server whose answers a test scripts: a real Fastify app on 127.0.0.1, port 0. It records every call
 * and replies with whatever the handler returns (any status, raw text, headers, or a hang until the
 * client gives up). Used to test the simulator itself; scenarios drive the real hook server instead.
 */

import Fastify, { type FastifyInstance } from 'fastify'

export interface ScriptedCall {
  /** `/sync`, `/finalize`, `/customize` ... */
  path: string
  body: Record<string, unknown>
}

export interface ScriptedReply {
  /** Default 200. */
  status?: number
  /** Sent as JSON (ignored when `raw` is set). */
  body?: unknown
  /** Sent as-is, e.g. to answer something that is not JSON. */
  raw?: string
  headers?: Record<string, string>
  /** Never answer: hold the request until the client disconnects (to test timeouts). */
  hang?: boolean
}

export type ScriptedHandler = (call: ScriptedCall) => ScriptedReply | Promise<ScriptedReply>

export interface ScriptedHook {
  baseUrl: string
  calls: ScriptedCall[]
  /** Calls to one path. */
  callsTo(path: string): ScriptedCall[]
  close(): Promise<void>
}

export async function startScriptedHook(handler: ScriptedHandler): Promise<ScriptedHook> {
  const calls: ScriptedCall[] = []
  const app: FastifyInstance = Fastify({ bodyLimit: 64 * 1024 * 1024, forceCloseConnections: true })
  app.post('/*', async (request, reply) => {
    const call: ScriptedCall = { path: request.url, body: request.body as Record<string, unknown> }
    calls.push(call)
    const answer = await handler(call)
    if (answer.hang) {
      await new Promise<void>((resolve) => reply.raw.once('close', () => resolve()))
      return reply
    }
    reply.code(answer.status ?? 200)
    for (const [name, value] of Object.entries(answer.headers ?? {})) reply.header(name, value)
    if (answer.raw !== undefined) return reply.type('application/json').send(answer.raw)
    return reply.type('application/json').send(JSON.stringify(answer.body ?? {}))
  })
  const address = await app.listen({ host: '127.0.0.1', port: 0 })
  return {
    baseUrl: address,
    calls,
    callsTo: (path) => calls.filter((call) => call.path === path),
    close: () => app.close(),
  }
}
