import { readdirSync, readFileSync } from 'node:fs'
import t from 'tap'
import type { KubeObject } from '../hooks/metacontroller/types.js'
import { renderDittoServer } from '../hooks/render.js'
import { post, testApp } from './support/app.js'

const ditto = (spec: unknown): KubeObject => ({
  apiVersion: 'dittofs.dittofs.com/v1alpha1',
  kind: 'DittoServer',
  metadata: { name: 'demo', namespace: 'storage' },
  spec: spec as KubeObject['spec'],
})
const key = Buffer.from('render-test-key-0123456789')
const ids = (children: KubeObject[]) => children.map((c) => `${c.kind}/${c.metadata.name}`)

t.test('render converges like Metacontroller would', async (t) => {
  const out = renderDittoServer(
    ditto({ storage: { metadataSize: '10Gi' }, networkPolicy: { enabled: true } }),
    {
      secretKey: key,
      adapters: [
        { type: 'nfs', port: 12049, enabled: true, running: true },
        { type: 'smb', port: 1445, enabled: false, running: false },
      ],
      now: Date.parse('2026-01-01T00:00:00Z'),
    },
  )
  t.same(ids(out.children).slice(-3), [
    'NetworkPolicy/demo-baseline',
    'NetworkPolicy/demo-adapter-nfs',
    'Service/demo-adapter-nfs',
  ])
  t.notOk(ids(out.children).includes('Service/demo-adapter-smb'), 'a disabled adapter gets no Service')
  t.ok(out.children.every((c) => c.metadata.namespace === 'storage'))
  const secret = out.children.find((c) => c.kind === 'Secret') as KubeObject
  t.same(
    Object.values(secret.data as object),
    ['<generated in the cluster>'],
    'secret values hidden by default',
  )
  const shown = renderDittoServer(ditto({ storage: { metadataSize: '10Gi' } }), {
    secretKey: key,
    showSecrets: true,
  })
  t.notSame(Object.values(shown.children.find((c) => c.kind === 'Secret')?.data as object), [
    '<generated in the cluster>',
  ])
})

t.test('render refuses an invalid spec, naming the field', async (t) => {
  t.throws(
    () => renderDittoServer(ditto({ replicas: 2, storage: { metadataSize: '1Gi' } }), { secretKey: key }),
    { name: 'RenderError', message: /spec\.replicas/ },
  )
  t.throws(
    () => renderDittoServer(ditto({ storage: {} }), { secretKey: key }),
    /spec\.storage\.metadataSize is required/,
  )
})

t.test('the curl examples in the README answer as documented', async (t) => {
  const app = testApp(t)
  const dir = new URL('../examples/', import.meta.url)
  const files = readdirSync(dir).filter(
    (f) => f.endsWith('-request.json') || f.endsWith('-request-invalid.json'),
  )
  t.ok(files.length >= 4, 'examples exist')
  for (const file of files) {
    const route = file.startsWith('customize')
      ? '/customize'
      : file.startsWith('finalize')
        ? '/finalize'
        : '/sync'
    const res = await post(app, route, readFileSync(new URL(file, dir), 'utf8'))
    t.equal(res.status, 200, `${file} → 200 on ${route}`)
    if (file.includes('invalid')) t.match(res.text, /InvalidSpec/)
    if (file.startsWith('finalize')) t.equal(res.json().finalized, true)
  }
})
