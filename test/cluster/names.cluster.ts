// DittoServer names on the real API server: each name it accepts either works end to end (every infrastructure
// child accepted, the StatefulSet's pod created, a status written, deletion completing) or is refused at
// admission by the CRD with a message naming metadata.name.
import t from 'tap'
import { collectionPath } from './kube.js'
import {
  childrenOf,
  clusterWithNamespace,
  conditionOf,
  dittoServer,
  dittoServersPath,
  KubeError,
  waitUntil,
} from './support.js'

const { c, ns } = await clusterWithNamespace('names')

// Names the API server accepts for a DittoServer (a DNS-1123 subdomain, up to 253 characters). Each must either
// be refused at admission (the CRD's rule on metadata.name, with a message) or work end to end: every
// infrastructure child accepted and the StatefulSet's pod created.
const NAMES = [
  'plain-name',
  '1starts-with-digit',
  'has.dot',
  'n'.repeat(45),
  // The longest name the CRD accepts (52: room for the longest child-name suffix within 63), and one more.
  'n'.repeat(52),
  'n'.repeat(53),
  'n'.repeat(63),
  'n'.repeat(64),
  'n'.repeat(253),
]

t.test('every DittoServer name either works end to end or is refused at admission saying why', async (t) => {
  for (const name of NAMES) {
    const label = name.length > 30 ? `${name.slice(0, 8)}…(${name.length})` : name
    let uid: string
    try {
      // One replica: the StatefulSet's pod is the child with the strictest name rules.
      const created = await c.kube.create(
        dittoServersPath(ns),
        dittoServer(name, ns, { storage: { metadataSize: '1Gi' } }),
      )
      uid = created.metadata.uid!
    } catch (error) {
      t.ok(error instanceof KubeError && error.status === 422, `${label}: refused as Invalid`)
      t.match((error as Error).message, /metadata\.name/, `${label}: the message names metadata.name`)
      continue
    }
    const outcome = await waitUntil(
      `${label}: children and pod, or an InvalidSpec status`,
      async () => {
        const parent = await c.kube.get(`${dittoServersPath(ns)}/${name}`)
        const ready = (parent.status?.conditions as any[] | undefined)?.find((x) => x.type === 'Ready')
        if (ready?.reason === 'InvalidSpec') return `invalid: ${ready.message}`
        // Metacontroller creates children one by one, so a refused Service does not stop the others: every
        // infrastructure kind must be there, and the hook's status must have been written.
        const owned = await childrenOf(c, ns, uid)
        const count = (kind: string) => Object.keys(owned).filter((k) => k.startsWith(`${kind}/`)).length
        const complete = count('ConfigMap') >= 1 && count('Secret') >= 3 && count('Service') >= 2
        const sts = Object.values(owned).find((child) => child.object.kind === 'StatefulSet')?.object
        if (!complete || !sts || !parent.status?.conditions) return undefined
        const pods = await c.kube.list(collectionPath('v1', 'pods', ns))
        return (
          pods.items.some((p) => p.metadata.ownerReferences?.some((o) => o.uid === sts.metadata.uid)) &&
          'works'
        )
      },
      90_000,
    ).catch((error: Error) => `neither: ${error.message}`)
    t.equal(outcome, 'works', `${label}: works end to end`)
    await c.kube.delete(`${dittoServersPath(ns)}/${name}`)
    const deleted = await waitUntil(
      `${label} deleted`,
      async () => !(await c.kube.find(`${dittoServersPath(ns)}/${name}`)),
      120_000,
    ).catch(() => false)
    t.ok(deleted, `${label}: deletion completes (the finalize hook lets go)`)
  }
})

t.test('the longest accepted name gets its adapter Services, named within 63 characters', async (t) => {
  const name = 'a'.repeat(52)
  const path = `${dittoServersPath(ns)}/${name}`
  await c.kube.create(dittoServersPath(ns), dittoServer(name, ns, { storage: { metadataSize: '1Gi' } }))
  const parent = await waitUntil(
    'the pod Ready and the adapters discovered',
    async () => {
      const p = await c.kube.get(path)
      const adapters = (p.status?.adapters ?? []) as Array<{ serviceName?: string }>
      return conditionOf(p, 'AdaptersSynced')?.status === 'True' && adapters.some((a) => a.serviceName) && p
    },
    180_000,
  )
  const serviceNames = ((parent.status?.adapters ?? []) as Array<{ serviceName?: string }>)
    .map((a) => a.serviceName)
    .filter((n): n is string => n !== undefined)
  t.ok(serviceNames.length >= 2, `adapter Services named in the status: ${serviceNames.join(', ')}`)
  const services = await waitUntil(
    'the adapter Services stored by the API server',
    async () => {
      const owned = await childrenOf(c, ns, parent.metadata.uid!)
      return serviceNames.every((n) => owned[`Service/${n}`]) && owned
    },
    60_000,
  )
  for (const n of serviceNames) {
    t.ok(n.length <= 63 && services[`Service/${n}`], `${n} (${n.length} characters) accepted`)
  }
  await c.kube.delete(path)
  await waitUntil('deleted', async () => !(await c.kube.find(path)), 120_000)
})
