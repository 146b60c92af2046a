// The DittoServer spec and status schemas: one source of truth for the hook's own validation and for the CRD
// (scripts/gen-crd.ts renders manifests/crd/ and the chart's crds/ from these objects; a test keeps them equal).
// They are structural OpenAPI v3 schemas as Kubernetes wants them; the `x-kubernetes-*` keywords are ignored by
// the hook's ajv (CEL rules are re-implemented in spec.ts so that a request that bypassed the CRD is still checked).

import { MAX_PARENT_NAME, PARENT_NAME_PATTERN } from '../children/naming.js'
import {
  affinity,
  containerSecurityContext,
  localObjectReference,
  podSecurityContext,
  toleration,
  topologySpreadConstraint,
} from './pod-schema.js'

/** A Secret data key, as the API server checks it (IsConfigMapKey). */
export const SECRET_KEY = '^[-._a-zA-Z0-9]+$'

const secretKeySelector = (description: string) =>
  ({
    type: 'object',
    description,
    required: ['name', 'key'],
    properties: {
      name: { type: 'string', minLength: 1, maxLength: 253, pattern: DNS_SUBDOMAIN },
      key: { type: 'string', minLength: 1, maxLength: 253, pattern: SECRET_KEY },
    },
  }) as const

export const DNS_SUBDOMAIN = '^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$'
/** Sizes as the upstream CRD accepted them (binary suffixes), without zero. */
export const QUANTITY = '^[1-9][0-9]*(Ki|Mi|Gi|Ti|Pi)$'
/** Go `time.ParseDuration` syntax, unsigned (a negative interval makes no sense anywhere in this spec). */
export const GO_DURATION = '^([0-9]+(\\.[0-9]+)?(ns|us|µs|ms|s|m|h))+$'
/** A resource.Quantity, as Kubernetes' own CRDs write it (sign, decimal, binary or decimal suffix, exponent). */
export const K8S_QUANTITY =
  '^(\\+|-)?(([0-9]+(\\.[0-9]*)?)|(\\.[0-9]+))(([KMGTPE]i)|[numkMGTPE]|([eE](\\+|-)?(([0-9]+(\\.[0-9]*)?)|(\\.[0-9]+))))?$'
const IPV4_OCTET = '(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])'
/**
 * A CIDR: IPv4 without leading zeros (refused by the API server's strict IP validation) and a prefix up to 32, or
 * an IPv6-looking address with a prefix up to 128. spec.ts checks the IPv6 address exactly.
 */
export const CIDR =
  `^((${IPV4_OCTET}\\.){3}${IPV4_OCTET}/(3[0-2]|[12]?[0-9])` +
  '|[0-9a-fA-F.]*:[0-9a-fA-F:.]*/(12[0-8]|1[01][0-9]|[1-9]?[0-9]))$'
/** The longest each duration may be: far inside Go's time.Duration (2562047h), and what makes sense for it. */
export const MAX_DURATIONS = {
  pollingInterval: '24h',
  removalGracePeriod: '720h',
  loadBalancerTimeout: '24h',
  accessTokenDuration: '720h',
  refreshTokenDuration: '8760h',
} as const

const secretDataKey = (dflt: string) =>
  ({ type: 'string', minLength: 1, maxLength: 253, pattern: SECRET_KEY, default: dflt }) as const

const port = (description: string, dflt?: number) =>
  ({
    type: 'integer',
    format: 'int32',
    minimum: 1,
    maximum: 65535,
    description,
    ...(dflt === undefined ? {} : { default: dflt }),
  }) as const

const stringMap = (description: string) =>
  ({ type: 'object', description, additionalProperties: { type: 'string' } }) as const

/** A bounded Go duration; CEL's duration() parses like Go's, so the CRD enforces the bound too. */
const duration = (description: string, dflt: string, max: string) =>
  ({
    type: 'string',
    pattern: GO_DURATION,
    maxLength: 32,
    default: dflt,
    description: `${description} At most ${max}.`,
    'x-kubernetes-validations': [
      { rule: `duration(self) <= duration('${max}')`, message: `must be at most ${max}` },
    ],
  }) as const

