import t from 'tap'
import { ADAPTER_SERVICE_LABEL } from '../hooks/children/adapter-services.js'
import { childLabels } from '../hooks/children/naming.js'
import { planAdapters } from '../hooks/reconcile/adapters.js'
import {
  inputOf,
  MINUTE,
  makeSpec,
  newWorld,
  nfs,
  PARENT,
  policyNames,
  readyCondition,
  resetWrites,
  rfc3339,
  serviceNames,
  smb,
  svcName,
  sync,
} from './adapters-helpers.js'

// NetworkPolicies, their ordering against the Services, and finalize (rules 5 and 7).

const BASELINE = `${PARENT}-baseline`
const policiesOn = () => makeSpec({ networkPolicy: { enabled: true } })

t.test('policies are off by default', async (t) => {
  const plan = sync(newWorld(), [nfs()])
  t.same(policyNames(plan), [])
})

t.test('added with policies on: the policy first, the Service once the policy is observed', async (t) => {
  const world = newWorld(policiesOn())
  let plan = sync(world, [nfs()])
  t.same(policyNames(plan), [BASELINE, svcName('nfs')])
  t.same(serviceNames(plan), [], 'first sync: policy only')
  t.equal(readyCondition(plan).reason, 'Provisioning')
  t.match(
    readyCondition(plan).message,
    `Creating the NetworkPolicy before the Service for ${svcName('nfs')}.`,
  )
  t.equal(plan.status[0]?.serviceName, svcName('nfs'), 'the status already names the Service to come')

  plan = sync(world, [nfs()])
  t.same(policyNames(plan), [BASELINE, svcName('nfs')])
  t.same(serviceNames(plan), [svcName('nfs')], 'next sync: policy + Service')
})

t.test('an adapter added later also waits for its own policy', async (t) => {
  const world = newWorld(policiesOn())
  sync(world, [nfs()])
  sync(world, [nfs()])
  const plan = sync(world, [nfs(), smb()])
  t.same(policyNames(plan), [BASELINE, svcName('nfs'), svcName('smb')])
  t.same(serviceNames(plan), [svcName('nfs')])
  t.same(serviceNames(sync(world, [nfs(), smb()])), [svcName('nfs'), svcName('smb')])
})

t.test('removed with policies on: the Service goes first, its policy once the Service is gone', async (t) => {
  const world = newWorld(policiesOn())
  sync(world, [nfs(), smb()])
  sync(world, [nfs(), smb()])
  sync(world, [nfs()]) // smb vanished
  world.now += 2 * MINUTE // grace over
  resetWrites(world)
  let plan = sync(world, [nfs()])
  t.same(serviceNames(plan), [svcName('nfs')], 'the Service is dropped')
  t.same(
    policyNames(plan),
    [BASELINE, svcName('nfs'), svcName('smb')],
    'its policy stays while it is observed',
  )
  t.same(world.deletes, [`Service/${svcName('smb')}`])
  resetWrites(world)
  plan = sync(world, [nfs()])
  t.same(
    policyNames(plan),
    [BASELINE, svcName('nfs')],
    'the next sync no longer sees the Service: the policy goes',
  )
  t.same(world.deletes, [`NetworkPolicy/${svcName('smb')}`])
})

t.test('a Service being deleted still holds its policy', async (t) => {
  const world = newWorld(policiesOn())
  sync(world, [nfs()])
  sync(world, [nfs()])
  const service = world.services.get(svcName('nfs'))
  if (!service) throw new Error('the nfs Service was created')
  sync(world, []) // nfs vanished
  world.now += 2 * MINUTE // grace over
  let plan = sync(world, [])
  t.same(serviceNames(plan), [], 'the Service is no longer wanted')
  // Its load-balancer cleanup finalizer keeps it in the cluster, being deleted: still observed.
  service.metadata.deletionTimestamp = rfc3339(world.now)
  world.services.set(service.metadata.name, service)
  plan = sync(world, [])
  t.same(serviceNames(plan), [], 'not asked for again')
  t.ok(policyNames(plan).includes(svcName('nfs')), 'its policy stays while it is observed')
  world.services.delete(service.metadata.name)
  t.notOk(policyNames(sync(world, [])).includes(svcName('nfs')), 'and goes once the Service is gone')
})

