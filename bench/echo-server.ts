// The baseline: a bare Fastify server with the hook server's body limit, timeouts and logging (info level, one
// line per call, to stdout = /dev/null), answering POST /sync with a small JSON computed from the body, like
// reference/tools/bench-server.mjs 'plain'. The difference to the hook server is the hook's own work.
// With ECHO_ANSWER_FILE it answers that JSON instead (the hook's real ~10 KB answer, serialised on every call):
// a reference that separates the cost of a large answer from the cost of the hook's logic (reported, no target).
import { readFileSync } from 'node:fs'
import Fastify, { LogController } from 'fastify'
import { loadSettings } from '../hooks/settings.js'
import { announceReady, serveIpc } from './ipc.js'

type Body = {
  parent?: { metadata?: { name?: string; namespace?: string; generation?: number } }
  children?: Record<string, Record<string, unknown>>
}

const sizedAnswer: unknown = process.env.ECHO_ANSWER_FILE
  ? JSON.parse(readFileSync(process.env.ECHO_ANSWER_FILE, 'utf8'))
  : undefined
const settings = loadSettings({ ...process.env, HOST: '127.0.0.1', PORT: '0' })
const app = Fastify({
  logger: { level: settings.logLevel },
  bodyLimit: settings.bodyLimitBytes,
  keepAliveTimeout: 95_000,
  requestTimeout: 30_000,
  logController: new LogController({ disableRequestLogging: true }),
})

app.post('/sync', async (request) => {
  const started = process.hrtime.bigint()
  const body = request.body as Body
  const children = Object.values(body.children ?? {}).reduce((n, group) => n + Object.keys(group).length, 0)
  const meta = body.parent?.metadata
  const answer = sizedAnswer ?? {
    status: { observedGeneration: meta?.generation ?? 0, children },
    children: [],
  }
  const ms = Number(process.hrtime.bigint() - started) / 1e6
  request.log.info(
    { hook: 'sync', parent: `${meta?.namespace}/${meta?.name}`, outcome: 'ok', statusCode: 200, ms },
    'hook call',
  )
  return answer
})

await app.listen({ host: settings.host, port: settings.port })
const address = app.server.address()

serveIpc({
  exit: async () => {
    await app.close()
    setImmediate(() => process.exit(0))
  },
})
announceReady(typeof address === 'object' && address !== null ? address.port : 0)