const quantityMap = {
  type: 'object',
  additionalProperties: {
    anyOf: [{ type: 'integer' }, { type: 'string' }],
    pattern: K8S_QUANTITY,
    'x-kubernetes-int-or-string': true,
  },
} as const

/** DittoFS' shutdown_timeout as config.ts writes it (the server's default, cmd/dfs/commands/start.go reads it). */
export const SHUTDOWN_TIMEOUT_SECONDS = 30
/** The preStop sleep that lets endpoints drop the pod before DittoFS stops accepting connections. */
export const PRE_STOP_SECONDS = 5
/**
 * After SIGTERM the server drains for up to 3 × shutdown_timeout + 5 s and then exits by itself (start.go,
 * v0.29.0); the kubelet sends SIGTERM after the preStop hook. preStop + 3 × shutdown_timeout + 10 s leaves 5 s
 * past the server's own deadline: 105 s, the upstream operator's value too.
 */
export const DEFAULT_TERMINATION_GRACE_SECONDS = PRE_STOP_SECONDS + 3 * SHUTDOWN_TIMEOUT_SECONDS + 10
/** Prometheus' duration syntax (what the ServiceMonitor CRD accepts for `interval`). */
export const PROMETHEUS_DURATION =
  '^(([0-9]+)y)?(([0-9]+)w)?(([0-9]+)d)?(([0-9]+)h)?(([0-9]+)m)?(([0-9]+)s)?(([0-9]+)ms)?$'

const secretName = (description: string) =>
  ({ type: 'string', maxLength: 253, pattern: DNS_SUBDOMAIN, description }) as const

const labelSelector = {
  type: 'object',
  description: 'A label selector (matchLabels and matchExpressions, ANDed).',
  properties: {
    matchLabels: { type: 'object', additionalProperties: { type: 'string' } },
    matchExpressions: {
      type: 'array',
      items: {
        type: 'object',
        required: ['key', 'operator'],
        properties: {
          key: { type: 'string', minLength: 1 },
          operator: { type: 'string', enum: ['In', 'NotIn', 'Exists', 'DoesNotExist'] },
          values: { type: 'array', items: { type: 'string' } },
        },
      },
    },
  },
} as const

/** CEL: a NetworkPolicyPeer is either selectors or an ipBlock, never empty (cheap: `has` only). */
const PEER_RULE = 'has(self.ipBlock) != (has(self.podSelector) || has(self.namespaceSelector))'

const networkPolicyPeer = {
  type: 'object',
  description: 'A networking.k8s.io/v1 NetworkPolicyPeer: podSelector and/or namespaceSelector, or ipBlock.',
  'x-kubernetes-validations': [
    { rule: PEER_RULE, message: 'must set podSelector and/or namespaceSelector, or ipBlock alone' },
  ],
  properties: {
    podSelector: labelSelector,
    namespaceSelector: labelSelector,
    ipBlock: {
      type: 'object',
      required: ['cidr'],
      properties: {
        cidr: { type: 'string', pattern: CIDR },
        except: { type: 'array', items: { type: 'string', pattern: CIDR } },
      },
    },
  },
} as const

const openObject = (description: string) =>
  ({ type: 'object', description, 'x-kubernetes-preserve-unknown-fields': true }) as const

const serviceTuning = {
  type: { type: 'string', enum: ['ClusterIP', 'NodePort', 'LoadBalancer'] },
  annotations: stringMap('Annotations put on the Service (e.g. cloud load-balancer settings).'),
  loadBalancerSourceRanges: {
    type: 'array',
    description: 'CIDRs allowed to reach a LoadBalancer Service.',
    items: { type: 'string', pattern: CIDR },
  },
  externalTrafficPolicy: { type: 'string', enum: ['Cluster', 'Local'] },
} as const

const adapterServiceTuning = {
  ...serviceTuning,
  splitProtocols: {
    type: 'boolean',
    description:
      'Put every UDP listener port in a second Service <name>-udp (those sharing a number with a TCP port always ' +
      'are). A LoadBalancer with both TCP and UDP ports needs Kubernetes >= 1.26 (MixedProtocolLBService) and a ' +
      'cloud that supports it.',
  },
} as const

const listenerFlag = (description: string) => ({ type: 'boolean', default: false, description }) as const

