import type { FastifyInstance } from 'fastify'
import { type AppDeps, buildApp } from '../../hooks/app.js'
import { loadSettings, type Settings } from '../../hooks/settings.js'

export const TEST_SECRET_KEY = 'test-secret-key-0123456789abcdef'

export function testSettings(env: Record<string, string> = {}): Settings {
  return loadSettings({ HOOKS_SECRET_KEY: TEST_SECRET_KEY, LOG_LEVEL: 'silent', ...env })
}

/** An app on inject() (no socket), closed when the test ends. */
export function testApp(
  t: { teardown(fn: () => unknown): void },
  env: Record<string, string> = {},
  deps: AppDeps = {},
): FastifyInstance {
  const app = buildApp(testSettings(env), deps)
  t.teardown(() => app.close())
  return app
}

export async function post(app: FastifyInstance, url: string, body: unknown) {
  const response = await app.inject({
    method: 'POST',
    url,
    headers: { 'content-type': 'application/json' },
    payload: typeof body === 'string' ? body : JSON.stringify(body),
  })
  return {
    status: response.statusCode,
    headers: response.headers,
    text: response.body,
    json: () => response.json(),
  }
}
