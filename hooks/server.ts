import closeWithGrace from 'close-with-grace'
import { buildApp } from './app.js'
import { loadSettings, SettingsError } from './settings.js'

// Process entry: settings → app → listen. SIGTERM/SIGINT: readiness turns 503, in-flight hook calls finish, then
// the process exits (node as PID 1 would otherwise ignore SIGTERM).

let settings: ReturnType<typeof loadSettings>
try {
  settings = loadSettings()
} catch (error) {
  if (!(error instanceof SettingsError)) throw error
  process.stderr.write(`dittofs-hooks: invalid configuration: ${error.message}\n`)
  process.exit(78)
}

const app = buildApp(settings)
if (settings.ephemeralSecretKey) {
  app.log.warn(
    'HOOKS_SECRET_KEY is not set: using an ephemeral key. Generated DittoFS secrets are kept once created, but a new ' +
      'DittoServer created by two hook processes could get different values. Set HOOKS_SECRET_KEY in production.',
  )
}

closeWithGrace({ delay: 10_000 }, async ({ signal, err }) => {
  if (err) app.log.error({ err }, 'shutting down after an error')
  else app.log.info({ signal }, 'shutting down')
  await app.close()
})

await app.listen({ port: settings.port, host: settings.host })
