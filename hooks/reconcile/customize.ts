import { consumedSecretRefs } from '../children/secrets.js'
import { parseSpec, type SpecPolicy } from '../dittoserver/spec.js'

import type { CustomizeRequest, CustomizeResponse } from '../metacontroller/types.js'

// The hook needs no Kubernetes credentials: Metacontroller sends it the Secrets the spec names, and only from
// the parent's own namespace (a tenant cannot point the hook at another namespace's Secrets).

export function customize(request: CustomizeRequest, policy?: SpecPolicy): CustomizeResponse {
  const parsed = parseSpec(request.parent.spec, policy)
  if (!parsed.ok) return { relatedResources: [] }
  const { spec } = parsed
  const names = [
    spec.admin.passwordSecretRef?.name,
    spec.jwt.secretRef?.name,
    ...consumedSecretRefs(spec).map(({ ref }) => ref.name),
    // The certificate Secret carries the CA the hook verifies the API with; the client CA is only checked to exist.
    spec.tls.certSecretName,
    spec.tls.certSecretName ? spec.tls.clientCASecretName : undefined,
  ].filter((n): n is string => typeof n === 'string')
  if (names.length === 0) return { relatedResources: [] }
  return {
    relatedResources: [
      {
        apiVersion: 'v1',
        resource: 'secrets',
        namespace: request.parent.metadata.namespace ?? '',
        names: [...new Set(names)].sort(),
      },
    ],
  }
}
