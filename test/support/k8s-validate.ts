// Offline validation of Kubernetes objects, as close to the API server as we can get without one:
// - built-in kinds: the kubernetes-models validators (types, enums, required fields), plus an unknown-field
//   check that walks each object against the kubernetes-models TypeScript interfaces (the validators accept
//   any extra field, the API server's strict field validation does not);
// - custom resources: ajv against the CRD's openAPIV3Schema, closed with additionalProperties:false wherever
//   the schema lists properties and does not preserve unknown fields (what pruning/strict validation does).
import { existsSync } from 'node:fs'
import path from 'node:path'
import { Ajv, type ErrorObject } from 'ajv'
import ts from 'typescript'
import { parseAllDocuments } from 'yaml'
import { repoRoot } from './tools.js'

export interface ObjectMeta {
  name?: string
  namespace?: string
  labels?: Record<string, string>
  annotations?: Record<string, string>
  [key: string]: unknown
}

export interface K8sObject {
  apiVersion: string
  kind: string
  metadata?: ObjectMeta
  [key: string]: unknown
}

type Json = Record<string, unknown>
const isObject = (value: unknown): value is Json =>
  value !== null && typeof value === 'object' && !Array.isArray(value)

export const idOf = (obj: K8sObject): string =>
  `${obj.kind}/${obj.metadata?.namespace ? `${obj.metadata.namespace}/` : ''}${obj.metadata?.name ?? '?'}`

/** Every non-empty document of a multi-document YAML text; throws on a YAML error or a non-object document. */
export function parseYamlDocuments(text: string, source: string): K8sObject[] {
  const objects: K8sObject[] = []
  for (const doc of parseAllDocuments(text)) {
    const error = doc.errors[0]
    if (error) throw new Error(`${source}: ${error.message}`)
    const value: unknown = doc.toJS()
    if (value === null || value === undefined) continue
    if (!isObject(value) || typeof value.apiVersion !== 'string' || typeof value.kind !== 'string') {
      throw new Error(`${source}: a document is not a Kubernetes object (apiVersion and kind are required)`)
    }
    objects.push(value as K8sObject)
  }
  return objects
}

// ---------------------------------------------------------------------------------------------------------
// kubernetes-models: one module per kind, e.g. kubernetes-models/apps/v1/Deployment

const GROUP_VERSION = /^(?:[a-z0-9.-]+\/)?v[0-9]+(?:(?:alpha|beta)[0-9]+)?$/
const KIND = /^[A-Z][A-Za-z0-9]*$/

/** The kubernetes-models module of a kind (core group: kubernetes-models/v1/Service). */
export function modelSpecifier(apiVersion: string, kind: string): string | undefined {
  if (!GROUP_VERSION.test(apiVersion) || !KIND.test(kind)) return undefined
  return `kubernetes-models/${apiVersion}/${kind}`
}

type ModelClass = new (data: unknown) => { validate(): void }
const models = new Map<string, ModelClass | undefined>()
const modelsDir = path.join(repoRoot, 'node_modules/kubernetes-models')

async function loadModel(apiVersion: string, kind: string): Promise<ModelClass | undefined> {
  const specifier = modelSpecifier(apiVersion, kind)
  if (specifier === undefined) return undefined
  if (!models.has(specifier)) {
    // Decided by the file, not by the import error: loaders differ in the errors they throw for a missing module.
    const exists = existsSync(path.join(modelsDir, apiVersion, `${kind}.js`))
    const model = exists
      ? ((await import(specifier)) as Record<string, ModelClass | undefined>)[kind]
      : undefined
    models.set(specifier, model)
  }
  return models.get(specifier)
}

// ---------------------------------------------------------------------------------------------------------
// Unknown fields: the kubernetes-models .d.ts interfaces list every field of every built-in type. One
// TypeScript program holds the kinds below; walking an object against its interface finds fields that are in
// no interface. A kind that has a model but is missing here is reported, never silently passed.

const FIELD_CHECKED_KINDS = [
  'v1/ConfigMap',
  'v1/Namespace',
  'v1/Secret',
  'v1/Service',
  'v1/ServiceAccount',
  'apps/v1/Deployment',
  'apps/v1/StatefulSet',
  'policy/v1/PodDisruptionBudget',
  'networking.k8s.io/v1/NetworkPolicy',
  'rbac.authorization.k8s.io/v1/ClusterRole',
  'rbac.authorization.k8s.io/v1/ClusterRoleBinding',
  'rbac.authorization.k8s.io/v1/Role',
  'rbac.authorization.k8s.io/v1/RoleBinding',
  'apiextensions.k8s.io/v1/CustomResourceDefinition',
] as const

