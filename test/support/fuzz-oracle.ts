// What every hook answer must satisfy, whatever the request was. Written from the contract (DESIGN §1, §3), not
// from the implementation: a 4xx is a well-formed problem, a 200 never leaves out a child Metacontroller would then
// delete, and an invalid spec changes nothing.

import { parseSpec } from '../../hooks/dittoserver/spec.js'
import { type Json, stringifyDeep } from './fuzz.js'

type Obj = Record<string, unknown>
const obj = (v: unknown): Obj => (v && typeof v === 'object' && !Array.isArray(v) ? (v as Obj) : {})
const LAST_APPLIED = 'metacontroller.k8s.io/last-applied-configuration'
/** StatefulSet pod labels limit parent names (see children/naming.ts MAX_PARENT_NAME). */
const MAX_PARENT_NAME = 52

export interface Answer {
  status: number
  contentType: string
  text: string
}

/** A 4xx must be RFC 7807 problem JSON with a non-empty detail; nothing else but 200 is acceptable here. */
export function checkProblem(answer: Answer): string[] {
  const errors: string[] = []
  if (!answer.contentType.startsWith('application/problem+json'))
    errors.push(`content type ${answer.contentType}`)
  let body: Obj
  try {
    body = obj(JSON.parse(answer.text))
  } catch {
    return [...errors, 'problem body is not JSON']
  }
  if (typeof body.type !== 'string' || body.type === '') errors.push('problem without type')
  if (typeof body.title !== 'string' || body.title === '') errors.push('problem without title')
  if (body.status !== answer.status) errors.push(`problem status ${String(body.status)} ≠ ${answer.status}`)
  if (typeof body.detail !== 'string' || body.detail.trim() === '') errors.push('problem without detail')
  return errors
}

const idOf = (child: unknown): string => {
  const c = obj(child)
  return `${String(c.kind)}/${String(obj(c.metadata).name)}`
}

/** The infrastructure children a valid parent always gets (DESIGN §3 children table). */
export function infrastructureIds(name: string, spec: Obj): string[] {
  const identity = obj(spec.identity)
  const ids = [
    `ConfigMap/${name}-config`,
    `Secret/${name}-operator-credentials`,
    `Service/${name}-headless`,
    `Service/${name}-api`,
    `StatefulSet/${name}`,
  ]
  if (obj(identity.jwt).secretRef == null) ids.push(`Secret/${name}-jwt-secret`)
  if (obj(identity.admin).passwordSecretRef == null) ids.push(`Secret/${name}-admin-credentials`)
  if (obj(spec.metrics).enabled === true) ids.push(`Service/${name}-metrics`)
  return ids
}

/** The last-applied object of an observed child, when it is usable (same identity as the child). */
function lastAppliedOf(child: unknown): Obj | undefined {
  const c = obj(child)
  const text = obj(obj(c.metadata).annotations)[LAST_APPLIED]
  if (typeof text !== 'string') return undefined
  try {
    const parsed = obj(JSON.parse(text))
    const same =
      parsed.apiVersion === c.apiVersion &&
      parsed.kind === c.kind &&
      obj(parsed.metadata).name === obj(c.metadata).name
    return same ? parsed : undefined
  } catch {
    return undefined
  }
}

const isAdapterService = (o: Obj) =>
  o.kind === 'Service' && obj(obj(o.metadata).labels)['dittofs.io/adapter-service'] === 'true'

export interface SyncCheck {
  /** `status.adapters` of the request this case was mutated from (the adapter-keeping rule applies when unchanged). */
  baseAdapters?: string
}

/**
 * A 200 sync or finalize answer: the invalid-spec echo when the parent's spec is invalid, otherwise every
 * infrastructure child, and every observed adapter Service while nothing says its adapter is gone.
 */
