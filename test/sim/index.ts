/**
 * The Metacontroller loop simulator: a virtual clock, an in-memory API server, Metacontroller's CompositeController
 * loop calling a real hook server over HTTP, and the StatefulSet and cloud controllers our children need.
 *
 *   const clock = new VirtualClock()
 *   const cluster = new Cluster({ clock })
 *   cluster.registerCrd(crd)
 *   const mc = new Metacontroller({ baseUrl, controller, cluster })
 *   new StatefulSetController({ cluster }); new CloudController({ cluster })
 *   cluster.create(parent)
 *   await mc.runUntilIdle()
 */

export { DEFAULT_EPOCH_MS, type PendingTimer, rfc3339, VirtualClock } from './clock.js'
export {
  Cluster,
  type ClusterOptions,
  type DeleteOptions,
  type ListOptions,
  type WatchEvent,
  type WatchEventType,
  type WatchListener,
} from './cluster.js'
export {
  CloudController,
  type CloudControllerOptions,
  LB_CLEANUP_FINALIZER,
  type LoadBalancerAddress,
  StatefulSetController,
  type StatefulSetControllerOptions,
} from './companions.js'
export { applyServerDefaults } from './defaults.js'
export { ApiError, type ApiReason, isApiError } from './errors.js'
export { canonicalJson, clone, deepEqual, diffPaths, field } from './json.js'
export { selectorMatches } from './labels.js'
export {
  KNOWN_MERGE_KEYS,
  LAST_APPLIED_ANNOTATION,
  lastAppliedOf,
  mergeForUpdate,
  threeWayMerge,
} from './merge.js'
export {
  CONTROLLER_UID_LABEL,
  controllerRefOf,
  Metacontroller,
  type MetacontrollerOptions,
  type RunOptions,
  type RunResult,
  withCrdDefaults,
} from './metacontroller.js'
export { objectKey } from './related.js'
export {
  describeRef,
  groupOf,
  objectMapKey,
  ResourceRegistry,
  type ResourceType,
  refOf,
  resourceTypesFromCrd,
} from './resources.js'
export {
  type ScriptedCall,
  type ScriptedHandler,
  type ScriptedHook,
  type ScriptedReply,
  startScriptedHook,
} from './scripted-hook.js'
export {
  type ChildAction,
  type ChildEntry,
  type Counters,
  type EventEntry,
  type FinalizerEntry,
  formatTimeline,
  type HookEntry,
  type RequeueEntry,
  type StatusEntry,
  type TimelineEntry,
  total,
} from './timeline.js'
export type * from './types.js'
export { HookFailure, parseGoDuration, parseRetryAfter } from './webhook.js'
export { findObject, loadCompositeController, loadCrds, loadYamlObjects, parseYamlObjects } from './yaml.js'
