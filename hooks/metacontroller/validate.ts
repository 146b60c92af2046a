import { Ajv, type ErrorObject } from 'ajv'
import type { CustomizeRequest, SyncRequest } from './types.js'

// Request validation with our own ajv: no coercion, no defaults, no removal — the body reaches the hook exactly
// as Metacontroller sent it. Schemas are open (Metacontroller adds fields across versions) but insist on what the
// hook relies on. There is deliberately no response schema: fast-json-stringify would drop unlisted child fields.

const NAME = { type: 'string', minLength: 1, maxLength: 253 } as const

const kubeObject = {
  type: 'object',
  required: ['apiVersion', 'kind', 'metadata'],
  properties: {
    apiVersion: { type: 'string', minLength: 1 },
    kind: { type: 'string', minLength: 1 },
    metadata: { type: 'object', required: ['name'], properties: { name: NAME } },
  },
} as const

const objectMap = {
  type: 'object',
  additionalProperties: { type: 'object', additionalProperties: kubeObject },
} as const

const parent = {
  type: 'object',
  required: ['apiVersion', 'kind', 'metadata'],
  properties: {
    apiVersion: { const: 'dittofs.dittofs.com/v1alpha1' },
    kind: { const: 'DittoServer' },
    metadata: {
      type: 'object',
      required: ['name', 'namespace', 'uid'],
      properties: {
        // Any name the API server stores (a DNS subdomain); one no child can carry is an InvalidSpec, not a 400.
        name: {
          type: 'string',
          pattern: '^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$',
          maxLength: 253,
        },
        namespace: { type: 'string', pattern: '^[a-z0-9]([-a-z0-9]*[a-z0-9])?$', maxLength: 63 },
        uid: { type: 'string', minLength: 1, maxLength: 128 },
        generation: { type: 'integer' },
        deletionTimestamp: { type: 'string' },
      },
    },
  },
} as const

const syncSchema = {
  type: 'object',
  required: ['parent', 'children'],
  properties: {
    controller: { type: 'object' },
    parent,
    children: objectMap,
    related: objectMap,
    finalizing: { type: 'boolean' },
  },
} as const

const customizeSchema = {
  type: 'object',
  required: ['parent'],
  properties: { controller: { type: 'object' }, parent },
} as const

/**
 * Deeper than any Kubernetes object gets. The answer nests parts of the request a few levels deeper still, and
 * JSON.stringify (like every recursive walk) overflows the stack a few thousand levels down: a 500 for ever.
 */
export const MAX_NESTING = 512

/**
 * What one walk over a parsed body can find wrong: nesting beyond `max`, or a key that could pollute a prototype
 * if the body were ever merged into another object. The keys are the ones Fastify's default JSON parser refuses
 * (`__proto__` anywhere; `constructor` holding an object with `prototype`); the hook parses with plain
 * JSON.parse and checks them here, in the walk it does anyway, instead of scanning the text twice more with
 * regular expressions (bench/README.md).
 */
export type BodyProblem = 'too-deep' | '__proto__' | 'constructor.prototype'

/** The first problem in `value`, or undefined. Recursion depth is bounded by `max` (512 frames at most). */
export function bodyProblem(value: unknown, max: number): BodyProblem | undefined {
  return value !== null && typeof value === 'object' ? walk(value, max) : undefined
}

/** Allocation-free walk (this runs on every request): no tuple or key array per node. */
function walk(node: object, left: number): BodyProblem | undefined {
  if (left === 0) return 'too-deep'
  if (Array.isArray(node)) {
    for (const child of node) {
      if (child !== null && typeof child === 'object') {
        const problem = walk(child, left - 1)
        if (problem !== undefined) return problem
      }
    }
    return undefined
  }
  // JSON-parsed objects have no inherited enumerable keys, so for…in sees exactly their own; JSON.parse makes
  // `__proto__` an ordinary own key, which for…in lists.
  for (const key in node) {
    if (key === '__proto__') return '__proto__'
    const child = (node as Record<string, unknown>)[key]
    if (child !== null && typeof child === 'object') {
      if (key === 'constructor' && Object.hasOwn(child, 'prototype')) return 'constructor.prototype'
      const problem = walk(child, left - 1)
      if (problem !== undefined) return problem
    }
  }
  return undefined
}

// A switch, not an object literal: a literal's `__proto__:` key would set its prototype instead of a property.
function describeProblem(problem: BodyProblem): string {
  switch (problem) {
    case 'too-deep':
      return `request body nests objects or arrays more than ${MAX_NESTING} levels deep`
    case '__proto__':
      return 'request body has a "__proto__" key, which is refused (prototype pollution)'
    case 'constructor.prototype':
      return 'request body has a "constructor" key holding a "prototype", which is refused (prototype pollution)'
  }
}

const ajv = new Ajv({ allErrors: false, coerceTypes: false, useDefaults: false, removeAdditional: false })
const syncValidator = ajv.compile(syncSchema)
const customizeValidator = ajv.compile(customizeSchema)

/** `body.parent.metadata.name must match pattern …`: the first error, naming the field. */
const describe = (error: ErrorObject | undefined): string => {
  if (!error) return 'request body is invalid'
  // JSON-pointer segments unescaped: `StatefulSet.apps/v1`, not `StatefulSet.apps~1v1`.
  const path = [
    'body',
    ...error.instancePath
      .split('/')
      .slice(1)
      .map((s) => s.replaceAll('~1', '/').replaceAll('~0', '~')),
  ]
  if (error.keyword === 'required') path.push(String(error.params.missingProperty))
  const message = error.keyword === 'required' ? 'is required' : error.message
  const allowed = error.keyword === 'const' ? ` ${JSON.stringify(error.params.allowedValue)}` : ''
  return `${path.join('.')} ${message}${allowed}`
}

export type Validated<T> = { ok: true; value: T } | { ok: false; problem: string }

export function validateSync(body: unknown): Validated<SyncRequest> {
  const problem = bodyProblem(body, MAX_NESTING)
  if (problem !== undefined) return { ok: false, problem: describeProblem(problem) }
  if (!syncValidator(body)) return { ok: false, problem: describe(syncValidator.errors?.[0]) }
  const request = body as unknown as SyncRequest
  return {
    ok: true,
    value: Object.assign({}, request, {
      related: request.related ?? {},
      finalizing: request.finalizing === true,
    }),
  }
}

export function validateCustomize(body: unknown): Validated<CustomizeRequest> {
  const problem = bodyProblem(body, MAX_NESTING)
  if (problem !== undefined) return { ok: false, problem: describeProblem(problem) }
  if (!customizeValidator(body)) return { ok: false, problem: describe(customizeValidator.errors?.[0]) }
  return { ok: true, value: body as unknown as CustomizeRequest }
}