/**
 * CEL: the metrics port must not collide with the API port while metrics are enabled. Written against the
 * object after API-server defaulting, which only fills fields of objects that are present, hence the `has()`
 * fallbacks to the schema defaults. spec.ts enforces the same rule for requests that bypassed the CRD.
 */
const METRICS_PORT_RULE =
  '!has(self.metrics) || !has(self.metrics.enabled) || !self.metrics.enabled || ' +
  '(has(self.metrics.port) ? self.metrics.port : 9090) != ' +
  '(has(self.controlPlane) && has(self.controlPlane.port) ? self.controlPlane.port : 8080)'

export const specSchema = {
  type: 'object',
  description:
    'Desired state of a DittoFS server. Fields marked deprecated are accepted, ignored and reported.',
  required: ['storage'],
  'x-kubernetes-validations': [
    {
      rule: METRICS_PORT_RULE,
      // No fieldPath/reason: API servers before 1.28 reject those fields (kubectl applies with strict validation).
      message: 'spec.metrics.port must differ from spec.controlPlane.port while metrics are enabled',
    },
  ],
  properties: {
    image: {
      type: 'string',
      minLength: 1,
      default: 'marmos91c/dittofs:latest',
      description: 'DittoFS image.',
    },
    replicas: {
      type: 'integer',
      format: 'int32',
      minimum: 0,
      maximum: 1,
      default: 1,
      description: '0 stops the server (data kept), 1 runs it. DittoFS runs a single replica.',
    },
    storage: {
      type: 'object',
      description: 'Persistent volumes (volumeClaimTemplates: fixed once the StatefulSet exists).',
      required: ['metadataSize'],
      properties: {
        metadataSize: { type: 'string', pattern: QUANTITY, description: 'Metadata volume size, e.g. 10Gi.' },
        contentSize: {
          type: 'string',
          pattern: QUANTITY,
          description: 'Optional content (block) volume size.',
        },
        controlPlaneSize: {
          type: 'string',
          pattern: QUANTITY,
          default: '1Gi',
          description: 'Control-plane database volume size (users and adapters survive restarts).',
        },
        storageClassName: {
          type: 'string',
          minLength: 1,
          maxLength: 253,
          pattern: DNS_SUBDOMAIN,
          description: 'StorageClass for every volume.',
        },
        cacheSize: {
          type: 'string',
          description: 'Deprecated (DittoFS <= v0.4): accepted and ignored; the cache volume is gone.',
        },
      },
    },
    database: {
      type: 'object',
      description: 'Control-plane database.',
      properties: {
        type: {
          type: 'string',
          enum: ['sqlite', 'postgres'],
          default: 'sqlite',
          description: 'postgres needs postgresSecretRef (which wins when set).',
        },
        sqlite: {
          type: 'object',
          properties: {
            path: { type: 'string', pattern: '^/', description: 'SQLite file path in the pod.' },
          },
        },
        postgresSecretRef: secretKeySelector('Secret key holding the PostgreSQL connection string.'),
      },
    },
    controlPlane: {
      type: 'object',
      description: 'The DittoFS REST API (control plane).',
      properties: {
        port: port('DittoFS REST API port.', 8080),
        tls: {
          type: 'boolean',
          default: false,
          description: 'Reach the API over https (implied by certSecretName, which makes the pod serve it).',
        },
        certSecretName: secretName(
          'kubernetes.io/tls Secret (tls.crt, tls.key, ca.crt) the server serves HTTPS with; the hook trusts its ca.crt.',
        ),
        clientCASecretName: secretName(
          'Secret with a client CA bundle (ca.crt): the API then requires client certificates (needs certSecretName).',
        ),
      },
    },
    metrics: {
      type: 'object',
      description: 'Prometheus metrics endpoint of the server and its <name>-metrics Service.',
      properties: {
        enabled: { type: 'boolean', default: false, description: 'Serve metrics and create <name>-metrics.' },
        port: port('Prometheus metrics port.', 9090),
        path: {
          type: 'string',
          pattern: '^/',
          default: '/metrics',
          description: 'HTTP path of the metrics endpoint.',
        },
        bearerTokenSecret: secretKeySelector(
          'Bearer token scrapers must present (mounted as a file; the ServiceMonitor presents it too).',
        ),
        serviceMonitor: {
          type: 'object',
          description:
            'A monitoring.coreos.com/v1 ServiceMonitor for the metrics Service (install option needed).',
          properties: {
            enabled: {
              type: 'boolean',
              default: false,
              description: 'Create <name>-metrics ServiceMonitor.',
            },
            interval: {
              type: 'string',
              pattern: PROMETHEUS_DURATION,
              description: 'Scrape interval, e.g. 30s.',
            },
            labels: stringMap(
              'Labels for a Prometheus serviceMonitorSelector (e.g. release: kube-prometheus-stack).',
            ),
          },
        },
      },
    },
    logging: {
      type: 'object',
      description: 'Server logging (read at start: a change restarts the pod).',
      properties: {
        level: { type: 'string', enum: ['DEBUG', 'INFO', 'WARN', 'ERROR'], description: 'Default INFO.' },
        format: { type: 'string', enum: ['text', 'json'], description: 'Default json.' },
        output: {
          type: 'string',
          minLength: 1,
          description: 'stdout (default), stderr or a file path in the pod.',
        },
      },
    },
    identity: {
      type: 'object',
      description: 'Authentication settings of the DittoFS control plane.',
      properties: {
        type: { type: 'string', description: 'Deprecated (DittoFS <= v0.4): accepted and ignored.' },
        jwt: {
          type: 'object',
          description: 'JWT signing and token lifetimes.',
          properties: {
            secretRef: secretKeySelector('JWT signing secret (>= 32 characters). Generated when omitted.'),
            accessTokenDuration: duration('Access-token lifetime.', '15m', MAX_DURATIONS.accessTokenDuration),
            refreshTokenDuration: duration(
              'Refresh-token lifetime.',
              '168h',
              MAX_DURATIONS.refreshTokenDuration,
            ),
            issuer: { type: 'string', description: 'Deprecated: the server ignores it.' },
          },
        },
        admin: {
          type: 'object',
          description: 'The initial DittoFS administrator.',
          properties: {
            username: { type: 'string', minLength: 1, default: 'admin', description: 'Admin user name.' },
            passwordSecretRef: secretKeySelector('Cleartext initial admin password. Generated when omitted.'),
          },
        },
        ldap: {
          type: 'object',
          description:
            'LDAP / Active Directory identity provider (the bind password only by Secret reference).',
          required: ['url', 'baseDN', 'bindDN'],
          properties: {
            enabled: { type: 'boolean', default: false },
            url: { type: 'string', minLength: 1, description: 'ldaps://host:636, or ldap:// with startTLS.' },
            startTLS: { type: 'boolean' },
            allowPlaintext: { type: 'boolean', description: 'Explicit opt-in to an unencrypted bind.' },
            baseDN: { type: 'string', minLength: 1 },
            bindDN: { type: 'string', minLength: 1 },
            bindPasswordSecretRef: secretKeySelector('Bind password (DITTOFS_LDAP_BIND_PASSWORD).'),
            userAttr: { type: 'string', pattern: '^[A-Za-z][A-Za-z0-9-]*$' },
            realm: { type: 'string' },
            idmap: { type: 'string', enum: ['rfc2307', 'rid'] },
            nestedGroups: { type: 'boolean' },
            caCertFile: { type: 'string', pattern: '^/', description: 'CA bundle path inside the image.' },
            insecureSkipVerify: { type: 'boolean', description: 'Lab only: no directory certificate check.' },
          },
        },
        kerberos: {
          type: 'object',
          description:
            'Kerberos / Active Directory authentication for NFSv4 and SMB (keytabs only by Secret reference).',
          properties: {
            enabled: { type: 'boolean', default: false },
            servicePrincipal: { type: 'string', description: 'service/host@REALM; required when enabled.' },
            realm: { type: 'string' },
            netbiosDomain: { type: 'string' },
            dnsDomain: { type: 'string' },
            keytabSecretRef: secretKeySelector('Service keytab (mounted read-only); required when enabled.'),
            krb5ConfSecretRef: secretKeySelector('krb5.conf (mounted read-only); wins over krb5Conf.'),
            krb5Conf: { type: 'string', pattern: '^/', description: 'krb5.conf path inside the image.' },
            machineAccount: {
              type: 'object',
              description: 'AD machine account for NETLOGON NTLM passthrough.',
              properties: {
                enabled: { type: 'boolean', default: false },
                accountName: { type: 'string', description: 'e.g. DITTOFS$; required when enabled.' },
                secretRef: secretKeySelector(
                  'Machine account password (DITTOFS_KERBEROS_MACHINE_ACCOUNT_SECRET).',
                ),
                keytabSecretRef: secretKeySelector('Machine account keytab (mounted read-only).'),
                dcAddress: { type: 'array', items: { type: 'string', minLength: 1 } },
              },
            },
          },
        },
      },
    },
    service: {
      type: 'object',
      description: 'The API Service.',
      properties: {
        type: { ...serviceTuning.type, default: 'ClusterIP' },
        annotations: serviceTuning.annotations,
      },
    },
    adapterDiscovery: {
      type: 'object',
      description: 'How the hook learns which protocol adapters (NFS, SMB, ...) DittoFS runs.',
      properties: {
        pollingInterval: duration(
          'How often the adapter list is polled (floor 10s).',
          '30s',
          MAX_DURATIONS.pollingInterval,
        ),
      },
    },
    adapterServices: {
      type: 'object',
      description: 'One Service per active DittoFS adapter.',
      properties: {
        ...adapterServiceTuning,
        type: { ...serviceTuning.type, default: 'LoadBalancer' },
        removalGracePeriod: duration(
          'How long a vanished adapter keeps its Service.',
          '60s',
          MAX_DURATIONS.removalGracePeriod,
        ),
        loadBalancerTimeout: duration(
          'When a LoadBalancer without ingress is reported.',
          '5m',
          MAX_DURATIONS.loadBalancerTimeout,
        ),
        overrides: {
          type: 'object',
          description: 'Per adapter type (e.g. nfs, smb) settings that win over the ones above.',
          additionalProperties: { type: 'object', properties: adapterServiceTuning },
        },
        listeners: {
          type: 'object',
          description:
            'Optional DittoFS listeners to expose on the adapter Services and NetworkPolicies. DittoFS opens them ' +
            'only when enabled in its adapter settings (dfsctl adapter settings nfs|smb update; all off by ' +
            'default), which the operator account the hook polls with cannot read: declare what you enabled.',
          properties: {
            nfs: {
              type: 'object',
              properties: {
                portmapper: listenerFlag(
                  'portmapper_enabled: the portmapper, TCP and UDP, exposed on port 111.',
                ),
                portmapperPort: port('portmapper_port: where DittoFS listens for it.', 10111),
                udp: listenerFlag('udp_enabled: NLM, NSM and MOUNT over UDP on the NFS port.'),
                mdns: listenerFlag('mdns_enabled: mDNS on 5353/UDP.'),
              },
            },
            smb: {
              type: 'object',
              properties: {
                mdns: listenerFlag('mdns_enabled: mDNS on 5353/UDP.'),
                wsDiscovery: listenerFlag('wsdiscovery_enabled: WS-Discovery on 3702/UDP and 5357/TCP.'),
              },
            },
          },
        },
      },
    },
    networkPolicy: {
      type: 'object',
      description: 'NetworkPolicies for the server: a baseline one (API, metrics) and one per adapter.',
      properties: {
        enabled: { type: 'boolean', default: false, description: 'Create the NetworkPolicies.' },
        from: {
          type: 'array',
          description: 'NetworkPolicyPeer list allowed in; empty allows any source.',
          // Bounds the CEL cost estimate of the per-peer rule (rule cost × the most items a request could hold).
          maxItems: 64,
          items: networkPolicyPeer,
        },
      },
    },
    resources: {
      type: 'object',
      description: 'Container resources (core/v1 ResourceRequirements).',
      properties: {
        limits: quantityMap,
        requests: quantityMap,
        claims: { type: 'array', items: openObject('A resource claim.') },
      },
    },
    securityContext: containerSecurityContext,
    podSecurityContext: podSecurityContext,
    imagePullPolicy: {
      type: 'string',
      enum: ['Always', 'IfNotPresent', 'Never'],
      description: "The DittoFS container's image pull policy (Kubernetes' default when omitted).",
    },
    imagePullSecrets: {
      type: 'array',
      description: 'Secrets (in the DittoServer namespace) for pulling the DittoFS image.',
      items: localObjectReference,
    },
    nodeSelector: stringMap('Node labels the DittoFS pod must run on.'),
    tolerations: { type: 'array', description: 'Taints the DittoFS pod tolerates.', items: toleration },
    affinity,
    topologySpreadConstraints: {
      type: 'array',
      description: 'How the DittoFS pod spreads across topology domains.',
      items: topologySpreadConstraint,
    },
    priorityClassName: {
      type: 'string',
      minLength: 1,
      maxLength: 253,
      pattern: DNS_SUBDOMAIN,
      description: 'PriorityClass of the DittoFS pod.',
    },
    podAnnotations: stringMap(
      'Extra annotations on the DittoFS pod (not dittofs.io/ ones, which the hook owns).',
    ),
    podLabels: stringMap('Extra labels on the DittoFS pod (never the selector labels app and instance).'),
    terminationGracePeriodSeconds: {
      type: 'integer',
      format: 'int64',
      minimum: DEFAULT_TERMINATION_GRACE_SECONDS,
      description:
        `Pod grace period; default and minimum ${DEFAULT_TERMINATION_GRACE_SECONDS} (what DittoFS needs to drain: ` +
        `${PRE_STOP_SECONDS} s preStop + 3 × its ${SHUTDOWN_TIMEOUT_SECONDS} s shutdown timeout + 10 s).`,
    },
    nfsPort: {
      type: 'integer',
      description: 'Deprecated: adapters are discovered from the DittoFS API. Accepted and ignored.',
    },
    smb: openObject('Deprecated: adapters are discovered from the DittoFS API. Accepted and ignored.'),
    cache: openObject('Deprecated (DittoFS <= v0.4): accepted and ignored.'),
    s3: {
      type: 'object',
      description:
        'Deprecated: DittoFS takes S3 credentials, region and bucket per block store. Only ' +
        'credentialsSecretRef.endpointKey still acts (AWS_ENDPOINT_URL: the endpoint of S3 block stores ' +
        'configured without one); the rest is accepted and ignored.',
      properties: {
        region: { type: 'string', default: 'eu-west-1', description: 'Ignored by the server.' },
        bucket: { type: 'string', description: 'Ignored by the server.' },
        credentialsSecretRef: {
          type: 'object',
          required: ['secretName'],
          properties: {
            secretName: { type: 'string', minLength: 1, maxLength: 253, pattern: DNS_SUBDOMAIN },
            accessKeyIdKey: { ...secretDataKey('accessKeyId'), description: 'Ignored by the server.' },
            secretAccessKeyKey: {
              ...secretDataKey('secretAccessKey'),
              description: 'Ignored by the server.',
            },
            endpointKey: {
              ...secretDataKey('endpoint'),
              description: 'Key of the S3 endpoint URL, passed as AWS_ENDPOINT_URL (optional in the Secret).',
            },
          },
        },
      },
    },
    snapshotPolicies: {
      type: 'array',
      description:
        'Scheduled snapshot policy per share, pushed to the DittoFS API (upserted, never deleted).',
      items: {
        type: 'object',
        required: ['share', 'interval'],
        properties: {
          share: { type: 'string', minLength: 1, description: 'Share name, e.g. /archive.' },
          interval: {
            type: 'string',
            pattern: `^(${GO_DURATION.slice(1, -1)}|@(hourly|daily|weekly))$`,
            description: 'A Go duration (6h) or @hourly, @daily, @weekly.',
          },
          keepLast: { type: 'integer', format: 'int32', minimum: 0, description: '0 = no count bound.' },
          ttl: {
            type: 'string',
            pattern: `^(0|${GO_DURATION.slice(1, -1)})$`,
            description: 'Prune older snapshots (Go duration; 0 = no age bound).',
          },
          enabled: { type: 'boolean', description: 'Default true.' },
          namePrefix: { type: 'string', pattern: '^[A-Za-z0-9_-]{0,64}$', description: 'Default scheduled.' },
        },
      },
    },
    percona: {
      type: 'object',
      description: 'A Percona PostgreSQL cluster (pgv2.percona.com/v2) for the control-plane database.',
      // Kept open: manifests written for earlier operator versions may carry fields this schema does not list.
      'x-kubernetes-preserve-unknown-fields': true,
      properties: {
        enabled: { type: 'boolean', default: false },
        deleteWithServer: { type: 'boolean', default: false },
        replicas: { type: 'integer', format: 'int32', minimum: 1, maximum: 5, default: 1 },
        storageSize: { type: 'string', pattern: QUANTITY, default: '10Gi' },
        storageClassName: { type: 'string', minLength: 1 },
        databaseName: { type: 'string', minLength: 1, default: 'dittofs' },
        backup: {
          type: 'object',
          properties: {
            enabled: { type: 'boolean', default: false },
            credentialsSecretRef: {
              type: 'object',
              required: ['name'],
              properties: { name: secretName('Secret with pgBackRest s3.conf keys.') },
            },
            bucket: { type: 'string' },
            endpoint: { type: 'string' },
            region: { type: 'string', default: 'eu-west-1' },
            fullSchedule: { type: 'string', default: '0 2 * * *' },
            incrSchedule: { type: 'string', default: '0 * * * *' },
            retentionDays: { type: 'integer', format: 'int32', minimum: 1, default: 7 },
          },
        },
      },
    },
  },
} as const

