// The whole hook against the DittoFS emulator, the way Metacontroller drives it, with every log line captured:
// the app (real Discovery, real got client) on inject(), the emulator on loopback, one virtual clock for both.
import type { Test } from 'tap'
import type { ObjectMap, SyncResponse } from '../../hooks/metacontroller/types.js'
import { type Emulator, type EmulatorOptions, startEmulator, virtualClock } from '../emulator/index.js'
import { post, testApp } from './app.js'
import { derivedSecrets } from './fuzz-secrets.js'
import { asObserved, minimalSpec, parent, syncRequest, withReadyStatefulSet } from './requests.js'

export const API_TIMEOUT_MS = 300

export interface HarnessOptions {
  spec?: Record<string, unknown>
  related?: ObjectMap
  emulator?: EmulatorOptions
  logLevel?: string
  env?: Record<string, string>
}

export interface Answered {
  status: number
  text: string
  body: SyncResponse
  ms: number
}

export async function hookWithEmulator(t: Test, options: HarnessOptions = {}) {
  const clock = virtualClock(Date.parse('2026-03-01T00:00:00Z'))
  const emulator: Emulator = await startEmulator({
    now: clock.now,
    adminPassword: derivedSecrets().adminPassword,
    ...options.emulator,
  })
  t.teardown(() => emulator.close())
  const lines: string[] = []
  const stream = { write: (line: string) => lines.push(line) }
  const env = {
    DITTOFS_API_URL_TEMPLATE: 'http://127.0.0.1:{port}',
    DITTOFS_API_TIMEOUT_MS: String(API_TIMEOUT_MS),
    ...options.env,
  }
  const app = testApp(t, env, {
    now: clock.now,
    logger: { level: options.logLevel ?? 'debug', stream },
  })
  const spec = {
    ...minimalSpec(),
    adapterServices: { type: 'ClusterIP' },
    ...options.spec,
    // The emulator's port, with whatever else the test sets on the control plane (e.g. TLS).
    controlPlane: { port: emulator.port, ...(options.spec?.controlPlane as object | undefined) },
  }
  let children: ObjectMap | undefined
  let status: unknown
  /** Every answer the hook gave (sync, finalize), as text: the secret checks read them all. */
  const answers: string[] = []

  type Extra = { finalizing?: boolean; spec?: Record<string, unknown>; meta?: Record<string, unknown> }
  /** The request the next sync sends: the observed children and status of the last answer. */
  const nextRequest = (extra: Extra = {}) => {
    const meta = {
      ...(extra.finalizing ? { deletionTimestamp: new Date(clock.now()).toISOString() } : {}),
      ...extra.meta,
    }
    return syncRequest(parent(extra.spec ?? spec, meta, status), {
      related: options.related ?? {},
      ...(children ? { children } : {}),
      ...(extra.finalizing ? { finalizing: true } : {}),
    })
  }
  /** One sync as Metacontroller would run it, feeding back status and children. */
  const sync = async (extra: Extra = {}): Promise<Answered> => {
    const request = nextRequest(extra)
    const started = performance.now()
    const res = await post(app, extra.finalizing ? '/finalize' : '/sync', request)
    const ms = performance.now() - started
    answers.push(res.text)
    const body = res.json() as SyncResponse
    if (res.status === 200) {
      status = body.status
      children = withReadyStatefulSet(asObserved(body.children))
    }
    return { status: res.status, text: res.text, body, ms }
  }
  return { app, clock, emulator, spec, sync, nextRequest, lines, answers }
}

export const adapterServiceNames = (res: SyncResponse) =>
  res.children
    .filter((c) => c.metadata.labels?.['dittofs.io/adapter-service'] === 'true')
    .map((c) => c.metadata.name)
    .sort()

export const adapterTypes = (res: SyncResponse) =>
  ((res.status.adapters ?? []) as Array<{ type: string; port: number }>)
    .map((a) => `${a.type}:${a.port}`)
    .sort()
