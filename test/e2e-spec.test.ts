import t, { type Test } from 'tap'
import type { ChildRef, Exchange } from './scenarios/front.js'
import {
  checkInvariants,
  leakingLines,
  partialAnswers,
  policyOrderViolations,
} from './scenarios/invariants.js'
import { World } from './scenarios/world.js'

// Spec edits that must change nothing in the cluster: deprecated fields (accepted and reported) and an
// invalid spec (reported, every child kept exactly as it is). Plus the invariant checks themselves, on
// made-up exchanges, to show they catch what they look for.

async function readyWorld(t: Test): Promise<World> {
  const world = await World.start()
  t.teardown(() => world.close())
  world.createParent()
  await world.runFor(2 * 60_000)
  t.equal(world.condition('Ready')?.status, 'True', 'Ready before the edit')
  return world
}

t.test('deprecated fields: reported in a condition, nothing else affected', async (t) => {
  const world = await readyWorld(t)
  const conditionsBefore = (world.status().conditions as any[]).map(
    (c) => `${c.type}=${c.status}/${c.reason}`,
  )
  const mark = world.mark()

  world.editSpec((spec) => {
    spec.nfsPort = 2049
    spec.smb = { enabled: true, port: 445 }
  })
  await world.runFor(60_000)
  t.match(world.condition('DeprecatedFieldsIgnored'), {
    status: 'True',
    reason: 'DeprecatedFields',
    message: /nfsPort.*smb|smb.*nfsPort/,
  })
  t.same(
    (world.status().conditions as any[])
      .filter((c) => c.type !== 'DeprecatedFieldsIgnored')
      .map((c) => `${c.type}=${c.status}/${c.reason}`),
    conditionsBefore,
    'every other condition unchanged',
  )
  t.same(
    world.childWritesSince(mark),
    [],
    'no child written: no config change, no pod restart, no Service change',
  )
  t.same(world.adapterSummary(), ['nfs:12049 203.0.113.10:12049', 'smb:1445 203.0.113.11:1445'])

  world.editSpec((spec) => {
    delete spec.nfsPort
    delete spec.smb
  })
  await world.runFor(60_000)
  t.equal(world.condition('DeprecatedFieldsIgnored'), undefined, 'the condition goes with the fields')
  t.same(world.childWritesSince(mark), [])
  await checkInvariants(t, world)
})

t.test(
  'invalid spec: nothing changes, Ready False InvalidSpec naming the field; fixed, Ready again',
  async (t) => {
    const world = await readyWorld(t)
    const adaptersBefore = world.adapterSummary()
    const mark = world.mark()

    world.editSpec((spec) => {
      spec.replicas = 3
    })
    await world.runFor(2 * 60_000)
    t.match(world.condition('Ready'), { status: 'False', reason: 'InvalidSpec', message: /spec\.replicas/ })
    t.equal(world.status().phase, 'Failed')
    t.equal(world.status().observedGeneration, 2, 'the edit was seen')
    t.same(world.adapterSummary(), adaptersBefore, 'the last known adapters are kept in the status')
    t.same(world.childWritesSince(mark), [], 'zero child writes: every child echoed as it is')
    t.equal(
      (world.get('StatefulSet', 'demo')!.spec as any).replicas,
      1,
      'the StatefulSet still runs one replica',
    )

    world.editSpec((spec) => {
      spec.replicas = 1
    })
    await world.runFor(2 * 60_000)
    t.match(world.condition('Ready'), { status: 'True', reason: 'AllConditionsMet' })
    t.equal(world.status().phase, 'Running')
    t.same(
      world.childWritesSince(mark),
      [],
      'the fix changes nothing either: the children were right all along',
    )
    await checkInvariants(t, world)
  },
)

// --- the invariant checks catch what they look for
// ----------------------------------------------------------

