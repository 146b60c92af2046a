import t from 'tap'
import { leakingLines } from './scenarios/invariants.js'
import { runDemo } from './sim/demo.js'

// `npm run demo` tells a DittoServer's life; this keeps its story true (and free of secrets).

const indexOf = (lines: string[], pattern: RegExp) => lines.findIndex((line) => pattern.test(line))

t.test('the demo tells the whole life of a DittoServer, in order', async (t) => {
  let secrets: string[] = []
  const result = await runDemo({ write: () => {}, inspect: (world) => (secrets = [...world.secretValues]) })
  const { lines } = result
  const story = [
    /^== create the DittoServer/,
    /^\+00:00 +StatefulSet\/demo created \(replicas 1\)$/,
    /^\+00:20 +pod demo-0 ready$/,
    /^\+00:20 +NetworkPolicy\/demo-adapter-nfs created \(ingress on port 12049\)$/,
    /^\+00:20 +DittoServer\/demo AdaptersSynced False → True \(PollSucceeded\)$/,
    /^\+00:20 +Service\/demo-adapter-nfs created \(LoadBalancer, port 12049\)$/,
    /^\+00:50 +Service\/demo-adapter-nfs load balancer address 203\.0\.113\.10$/,
    /^\+00:50 +DittoServer\/demo AdapterServicesReady False → True \(ServicesReady\)$/,
    /^\+00:50 +DittoServer\/demo adapters: nfs:12049 → 203\.0\.113\.10:12049; smb:1445 → 203\.0\.113\.11:1445/,
    /^== smb disabled/,
    /adapters: nfs:12049 → [\d.:]+; smb:1445 disabled leaving since \d\d:\d\d:\d\d → 203\.0\.113\.11:1445$/,
    /^== smb re-enabled/,
    /adapters: nfs:12049 → 203\.0\.113\.10:12049; smb:1445 → 203\.0\.113\.11:1445$/,
    /^== DittoFS API down/,
    /DittoServer\/demo AdaptersSynced True → False \(APIUnreachable\)$/,
    /adapter Services still there: 2$/,
    /polls tried at \+03:59 \+04:01 \+04:05 \+04:13 \+04:29 \+05:01 \+06:05 \+08:13 \+12:29 \(back-off/,
    /^== DittoFS API back/,
    /DittoServer\/demo AdaptersSynced False → True \(PollSucceeded\)$/,
    /^== DittoServer deleted/,
    /Service\/demo-adapter-nfs deleting \(held by service\.kubernetes\.io\/load-balancer-cleanup\)$/,
    /Service\/demo-adapter-nfs deleted$/,
    /DittoServer\/demo gone \(finalizer removed\)$/,
    /StatefulSet\/demo deleted$/,
    /^== summary/,
    /^load balancers created: 2, deleted: 2$/,
    /^left in the cluster: nothing$/,
    /^DittoFS users left: admin$/,
  ]
  let at = -1
  for (const pattern of story) {
    const found = lines.findIndex((line, i) => i > at && pattern.test(line))
    t.ok(found > at, `in order: ${pattern.source}`)
    if (found > at) at = found
  }
  t.equal(
    indexOf(lines, /Service\/demo-adapter-smb (deleting|deleted)/) >
      indexOf(lines, /^== DittoServer deleted/),
    true,
    'smb keeps its Service through disable and re-enable',
  )
  t.equal(result.failedHookCalls, 0)
  t.equal(result.podRestarts, 0)
  t.same(result.leftOver, [])
  t.ok(secrets.length >= 3, 'the demo world held generated secrets')
  t.same(leakingLines(lines, secrets), [], 'nothing secret printed')
  t.notMatch(lines.join('\n'), /"level"|\{"/, 'a readable story, not a raw dump')
})

t.test('the demo leaves nothing running: no server, socket or timer of its own', async (t) => {
  const before = countResources()
  await runDemo({ write: () => {} })
  // Closed sockets are released on the next turns of the event loop.
  let after = countResources()
  for (let i = 0; i < 200 && leftOver(before, after).length > 0; i++) {
    await new Promise((resolve) => setTimeout(resolve, 10))
    after = countResources()
  }
  t.same(leftOver(before, after), [], 'the process could exit by itself')
})

function countResources(): Map<string, number> {
  const counts = new Map<string, number>()
  for (const kind of process.getActiveResourcesInfo()) counts.set(kind, (counts.get(kind) ?? 0) + 1)
  return counts
}

function leftOver(before: Map<string, number>, after: Map<string, number>): string[] {
  return [...after]
    .filter(([kind, n]) => kind !== 'TTYWrap' && n > (before.get(kind) ?? 0))
    .map(([kind, n]) => `${kind} +${n - (before.get(kind) ?? 0)}`)
}
