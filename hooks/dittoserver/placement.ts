import type { JsonObject } from '../loose.js'
import { DEFAULT_TERMINATION_GRACE_SECONDS } from './schema.js'
import type { FieldError } from './spec.js'

// The pod placement fields of a DittoServer (issue 14): read from the pruned spec as written, and checked where
// the schema cannot say it (label and annotation syntax, keys the hook owns).

/** Where and how the DittoFS pod runs: Kubernetes' own shapes, copied into the pod template when set. */
export interface PodPlacement {
  imagePullPolicy?: 'Always' | 'IfNotPresent' | 'Never'
  imagePullSecrets?: Array<{ name: string }>
  nodeSelector?: Record<string, string>
  tolerations?: Record<string, unknown>[]
  affinity?: Record<string, unknown>
  topologySpreadConstraints?: Record<string, unknown>[]
  priorityClassName?: string
  annotations: Record<string, string>
  labels: Record<string, string>
  terminationGracePeriodSeconds: number
}

/** The pod labels the StatefulSet selects on (naming.ts podLabels): a user label must never change them. */
const SELECTOR_LABELS = ['app', 'instance']
/** Annotations the hook writes on the pod template (config and secret hashes) live under this prefix. */
const RESERVED_ANNOTATION_PREFIX = 'dittofs.io/'

const opt = <T>(value: unknown): T | undefined =>
  value === undefined || value === null ? undefined : (value as T)

// Kubernetes' label and annotation syntax (apimachinery validation): [prefix/]name, and label values.
const NAME_PART = /^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$/
const DNS_PREFIX = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/
const LABEL_VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/

function qualifiedNameProblem(key: string): string | undefined {
  const slash = key.lastIndexOf('/')
  const prefix = slash < 0 ? undefined : key.slice(0, slash)
  const name = slash < 0 ? key : key.slice(slash + 1)
  if (prefix !== undefined && (prefix.length > 253 || !DNS_PREFIX.test(prefix)))
    return 'has a prefix that is not a DNS subdomain'
  if (name.length > 63 || !NAME_PART.test(name))
    return 'must be [prefix/]name with a name of at most 63 letters, digits, "-", "_" or "." (alphanumeric at both ends)'
  return undefined
}

const labelValueProblem = (value: string): string | undefined =>
  value.length <= 63 && LABEL_VALUE.test(value)
    ? undefined
    : 'must be at most 63 letters, digits, "-", "_" or "." (alphanumeric at both ends)'

/** Problems with a label or annotation map: key syntax, label values, keys the hook owns. */
function mapProblems(
  field: string,
  map: Record<string, string>,
  kind: 'label' | 'annotation',
  reserved: (key: string) => string | undefined,
): FieldError[] {
  const errors: FieldError[] = []
  for (const [key, value] of Object.entries(map)) {
    const problem =
      reserved(key) ?? qualifiedNameProblem(key) ?? (kind === 'label' ? labelValueProblem(value) : undefined)
    if (problem) errors.push({ field: `${field}.${key}`, message: problem })
  }
  return errors
}

export function placementErrors(pod: PodPlacement): FieldError[] {
  return [
    ...mapProblems('spec.podLabels', pod.labels, 'label', (key) =>
      SELECTOR_LABELS.includes(key) ? 'is a selector label of the StatefulSet and cannot be set' : undefined,
    ),
    ...mapProblems('spec.podAnnotations', pod.annotations, 'annotation', (key) =>
      key.startsWith(RESERVED_ANNOTATION_PREFIX)
        ? `is reserved: the hook owns ${RESERVED_ANNOTATION_PREFIX} annotations`
        : undefined,
    ),
    ...mapProblems('spec.nodeSelector', pod.nodeSelector ?? {}, 'label', () => undefined),
  ]
}

export function podPlacement(s: JsonObject): PodPlacement {
  return {
    imagePullPolicy: opt(s.imagePullPolicy),
    imagePullSecrets: opt(s.imagePullSecrets),
    nodeSelector: opt(s.nodeSelector),
    tolerations: opt(s.tolerations),
    affinity: opt(s.affinity),
    topologySpreadConstraints: opt(s.topologySpreadConstraints),
    priorityClassName: opt(s.priorityClassName),
    annotations: (s.podAnnotations as Record<string, string> | undefined) ?? {},
    labels: (s.podLabels as Record<string, string> | undefined) ?? {},
    terminationGracePeriodSeconds:
      (s.terminationGracePeriodSeconds as number | undefined) ?? DEFAULT_TERMINATION_GRACE_SECONDS,
  }
}
