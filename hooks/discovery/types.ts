/** One adapter as the DittoFS API reports it, reduced to the fields the hooks act on or report. */
export interface ApiAdapter {
  type: string
  port: number
  enabled: boolean
  running: boolean
}

export type DiscoveryFailureReason = 'APIUnreachable' | 'AuthenticationFailed' | 'InvalidResponse'

export type PollOutcome =
  /** `rejected` holds one note per malformed adapter entry that was skipped (never its raw content). */
  | { ok: true; adapters: ApiAdapter[]; rejected: string[] }
  | { ok: false; reason: DiscoveryFailureReason; message: string; httpStatus?: number }

/** The least-privileged DittoFS account the hook provisions and polls with. */
export const OPERATOR_USERNAME = 'k8s-operator'

export interface Credentials {
  username: string
  password: string
}

export interface PollTarget {
  apiUrl: string
  operator: Credentials
  admin?: Credentials
}
