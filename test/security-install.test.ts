// The installer's opt-in to looser security contexts (issue 14.3): off by default in both installs; the kustomize
// component and the Helm value turn the hook's check off, and the component (or the documented kubectl patch for
// Helm) removes exactly the CRD's restricted-profile rules.
import { mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import t from 'tap'
import { parse } from 'yaml'
import { findOne, helmTemplate, kustomize, manifestsDir } from './support/deploy.js'
import type { K8sObject } from './support/k8s-validate.js'
import { kubectl } from './support/tools.js'

type Json = Record<string, any>

const COMPONENT = path.join(manifestsDir, 'components/allow-looser-security')
const envOf = (objects: K8sObject[]): Json[] =>
  (findOne(objects, 'Deployment') as Json).spec.template.spec.containers[0].env
const specProperties = (objects: K8sObject[]): Json =>
  (findOne(objects, 'CustomResourceDefinition') as Json).spec.versions[0].schema.openAPIV3Schema.properties
    .spec.properties

/** An overlay of manifests/ with the component, as the component's comment tells a user to write. */
function withComponent(t: { teardown(fn: () => void): void }): K8sObject[] {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'dittofs-overlay-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  symlinkSync(manifestsDir, path.join(dir, 'manifests'))
  writeFileSync(
    path.join(dir, 'kustomization.yaml'),
    'resources: [manifests]\ncomponents: [manifests/components/allow-looser-security]\n',
  )
  return kustomize(dir)
}

t.test('the plain install refuses loosenings: no opt-in on the hook, the CEL rules in the CRD', async (t) => {
  const objects = kustomize(manifestsDir)
  t.notOk(envOf(objects).some((e) => e.name === 'ALLOW_LOOSER_SECURITY'))
  const properties = specProperties(objects)
  t.ok(properties.securityContext['x-kubernetes-validations'].length > 5)
  t.ok(properties.podSecurityContext['x-kubernetes-validations'].length > 5)
  const chart = await helmTemplate()
  t.equal(chart.status, 0)
  t.notOk(envOf(chart.objects).some((e) => e.name === 'ALLOW_LOOSER_SECURITY'))
})

t.test('the kustomize component opts in on the hook and drops exactly the CRD rules it must', async (t) => {
  const plain = kustomize(manifestsDir)
  const loose = withComponent(t)
  t.same(
    envOf(loose).filter((e) => e.name === 'ALLOW_LOOSER_SECURITY'),
    [{ name: 'ALLOW_LOOSER_SECURITY', value: 'true' }],
  )
  const expected = structuredClone(findOne(plain, 'CustomResourceDefinition')) as Json
  const spec = expected.spec.versions[0].schema.openAPIV3Schema.properties.spec
  delete spec.properties.securityContext['x-kubernetes-validations']
  delete spec.properties.podSecurityContext['x-kubernetes-validations']
  t.same(findOne(loose, 'CustomResourceDefinition'), expected, 'nothing else in the CRD changes')
  t.ok(spec['x-kubernetes-validations'].length > 0, 'the other CEL rules stay')
  t.equal(loose.length, plain.length, 'no object added or removed')
})

t.test('Helm users get the same CRD with the documented kubectl patch', async (t) => {
  const patchFile = path.join(COMPONENT, 'crd-patch.yaml')
  t.match(
    readFileSync(patchFile, 'utf8'),
    /kubectl patch crd dittoservers\.dittofs\.dittofs\.com --type json/,
  )
  const crdFile = path.join(manifestsDir, 'crd/dittoservers.yaml')
  // `kubectl patch --local` applies the patch offline, as it would on the cluster.
  const result = kubectl([
    'patch',
    '--local',
    '-f',
    crdFile,
    '--type',
    'json',
    '--patch-file',
    patchFile,
    '-o',
    'yaml',
  ])
  t.equal(result.status, 0, result.stderr)
  const patched = parse(result.stdout) as K8sObject
  t.same(patched, findOne(withComponent(t), 'CustomResourceDefinition'), 'same as the component')
  const values = readFileSync(path.join(manifestsDir, '../charts/dittofs-hooks/values.yaml'), 'utf8')
  t.match(values, /--patch-file manifests\/components\/allow-looser-security\/crd-patch\.yaml/)
})

t.test('the Helm value sets the hook opt-in, and only a boolean is accepted', async (t) => {
  const on = await helmTemplate(['--set', 'config.allowLooserSecurity=true'])
  t.equal(on.status, 0, on.stderr)
  t.same(
    envOf(on.objects).filter((e) => e.name === 'ALLOW_LOOSER_SECURITY'),
    [{ name: 'ALLOW_LOOSER_SECURITY', value: 'true' }],
  )
  const off = await helmTemplate(['--set', 'config.allowLooserSecurity=false'])
  t.notOk(envOf(off.objects).some((e) => e.name === 'ALLOW_LOOSER_SECURITY'))
  const typo = await helmTemplate(['--set-string', 'config.allowLooserSecurity=yes'])
  t.not(typo.status, 0)
  t.match(typo.stderr, /config\.allowLooserSecurity: Invalid type\. Expected: boolean/)
})