interface FieldTypes {
  checker: ts.TypeChecker
  byKind: Map<string, ts.Type>
}

let fieldTypes: FieldTypes | undefined

function loadFieldTypes(): FieldTypes {
  if (fieldTypes) return fieldTypes
  // A virtual file inside the repository, so `kubernetes-models/...` resolves from its node_modules.
  const entry = path.join(repoRoot, 'test/support/__field-types__.ts')
  const lines = FIELD_CHECKED_KINDS.map((key, i) => {
    const kind = key.slice(key.lastIndexOf('/') + 1)
    return `import type { I${kind} as T${i} } from 'kubernetes-models/${key}'`
  })
  lines.push(
    `export interface Kinds { ${FIELD_CHECKED_KINDS.map((key, i) => `'${key}': T${i}`).join('; ')} }`,
  )
  const source = lines.join('\n')
  const options: ts.CompilerOptions = {
    target: ts.ScriptTarget.ES2022,
    module: ts.ModuleKind.NodeNext,
    moduleResolution: ts.ModuleResolutionKind.NodeNext,
    strict: true,
    skipLibCheck: true,
    noEmit: true,
    types: [],
    // The smallest standard library that has Array and Record: parsing the default (DOM included) costs seconds.
    lib: ['lib.es5.d.ts'],
  }
  const host = ts.createCompilerHost(options)
  const { getSourceFile, fileExists } = host
  host.getSourceFile = (file, version, ...rest) =>
    file === entry
      ? ts.createSourceFile(file, source, version)
      : getSourceFile.call(host, file, version, ...rest)
  host.fileExists = (file) => file === entry || fileExists.call(host, file)
  const program = ts.createProgram([entry], options, host)
  const sourceFile = program.getSourceFile(entry)
  const diagnostics = sourceFile ? program.getSemanticDiagnostics(sourceFile) : []
  if (!sourceFile || diagnostics.length > 0) {
    const text = diagnostics.map((d) => ts.flattenDiagnosticMessageText(d.messageText, '\n')).join('; ')
    throw new Error(`cannot load the kubernetes-models types: ${text || 'no source file'}`)
  }
  const checker = program.getTypeChecker()
  const moduleSymbol = checker.getSymbolAtLocation(sourceFile)
  const kindsSymbol = moduleSymbol?.exports?.get(ts.escapeLeadingUnderscores('Kinds'))
  if (!kindsSymbol) throw new Error('cannot load the kubernetes-models types: no Kinds interface')
  const kinds = checker.getDeclaredTypeOfSymbol(kindsSymbol)
  const byKind = new Map<string, ts.Type>()
  for (const key of FIELD_CHECKED_KINDS) {
    const property = checker.getPropertyOfType(kinds, key)
    if (property) byKind.set(key, checker.getTypeOfSymbol(property))
  }
  fieldTypes = { checker, byKind }
  return fieldTypes
}

function walkFields(
  checker: ts.TypeChecker,
  value: unknown,
  declared: ts.Type,
  at: string,
  found: string[],
): void {
  if (value === null || typeof value !== 'object') return
  const type = checker.getNonNullableType(declared)
  if (type.flags & (ts.TypeFlags.Any | ts.TypeFlags.Unknown)) return
  const candidates = type.isUnion() ? type.types : [type]
  if (Array.isArray(value)) {
    const arrayType = candidates.find((candidate) => checker.isArrayType(candidate))
    const element = arrayType && checker.getTypeArguments(arrayType as ts.TypeReference)[0]
    if (element) {
      for (const [i, item] of value.entries()) walkFields(checker, item, element, `${at}[${i}]`, found)
    }
    return
  }
  const objectTypes = candidates.filter(
    (candidate) => candidate.flags & ts.TypeFlags.Object && !checker.isArrayType(candidate),
  )
  if (objectTypes.length === 0) return // a type error, which the kubernetes-models validator reports
  for (const [key, child] of Object.entries(value)) {
    let childType: ts.Type | undefined
    let open = false
    for (const objectType of objectTypes) {
      const property = checker.getPropertyOfType(objectType, key)
      if (property) {
        childType = checker.getTypeOfSymbol(property)
        break
      }
      const index = checker.getIndexInfosOfType(objectType)[0]
      if (index) {
        childType = index.type
        break
      }
      // An empty interface (e.g. apiextensions JSON, JSONSchemaPropsOrBool) stands for "any JSON".
      if (checker.getPropertiesOfType(objectType).length === 0) open = true
    }
    const where = at ? `${at}.${key}` : key
    if (childType) walkFields(checker, child, childType, where, found)
    else if (!open) found.push(where)
  }
}

