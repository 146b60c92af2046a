// Reproducible fuzzing helpers: a seeded PRNG, structural mutations of JSON values, raw-text mutations of a
// serialized request, and the oracle checks every hook answer must pass whatever the input was.

export type Json = null | boolean | number | string | Json[] | { [key: string]: Json }
type Path = Array<string | number>

/** mulberry32: a tiny 32-bit PRNG, good enough to pick mutations and reproducible from one seed. */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let r = Math.imul(a ^ (a >>> 15), 1 | a)
    r = (r + Math.imul(r ^ (r >>> 7), 61 | r)) ^ r
    return ((r ^ (r >>> 14)) >>> 0) / 4294967296
  }
}

export class Rng {
  readonly #next: () => number
  constructor(seed: number) {
    this.#next = mulberry32(seed)
  }
  float(): number {
    return this.#next()
  }
  /** An integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.#next() * n)
  }
  chance(p: number): boolean {
    return this.#next() < p
  }
  pick<T>(items: readonly T[]): T {
    return items[this.int(items.length)] as T
  }
}

export const PROTO_KEYS = ['__proto__', 'constructor', 'prototype'] as const

/** Sets an own, enumerable property, even `__proto__` (so JSON.stringify writes it as a plain key). */
export function setOwn(target: Record<string, unknown>, key: string, value: unknown): void {
  Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true })
}

const isObject = (v: unknown): v is Record<string, Json> => !!v && typeof v === 'object' && !Array.isArray(v)

/** `depth` levels of arrays or objects around `leaf`, built iteratively. */
export function deepNest(depth: number, leaf: Json, kind: 'array' | 'object' = 'array'): Json {
  let value: Json = leaf
  for (let i = 0; i < depth; i++) value = kind === 'array' ? [value] : { n: value }
  return value
}

/** The same nesting as raw JSON text, for bodies too deep to build as values cheaply. */
export function deepNestText(depth: number, leaf = '1'): string {
  return '['.repeat(depth) + leaf + ']'.repeat(depth)
}

/** Every path to a container or leaf, breadth first, at most `limit` of them (big requests stay cheap). */
export function paths(root: Json, limit = 4000): Path[] {
  const out: Path[] = []
  const queue: Array<[Json, Path]> = [[root, []]]
  for (let i = 0; i < queue.length && out.length < limit; i++) {
    const [node, path] = queue[i] as [Json, Path]
    out.push(path)
    if (path.length > 40) continue
    if (Array.isArray(node)) {
      for (const [index, child] of node.entries()) queue.push([child, [...path, index]])
    } else if (isObject(node)) {
      for (const key of Object.keys(node)) queue.push([node[key] as Json, [...path, key]])
    }
  }
  return out
}

export function getAt(root: Json, path: Path): Json | undefined {
  let node: Json | undefined = root
  for (const key of path) {
    if (node === null || typeof node !== 'object') return undefined
    node = (node as Record<string, Json>)[key as string]
  }
  return node
}

function setAt(root: Json, path: Path, value: Json | undefined): Json | undefined {
  if (path.length === 0) return value
  const parentNode = getAt(root, path.slice(0, -1))
  const key = path[path.length - 1] as string | number
  if (Array.isArray(parentNode)) {
    if (value === undefined) parentNode.splice(Number(key), 1)
    else parentNode[Number(key)] = value
  } else if (isObject(parentNode)) {
    if (value === undefined) delete parentNode[key as string]
    else setOwn(parentNode, String(key), value)
  }
  return root
}

const UNICODE_SAMPLES = [
  'ditto-\u{1F4A9}',
  '\u202Eevil\u202C',
  'zero\u200Bwidth',
  'Ǆǅǆ',
  '\u0000nul',
  '\uD800',
  'a/b',
  '../../etc/passwd',
  'ns/other',
  'name.with.dots',
  'UPPER',
  ' ',
  '',
  // biome-ignore lint/suspicious/noTemplateCurlyInString: a log4shell-style string is the point
  '${jndi:ldap://x}',
  '{{template}}',
  'http://169.254.169.254/',
  '\n\r\t',
]

