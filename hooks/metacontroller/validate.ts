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
        name: { type: 'string', pattern: '^[a-z0-9]([-a-z0-9]*[a-z0-9])?$', maxLength: 253 },
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

/** Whether objects and arrays in `value` nest more than `max` levels deep (`max` 512 keeps recursion shallow). */
export function nestedDeeperThan(value: unknown, max: number): boolean {
  return value !== null && typeof value === 'object' && deeper(value, max)
}

/** Allocation-free walk (this runs on every request): no tuple or key array per node. */
function deeper(node: object, left: number): boolean {
  if (left === 0) return true
  if (Array.isArray(node)) {
    for (const child of node)
      if (child !== null && typeof child === 'object' && deeper(child, left - 1)) return true
    return false
  }
  // JSON-parsed objects have no inherited enumerable keys, so for…in sees exactly their own.
  for (const key in node) {
    const child = (node as Record<string, unknown>)[key]
    if (child !== null && typeof child === 'object' && deeper(child, left - 1)) return true
  }
  return false
}

const tooDeep = `request body nests objects or arrays more than ${MAX_NESTING} levels deep`

const ajv = new Ajv({ allErrors: false, coerceTypes: false, useDefaults: false, removeAdditional: false })
const syncValidator = ajv.compile(syncSchema)
const customizeValidator = ajv.compile(customizeSchema)

/** `body.parent.metadata.name must match pattern …`: the first error, naming the field. */
const describe = (error: ErrorObject | undefined): string => {
  if (!error) return 'request body is invalid'
  const path = ['body', ...error.instancePath.split('/').slice(1)]
  if (error.keyword === 'required') path.push(String(error.params.missingProperty))
  const message = error.keyword === 'required' ? 'is required' : error.message
  const allowed = error.keyword === 'const' ? ` ${JSON.stringify(error.params.allowedValue)}` : ''
  return `${path.join('.')} ${message}${allowed}`
}

export type Validated<T> = { ok: true; value: T } | { ok: false; problem: string }

export function validateSync(body: unknown): Validated<SyncRequest> {
  if (nestedDeeperThan(body, MAX_NESTING)) return { ok: false, problem: tooDeep }
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
  if (nestedDeeperThan(body, MAX_NESTING)) return { ok: false, problem: tooDeep }
  if (!customizeValidator(body)) return { ok: false, problem: describe(customizeValidator.errors?.[0]) }
  return { ok: true, value: body as unknown as CustomizeRequest }
}
