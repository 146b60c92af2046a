import type { FastifyInstance } from 'fastify'
import { type AppDeps, buildApp } from '../../hooks/app.js'
import { loadSettings, type Settings } from '../../hooks/settings.js'
import { answerProblems } from './apimachinery.js'

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

/**
 * Throws when a 200 sync or finalize answer breaks a rule the API server or Metacontroller enforces (see
 * apimachinery.ts): every test that posts through here checks every answer it gets.
 */
export function assertValidAnswer(url: string, status: number, request: unknown, text: string): void {
  if (status !== 200 || (url !== '/sync' && url !== '/finalize')) return
  const parsed = typeof request === 'string' ? safeParse(request) : request
  const problems = answerProblems(parsed, safeParse(text))
  if (problems.length > 0)
    throw new Error(`the ${url} answer breaks API server rules:\n${problems.join('\n')}`)
}

function safeParse(text: string): unknown {
  try {
    return JSON.parse(text)
  } catch {
    return undefined
  }
}

export async function post(app: FastifyInstance, url: string, body: unknown) {
  const response = await app.inject({
    method: 'POST',
    url,
    headers: { 'content-type': 'application/json' },
    payload: typeof body === 'string' ? body : JSON.stringify(body),
  })
  assertValidAnswer(url, response.statusCode, body, response.body)
  return {
    status: response.statusCode,
    headers: response.headers,
    text: response.body,
    json: () => response.json(),
  }
}
