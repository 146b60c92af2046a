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

/** How the hook trusts (and, under mutual TLS, presents itself to) an API served over HTTPS; PEM text. */
export interface TlsTrust {
  /** CA bundle to verify the server with; the system roots when absent. Verification is never disabled. */
  ca?: string
  /** Client certificate and key, for an API that requires one. */
  cert?: string
  key?: string
}

export interface PollTarget {
  apiUrl: string
  tls?: TlsTrust
  operator: Credentials
  admin?: Credentials
}