t.test('turning policies off removes them all and keeps the Services', async (t) => {
  const world = newWorld(policiesOn())
  sync(world, [nfs()])
  sync(world, [nfs()])
  world.spec = makeSpec()
  resetWrites(world)
  const plan = sync(world, [nfs()])
  t.same(policyNames(plan), [])
  t.same(serviceNames(plan), [svcName('nfs')])
  t.same(world.deletes.sort(), [`NetworkPolicy/${svcName('nfs')}`, `NetworkPolicy/${BASELINE}`])
})

t.test('turning policies on keeps the Services that already exist', async (t) => {
  const world = newWorld()
  sync(world, [nfs()])
  world.spec = policiesOn()
  resetWrites(world)
  const plan = sync(world, [nfs(), smb()])
  t.same(policyNames(plan), [BASELINE, svcName('nfs'), svcName('smb')])
  t.same(serviceNames(plan), [svcName('nfs')], 'nfs observed: kept; smb is new: waits')
  t.same(world.deletes, [])
})

t.test('policies follow port changes together with the Service', async (t) => {
  const world = newWorld(policiesOn())
  sync(world, [nfs()])
  sync(world, [nfs()])
  resetWrites(world)
  sync(world, [nfs({ port: 2049 })])
  t.same(world.updates.sort(), [`NetworkPolicy/${svcName('nfs')}`, `Service/${svcName('nfs')}`])
  const stored = world.policies.get(svcName('nfs'))?.spec as { ingress: Array<{ ports: unknown }> }
  t.same(stored.ingress[0]?.ports, [{ protocol: 'TCP', port: 2049 }])
})

t.test('status lost with policies on: kept Services keep their policies', async (t) => {
  const world = newWorld(policiesOn())
  sync(world, [nfs()])
  sync(world, [nfs()])
  world.lastKnown = []
  resetWrites(world)
  const plan = sync(world, undefined)
  t.same(serviceNames(plan), [svcName('nfs')])
  t.same(policyNames(plan), [BASELINE, svcName('nfs')])
  t.same([...world.creates, ...world.updates, ...world.deletes], [])
})

t.test('CR deleted: no adapter Services, policies kept, remaining Services listed', async (t) => {
  const world = newWorld(policiesOn())
  sync(world, [nfs(), smb()])
  sync(world, [nfs(), smb()])
  // A stale status: smb is gone from it, yet its Service still exists. A static Service is not an adapter one.
  world.lastKnown = world.lastKnown.filter((e) => e.type === 'nfs')
  world.services.set(`${PARENT}-api`, {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name: `${PARENT}-api`, labels: childLabels(PARENT) },
  })
  let plan = planAdapters(inputOf(world, undefined, true))
  t.same(serviceNames(plan), [], 'no adapter Service is returned: their load balancers go first')
  t.same(policyNames(plan), [BASELINE, svcName('nfs'), svcName('smb')], 'every policy is kept')
  t.same(plan.remainingAdapterServices, [svcName('nfs'), svcName('smb')], 'found by label, not by status')
  t.equal(readyCondition(plan).reason, 'Finalizing')
  t.equal(plan.nextEventAt, undefined)

  resetWrites(world)
  plan = sync(world, undefined, true)
  t.same(world.deletes.sort(), [`Service/${svcName('nfs')}`, `Service/${svcName('smb')}`])
  world.services.delete(`${PARENT}-api`)
  plan = sync(world, undefined, true)
  t.same(plan.remainingAdapterServices, [], 'nothing left: finalize may finish')
  t.same(policyNames(plan), [BASELINE, svcName('nfs')], 'the policies still guard the pod until it goes')
  t.equal(readyCondition(plan).message, 'All adapter Services are deleted.')
})

t.test('CR deleted with policies off: nothing is returned', async (t) => {
  const world = newWorld()
  sync(world, [nfs()])
  const plan = planAdapters(inputOf(world, undefined, true))
  t.same(plan.children, [])
  t.same(plan.remainingAdapterServices, [svcName('nfs')])
})

t.test('a Service labelled as an adapter Service counts for finalize whatever its name', async (t) => {
  const world = newWorld()
  world.services.set('renamed', {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name: 'renamed', labels: { ...childLabels(PARENT), [ADAPTER_SERVICE_LABEL]: 'true' } },
    spec: { ports: [{ port: 1 }] },
  })
  t.same(planAdapters(inputOf(world, undefined, true)).remainingAdapterServices, ['renamed'])
})
