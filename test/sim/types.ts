/** Kubernetes and Metacontroller shapes as the simulator sees them: plain JSON, loosely typed on purpose. */

export type JsonObject = Record<string, unknown>

export interface OwnerReference {
  apiVersion: string
  kind: string
  name: string
  uid: string
  controller?: boolean
  blockOwnerDeletion?: boolean
}

export interface ObjectMeta {
  name: string
  namespace?: string
  uid?: string
  resourceVersion?: string
  generation?: number
  creationTimestamp?: string
  deletionTimestamp?: string
  deletionGracePeriodSeconds?: number
  labels?: Record<string, string>
  annotations?: Record<string, string>
  finalizers?: string[]
  ownerReferences?: OwnerReference[]
  [field: string]: unknown
}

export interface KubeObject {
  apiVersion: string
  kind: string
  metadata: ObjectMeta
  [field: string]: unknown
}

/** Identifies one object. `namespace` is omitted (or '') for cluster-scoped objects. */
export interface ObjectRef {
  apiVersion: string
  kind: string
  namespace?: string
  name: string
}

export interface LabelSelectorRequirement {
  key: string
  operator: 'In' | 'NotIn' | 'Exists' | 'DoesNotExist'
  values?: string[]
}

export interface LabelSelector {
  matchLabels?: Record<string, string>
  matchExpressions?: LabelSelectorRequirement[]
}

export type UpdateMethod = 'OnDelete' | 'Recreate' | 'InPlace' | 'RollingRecreate' | 'RollingInPlace'

export interface Webhook {
  url?: string
  service?: { name: string; namespace: string; port?: number; protocol?: string }
  path?: string
  timeout?: string
  responseUnMarshallMode?: 'loose' | 'strict'
  [field: string]: unknown
}

export interface Hook {
  version?: 'v1' | 'v2'
  webhook?: Webhook
}

export interface ChildResourceRule {
  apiVersion: string
  resource: string
  updateStrategy?: { method?: UpdateMethod; [field: string]: unknown }
}

export interface CompositeControllerSpec {
  parentResource: {
    apiVersion: string
    resource: string
    labelSelector?: LabelSelector
    ignoreStatusChanges?: boolean
    [field: string]: unknown
  }
  childResources?: ChildResourceRule[]
  hooks?: { customize?: Hook; sync?: Hook; finalize?: Hook; [field: string]: Hook | undefined }
  resyncPeriodSeconds?: number
  generateSelector?: boolean
  [field: string]: unknown
}

export interface CompositeController {
  apiVersion: string
  kind: string
  metadata: ObjectMeta
  spec: CompositeControllerSpec
  [field: string]: unknown
}

/** `{"<Kind>.<apiVersion>": {"<key>": object}}` as in hook requests. */
export type ObjectMap = Record<string, Record<string, KubeObject>>

export interface RelatedResourceRule {
  apiVersion: string
  resource: string
  namespace?: string
  names?: string[]
  labelSelector?: LabelSelector
  namespaceSelector?: LabelSelector
}
