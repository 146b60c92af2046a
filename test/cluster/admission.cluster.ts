// What the real API server accepts and refuses: every manifest we ship, every example and upstream-era
// DittoServer, and invalid DittoServers (refused with the CRD's message). Names: names.cluster.ts.
import { existsSync, readdirSync, readFileSync } from 'node:fs'
import path from 'node:path'
import t from 'tap'
import { parseAllDocuments } from 'yaml'
import type { KubeObject } from './kube.js'
import { repoRoot, sharedDir } from './layout.js'
import { clusterWithNamespace, dittoServer, dittoServersPath, KubeError, kubectl } from './support.js'

const { c, ns } = await clusterWithNamespace('admission')

const yamlObjects = (file: string): KubeObject[] =>
  parseAllDocuments(readFileSync(file, 'utf8'))
    .map((d) => d.toJS() as KubeObject | null)
    .filter((o): o is KubeObject => o !== null)

/** Creates with dryRun=All: the API server runs validation and admission, stores nothing. */
async function dryRunCreate(
  object: KubeObject,
): Promise<{ ok: true } | { ok: false; status: number; message: string }> {
  try {
    await c.kube.create(`${dittoServersPath(ns)}?dryRun=All&fieldValidation=Strict`, {
      ...object,
      metadata: { ...object.metadata, namespace: ns },
    })
    return { ok: true }
  } catch (error) {
    if (error instanceof KubeError) return { ok: false, status: error.status, message: error.message }
    throw error
  }
}

t.test('every file in manifests/ applies (server-side dry run, strict field validation)', async (t) => {
  // The namespace for real (a dry run creates nothing, so the namespaced objects would not find it), the rest
  // as a server-side dry run: the shipped CompositeController must not start a second controller here.
  const namespace = kubectl(c.layout, ['apply', '-f', 'manifests/namespace.yaml'])
  t.equal(namespace.status, 0, namespace.stderr)
  const result = kubectl(c.layout, ['apply', '--dry-run=server', '--validate=strict', '-k', 'manifests/'])
  t.equal(result.status, 0, result.stderr)
  t.match(
    result.stdout,
    /compositecontroller\.metacontroller\.k8s\.io\/dittofs-hooks (created|configured|unchanged) \(server dry run\)/,
  )
  const listed = readFileSync(path.join(repoRoot, 'manifests/kustomization.yaml'), 'utf8')
  const files = readdirSync(path.join(repoRoot, 'manifests'), { recursive: true })
    .map(String)
    // examples/ are for users to adapt; components/ are kustomize Components that overlays opt into.
    .filter((f) => f.endsWith('.yaml') && f !== 'kustomization.yaml' && !/^(examples|components)\//.test(f))
  t.ok(files.length >= 8)
  for (const file of files) t.ok(listed.includes(`- ${file}`), `${file} is part of the kustomization`)
  for (const object of yamlObjects(path.join(repoRoot, 'manifests/compositecontroller.yaml'))) {
    t.equal(object.kind, 'CompositeController')
  }
})

t.test('our examples and every upstream-era DittoServer are accepted', async (t) => {
  const exampleDir = path.join(repoRoot, 'manifests/examples')
  const fixtures = path.join(sharedDir(), 'reference/fixtures/dittofs')
  const files = [
    ...readdirSync(exampleDir).map((f) => path.join(exampleDir, f)),
    ...(existsSync(fixtures)
      ? readdirSync(fixtures)
          .filter((f) => /^dittoserver-.*\.yaml$/.test(f))
          .map((f) => path.join(fixtures, f))
      : []),
  ]
  t.ok(files.length >= 2)
  for (const file of files) {
    for (const object of yamlObjects(file)) {
      const { status: _status, ...withoutStatus } = object
      t.same(await dryRunCreate(withoutStatus as KubeObject), { ok: true }, `${path.basename(file)} accepted`)
    }
  }
})

t.test('invalid DittoServers are refused by the API server with the CRD message', async (t) => {
  const storage = { metadataSize: '1Gi' }
  // 422 Invalid from the schema; 400 BadRequest from strict field validation (an unknown field).
  const cases: Array<[string, Record<string, unknown>, RegExp, number?]> = [
    ['replicas above 1', { storage, replicas: 3 }, /spec\.replicas.*less than or equal to 1/],
    ['a size that is not a quantity', { storage: { metadataSize: 'ten' } }, /spec\.storage\.metadataSize/],
    [
      'a polling interval that is not a duration',
      { storage, adapterDiscovery: { pollingInterval: 'soon' } },
      /spec\.adapterDiscovery\.pollingInterval/,
    ],
    ['no storage', {}, /spec\.storage: Required value/],
    [
      'an unknown database',
      { storage, database: { type: 'mysql' } },
      /spec\.database\.type: Unsupported value: "mysql"/,
    ],
    ['a port out of range', { storage, controlPlane: { port: 70000 } }, /spec\.controlPlane\.port/],
    ['an unknown field', { storage, bogus: true }, /unknown field "spec\.bogus"/, 400],
    [
      'the metrics port equal to the API port',
      { storage, metrics: { enabled: true, port: 8080 } },
      /metrics/,
    ],
  ]
  for (const [name, spec, message, status = 422] of cases) {
    const result = await dryRunCreate(dittoServer('invalid', ns, spec))
    t.equal(result.ok, false, `${name}: refused`)
    if (!result.ok) {
      t.equal(result.status, status, `${name}: ${status}`)
      t.match(result.message, message, `${name}: the message names the field`)
    }
  }
})
