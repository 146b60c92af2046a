// Rendering the install (kustomize and Helm) and looking things up in it, shared by the manifest and chart tests.
import { readFileSync } from 'node:fs'
import path from 'node:path'
import { renderCrd } from '../../scripts/gen-crd.js'
import {
  crdValidators,
  crdValidatorsFromText,
  type K8sObject,
  type ObjectValidator,
  parseYamlDocuments,
  serviceMonitorValidator,
} from './k8s-validate.js'
import { helmAsync, kubectl, metacontrollerCrdFile, repoRoot } from './tools.js'

export const manifestsDir = path.join(repoRoot, 'manifests')
export const chartDir = path.join(repoRoot, 'charts/dittofs-hooks')

export const COMPOSITE_CONTROLLER = 'metacontroller.k8s.io/v1alpha1 CompositeController'

/** `kubectl kustomize <dir>` parsed; throws with kubectl's message when it fails. */
export function kustomize(dir: string): K8sObject[] {
  const result = kubectl(['kustomize', dir])
  if (result.status !== 0) throw new Error(`kubectl kustomize ${dir} failed: ${result.stderr.trim()}`)
  return parseYamlDocuments(result.stdout, `kustomize ${dir}`)
}

export interface HelmTemplate {
  status: number | null
  stderr: string
  objects: K8sObject[]
}

/** `helm template` of the chart as release `dittofs-hooks` in namespace `dittofs-hooks`, CRDs included. */
export async function helmTemplate(extraArgs: string[] = [], chart = chartDir): Promise<HelmTemplate> {
  const args = [
    'template',
    'dittofs-hooks',
    chart,
    '--namespace',
    'dittofs-hooks',
    '--include-crds',
    ...extraArgs,
  ]
  const result = await helmAsync(args)
  const objects =
    result.status === 0 ? parseYamlDocuments(result.stdout, `helm template ${extraArgs.join(' ')}`) : []
  return { status: result.status, stderr: result.stderr, objects }
}

export function findAll(objects: K8sObject[], kind: string): K8sObject[] {
  return objects.filter((obj) => obj.kind === kind)
}

/** The one object of a kind (and name); throws when it is missing or ambiguous, so tests fail loudly. */
export function findOne(objects: K8sObject[], kind: string, name?: string): K8sObject {
  const found = findAll(objects, kind).filter((obj) => name === undefined || obj.metadata?.name === name)
  if (found.length !== 1)
    throw new Error(`expected one ${kind}${name ? `/${name}` : ''}, found ${found.length}`)
  return found[0]!
}

export const idsOf = (objects: K8sObject[]): string[] =>
  objects.map((obj) => `${obj.kind}/${obj.metadata?.name ?? '?'}`).sort()

/** Validators of the custom kinds the install may contain, Metacontroller's only when its CRD is at hand. */
export function customValidators(withMetacontroller: boolean): Map<string, ObjectValidator> {
  const validators = new Map<string, ObjectValidator>(crdValidators(renderCrd() as K8sObject))
  validators.set('monitoring.coreos.com/v1 ServiceMonitor', serviceMonitorValidator())
  if (withMetacontroller) {
    const metacontroller = crdValidatorsFromText(
      readFileSync(metacontrollerCrdFile, 'utf8'),
      metacontrollerCrdFile,
      ['compositecontrollers.metacontroller.k8s.io'],
    )
    const validator = metacontroller.get(COMPOSITE_CONTROLLER)
    if (!validator) throw new Error(`${metacontrollerCrdFile} has no CompositeController schema`)
    validators.set(COMPOSITE_CONTROLLER, validator)
  }
  return validators
}

type Json = Record<string, unknown>
export const specOf = (obj: K8sObject): Json => obj.spec as Json
export const podSpecOf = (deployment: K8sObject): Json =>
  ((specOf(deployment).template as Json).spec as Json) ?? {}
export const containerOf = (deployment: K8sObject): Json =>
  (podSpecOf(deployment).containers as Json[])[0] ?? {}

/** Whether every label of `selector` is on `labels`. */
export function selects(
  selector: Record<string, string> | undefined,
  labels: Record<string, string> | undefined,
) {
  const wanted = Object.entries(selector ?? {})
  return wanted.length > 0 && wanted.every(([key, value]) => labels?.[key] === value)
}
