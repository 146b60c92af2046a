// Secret hygiene helpers: which values are credentials for the test parent, and a check that none of them (in any
// of the forms they travel in) appears in a text, except where Kubernetes keeps them (a Secret child's `data`).
import { deriveSecret } from '../../hooks/children/secrets.js'
import type { SyncResponse } from '../../hooks/metacontroller/types.js'
import { TEST_SECRET_KEY } from './app.js'
import { PARENT_UID } from './requests.js'

/** Anything shaped like a JWT: `eyJ…` header, a payload, optionally a signature. */
export const JWT = /eyJ[A-Za-z0-9_-]{2,}\.[A-Za-z0-9_-]{2,}/

export const derivedSecrets = (uid = PARENT_UID) => ({
  jwtSecret: deriveSecret(Buffer.from(TEST_SECRET_KEY), uid, 'jwt-secret'),
  adminPassword: deriveSecret(Buffer.from(TEST_SECRET_KEY), uid, 'admin-password'),
  operatorPassword: deriveSecret(Buffer.from(TEST_SECRET_KEY), uid, 'operator-password'),
})

const escaped = (text: string) => JSON.stringify(text).slice(1, -1)

/** The forms a secret travels in: as is, base64 (Secret data), JSON-escaped once or twice, URL-encoded. */
export function formsOf(secret: string): string[] {
  return [
    ...new Set([
      secret,
      Buffer.from(secret).toString('base64'),
      escaped(secret),
      escaped(escaped(secret)),
      encodeURIComponent(secret),
    ]),
  ]
}

/** The names of the secrets whose value (in any form) occurs in `text`, plus `JWT` for a token-shaped string. */
export function leakedIn(text: string, secrets: Record<string, string>): string[] {
  const leaks = Object.entries(secrets)
    .filter(([, value]) => formsOf(value).some((form) => text.includes(form)))
    .map(([name]) => name)
  if (JWT.test(text)) leaks.push('JWT')
  return leaks
}

/** A hook answer as text with the Secret children's `data` blanked: the only place credentials belong. */
export function withoutSecretData(response: SyncResponse | Record<string, unknown>): string {
  const children = (response as SyncResponse).children
  if (!Array.isArray(children)) return JSON.stringify(response)
  return JSON.stringify({
    ...response,
    children: children.map((c) => (c.kind === 'Secret' ? { ...c, data: '[secret data]' } : c)),
  })
}