/** Paths of fields of a built-in object that its Kubernetes type does not have (typos, wrong nesting). */
export function unknownFields(obj: K8sObject): string[] {
  const { checker, byKind } = loadFieldTypes()
  const type = byKind.get(`${obj.apiVersion}/${obj.kind}`)
  if (!type) return [`(no field types for ${obj.apiVersion} ${obj.kind}: add it to FIELD_CHECKED_KINDS)`]
  const found: string[] = []
  walkFields(checker, obj, type, '', found)
  return found
}

// ---------------------------------------------------------------------------------------------------------
// Custom resources against a CRD schema

const RFC3339 = /^\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$/
const GO_DURATION_FORMAT = /^-?([0-9]+(\.[0-9]+)?(ns|us|µs|ms|s|m|h))+$|^0$/
const INT32 = 2 ** 31

function newAjv(): Ajv {
  // strict:false: the x-kubernetes-* keywords are not JSON Schema and must be ignored, not rejected.
  const ajv = new Ajv({ strict: false, allErrors: true })
  ajv.addFormat('int32', {
    type: 'number',
    validate: (n: number) => Number.isInteger(n) && n >= -INT32 && n < INT32,
  })
  ajv.addFormat('int64', { type: 'number', validate: (n: number) => Number.isInteger(n) })
  ajv.addFormat('date-time', RFC3339)
  ajv.addFormat('duration', GO_DURATION_FORMAT)
  ajv.addFormat('byte', /^[A-Za-z0-9+/]*={0,2}$/)
  return ajv
}

const SCHEMA_MAPS = ['properties', 'patternProperties', 'definitions'] as const
const SCHEMA_LISTS = ['allOf', 'anyOf', 'oneOf'] as const
const SCHEMA_VALUES = ['additionalProperties', 'items', 'not'] as const

/** Maps every sub-schema of an OpenAPI v3 schema node through `f` (schema-aware: property names are not nodes). */
function mapSubSchemas(node: Json, f: (child: unknown) => unknown): Json {
  const out: Json = { ...node }
  for (const key of SCHEMA_MAPS) {
    const map = node[key]
    if (isObject(map))
      out[key] = Object.fromEntries(Object.entries(map).map(([name, child]) => [name, f(child)]))
  }
  for (const key of SCHEMA_LISTS) {
    const list = node[key]
    if (Array.isArray(list)) out[key] = list.map(f)
  }
  for (const key of SCHEMA_VALUES) {
    const child = node[key]
    if (Array.isArray(child)) out[key] = child.map(f)
    else if (isObject(child)) out[key] = f(child)
  }
  return out
}

/**
 * A copy of a CRD schema that rejects unknown fields the way the API server's strict field validation does:
 * additionalProperties:false wherever properties are listed and unknown fields are not preserved.
 */
export function hardenSchema(schema: unknown): unknown {
  if (!isObject(schema)) return schema
  const out = mapSubSchemas(schema, hardenSchema)
  const preserves = schema['x-kubernetes-preserve-unknown-fields'] === true
  if (isObject(schema.properties) && !preserves && schema.additionalProperties === undefined) {
    out.additionalProperties = false
  }
  return out
}

const describeError = (error: ErrorObject): string => {
  const where = error.instancePath || '/'
  if (error.keyword === 'additionalProperties') {
    return `${where}: unknown field ${JSON.stringify(error.params.additionalProperty)}`
  }
  return `${where}: ${error.message ?? error.keyword}`
}

export type ObjectValidator = (obj: K8sObject) => string[]

