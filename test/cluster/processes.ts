// Starting and stopping the cluster's background processes: each runs detached in its own process group with
// its output in logs/<name>.log and its pid in pids/<name>.pid, so `cluster:down` (another process) can stop
// exactly what `cluster:up` started, and nothing else.
import { spawn } from 'node:child_process'
import { existsSync, mkdirSync, openSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import net from 'node:net'
import path from 'node:path'

export interface ProcessSpec {
  name: string
  command: string
  args: string[]
  env?: Record<string, string>
  cwd?: string
}

const pidFile = (state: string, name: string) => path.join(state, 'pids', `${name}.pid`)
export const logFile = (state: string, name: string) => path.join(state, 'logs', `${name}.log`)

export function startProcess(state: string, spec: ProcessSpec): number {
  mkdirSync(path.join(state, 'pids'), { recursive: true })
  mkdirSync(path.join(state, 'logs'), { recursive: true })
  const out = openSync(logFile(state, spec.name), 'a')
  const child = spawn(spec.command, spec.args, {
    cwd: spec.cwd,
    env: { ...process.env, ...spec.env },
    detached: true,
    stdio: ['ignore', out, out],
  })
  if (child.pid === undefined) throw new Error(`${spec.name}: could not start ${spec.command}`)
  child.unref()
  writeFileSync(pidFile(state, spec.name), String(child.pid))
  return child.pid
}

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch {
    return false
  }
}

export function pidOf(state: string, name: string): number | undefined {
  const file = pidFile(state, name)
  if (!existsSync(file)) return undefined
  const pid = Number(readFileSync(file, 'utf8'))
  return Number.isInteger(pid) && pid > 1 ? pid : undefined
}

/** Stops the process group we started under `name`: SIGTERM, then SIGKILL after `graceMs`. */
export async function stopProcess(state: string, name: string, graceMs = 10_000): Promise<void> {
  const pid = pidOf(state, name)
  rmSync(pidFile(state, name), { force: true })
  if (pid === undefined || !isAlive(pid)) return
  signalGroup(pid, 'SIGTERM')
  const deadline = Date.now() + graceMs
  while (isAlive(pid) && Date.now() < deadline) await sleep(100)
  if (isAlive(pid)) signalGroup(pid, 'SIGKILL')
  while (isAlive(pid)) await sleep(50)
}

export function startedNames(state: string): string[] {
  const dir = path.join(state, 'pids')
  return existsSync(dir) ? readdirSync(dir).map((f) => f.replace(/\.pid$/, '')) : []
}

function signalGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal)
  } catch {
    try {
      process.kill(pid, signal)
    } catch {
      // already gone
    }
  }
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms))

/** The lowest port of the kernel's ephemeral range: from there on it hands ports to `listen(0)` and to outgoing
 * connections. */
function ephemeralLow(): number {
  try {
    const low = Number(readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/)[0])
    if (low > 0) return low
  } catch {
    // not Linux: assume the IANA range
  }
  return 49152
}

function tryListen(port: number): Promise<net.Server | undefined> {
  return new Promise((resolve) => {
    const server = net.createServer()
    server.once('error', () => resolve(undefined))
    server.listen({ port, host: '127.0.0.1', exclusive: true }, () => resolve(server))
  })
}

/**
 * `count` distinct ports free on 127.0.0.1, for components that bind them later (some only minutes later: a
 * second hook replica). Taken below the kernel's ephemeral range, so that no `listen(0)` and no outgoing
 * connection can take one in the meantime, and held all at once while choosing, so that no two are the same.
 */
export async function reservePorts(count: number): Promise<number[]> {
  const low = 10_000
  const ephemeral = ephemeralLow()
  const high = ephemeral > low + 1000 ? ephemeral - 1 : 29_999
  const held: net.Server[] = []
  try {
    let candidate = low + Math.floor(Math.random() * (high - low))
    for (let tries = 0; held.length < count && tries < high - low; tries++) {
      candidate = candidate >= high ? low : candidate + 1
      const server = await tryListen(candidate)
      if (server) held.push(server)
    }
    if (held.length < count) throw new Error(`only ${held.length} of ${count} ports free in ${low}-${high}`)
    return held.map((server) => (server.address() as net.AddressInfo).port)
  } finally {
    await Promise.all(held.map((server) => new Promise((resolve) => server.close(resolve))))
  }
}

/** Polls `check` until it returns true; fails naming `what`, the last answer or error, and the log to read.
 * `check` returns true when healthy, or a description of what it saw instead; `gone` ends the wait early
 * (the process exited). */
export async function waitFor(
  what: string,
  check: () => Promise<boolean | string>,
  timeoutMs: number,
  gone?: () => string | undefined,
): Promise<void> {
  const deadline = Date.now() + timeoutMs
  let last = ''
  while (Date.now() < deadline) {
    try {
      const result = await check()
      if (result === true) return
      last = typeof result === 'string' ? result : 'not yet'
    } catch (error) {
      last = (error as Error).message
    }
    const reason = gone?.()
    if (reason) throw new Error(`${what}: ${reason}${last ? ` (last check: ${last})` : ''}`)
    await sleep(250)
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last ? `: ${last}` : ''}`)
}
