// `npm run demo`: the simulated cluster and Metacontroller, the DittoFS emulator and the real hook server,
// together on loopback, through the life of one DittoServer. Prints what changed at each step, on virtual
// time (the whole life takes about 20 virtual minutes and a few real seconds). Nothing secret is printed:
// Secrets are named, never shown.
import { pathToFileURL } from 'node:url'
import { formatOffset, Narrator } from '../scenarios/narrate.js'
import { World } from '../scenarios/world.js'

export interface DemoResult {
  lines: string[]
  /** Hook calls that did not answer 200 (expected: none). */
  failedHookCalls: number
  podRestarts: number
  loadBalancersCreated: number
  loadBalancersDeleted: number
  /** Objects the DittoServer still owns at the end (expected: none). */
  leftOver: string[]
}

const count = (world: World, name: string) => world.emulator.counters[name] ?? 0

export interface DemoOptions {
  /** Where lines go as they are made; default stdout. */
  write?: (line: string) => void
  /** Called with the world just before it is closed (tests look at what it recorded). */
  inspect?: (world: World) => void
}

export async function runDemo(options: DemoOptions = {}): Promise<DemoResult> {
  const write = options.write ?? ((line: string) => console.log(line))
  const lines: string[] = []
  const say = (line: string) => {
    lines.push(line)
    write(line)
  }
  const world = await World.start({
    name: 'demo',
    namespace: 'storage',
    spec: { adapterServices: { type: 'LoadBalancer' }, networkPolicy: { enabled: true } },
    podReadyDelayMs: 20_000,
    lbProvisionDelayMs: 30_000,
    lbCleanupDelayMs: 10_000,
    logLevel: 'info',
  })
  const origin = world.clock.now()
  const narrator = new Narrator(world, origin)
  const step = async (title: string, act: () => Promise<unknown>) => {
    const before = { requests: count(world, 'requests'), polls: count(world, 'adaptersList') }
    say('')
    say(`== ${title}`)
    await act()
    for (const line of narrator.take()) say(line)
    const requests = count(world, 'requests') - before.requests
    const polls = count(world, 'adaptersList') - before.polls
    say(`         (DittoFS API: ${requests} request(s), ${polls} adapter list(s) served)`)
  }

  try {
    say('DittoServer storage/demo: adapterServices LoadBalancer, networkPolicy enabled')
    say('DittoFS reports the adapters nfs (12049) and smb (1445)')
    await step(
      'create the DittoServer; the pod becomes ready; adapters discovered; load balancers',
      async () => {
        world.createParent()
        await world.runFor(2 * 60_000)
      },
    )
    await step('smb disabled in DittoFS: its Service stays for the 60s grace period', async () => {
      world.setAdapters([
        { type: 'nfs', port: 12049, enabled: true },
        { type: 'smb', port: 1445, enabled: false },
      ])
      await world.runFor(40_000)
    })
    await step('smb re-enabled within the grace period: same Service, same load balancer', async () => {
      world.setAdapters([
        { type: 'nfs', port: 12049, enabled: true },
        { type: 'smb', port: 1445, enabled: true },
      ])
      await world.runFor(60_000)
    })
    await step('DittoFS API down for 10 minutes: nothing is removed, polls back off', async () => {
      const mark = world.mark()
      world.setApiFault({ mode: 'reset' })
      await world.runFor(10 * 60_000)
      narrator.note(`adapter Services still there: ${world.adapterServices().length}`)
      const tries = world.apiCallTimesSince(mark).map((at) => formatOffset(at - origin))
      narrator.note(`polls tried at ${tries.join(' ')} (back-off doubling from 2 s)`)
    })
    await step('DittoFS API back', async () => {
      world.setApiFault(null)
      await world.runFor(5 * 60_000)
    })
    await step('DittoServer deleted: adapter Services (load balancers) first, then the rest', async () => {
      world.deleteParent()
      await world.settle()
      await waitForRealTime(() => !world.emulator.users().some((u) => u.username === 'k8s-operator'))
    })

    const exchanges = world.front.exchanges
    const result: DemoResult = {
      lines,
      failedHookCalls: exchanges.filter((e) => e.statusCode !== 200).length,
      podRestarts: world.statefulSets.restarts,
      loadBalancersCreated: world.cloud.created,
      loadBalancersDeleted: world.cloud.deleted,
      leftOver: world.owned().map((o) => `${o.kind}/${o.metadata.name}`),
    }
    const users = world.emulator
      .users()
      .map((u) => u.username)
      .join(', ')
    say('')
    say('== summary')
    const failed = result.failedHookCalls
    say(`hook calls: ${exchanges.length}, failed: ${failed}; pod restarts: ${result.podRestarts}`)
    say(`load balancers created: ${result.loadBalancersCreated}, deleted: ${result.loadBalancersDeleted}`)
    say(`left in the cluster: ${result.leftOver.length === 0 ? 'nothing' : result.leftOver.join(', ')}`)
    say(`DittoFS users left: ${users}`)
    options.inspect?.(world)
    return result
  } finally {
    narrator.stop()
    await world.close()
  }
}

/** The operator account is removed in the background of the finalize call: give it a moment of real time. */
async function waitForRealTime(done: () => boolean, limitMs = 5000): Promise<void> {
  const started = Date.now()
  while (!done() && Date.now() - started < limitMs) await new Promise((resolve) => setTimeout(resolve, 10))
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  runDemo().catch((error: unknown) => {
    console.error(error instanceof Error ? error.message : String(error))
    process.exitCode = 1
  })
}