/**
 * CEL at the root of the CRD: a name no child could carry is refused at admission, saying why. Bounded cost: the
 * size test and a short regular expression (metadata.name is the only field CEL sees at the root besides spec).
 * observe.ts applies the same rule to parents stored before the CRD had it.
 */
export const parentValidations = [
  {
    rule: `self.metadata.name.size() <= ${MAX_PARENT_NAME} && self.metadata.name.matches('${PARENT_NAME_PATTERN}')`,
    message:
      `metadata.name must be at most ${MAX_PARENT_NAME} characters, start with a lowercase letter and contain only ` +
      'lowercase letters, digits and "-": it names the Services (DNS-1035 labels) and the StatefulSet',
  },
] as const

const condition = {
  type: 'object',
  required: ['type', 'status'],
  properties: {
    type: { type: 'string' },
    status: { type: 'string', enum: ['True', 'False', 'Unknown'] },
    reason: { type: 'string' },
    message: { type: 'string' },
    lastTransitionTime: { type: 'string', format: 'date-time' },
    observedGeneration: { type: 'integer', format: 'int64' },
  },
} as const

export const statusSchema = {
  type: 'object',
  description: 'Observed state, written by the dittofs-hooks sync hook (replaced whole on each sync).',
  properties: {
    observedGeneration: { type: 'integer', format: 'int64' },
    phase: { type: 'string', enum: ['Pending', 'Running', 'Stopped', 'Failed', 'Deleting'] },
    replicas: { type: 'integer', format: 'int32' },
    readyReplicas: { type: 'integer', format: 'int32' },
    availableReplicas: { type: 'integer', format: 'int32' },
    configHash: { type: 'string' },
    perconaClusterName: { type: 'string' },
    apiEndpoint: { type: 'string' },
    adapters: {
      type: 'array',
      items: {
        type: 'object',
        required: ['type', 'port'],
        properties: {
          type: { type: 'string' },
          port: { type: 'integer', format: 'int32' },
          enabled: { type: 'boolean' },
          running: { type: 'boolean' },
          serviceName: { type: 'string' },
          serviceType: { type: 'string' },
          endpoints: { type: 'array', items: { type: 'string' } },
          udpServiceName: { type: 'string' },
          udpEndpoints: { type: 'array', items: { type: 'string' } },
          missingSince: { type: 'string', format: 'date-time' },
        },
      },
    },
    snapshotPolicies: {
      type: 'array',
      items: {
        type: 'object',
        required: ['share', 'state'],
        properties: {
          share: { type: 'string' },
          state: { type: 'string', enum: ['Pending', 'Applied', 'ShareNotFound', 'Rejected'] },
          applied: { type: 'string' },
          message: { type: 'string' },
        },
      },
    },
    conditions: {
      type: 'array',
      items: condition,
      'x-kubernetes-list-type': 'map',
      'x-kubernetes-list-map-keys': ['type'],
    },
  },
} as const
