/**
 * What the simulated API server knows about each type (its "discovery"): kind <-> plural resource, scope, whether
 * it has a status subresource and tracks `metadata.generation`, and for CRDs the schema used for pruning.
 */

import { isObject } from './json.js'
import type { JsonObject, KubeObject, ObjectRef } from './types.js'

export interface ResourceType {
  apiVersion: string
  kind: string
  plural: string
  namespaced: boolean
  /** Writes to the main resource keep the stored status; only `updateStatus` changes it. */
  statusSubresource: boolean
  /** `metadata.generation` starts at 1 and is bumped when anything outside metadata and status changes. */
  tracksGeneration: boolean
  /** For CRDs: the version's openAPIV3Schema; unknown fields are pruned on every write. */
  schema?: JsonObject
}

const BUILTIN: ResourceType[] = [
  builtin('v1', 'ConfigMap', 'configmaps'),
  builtin('v1', 'Secret', 'secrets'),
  builtin('v1', 'Service', 'services', { statusSubresource: true }),
  builtin('v1', 'ServiceAccount', 'serviceaccounts'),
  builtin('v1', 'Pod', 'pods', { statusSubresource: true }),
  builtin('v1', 'PersistentVolumeClaim', 'persistentvolumeclaims', { statusSubresource: true }),
  builtin('v1', 'Namespace', 'namespaces', { namespaced: false, statusSubresource: true }),
  builtin('apps/v1', 'StatefulSet', 'statefulsets', { statusSubresource: true, tracksGeneration: true }),
  builtin('apps/v1', 'Deployment', 'deployments', { statusSubresource: true, tracksGeneration: true }),
  builtin('networking.k8s.io/v1', 'NetworkPolicy', 'networkpolicies', { tracksGeneration: true }),
  builtin('networking.k8s.io/v1', 'Ingress', 'ingresses', {
    statusSubresource: true,
    tracksGeneration: true,
  }),
  builtin('policy/v1', 'PodDisruptionBudget', 'poddisruptionbudgets', {
    statusSubresource: true,
    tracksGeneration: true,
  }),
  builtin('rbac.authorization.k8s.io/v1', 'Role', 'roles'),
  builtin('rbac.authorization.k8s.io/v1', 'RoleBinding', 'rolebindings'),
  builtin('rbac.authorization.k8s.io/v1', 'ClusterRole', 'clusterroles', { namespaced: false }),
  builtin('rbac.authorization.k8s.io/v1', 'ClusterRoleBinding', 'clusterrolebindings', { namespaced: false }),
  builtin('batch/v1', 'Job', 'jobs', { statusSubresource: true, tracksGeneration: true }),
]

function builtin(
  apiVersion: string,
  kind: string,
  plural: string,
  options: Partial<Pick<ResourceType, 'namespaced' | 'statusSubresource' | 'tracksGeneration'>> = {},
): ResourceType {
  return {
    apiVersion,
    kind,
    plural,
    namespaced: options.namespaced ?? true,
    statusSubresource: options.statusSubresource ?? false,
    tracksGeneration: options.tracksGeneration ?? false,
  }
}

/** The API group of an apiVersion: '' for the core group (`v1`). */
export function groupOf(apiVersion: string): string {
  const slash = apiVersion.indexOf('/')
  return slash < 0 ? '' : apiVersion.slice(0, slash)
}

/** `Kind.version` for the core group, `Kind.group/version` otherwise: the outer key of a hook ObjectMap. */
export function objectMapKey(apiVersion: string, kind: string): string {
  return `${kind}.${apiVersion}`
}

export function typeKey(apiVersion: string, kind: string): string {
  return `${apiVersion}/${kind}`
}

export function refOf(obj: KubeObject): ObjectRef {
  const ref: ObjectRef = { apiVersion: obj.apiVersion, kind: obj.kind, name: obj.metadata.name }
  if (obj.metadata.namespace) ref.namespace = obj.metadata.namespace
  return ref
}

/** A readable `Kind ns/name` for logs and errors. */
export function describeRef(ref: ObjectRef): string {
  return `${ref.kind} ${ref.namespace ? `${ref.namespace}/` : ''}${ref.name}`
}

export class ResourceRegistry {
  #byKind = new Map<string, ResourceType>()
  #byPlural = new Map<string, ResourceType>()

  constructor(types: ResourceType[] = BUILTIN) {
    for (const type of types) this.register(type)
  }

  register(type: ResourceType): void {
    this.#byKind.set(typeKey(type.apiVersion, type.kind), type)
    this.#byPlural.set(`${type.apiVersion}/${type.plural}`, type)
  }

  /** Registers every served version of a CustomResourceDefinition object. Returns the registered types. */
  registerCrd(crd: KubeObject): ResourceType[] {
    const types = resourceTypesFromCrd(crd)
    for (const type of types) this.register(type)
    return types
  }

  byKind(apiVersion: string, kind: string): ResourceType | undefined {
    return this.#byKind.get(typeKey(apiVersion, kind))
  }

  byResource(apiVersion: string, plural: string): ResourceType | undefined {
    return this.#byPlural.get(`${apiVersion}/${plural}`)
  }

  all(): ResourceType[] {
    return [...this.#byKind.values()]
  }
}

export function resourceTypesFromCrd(crd: KubeObject): ResourceType[] {
  const spec = crd.spec
  if (crd.kind !== 'CustomResourceDefinition' || !isObject(spec) || !isObject(spec.names)) {
    throw new Error(`not a CustomResourceDefinition: ${crd.kind} ${crd.metadata?.name}`)
  }
  const group = String(spec.group)
  const kind = String(spec.names.kind)
  const plural = String(spec.names.plural)
  const versions = Array.isArray(spec.versions) ? spec.versions.filter(isObject) : []
  return versions
    .filter((version) => version.served !== false)
    .map((version) => {
      const schema = isObject(version.schema) ? version.schema.openAPIV3Schema : undefined
      const type: ResourceType = {
        apiVersion: `${group}/${String(version.name)}`,
        kind,
        plural,
        namespaced: spec.scope !== 'Cluster',
        statusSubresource: isObject(version.subresources) && isObject(version.subresources.status),
        tracksGeneration: true,
      }
      if (isObject(schema)) type.schema = schema
      return type
    })
}