const child = (kind: string, name: string, adapterService = false, policyName = name): ChildRef => ({
  kind,
  name,
  adapterService,
  policyName,
  terminating: false,
})
const infrastructure = [
  child('ConfigMap', 'x-config'),
  child('Secret', 'x-operator-credentials'),
  child('Service', 'x-headless'),
  child('Service', 'x-api'),
  child('StatefulSet', 'x'),
]
const exchange = (observed: ChildRef[], answered: ChildRef[]): Exchange => ({
  seq: 7,
  at: 0,
  path: '/sync',
  statusCode: 200,
  generation: 0,
  replica: 0,
  request: {
    parentName: 'x',
    parentUid: 'u',
    generation: 1,
    spec: { networkPolicy: { enabled: true } },
    deleting: false,
    finalizing: false,
    observed,
  },
  response: { children: answered, status: {}, resyncAfterSeconds: 30, finalized: undefined },
})

t.test('partialAnswers names what a 200 left out that it must not', async (t) => {
  t.same(partialAnswers([exchange([], infrastructure)]), [])
  t.same(
    partialAnswers([
      exchange(
        [],
        infrastructure.filter((c) => c.kind !== 'StatefulSet'),
      ),
    ]),
    ['#7 /sync: StatefulSet/x'],
  )
  const observed = [...infrastructure, child('Service', 'x-adapter-nfs', true)]
  const invalid = exchange(observed, infrastructure)
  invalid.response!.status = { conditions: [{ type: 'Ready', status: 'False', reason: 'InvalidSpec' }] }
  t.same(
    partialAnswers([invalid]),
    ['#7 /sync: Service/x-adapter-nfs'],
    'an invalid spec must echo everything',
  )
  invalid.response!.children = observed
  t.same(partialAnswers([invalid]), [])
  const failed = { ...exchange([], []), statusCode: 500 }
  delete failed.response
  t.same(partialAnswers([failed]), [], 'a non-200 answer changes nothing and is not judged')
})

t.test(
  'policyOrderViolations catches a Service before its policy and a policy before its Service',
  async (t) => {
    const service = child('Service', 'x-adapter-nfs', true)
    const policy = child('NetworkPolicy', 'x-adapter-nfs')
    t.same(policyOrderViolations([exchange([], [...infrastructure, policy])]), [], 'policy first: fine')
    t.same(
      policyOrderViolations([exchange([policy], [...infrastructure, policy, service])]),
      [],
      'then the Service',
    )
    t.same(policyOrderViolations([exchange([], [...infrastructure, policy, service])]), [
      '#7: Service/x-adapter-nfs answered before its NetworkPolicy was observed',
    ])
    t.same(policyOrderViolations([exchange([policy, service], [...infrastructure])]), [
      '#7: NetworkPolicy/x-adapter-nfs dropped while its Service is observed',
    ])
    const off = exchange([], [...infrastructure, service])
    off.request!.spec = {}
    t.same(policyOrderViolations([off]), [], 'no ordering without policies')
    // A UDP Service (dittofs.io/udp-service-of) is opened by its adapter Service's policy.
    const udp = child('Service', 'x-adapter-nfs-udp', true, 'x-adapter-nfs')
    t.same(policyOrderViolations([exchange([policy], [...infrastructure, policy, service, udp])]), [])
    t.same(policyOrderViolations([exchange([], [...infrastructure, udp])]), [
      '#7: Service/x-adapter-nfs-udp answered before its NetworkPolicy was observed',
    ])
    t.same(policyOrderViolations([exchange([policy, udp], [...infrastructure])]), [
      '#7: NetworkPolicy/x-adapter-nfs dropped while its Service is observed',
    ])
  },
)

t.test('leakingLines finds secrets and tokens in log lines', async (t) => {
  const lines = [
    '{"msg":"hook call"}',
    '{"password":"hunter2-long"}',
    '{"auth":"Bearer eyJhbGciOiJIUzI1NiJ9.e30.x"}',
  ]
  t.same(leakingLines(lines, ['hunter2-long']), [lines[1], lines[2]])
  t.same(
    leakingLines([Buffer.from('hunter2-long').toString('base64')], ['hunter2-long']).length,
    1,
    'base64 too',
  )
  t.same(leakingLines(lines.slice(0, 1), ['hunter2-long']), [])
})
