// HS256 JSON Web Tokens as DittoFS issues them (claims per reference/dittofs.md §4.6), with node:crypto only.
import { createHmac, timingSafeEqual } from 'node:crypto'

export type TokenType = 'access' | 'refresh'

export interface Claims {
  iss: 'dittofs'
  sub: string
  exp: number
  iat: number
  uid: string
  username: string
  role: string
  token_type: TokenType
  must_change_password?: boolean
}

export type Verified = { status: 'ok'; claims: Claims } | { status: 'expired' } | { status: 'invalid' }

const HEADER = base64url(JSON.stringify({ alg: 'HS256', typ: 'JWT' }))

function base64url(text: string): string {
  return Buffer.from(text, 'utf8').toString('base64url')
}

function signature(input: string, secret: string): Buffer {
  return createHmac('sha256', secret).update(input).digest()
}

export function signJwt(claims: Claims, secret: string): string {
  const input = `${HEADER}.${base64url(JSON.stringify(claims))}`
  return `${input}.${signature(input, secret).toString('base64url')}`
}

/** Checks algorithm, signature, issuer and expiry (expired once `nowSec` reaches `exp`, as jwt-go does). */
export function verifyJwt(token: string, secret: string, nowSec: number): Verified {
  const parts = token.split('.')
  if (parts.length !== 3) return { status: 'invalid' }
  const [header, payload, sig] = parts as [string, string, string]
  const expected = signature(`${header}.${payload}`, secret)
  const given = Buffer.from(sig, 'base64url')
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) return { status: 'invalid' }
  const head = decode(header)
  const claims = decode(payload)
  if (!isRecord(head) || head.alg !== 'HS256' || !isClaims(claims)) return { status: 'invalid' }
  if (nowSec >= claims.exp) return { status: 'expired' }
  return { status: 'ok', claims }
}

function decode(part: string): unknown {
  try {
    return JSON.parse(Buffer.from(part, 'base64url').toString('utf8'))
  } catch {
    return undefined
  }
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

function isClaims(value: unknown): value is Claims {
  return (
    isRecord(value) &&
    value.iss === 'dittofs' &&
    typeof value.sub === 'string' &&
    typeof value.exp === 'number' &&
    typeof value.role === 'string' &&
    (value.token_type === 'access' || value.token_type === 'refresh')
  )
}
