import { type ChildProcess, fork } from 'node:child_process'
import { fileURLToPath } from 'node:url'

// Every server in the benchmark runs in its own child process, so the load generator never shares an event loop
// with the server it measures. The child announces its port, then answers small commands over the IPC channel.

interface IpcRequest {
  id: number
  cmd: string
  args?: unknown
}

interface IpcReply {
  id: number
  ok: boolean
  result?: unknown
  error?: string
}

interface ReadyMessage {
  ready: true
  port: number
}

type Handler = (args: any) => unknown

/** Built into every child: CPU time used so far (user and system µs), to compare servers by CPU per request. */
const builtIn: Record<string, Handler> = {
  cpu: () => process.cpuUsage(),
}

/** Child side: answer commands; exit when the benchmark goes away (never outlive it). */
export function serveIpc(handlers: Record<string, Handler>): void {
  process.on('message', (message: IpcRequest) => {
    const handler = handlers[message.cmd] ?? builtIn[message.cmd]
    Promise.resolve()
      .then(() => {
        if (handler === undefined) throw new Error(`unknown command ${message.cmd}`)
        return handler(message.args)
      })
      .then(
        (result) => process.send?.({ id: message.id, ok: true, result } satisfies IpcReply),
        (error: unknown) =>
          process.send?.({ id: message.id, ok: false, error: String(error) } satisfies IpcReply),
      )
  })
  process.on('disconnect', () => process.exit(0))
}

export function announceReady(port: number): void {
  process.send?.({ ready: true, port } satisfies ReadyMessage)
}

export interface ChildServer {
  name: string
  pid: number
  port: number
  call<T = unknown>(cmd: string, args?: unknown): Promise<T>
  /** Asks the child to close and exit; kills it (by pid) if it does not within 5 s. */
  stop(): Promise<void>
}

export interface StartOptions {
  env?: Record<string, string>
  execArgv?: string[]
}

/** Forks `bench/<script>.js` (next to this file in dist/), waits for its ready message. */
export function startChild(script: string, options: StartOptions = {}): Promise<ChildServer> {
  const path = fileURLToPath(new URL(`./${script}.js`, import.meta.url))
  // stdout goes to /dev/null: that is where the servers' info-level log lines end up. stderr stays visible.
  const child: ChildProcess = fork(path, [], {
    env: { ...process.env, ...options.env },
    execArgv: options.execArgv ?? [],
    stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
  })
  let nextId = 1
  const pending = new Map<number, { resolve(v: unknown): void; reject(e: Error): void }>()
  let exited = false
  const exitPromise = new Promise<void>((resolve) => {
    child.once('exit', () => {
      exited = true
      for (const waiter of pending.values()) waiter.reject(new Error(`${script} exited`))
      pending.clear()
      resolve()
    })
  })

  return new Promise((resolve, reject) => {
    const onEarlyExit = (code: number | null) =>
      reject(new Error(`${script} exited (${code}) before it was ready`))
    child.once('exit', onEarlyExit)
    child.on('message', (message: ReadyMessage | IpcReply) => {
      if ('ready' in message) {
        child.off('exit', onEarlyExit)
        resolve(server(message.port))
        return
      }
      const waiter = pending.get(message.id)
      if (waiter === undefined) return
      pending.delete(message.id)
      if (message.ok) waiter.resolve(message.result)
      else waiter.reject(new Error(`${script}: ${message.error}`))
    })
  })

  function server(port: number): ChildServer {
    const call = <T>(cmd: string, args?: unknown): Promise<T> =>
      new Promise<T>((resolve, reject) => {
        if (exited) return reject(new Error(`${script} has exited`))
        const id = nextId++
        pending.set(id, { resolve: resolve as (v: unknown) => void, reject })
        child.send({ id, cmd, args } satisfies IpcRequest)
      })
    return {
      name: script,
      pid: child.pid ?? -1,
      port,
      call,
      stop: async () => {
        if (exited) return
        call('exit').catch(() => {})
        const timer = setTimeout(() => {
          if (!exited && child.pid !== undefined) process.kill(child.pid, 'SIGKILL')
        }, 5_000)
        await exitPromise
        clearTimeout(timer)
      },
    }
  }
}
