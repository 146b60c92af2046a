import { childNames, MAX_PARENT_NAME } from '../children/naming.js'
import { perconaUserSecret } from '../children/percona.js'
import { consumedSecretRefs } from '../children/secrets.js'
import { type DittoServerSpec, parseSpec, type SpecPolicy } from '../dittoserver/spec.js'
import type { CustomizeRequest, CustomizeResponse } from '../metacontroller/types.js'

// The hook needs no Kubernetes credentials: Metacontroller sends it the Secrets the spec names, and only from
// the parent's own namespace (a tenant cannot point the hook at another namespace's Secrets).

/**
 * Every Secret the sync reads: those the spec names (the pod consumes them, so their values go into the config
 * hash and their absence is reported), and the names the Go operator used for the Secrets the hook generates, so a
 * migrated DittoServer keeps the passwords DittoFS already knows even where Metacontroller did not adopt them.
 */
export function relatedSecretNames(parentName: string, spec: DittoServerSpec): string[] {
  const names = childNames(parentName)
  const wanted = [
    spec.admin.passwordSecretRef?.name,
    spec.jwt.secretRef?.name,
    spec.database.type === 'postgres' ? spec.database.postgresSecretRef?.name : undefined,
    spec.s3?.secretName,
    // The Percona operator's connection Secret, which the pod reads instead of postgresSecretRef.
    spec.percona ? perconaUserSecret(parentName) : undefined,
    ...consumedSecretRefs(spec).map(({ ref }) => ref.name),
    // The certificate Secret carries the CA the hook verifies the API with; the client CA is only checked to exist.
    spec.tls.certSecretName,
    spec.tls.certSecretName ? spec.tls.clientCASecretName : undefined,
    spec.jwt.secretRef ? undefined : names.jwtSecret,
    spec.admin.passwordSecretRef ? undefined : names.adminCredentials,
    spec.admin.passwordSecretRef ? undefined : names.upstreamAdminBootstrap,
    names.operatorCredentials,
  ]
  return [...new Set(wanted.filter((n): n is string => typeof n === 'string'))].sort()
}

export function customize(request: CustomizeRequest, policy?: SpecPolicy): CustomizeResponse {
  const parsed = parseSpec(request.parent.spec, policy)
  // A parent the sync refuses as an invalid spec (a name too long for its children) reads nothing.
  if (!parsed.ok || request.parent.metadata.name.length > MAX_PARENT_NAME) return { relatedResources: [] }
  return {
    relatedResources: [
      {
        apiVersion: 'v1',
        resource: 'secrets',
        namespace: request.parent.metadata.namespace ?? '',
        names: relatedSecretNames(request.parent.metadata.name, parsed.spec),
      },
    ],
  }
}
