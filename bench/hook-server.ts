// The hook server under load, in its own process: the real buildApp with settings from the environment (as
// hooks/server.ts does), on 127.0.0.1 and a free port. Its info-level log goes to stdout, which the benchmark
// points at /dev/null. Started with --expose-gc, `memory` reports the heap after a full collection too.
import { buildApp } from '../hooks/app.js'
import { loadSettings } from '../hooks/settings.js'
import { announceReady, serveIpc } from './ipc.js'

const settings = loadSettings({ ...process.env, HOST: '127.0.0.1', PORT: '0' })
const app = buildApp(settings)
await app.listen({ host: settings.host, port: settings.port })
const address = app.server.address()
const gc = (globalThis as { gc?: () => void }).gc

serveIpc({
  memory: () => {
    const before = process.memoryUsage()
    gc?.()
    return { before, after: gc === undefined ? undefined : process.memoryUsage() }
  },
  exit: async () => {
    await app.close()
    // Let the reply go out; a --cpu-prof profile is written on a normal exit.
    setImmediate(() => process.exit(0))
  },
})
announceReady(typeof address === 'object' && address !== null ? address.port : 0)
