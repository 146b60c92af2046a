// The Metacontroller CompositeController hook contract (v4.17), as much of it as this server reads or writes.
// Objects stay loosely typed: the hook reads a few fields and must pass everything else through untouched.

export type Json = string | number | boolean | null | Json[] | { [key: string]: Json }

export interface ObjectMeta {
  name: string
  namespace?: string
  uid?: string
  generation?: number
  resourceVersion?: string
  creationTimestamp?: string
  deletionTimestamp?: string
  labels?: Record<string, string>
  annotations?: Record<string, string>
  finalizers?: string[]
  ownerReferences?: Array<Record<string, unknown>>
  [key: string]: unknown
}

export interface KubeObject {
  apiVersion: string
  kind: string
  metadata: ObjectMeta
  [key: string]: unknown
}

/** `{"<Kind>.<apiVersion>": {"<name>" | "<namespace>/<name>": object}}`. */
export type ObjectMap = Record<string, Record<string, KubeObject>>

export interface CompositeController {
  apiVersion?: string
  kind?: string
  metadata?: ObjectMeta
  spec?: Record<string, unknown>
  [key: string]: unknown
}

export interface SyncRequest {
  controller: CompositeController
  parent: KubeObject
  children: ObjectMap
  related: ObjectMap
  finalizing: boolean
}

export interface SyncResponse {
  status: Record<string, unknown>
  children: KubeObject[]
  resyncAfterSeconds?: number
  finalized?: boolean
}

export interface CustomizeRequest {
  controller: CompositeController
  parent: KubeObject
}

export interface RelatedResourceRule {
  apiVersion: string
  resource: string
  namespace?: string
  names?: string[]
}

export interface CustomizeResponse {
  relatedResources: RelatedResourceRule[]
}

/** The annotation in which Metacontroller's dynamic apply keeps what the hook last returned. */
export const LAST_APPLIED_ANNOTATION = 'metacontroller.k8s.io/last-applied-configuration'
