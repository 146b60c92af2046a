import type { DittoServerSpec, PerconaSpec } from '../dittoserver/spec.js'
import type { KubeObject } from '../metacontroller/types.js'
import { childLabels } from './naming.js'

// The PerconaPGCluster (pgv2.percona.com/v2) for `spec.percona`: an optional child kind. Names, versions and the
// user follow the upstream operator v0.29.0 (pkg/percona), so a cluster it created is adopted, not duplicated.

export const PERCONA_API_VERSION = 'pgv2.percona.com/v2'
const CR_VERSION = '2.8.0'
const POSTGRES_VERSION = 16
const DITTOFS_USER = 'dittofs'

export const perconaClusterName = (parent: string): string => `${parent}-postgres`
/** The Secret the Percona operator writes for the user (keys host, port, dbname, user, password, uri). */
export const perconaUserSecret = (parent: string): string =>
  `${perconaClusterName(parent)}-pguser-${DITTOFS_USER}`

/** The spec with its control-plane database switched to the Percona cluster's connection Secret. */
export const withPerconaDatabase = (spec: DittoServerSpec, parent: string): DittoServerSpec => ({
  ...spec,
  database: {
    type: 'postgres',
    sqlitePath: spec.database.sqlitePath,
    perconaSecretName: perconaUserSecret(parent),
  },
})

function backups(parent: string, percona: PerconaSpec) {
  const backup = percona.backup
  if (!backup) return { enabled: false }
  return {
    enabled: true,
    pgbackrest: {
      global: {
        'repo1-path': `/pgbackrest/${parent}/repo1`,
        'repo1-retention-full': String(backup.retentionDays),
        'repo1-retention-full-type': 'time',
        'repo1-s3-uri-style': 'path',
        'repo1-storage-verify-tls': 'y',
      },
      repos: [
        {
          name: 'repo1',
          s3: { bucket: backup.bucket, endpoint: backup.endpoint, region: backup.region },
          schedules: { full: backup.fullSchedule, incremental: backup.incrSchedule },
        },
      ],
      ...(backup.credentialsSecretName
        ? { configuration: [{ secret: { name: backup.credentialsSecretName } }] }
        : {}),
    },
  }
}

export function buildPerconaCluster(parent: string, percona: PerconaSpec): KubeObject {
  return {
    apiVersion: PERCONA_API_VERSION,
    kind: 'PerconaPGCluster',
    metadata: { name: perconaClusterName(parent), labels: childLabels(parent) },
    spec: {
      crVersion: CR_VERSION,
      postgresVersion: POSTGRES_VERSION,
      instances: [
        {
          name: 'instance1',
          replicas: percona.replicas,
          dataVolumeClaimSpec: {
            accessModes: ['ReadWriteOnce'],
            resources: { requests: { storage: percona.storageSize } },
            ...(percona.storageClassName ? { storageClassName: percona.storageClassName } : {}),
          },
        },
      ],
      users: [{ name: DITTOFS_USER, databases: [percona.databaseName] }],
      backups: backups(parent, percona),
    },
  }
}

/** The observed cluster's `status.state` (`ready` once the Percona operator has it running). */
export function perconaState(observed: KubeObject | undefined): string | undefined {
  const status = observed?.status
  if (!status || typeof status !== 'object') return undefined
  const state = (status as Record<string, unknown>).state
  return typeof state === 'string' ? state : undefined
}