/** A value of another JSON type than `current`. */
function otherType(rng: Rng, current: Json | undefined): Json {
  const choices: Json[] = [
    'text',
    0,
    -1,
    1.5,
    65_536,
    2 ** 53 + 2,
    1e308,
    true,
    false,
    null,
    [],
    {},
    [null, 1, 'x'],
    { name: 'x' },
    // String() of these throws: a classic crash in code that formats values it did not check.
    { toString: 'x', valueOf: 'y' },
    [{ toString: 1 }],
    rng.pick(UNICODE_SAMPLES),
  ]
  const candidates = choices.filter(
    (c) => typeof c !== typeof current || Array.isArray(c) !== Array.isArray(current),
  )
  return structuredClone(rng.pick(candidates))
}

const HUGE = ['x', '\u{1F4A9}', 'é', '"\\']

export type ValueMutation =
  | 'swapType'
  | 'remove'
  | 'null'
  | 'hugeString'
  | 'deepNest'
  | 'protoKey'
  | 'unicode'
  | 'number'
  | 'renameKey'
  | 'emptyContainer'

const VALUE_MUTATIONS: ValueMutation[] = [
  'swapType',
  'swapType',
  'remove',
  'remove',
  'null',
  'hugeString',
  'deepNest',
  'protoKey',
  'protoKey',
  'unicode',
  'number',
  'renameKey',
  'emptyContainer',
]

/**
 * One structural mutation at a random path; paths under `focus` (e.g. the parent's spec) are preferred.
 * Mutates `root` in place (pass a clone) and returns the new root and a description for failure reports.
 */
export function mutateValue(rng: Rng, root: Json, focus: Path[] = []): { root: Json; note: string } {
  const all = paths(root)
  let candidates = all
  if (focus.length > 0 && rng.chance(0.6)) {
    const prefix = rng.pick(focus)
    const focused = all.filter((p) => prefix.every((k, i) => p[i] === k))
    if (focused.length > 0) candidates = focused
  }
  const path = rng.pick(candidates)
  const current = getAt(root, path)
  const kind = rng.pick(VALUE_MUTATIONS)
  const where = `/${path.join('/')}`
  switch (kind) {
    case 'swapType':
      return { root: setAt(root, path, otherType(rng, current)) ?? null, note: `swapType ${where}` }
    case 'remove':
      return { root: setAt(root, path, undefined) ?? null, note: `remove ${where}` }
    case 'null':
      return { root: setAt(root, path, null) ?? null, note: `null ${where}` }
    case 'hugeString': {
      const size = rng.pick([1024, 16 * 1024, 128 * 1024])
      return {
        root: setAt(root, path, rng.pick(HUGE).repeat(size)) ?? null,
        note: `hugeString(${size}) ${where}`,
      }
    }
    case 'deepNest': {
      const depth = rng.pick([50, 600, 10_000])
      const nested = deepNest(depth, current ?? null, rng.chance(0.5) ? 'array' : 'object')
      return { root: setAt(root, path, nested) ?? null, note: `deepNest(${depth}) ${where}` }
    }
    case 'protoKey': {
      const target = isObject(current) ? current : null
      const key = rng.pick(PROTO_KEYS)
      const payload: Json = rng.chance(0.5) ? { polluted: 'yes', prototype: { polluted: 'yes' } } : 'polluted'
      if (target) {
        setOwn(target, key, payload)
        return { root, note: `protoKey ${key} in ${where}` }
      }
      const holder: Record<string, Json> = {}
      setOwn(holder, key, payload)
      return { root: setAt(root, path, holder) ?? null, note: `protoKey ${key} as ${where}` }
    }
    case 'unicode': {
      const text = rng.chance(0.3)
        ? `${rng.pick(UNICODE_SAMPLES)}${'n'.repeat(rng.pick([63, 253, 4096]))}`
        : rng.pick(UNICODE_SAMPLES)
      return { root: setAt(root, path, text) ?? null, note: `unicode ${where}` }
    }
    case 'number': {
      const value = rng.pick([0, -0, -1, 1, 65_535, 65_536, 1.5, 2 ** 31, 2 ** 53 + 1, -1e308, 1e-300])
      return { root: setAt(root, path, value) ?? null, note: `number ${value} ${where}` }
    }
    case 'renameKey': {
      const parentNode = getAt(root, path.slice(0, -1))
      const key = path[path.length - 1]
      if (isObject(parentNode) && typeof key === 'string') {
        const value = parentNode[key] as Json
        delete parentNode[key]
        setOwn(parentNode, rng.chance(0.5) ? key.toUpperCase() : `${key}\u200B`, value)
      }
      return { root, note: `renameKey ${where}` }
    }
    case 'emptyContainer':
      return { root: setAt(root, path, rng.chance(0.5) ? {} : []) ?? null, note: `emptyContainer ${where}` }
  }
}

