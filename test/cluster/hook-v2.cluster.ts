// Hook v2 (children keyed by namespace/name, Metacontroller 4.15+), as the Helm value
// compositeController.hookVersion sets it: a DittoServer converges, stays without writes, and is deleted cleanly,
// as under v1 (the default, which every other cluster test uses).
import t from 'tap'
import { localCompositeController } from './control-plane.js'
import {
  childrenOf,
  clusterWithNamespace,
  conditionOf,
  dittoServer,
  dittoServersPath,
  kubectl,
  ownedBy,
  restartMetacontroller,
  waitUntil,
  writesOver,
} from './support.js'

const { c, ns } = await clusterWithNamespace('hook-v2')

function applyCompositeController(version: 'v1' | 'v2'): void {
  const result = kubectl(c.layout, ['apply', '-f', '-'], localCompositeController(c.layout, version))
  if (result.status !== 0) throw new Error(`applying the CompositeController (${version}): ${result.stderr}`)
}

applyCompositeController('v2')
await restartMetacontroller(c, 'dynamic-apply')
t.teardown(async () => {
  applyCompositeController('v1')
  await restartMetacontroller(c, 'dynamic-apply')
})

t.test('hook v2: converges, then no writes; deletion leaves nothing', async (t) => {
  const path = `${dittoServersPath(ns)}/vtwo`
  await c.kube.create(
    dittoServersPath(ns),
    dittoServer('vtwo', ns, { storage: { metadataSize: '1Gi' }, networkPolicy: { enabled: true } }),
  )
  const parent = await waitUntil(
    'converged under hook v2',
    async () => {
      const p = await c.kube.get(path)
      const ok = ['Ready', 'AdaptersSynced', 'AdapterServicesReady'].every(
        (type) => conditionOf(p, type)?.status === 'True',
      )
      return ok && (p.status?.adapters?.length ?? 0) >= 2 && p
    },
    240_000,
  )
  const children = Object.keys(await childrenOf(c, ns, parent.metadata.uid!)).sort()
  t.ok(
    children.includes('Service/vtwo-adapter-nfs') && children.includes('NetworkPolicy/vtwo-adapter-nfs'),
    `children under v2: ${children.join(', ')}`,
  )

  // Two resync periods without a change: a v2 answer Metacontroller misread would show up as writes.
  const writes = await writesOver(c, ns, 2 * c.layout.resyncPeriodSeconds * 1000 + 5_000)
  t.same(writes, [], 'no child and no parent status written')

  await c.kube.delete(path)
  await waitUntil('the DittoServer gone', async () => !(await c.kube.find(path)), 180_000)
  await waitUntil(
    'nothing owned by it',
    async () => (await ownedBy(c, ns, parent.metadata.uid!)).length === 0,
    120_000,
  )
  t.same(await ownedBy(c, ns, parent.metadata.uid!), [], 'the garbage collector removed every child')
})
