import { hash } from 'node:crypto'
import { stringify } from 'yaml'
import type { DittoServerSpec } from '../dittoserver/spec.js'
import { BoundedMemo, HOT_PATH_MEMO } from '../memo.js'
import type { KubeObject } from '../metacontroller/types.js'
import { childLabels, childNames } from './naming.js'

// The DittoFS server configuration (current server, reference dittofs.md §3.2). No secret is ever written here:
// the JWT secret, the initial admin password and database/S3 credentials reach the pod as environment variables.

export const CONFIG_KEY = 'config.yaml'

/** Rendered config.yaml by its input: most parents share a few configs, and YAML rendering is the costliest
 * step of a sync (bench/README.md). */
const renderedConfigs = new BoundedMemo<string>(HOT_PATH_MEMO)

export function renderConfig(spec: DittoServerSpec): string {
  const database =
    spec.database.type === 'postgres'
      ? // Placeholders the server overrides from DITTOFS_DATABASE_POSTGRES_* (see the StatefulSet env).
        {
          type: 'postgres',
          postgres: {
            host: 'placeholder',
            database: 'placeholder',
            user: 'placeholder',
            password: 'placeholder',
          },
        }
      : { type: 'sqlite', sqlite: { path: spec.database.sqlitePath } }
  const config: Record<string, unknown> = {
    logging: { level: 'INFO', format: 'json', output: 'stdout' },
    shutdown_timeout: '30s',
    database,
    controlplane: {
      // Since v0.17 the server binds 127.0.0.1 unless told otherwise; probes and Services need all interfaces.
      host: '0.0.0.0',
      port: spec.apiPort,
      // The admin password comes from DITTOFS_ADMIN_INITIAL_PASSWORD; forcing a change would lock the hook out.
      require_initial_password_change: false,
      jwt: {
        access_token_duration: spec.jwt.accessTokenDuration,
        refresh_token_duration: spec.jwt.refreshTokenDuration,
      },
    },
    admin: { username: spec.admin.username },
  }
  if (spec.metrics.enabled) {
    config.metrics = { enabled: true, host: '0.0.0.0', port: spec.metrics.port, path: '/metrics' }
  }
  return renderedConfigs.get(JSON.stringify(config), () => stringify(config, { lineWidth: 0 }))
}

export const buildConfigMap = (parent: string, configYaml: string): KubeObject => ({
  apiVersion: 'v1',
  kind: 'ConfigMap',
  metadata: { name: childNames(parent).config, labels: childLabels(parent) },
  data: { [CONFIG_KEY]: configYaml },
})

// Length-prefixed so that no two different part lists hash the same; one-shot `hash` (no Hash object per call).
const sha256 = (...parts: string[]): string =>
  hash('sha256', parts.map((part) => `${Buffer.byteLength(part)}:${part}`).join(''), 'hex')

/**
 * Digest of the secret values the server reads at every start (the JWT signing secret), salted with the
 * parent UID. Undefined when the request does not show the value: the caller then keeps the observed digest.
 */
export const secretDigest = (parentUid: string, jwtSecret: string | undefined): string | undefined =>
  jwtSecret === undefined ? undefined : sha256('dittofs-hooks/secrets/v1', parentUid, jwtSecret)

/** The pod template's config hash: the config file and the secret digest, nothing else (adapters never). */
export const configHash = (configYaml: string, digest: string): string => sha256(configYaml, digest)
