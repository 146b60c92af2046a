import t from 'tap'
import {
  adapterChildName,
  adapterPortName,
  adapterSlug,
  childLabels,
  fitName,
  sanitizeAdapterType,
} from '../hooks/children/naming.js'

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/
const IANA_SERVICE = /^(?=.*[a-z])[a-z0-9]([a-z0-9]|-(?!-))*[a-z0-9]$/

t.test('adapter types are sanitised like upstream', async (t) => {
  t.equal(sanitizeAdapterType('nfs'), 'nfs')
  t.equal(sanitizeAdapterType('NFS_v4'), 'nfs-v4')
  t.equal(sanitizeAdapterType('--a..b--'), 'a-b')
  t.equal(sanitizeAdapterType('***'), 'unknown')
})

t.test('types that sanitise alike never share a name', async (t) => {
  const types = ['nfs', 'NFS', 'nfs_', 'nfs-v4', 'nfs_v4', 'NFS-V4', '***', '%%%']
  const slugs = types.map(adapterSlug)
  t.equal(new Set(slugs).size, types.length, `distinct: ${slugs.join(' ')}`)
  t.equal(adapterSlug('nfs'), 'nfs', 'a clean type keeps its plain name')
})

t.test('child and port names stay within Kubernetes limits', async (t) => {
  const parent = 'a'.repeat(52)
  for (const type of ['nfs', 'a-twenty-char-type-x', 'x'.repeat(70), 'Weird Type!', '12345']) {
    const name = adapterChildName(parent, type)
    t.ok(name.length <= 63 && DNS_LABEL.test(name), `service name ${name}`)
    const port = adapterPortName(type)
    t.ok(port.length <= 15 && IANA_SERVICE.test(port), `port name ${port} for ${type}`)
  }
  t.not(
    adapterChildName(parent, 'x'.repeat(70)),
    adapterChildName(parent, `${'x'.repeat(69)}y`),
    'cut names stay distinct',
  )
  t.equal(adapterChildName('ditto', 'nfs'), 'ditto-adapter-nfs')
  t.equal(fitName('short', 63), 'short')
})

t.test('labels carry the upstream pod labels and app.kubernetes.io', async (t) => {
  t.same(childLabels('ditto'), {
    app: 'dittofs-server',
    instance: 'ditto',
    'app.kubernetes.io/name': 'dittofs',
    'app.kubernetes.io/instance': 'ditto',
    'app.kubernetes.io/managed-by': 'dittofs-hooks',
  })
})