export interface RawCase {
  payload: string | Buffer
  contentType: string | undefined
  note: string
}

const WRONG_CONTENT_TYPES = [
  undefined,
  'text/plain',
  'application/x-www-form-urlencoded',
  'multipart/form-data; boundary=x',
  'application/merge-patch+json',
  'application/json-patch+json',
  'application/yaml',
  'APPLICATION/JSON',
  'application/json; charset=latin1',
  'application/json; charset=utf-16',
  'application/json;;;',
  'application/problem+json',
  '*/*',
]

/** A raw-text mutation of a serialized request: truncation, random bytes, duplicate keys, wrong content types. */
export function mutateRaw(rng: Rng, text: string): RawCase {
  const json = 'application/json'
  switch (rng.int(8)) {
    case 0: {
      const at = rng.int(text.length)
      return { payload: text.slice(0, at), contentType: json, note: `truncated at ${at}` }
    }
    case 1: {
      const bytes = Buffer.alloc(rng.pick([1, 16, 1024, 64 * 1024]))
      for (let i = 0; i < bytes.length; i++) bytes[i] = rng.int(256)
      return { payload: bytes, contentType: json, note: `random bytes (${bytes.length})` }
    }
    case 2: {
      // Duplicate keys: JSON.parse keeps the last one; the first may be anything.
      const first = rng.pick(['"parent":null', '"children":"x"', '"finalizing":"yes"', '"related":[]'])
      const last = rng.pick(['', ',"parent":{"kind":"Pod"}', ',"children":{}', ',"finalizing":true'])
      const payload = `{${first},${text.slice(1, -1)}${last}}`
      return { payload, contentType: json, note: `duplicate keys ${first} … ${last || '(none)'}` }
    }
    case 3: {
      const contentType = rng.pick(WRONG_CONTENT_TYPES)
      return { payload: text, contentType, note: `content type ${String(contentType)}` }
    }
    case 4: {
      const at = rng.int(text.length)
      const junk = rng.pick(['\u0000', '}', ']', '"', '\\', ',,', 'NaN', 'undefined', '\uFEFF'])
      return {
        payload: text.slice(0, at) + junk + text.slice(at),
        contentType: json,
        note: `junk ${JSON.stringify(junk)} at ${at}`,
      }
    }
    case 5:
      return {
        payload: rng.pick(['', ' ', 'null', '[]', '0', '"x"', 'true', '{}']),
        contentType: json,
        note: 'scalar body',
      }
    case 6:
      return { payload: `\uFEFF${text}`, contentType: json, note: 'byte-order mark' }
    default: {
      const depth = rng.pick([1_000, 10_000, 100_000])
      const payload = rng.chance(0.5)
        ? deepNestText(depth)
        : `{"parent":${deepNestText(depth)},"children":{}}`
      return { payload, contentType: json, note: `deep raw nesting (${depth})` }
    }
  }
}

class Token {
  constructor(readonly text: string) {}
}

/** JSON.stringify at any nesting depth: the built-in one, or an iterative one where that overflows the stack. */
export function stringifyDeep(value: Json): string {
  try {
    return JSON.stringify(value)
  } catch {
    return stringifyIteratively(value)
  }
}

function stringifyIteratively(value: Json): string {
  const out: string[] = []
  const stack: Array<Json | Token> = [value]
  while (stack.length > 0) {
    const item = stack.pop() as Json | Token
    if (item instanceof Token) out.push(item.text)
    else if (Array.isArray(item)) {
      out.push('[')
      stack.push(new Token(']'))
      for (let i = item.length - 1; i >= 0; i--) {
        stack.push(item[i] ?? null)
        if (i > 0) stack.push(new Token(','))
      }
    } else if (item !== null && typeof item === 'object') {
      out.push('{')
      stack.push(new Token('}'))
      const keys = Object.keys(item)
      for (let i = keys.length - 1; i >= 0; i--) {
        const key = keys[i] as string
        stack.push(item[key] ?? null)
        stack.push(new Token(`${i > 0 ? ',' : ''}${JSON.stringify(key)}:`))
      }
    } else out.push(JSON.stringify(item) ?? 'null')
  }
  return out.join('')
}
