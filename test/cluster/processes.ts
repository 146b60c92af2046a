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

/** A port free on 127.0.0.1 right now (the kernel's choice). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer()
    server.on('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo
      server.close(() => resolve(port))
    })
  })
}

/** Polls `check` until it returns true; fails naming `what` and the log to read. */
export async function waitFor(what: string, check: () => Promise<boolean>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs
  let lastError = ''
  while (Date.now() < deadline) {
    try {
      if (await check()) return
    } catch (error) {
      lastError = (error as Error).message
    }
    await sleep(250)
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${lastError ? `: ${lastError}` : ''}`)
}