export function checkSyncAnswer(request: unknown, answer: Answer, check: SyncCheck = {}): string[] {
  const errors: string[] = []
  let body: Obj
  try {
    body = obj(JSON.parse(answer.text))
  } catch {
    return ['200 body is not JSON']
  }
  if (answer.text.includes('"__proto__"')) errors.push('answer carries a __proto__ key')
  if (!Array.isArray(body.children)) return [...errors, '200 without a children list']
  if (!body.status || typeof body.status !== 'object') errors.push('200 without a status object')
  const children = body.children as unknown[]
  for (const child of children) {
    const c = obj(child)
    if (
      typeof c.apiVersion !== 'string' ||
      typeof c.kind !== 'string' ||
      typeof obj(c.metadata).name !== 'string'
    )
      errors.push(`child without identity: ${stringifyDeep(child as Json).slice(0, 120)}`)
  }
  const ids = children.map(idOf)

  const req = obj(request)
  const parent = obj(req.parent)
  const meta = obj(parent.metadata)
  const name = String(meta.name)
  const finalizing = req.finalizing === true
  const specValid = parseSpec(parent.spec).ok && name.length <= MAX_PARENT_NAME
  const ready = (obj(body.status).conditions as Obj[] | undefined)?.find?.((c) => obj(c).type === 'Ready')
  const saysInvalid = obj(ready).reason === 'InvalidSpec'
  if (saysInvalid === specValid) {
    errors.push(
      `Ready says ${saysInvalid ? '' : 'not '}InvalidSpec but the spec is ${specValid ? 'valid' : 'invalid'}`,
    )
  }

  if (!specValid) {
    // Exactly the observed children, as last applied (finalize lets adapter Services go first).
    const expected: string[] = []
    for (const group of Object.values(obj(req.children))) {
      for (const child of Object.values(obj(group))) {
        const applied = lastAppliedOf(child)
        if (!applied)
          return [...errors, `200 although ${idOf(child)} has no usable last-applied configuration`]
        if (finalizing && isAdapterService(applied)) continue
        expected.push(stringifyDeep(applied as Json))
      }
    }
    const got = children.map((c) => stringifyDeep(c as Json)).sort()
    if (JSON.stringify(got) !== JSON.stringify(expected.sort()))
      errors.push('invalid spec: children are not the observed ones as last applied')
    return errors
  }

  const returned = new Set(ids)
  for (const id of infrastructureIds(name, obj(parent.spec))) {
    if (!returned.has(id)) errors.push(`missing infrastructure child ${id}`)
  }
  const seen = new Set<string>()
  for (const id of ids) {
    if (seen.has(id)) errors.push(`duplicate child ${id}`)
    seen.add(id)
  }
  if (finalizing && typeof body.finalized !== 'boolean') errors.push('finalize answer without finalized')

  // Unknown is not empty: an observed adapter Service stays while the last known adapters are unchanged.
  const status = obj(parent.status)
  if (
    !finalizing &&
    check.baseAdapters !== undefined &&
    stringifyDeep((status.adapters ?? null) as Json) === check.baseAdapters
  ) {
    const namespace = String(meta.namespace)
    // ...except one on the DittoFS API or metrics port, which is never exposed (issue 15, class 5).
    const spec = obj(parent.spec)
    const apiPort = obj(spec.controlPlane).port ?? 8080
    const metrics = obj(spec.metrics)
    const reserved: unknown[] = metrics.enabled === true ? [apiPort, metrics.port ?? 9090] : [apiPort]
    for (const [key, service] of Object.entries(obj(obj(req.children)['Service.v1']))) {
      const s = obj(service)
      const sMeta = obj(s.metadata)
      const slash = key.indexOf('/')
      if (slash !== -1 && key.slice(0, slash) !== namespace) continue
      if (typeof sMeta.namespace === 'string' && sMeta.namespace !== namespace) continue
      if (!isAdapterService(s) || typeof sMeta.deletionTimestamp === 'string') continue
      const ports = obj(s.spec).ports
      if (Array.isArray(ports) && reserved.includes(obj(ports[0]).port)) continue
      const svcName = slash === -1 ? key : key.slice(slash + 1)
      if (svcName !== sMeta.name) continue
      if (!returned.has(`Service/${svcName}`)) errors.push(`observed adapter Service ${svcName} left out`)
    }
  }
  return errors
}

/** customize: only Secrets, only from the parent's own namespace, only valid names. */
export function checkCustomizeAnswer(request: unknown, answer: Answer): string[] {
  let body: Obj
  try {
    body = obj(JSON.parse(answer.text))
  } catch {
    return ['200 body is not JSON']
  }
  const rules = body.relatedResources
  if (!Array.isArray(rules)) return ['customize answer without relatedResources']
  const namespace = obj(obj(obj(request).parent).metadata).namespace
  const errors: string[] = []
  for (const rule of rules) {
    const r = obj(rule)
    if (r.apiVersion !== 'v1' || r.resource !== 'secrets')
      errors.push(`related rule for ${String(r.resource)}`)
    if (r.namespace !== namespace)
      errors.push(`related rule in namespace ${String(r.namespace)}, parent in ${String(namespace)}`)
    const names = r.names
    if (!Array.isArray(names) || names.length === 0)
      errors.push('related rule without names (would read every Secret)')
    for (const n of Array.isArray(names) ? names : []) {
      if (
        typeof n !== 'string' ||
        !/^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/.test(n) ||
        n.length > 253
      )
        errors.push(`related Secret name ${JSON.stringify(n)}`)
    }
  }
  return errors
}

/** Whether Object.prototype (or Array.prototype) gained or lost anything since `snapshot()`. */
export function prototypeSnapshot(): () => string[] {
  const before = {
    object: Object.getOwnPropertyNames(Object.prototype).sort().join(),
    array: Object.getOwnPropertyNames(Array.prototype).sort().join(),
  }
  return () => {
    const errors: string[] = []
    if (({} as Obj).polluted !== undefined) errors.push('({}).polluted is defined')
    if (Object.getOwnPropertyNames(Object.prototype).sort().join() !== before.object)
      errors.push('Object.prototype changed')
    if (Object.getOwnPropertyNames(Array.prototype).sort().join() !== before.array)
      errors.push('Array.prototype changed')
    return errors
  }
}
