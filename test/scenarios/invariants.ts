// Rules every scenario must keep, whatever it does. Each scenario calls checkInvariants at its end: the
// checks read the whole run (every hook exchange the front recorded, the Metacontroller timeline, the
// companions' counters, the captured hook log) and then prove the cluster has reached a fixed point.
import type { Test } from 'tap'
import { formatTimeline } from '../sim/index.js'
import type { ChildRef, Exchange } from './front.js'
import { HOOKS_SECRET_KEY, type World } from './world.js'

export interface InvariantOptions {
  /** Pod restarts the scenario itself caused by a spec edit that must restart the pod. Default 0. */
  restarts?: number
  /** The scenario provokes failed hook calls (SyncError events). Default false. */
  syncErrors?: boolean
  /** Virtual time the quiet cluster is watched for writes after it settled. Default 5 minutes. */
  quietMs?: number
}

const ref = (child: ChildRef) => `${child.kind}/${child.name}`
const has = (children: ChildRef[], kind: string, name: string) =>
  children.some((c) => c.kind === kind && c.name === name)

/** Children a 200 sync or finalize answer may never leave out (Metacontroller deletes what it leaves out). */
export function infrastructureOf(name: string): Array<[kind: string, name: string]> {
  return [
    ['ConfigMap', `${name}-config`],
    ['Secret', `${name}-operator-credentials`],
    ['Service', `${name}-headless`],
    ['Service', `${name}-api`],
    ['StatefulSet', name],
  ]
}

const invalidSpec = (status: Record<string, unknown>): boolean =>
  Array.isArray(status.conditions) &&
  status.conditions.some((c) => c?.type === 'Ready' && c?.reason === 'InvalidSpec')

/**
 * 200 answers that would make Metacontroller delete what they must not: a valid parent's answer lacking an
 * infrastructure child, or an invalid parent's answer (which must change nothing) lacking an observed child
 * (adapter Services excepted while finalizing: they go first).
 * As `#seq /path: Kind/name, ...`.
 */
export function partialAnswers(exchanges: Exchange[]): string[] {
  const problems: string[] = []
  for (const exchange of exchanges) {
    const { request, response } = exchange
    if (!request || !response) continue
    const required: Array<[string, string]> = invalidSpec(response.status)
      ? request.observed.filter((c) => !(request.finalizing && c.adapterService)).map((c) => [c.kind, c.name])
      : infrastructureOf(request.parentName)
    const missing = required
      .filter(([kind, name]) => !has(response.children, kind, name))
      .map(([kind, name]) => `${kind}/${name}`)
    if (missing.length > 0) problems.push(`#${exchange.seq} ${exchange.path}: ${missing.join(', ')}`)
  }
  return problems
}

/**
 * With NetworkPolicies on, an adapter port is never open without its policy: a Service is only answered once
 * its policy was observed (or the Service already exists), and a policy stays while its Service is observed.
 */
export function policyOrderViolations(exchanges: Exchange[]): string[] {
  const problems: string[] = []
  for (const exchange of exchanges) {
    const { request, response } = exchange
    if (!request || !response) continue
    const policies = (request.spec.networkPolicy as { enabled?: boolean } | undefined)?.enabled === true
    if (!policies) continue
    for (const service of response.children.filter((c) => c.adapterService)) {
      const observed = has(request.observed, 'Service', service.name)
      if (!observed && !has(request.observed, 'NetworkPolicy', service.policyName)) {
        problems.push(`#${exchange.seq}: ${ref(service)} answered before its NetworkPolicy was observed`)
      }
    }
    for (const service of request.observed.filter((c) => c.adapterService)) {
      if (!has(response.children, 'NetworkPolicy', service.policyName)) {
        problems.push(
          `#${exchange.seq}: NetworkPolicy/${service.policyName} dropped while its Service is observed`,
        )
      }
    }
  }
  return problems
}

/** Log lines containing a secret: a value any Secret held, the hook's key, or something shaped like a JWT. */
export function leakingLines(lines: string[], secrets: Iterable<string>): string[] {
  const needles = [...secrets, HOOKS_SECRET_KEY].flatMap((s) => [s, Buffer.from(s).toString('base64')])
  return lines.filter(
    (line) => /eyJ[A-Za-z0-9_-]{8,}/.test(line) || needles.some((needle) => line.includes(needle)),
  )
}

export async function checkInvariants(t: Test, world: World, options: InvariantOptions = {}): Promise<void> {
  const exchanges = world.front.exchanges
  t.equal(world.statefulSets.restarts, options.restarts ?? 0, 'invariant: pod restarts only from spec edits')
  t.same(
    partialAnswers(exchanges),
    [],
    'invariant: no 200 answer leaves out infrastructure (or, invalid, anything)',
  )
  t.same(
    exchanges.flatMap((e) => (e.problems ?? []).map((p) => `#${e.seq} ${e.path}: ${p}`)),
    [],
    'invariant: every 200 answer keeps the API server rules (names, labels, ports, CIDRs, no duplicate child)',
  )
  t.same(
    policyOrderViolations(exchanges),
    [],
    'invariant: NetworkPolicy before Service, Service before policy',
  )
  t.equal(world.requestsWhilePodDown, 0, 'invariant: no DittoFS API call while the pod is not ready')
  t.same(leakingLines(world.logs, world.secretValues), [], 'invariant: no secret in the hook log')
  t.ok(world.logs.length > 0, 'the hook log was captured')
  const statusText = JSON.stringify(world.parent()?.status ?? {})
  t.same(
    [...world.secretValues].filter((s) => statusText.includes(s)),
    [],
    'invariant: no secret in the parent status',
  )
  if (!options.syncErrors) {
    const errors = world.mc.timeline.filter((e) => e.type === 'event' && e.reason === 'SyncError')
    t.same(errors, [], 'invariant: no SyncError events')
    t.same(
      exchanges.filter((e) => e.statusCode !== 200).map((e) => `#${e.seq} ${e.path} ${e.statusCode}`),
      [],
      'invariant: every hook call answered 200',
    )
  }

  // A fixed point: the quiet cluster settles, then stays still: no status write, no child write.
  const settled = await world.settle()
  t.equal(settled.stoppedBy, 'idle', 'invariant: the cluster settles (no hot loop)')
  const mark = world.mark()
  const quiet = await world.runFor(options.quietMs ?? 5 * 60_000)
  t.equal(quiet.stoppedBy, 'idle', 'invariant: no hot loop while quiet')
  t.same(world.statusWritesSince(mark), [], 'invariant: no status write without a trigger')
  t.same(
    world.childWritesSince(mark).map((e) => `${e.action} ${e.child}`),
    [],
    'invariant: no child write without a trigger',
  )
  // A failing scenario is read from its timeline: show the end of it.
  if (!t.passing()) {
    const telling = world.mc.timeline.filter((e) => e.type !== 'status' && e.type !== 'requeue')
    t.comment(formatTimeline(telling.slice(-60), world.mc.timeline[0]?.at))
  }
}