/** A validator per `apiVersion kind` served by a CustomResourceDefinition (every version with a schema). */
export function crdValidators(crd: K8sObject): Map<string, ObjectValidator> {
  const spec = crd.spec as { group: string; names: { kind: string }; versions: Json[] }
  const validators = new Map<string, ObjectValidator>()
  const ajv = newAjv()
  for (const version of spec.versions) {
    const schema = (version.schema as Json | undefined)?.openAPIV3Schema
    if (!isObject(schema)) continue
    const validate = ajv.compile(hardenSchema(schema) as Json)
    validators.set(`${spec.group}/${String(version.name)} ${spec.names.kind}`, (obj) =>
      validate(obj) ? [] : (validate.errors ?? []).map(describeError),
    )
  }
  return validators
}

/** The CRDs of a YAML file (only those named in `crdNames`, when given) as validators keyed by `apiVersion kind`. */
export function crdValidatorsFromText(
  text: string,
  source: string,
  crdNames?: string[],
): Map<string, ObjectValidator> {
  const validators = new Map<string, ObjectValidator>()
  for (const doc of parseYamlDocuments(text, source)) {
    if (doc.kind !== 'CustomResourceDefinition') continue
    if (crdNames && !crdNames.includes(doc.metadata?.name ?? '')) continue
    for (const [key, validator] of crdValidators(doc)) validators.set(key, validator)
  }
  return validators
}

// ---------------------------------------------------------------------------------------------------------
// Structural schemas (what the API server demands of a CRD schema), checked on the parts this project uses.

const STRUCTURAL_TYPES = new Set(['object', 'array', 'string', 'integer', 'number', 'boolean'])

function isIntOrStringBranches(node: Json): boolean {
  const branches = node.anyOf
  if (!Array.isArray(branches) || branches.length !== 2) return false
  const types = branches.map((branch) => (isObject(branch) ? branch.type : undefined)).sort()
  return types[0] === 'integer' && types[1] === 'string'
}

/** Why a CRD schema node (and its sub-schemas) is not structural; empty when it is. Defaults are checked too. */
export function structuralProblems(node: unknown, at = '', ajv: Ajv = newAjv()): string[] {
  if (!isObject(node)) return [`${at || '/'}: not a schema object`]
  const problems: string[] = []
  const where = at || '/'
  const intOrString = node['x-kubernetes-int-or-string'] === true
  const preserves = node['x-kubernetes-preserve-unknown-fields'] === true
  if (intOrString) {
    if (node.type !== undefined) problems.push(`${where}: x-kubernetes-int-or-string must not set type`)
    if (node.anyOf !== undefined && !isIntOrStringBranches(node)) {
      problems.push(`${where}: x-kubernetes-int-or-string allows only anyOf [integer, string]`)
    }
  } else if (typeof node.type !== 'string' || !STRUCTURAL_TYPES.has(node.type)) {
    if (!preserves) problems.push(`${where}: missing type (and no x-kubernetes-preserve-unknown-fields)`)
  } else if (node.anyOf !== undefined || node.oneOf !== undefined || node.allOf !== undefined) {
    problems.push(`${where}: logical junctors are only used for int-or-string here`)
  }
  if (node.type === 'array' && !isObject(node.items))
    problems.push(`${where}: an array needs one items schema`)
  if (node.properties !== undefined && node.additionalProperties !== undefined) {
    problems.push(`${where}: properties and additionalProperties are mutually exclusive`)
  }
  if (Array.isArray(node.required)) {
    for (const name of node.required) {
      if (!isObject(node.properties) || !(String(name) in node.properties)) {
        problems.push(`${where}: required field ${String(name)} is not in properties`)
      }
    }
  }
  if (node['x-kubernetes-list-type'] === 'map') {
    const items = isObject(node.items) ? node.items : {}
    const required = Array.isArray(items.required) ? items.required : []
    for (const key of (node['x-kubernetes-list-map-keys'] as unknown[] | undefined) ?? []) {
      if (!required.includes(key)) problems.push(`${where}: list-map key ${String(key)} must be required`)
    }
  }
  if (node.default !== undefined) {
    const { default: value, ...withoutDefault } = node
    const validate = ajv.compile(hardenSchema(withoutDefault) as Json)
    if (!validate(value)) problems.push(`${where}: default ${JSON.stringify(value)} is invalid`)
  }
  if (isObject(node.properties)) {
    for (const [name, child] of Object.entries(node.properties)) {
      problems.push(...structuralProblems(child, `${at}/${name}`, ajv))
    }
  }
  if (isObject(node.additionalProperties)) {
    problems.push(...structuralProblems(node.additionalProperties, `${at}/*`, ajv))
  }
  if (isObject(node.items)) problems.push(...structuralProblems(node.items, `${at}[]`, ajv))
  return problems
}

