import { isParentAdapterService } from '../children/adapter-services.js'
import type { FieldError } from '../dittoserver/spec.js'
import { isObject } from '../loose.js'
import { type KubeObject, LAST_APPLIED_ANNOTATION, type SyncResponse } from '../metacontroller/types.js'
import { bodyProblem, MAX_NESTING } from '../metacontroller/validate.js'
import { condition, readConditions, stampConditions } from './conditions.js'
import type { Observed } from './observe.js'
import { finalizeDeadline, isFinalized } from './sync.js'

// An invalid spec must change nothing: every observed child is returned exactly as it was last applied (so
// Metacontroller sees no difference and deletes nothing), and the status says which field is wrong.

export const describeErrors = (errors: FieldError[]): string =>
  errors.map((e) => `${e.field} ${e.message}`).join('; ')

/** Thrown when the observed children cannot be echoed (a child has no last-applied annotation). → HTTP 422. */
export class UnprocessableSpecError extends Error {
  constructor(
    readonly errors: FieldError[],
    readonly unknownChildren: string[],
  ) {
    super(`invalid DittoServer spec: ${describeErrors(errors)}`)
  }
}

/** The object as the hook last returned it, or undefined when the annotation is absent or unusable. */
export function lastApplied(child: KubeObject): KubeObject | undefined {
  const text = child.metadata.annotations?.[LAST_APPLIED_ANNOTATION]
  if (typeof text !== 'string') return undefined
  try {
    const parsed: unknown = JSON.parse(text)
    // Too deep to echo (the answer could not be serialized), or carrying keys refused in any request body.
    if (!isObject(parsed) || !isObject(parsed.metadata) || bodyProblem(parsed, MAX_NESTING) !== undefined)
      return undefined
    const same =
      parsed.apiVersion === child.apiVersion &&
      parsed.kind === child.kind &&
      parsed.metadata.name === child.metadata.name
    return same ? (parsed as KubeObject) : undefined
  } catch {
    return undefined
  }
}

export function invalidSpecResponse(observed: Observed, errors: FieldError[], now: number): SyncResponse {
  const children: KubeObject[] = []
  const unknown: string[] = []
  for (const group of Object.values(observed.request.children ?? {})) {
    for (const child of Object.values(group)) {
      const applied = lastApplied(child)
      if (applied) children.push(applied)
      else unknown.push(`${child.kind}/${child.metadata.name}`)
    }
  }
  if (unknown.length > 0) throw new UnprocessableSpecError(errors, unknown)

  const finalizing = observed.request.finalizing === true
  const message = describeErrors(errors)
  const { observedGeneration: _ignored, ...previous } = observed.status
  const conditions = stampConditions(
    [
      ...readConditions(observed.status)
        .filter((c) => c.type !== 'Ready')
        .map((c) => condition(c.type, c.status, c.reason ?? '', c.message ?? '')),
      condition('Ready', 'False', 'InvalidSpec', `${message}; nothing was changed`),
    ],
    readConditions(observed.status),
    now,
    observed.generation,
  )
  const response: SyncResponse = { status: { ...previous, phase: 'Failed', conditions }, children }
  if (finalizing) {
    // Deletion still proceeds: adapter Services (cloud load balancers) go first, then the finalizer.
    const adapterService = (c: KubeObject) => c.kind === 'Service' && isParentAdapterService(observed.name, c)
    const remaining = children.filter(adapterService)
    response.children = children.filter((c) => !adapterService(c))
    response.finalized = isFinalized(remaining.length, finalizeDeadline(observed.deletionTimestamp), now)
  }
  return response
}
