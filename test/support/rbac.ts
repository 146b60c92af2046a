// What Metacontroller must be allowed to do for a CompositeController, and whether a set of RBAC rules allows it.

import { groupOf } from '../sim/resources.js'

export interface PolicyRule {
  apiGroups?: string[]
  resources?: string[]
  verbs?: string[]
  resourceNames?: string[]
  nonResourceURLs?: string[]
}

export interface Permission {
  group: string
  resource: string
  verbs: string[]
}

interface ResourceRule {
  apiVersion: string
  resource: string
}

export interface CompositeControllerSpec {
  parentResource: ResourceRule
  childResources?: ResourceRule[]
}

const READ = ['get', 'list', 'watch']
const WRITE = ['create', 'update', 'patch', 'delete']

/**
 * Metacontroller's needs for one CompositeController: watch and update parents (it adds its finalizer), write
 * their status, set blocking ownerReferences (needs update on the parent's finalizers subresource where the
 * OwnerReferencesPermissionEnforcement admission plugin is on), read the parent's CRD (it checks for the status
 * subresource), full control of every child type, and events.
 */
export function metacontrollerNeeds(spec: CompositeControllerSpec): Permission[] {
  const parentGroup = groupOf(spec.parentResource.apiVersion)
  const parent = spec.parentResource.resource
  return [
    { group: parentGroup, resource: parent, verbs: [...READ, 'update', 'patch'] },
    { group: parentGroup, resource: `${parent}/status`, verbs: ['get', 'update', 'patch'] },
    { group: parentGroup, resource: `${parent}/finalizers`, verbs: ['update'] },
    { group: 'apiextensions.k8s.io', resource: 'customresourcedefinitions', verbs: READ },
    ...(spec.childResources ?? []).map((child) => ({
      group: groupOf(child.apiVersion),
      resource: child.resource,
      verbs: [...READ, ...WRITE],
    })),
    { group: '', resource: 'events', verbs: ['create', 'patch'] },
  ]
}

const matches = (list: string[] | undefined, value: string): boolean =>
  (list ?? []).some((item) => item === '*' || item === value)

/** Whether some rule grants `verb` on every object of `group`/`resource` (rules limited by name do not count). */
export function allows(rules: PolicyRule[], group: string, resource: string, verb: string): boolean {
  return rules.some(
    (rule) =>
      (rule.resourceNames ?? []).length === 0 &&
      matches(rule.apiGroups, group) &&
      matches(rule.resources, resource) &&
      matches(rule.verbs, verb),
  )
}

/** Each needed `verb group/resource` the rules do not grant. */
export function missingPermissions(rules: PolicyRule[], needs: Permission[]): string[] {
  return needs.flatMap((need) =>
    need.verbs
      .filter((verb) => !allows(rules, need.group, need.resource, verb))
      .map((verb) => `${verb} ${need.group || 'core'}/${need.resource}`),
  )
}