// ---------------------------------------------------------------------------------------------------------
// ServiceMonitor (prometheus-operator): no model and no CRD in reach, so a closed hand-written subset of
// monitoring.coreos.com/v1 covering the fields the chart may render. A field outside it is an error.

const PROMETHEUS_DURATION =
  '^(0|(([0-9]+)y)?(([0-9]+)w)?(([0-9]+)d)?(([0-9]+)h)?(([0-9]+)m)?(([0-9]+)s)?(([0-9]+)ms)?)$'
const labelSelector = {
  type: 'object',
  additionalProperties: false,
  properties: {
    matchLabels: { type: 'object', additionalProperties: { type: 'string' } },
    matchExpressions: {
      type: 'array',
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['key', 'operator'],
        properties: {
          key: { type: 'string' },
          operator: { enum: ['In', 'NotIn', 'Exists', 'DoesNotExist'] },
          values: { type: 'array', items: { type: 'string' } },
        },
      },
    },
  },
}
const relabelings = { type: 'array', items: { type: 'object' } }
const serviceMonitorSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['apiVersion', 'kind', 'metadata', 'spec'],
  properties: {
    apiVersion: { const: 'monitoring.coreos.com/v1' },
    kind: { const: 'ServiceMonitor' },
    metadata: { type: 'object' },
    spec: {
      type: 'object',
      additionalProperties: false,
      required: ['selector', 'endpoints'],
      properties: {
        jobLabel: { type: 'string' },
        selector: labelSelector,
        namespaceSelector: {
          type: 'object',
          additionalProperties: false,
          properties: { any: { type: 'boolean' }, matchNames: { type: 'array', items: { type: 'string' } } },
        },
        endpoints: {
          type: 'array',
          minItems: 1,
          items: {
            type: 'object',
            additionalProperties: false,
            properties: {
              port: { type: 'string' },
              path: { type: 'string', pattern: '^/' },
              scheme: { enum: ['http', 'https'] },
              interval: { type: 'string', pattern: PROMETHEUS_DURATION },
              scrapeTimeout: { type: 'string', pattern: PROMETHEUS_DURATION },
              honorLabels: { type: 'boolean' },
              authorization: {
                type: 'object',
                additionalProperties: false,
                properties: {
                  type: { type: 'string' },
                  credentials: {
                    type: 'object',
                    additionalProperties: false,
                    required: ['key'],
                    properties: {
                      name: { type: 'string' },
                      key: { type: 'string' },
                      optional: { type: 'boolean' },
                    },
                  },
                },
              },
              relabelings,
              metricRelabelings: relabelings,
            },
          },
        },
      },
    },
  },
}

export function serviceMonitorValidator(): ObjectValidator {
  const validate = newAjv().compile(serviceMonitorSchema)
  return (obj) => (validate(obj) ? [] : (validate.errors ?? []).map(describeError))
}

// ---------------------------------------------------------------------------------------------------------

const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/

/**
 * Problems of every object (prefixed by kind/name): custom kinds use `custom` (keyed `apiVersion kind`), every
 * other kind must have a kubernetes-models model; unknown kinds are errors.
 */
export async function validateObjects(
  objects: K8sObject[],
  custom: Map<string, ObjectValidator> = new Map(),
): Promise<string[]> {
  const problems: string[] = []
  for (const obj of objects) {
    const id = idOf(obj)
    const name = obj.metadata?.name
    if (typeof name !== 'string' || name.length > 253 || !DNS_SUBDOMAIN.test(name)) {
      problems.push(`${id}: metadata.name must be a DNS subdomain`)
    }
    const customValidator = custom.get(`${obj.apiVersion} ${obj.kind}`)
    if (customValidator) {
      problems.push(...customValidator(obj).map((problem) => `${id}: ${problem}`))
      continue
    }
    const Model = await loadModel(obj.apiVersion, obj.kind)
    if (!Model) {
      problems.push(`${id}: unknown kind ${obj.apiVersion} ${obj.kind} (no built-in schema, not a known CRD)`)
      continue
    }
    try {
      new Model(obj).validate()
    } catch (error) {
      problems.push(`${id}: ${(error as Error).message}`)
    }
    problems.push(...unknownFields(obj).map((field) => `${id}: unknown field ${field}`))
  }
  return problems
}
