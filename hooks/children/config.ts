import { hash } from 'node:crypto'
import { stringify } from 'yaml'
import type { DittoServerSpec, KerberosSpec, LdapSpec } from '../dittoserver/spec.js'
import { BoundedMemo, HOT_PATH_MEMO } from '../memo.js'
import type { KubeObject } from '../metacontroller/types.js'
import { childLabels, childNames } from './naming.js'

// The DittoFS server configuration (current server, reference dittofs.md §3.2). No secret is ever written here:
// the JWT secret, the initial admin password and database/S3 credentials reach the pod as environment variables.

export const CONFIG_KEY = 'config.yaml'

/** Where Secrets the server reads as files are mounted (the upstream operator's paths, so configs stay familiar). */
export const SECRET_FILES = {
  metricsToken: { dir: '/metrics-token', file: 'token' },
  keytab: { dir: '/kerberos', file: 'krb5.keytab' },
  krb5Conf: { dir: '/kerberos-krb5', file: 'krb5.conf' },
  machineKeytab: { dir: '/kerberos-machine', file: 'machine.keytab' },
} as const
export type SecretFile = keyof typeof SECRET_FILES
/** The control-plane certificate Secrets, mounted whole (kubernetes.io/tls keys), as upstream. */
export const TLS_DIRS = { cert: '/tls', clientCA: '/tls-client-ca' } as const
export const secretFilePath = (which: SecretFile): string =>
  `${SECRET_FILES[which].dir}/${SECRET_FILES[which].file}`

/** Keys with an undefined value are left out, so unset optional fields are not written as empty strings. */
const defined = (entries: Record<string, unknown>): Record<string, unknown> =>
  Object.fromEntries(Object.entries(entries).filter(([, value]) => value !== undefined))

// The bind password is not here: the server reads it from DITTOFS_LDAP_BIND_PASSWORD (the StatefulSet's env).
const ldapConfig = (l: LdapSpec) =>
  defined({
    enabled: l.enabled,
    url: l.url,
    start_tls: l.startTLS || undefined,
    allow_plaintext: l.allowPlaintext || undefined,
    base_dn: l.baseDN,
    bind_dn: l.bindDN,
    user_attr: l.userAttr,
    realm: l.realm,
    idmap: l.idmap,
    nested_groups: l.nestedGroups || undefined,
    tls:
      l.caCertFile !== undefined || l.insecureSkipVerify
        ? defined({ ca_cert_file: l.caCertFile, insecure_skip_verify: l.insecureSkipVerify || undefined })
        : undefined,
  })

// Keytabs are mounted files; the machine account password comes from DITTOFS_KERBEROS_MACHINE_ACCOUNT_SECRET.
const kerberosConfig = (k: KerberosSpec) =>
  defined({
    enabled: true,
    keytab_path: secretFilePath('keytab'),
    service_principal: k.servicePrincipal,
    realm: k.realm,
    netbios_domain: k.netbiosDomain,
    dns_domain: k.dnsDomain,
    krb5_conf: k.krb5ConfSecretRef ? secretFilePath('krb5Conf') : k.krb5Conf,
    machine_account: k.machineAccount
      ? defined({
          enabled: true,
          account_name: k.machineAccount.accountName,
          keytab_path: k.machineAccount.keytabSecretRef ? secretFilePath('machineKeytab') : undefined,
          dc_address: k.machineAccount.dcAddress.length > 0 ? k.machineAccount.dcAddress : undefined,
        })
      : undefined,
  })

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
    logging: { level: spec.logging.level, format: spec.logging.format, output: spec.logging.output },
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
      // The server reloads rotated files by itself (pkg/controlplane/api/config.go): no restart on rotation.
      ...(spec.tls.certSecretName
        ? {
            tls: {
              cert_file: `${TLS_DIRS.cert}/tls.crt`,
              key_file: `${TLS_DIRS.cert}/tls.key`,
              ...(spec.tls.clientCASecretName ? { client_ca: `${TLS_DIRS.clientCA}/ca.crt` } : {}),
            },
          }
        : {}),
    },
    admin: { username: spec.admin.username },
  }
  if (spec.metrics.enabled) {
    config.metrics = spec.metrics.bearerTokenSecret
      ? {
          enabled: true,
          host: '0.0.0.0',
          port: spec.metrics.port,
          path: spec.metrics.path,
          auth: 'token',
          token_file: secretFilePath('metricsToken'),
        }
      : { enabled: true, host: '0.0.0.0', port: spec.metrics.port, path: spec.metrics.path }
  }
  if (spec.ldap) config.ldap = ldapConfig(spec.ldap)
  if (spec.kerberos) config.kerberos = kerberosConfig(spec.kerberos)
  return renderedConfigs.get(JSON.stringify(config), () => stringify(config, { lineWidth: 0 }))
}

export const buildConfigMap = (parent: string, configYaml: string): KubeObject => ({
  apiVersion: 'v1',
  kind: 'ConfigMap',
  metadata: { name: childNames(parent).config, labels: childLabels(parent) },
  data: { [CONFIG_KEY]: configYaml },
})

// Length-prefixed so that no two different part lists hash the same; one-shot `hash` (no Hash object per call).
export const sha256 = (...parts: string[]): string =>
  hash('sha256', parts.map((part) => `${Buffer.byteLength(part)}:${part}`).join(''), 'hex')

/** The pod template's config hash: the config file and the secret digest (secret-digest.ts), nothing else (adapters never). */
export const configHash = (configYaml: string, digest: string): string => sha256(configYaml, digest)
