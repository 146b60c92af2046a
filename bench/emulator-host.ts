// DittoFS emulators in their own process (real HTTP servers on 127.0.0.1), one per simulated DittoServer so
// that each parent has its own API URL (and so its own token-cache entry), controlled over IPC.
import { type Emulator, type Fault, startEmulator } from '../test/emulator/index.js'
import { announceReady, serveIpc } from './ipc.js'

const emulators = new Map<number, Emulator>()

const byPort = (port: number): Emulator => {
  const emulator = emulators.get(port)
  if (emulator === undefined) throw new Error(`no emulator on port ${port}`)
  return emulator
}

serveIpc({
  start: async (args: { adminPassword: string; accessTtlSec?: number }) => {
    const emulator = await startEmulator({
      adminPassword: args.adminPassword,
      ...(args.accessTtlSec === undefined ? {} : { accessTtlSec: args.accessTtlSec }),
    })
    emulators.set(emulator.port, emulator)
    return emulator.port
  },
  setFault: (args: { port: number; fault: Fault | null }) => {
    byPort(args.port).setFault(args.fault)
  },
  counters: (args: { port: number }) => ({ ...byPort(args.port).counters }),
  /** Counters summed over every emulator. */
  totals: () => {
    const sum: Record<string, number> = {}
    for (const emulator of emulators.values()) {
      for (const [name, value] of Object.entries(emulator.counters)) sum[name] = (sum[name] ?? 0) + value
    }
    return sum
  },
  exit: async () => {
    await Promise.all([...emulators.values()].map((e) => e.close()))
    setImmediate(() => process.exit(0))
  },
})
announceReady(0)
