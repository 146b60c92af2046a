import type { AdapterListeners } from '../dittoserver/spec.js'

// The optional listeners a DittoFS v0.29.0 adapter opens besides its own TCP port, each only when its adapter
// setting is on (all off by default, pkg/controlplane/models/adapter_settings.go). The settings live in the
// control-plane database behind `/api/v1/adapters/{type}/settings`, which is admin-only
// (pkg/controlplane/api/router.go), and `GET /api/v1/adapters` does not report them; so the hook, polling as the
// least-privileged operator account, cannot see them, and the spec declares which ones are on
// (`spec.adapterServices.listeners`). Where and how each is opened:
// - NFS `portmapper_enabled`: the embedded portmapper on `portmapper_port` (10111), TCP and UDP
//   (pkg/adapter/nfs/portmap.go, internal/adapter/nfs/portmap/server.go); clients ask port 111, so the Service maps
//   111 to it, as rpcbind-based NFSv3 mounts expect.
// - NFS `udp_enabled`: NLM, NSM and MOUNT over UDP on the NFS port (pkg/adapter/nfs/udp.go; NFS itself stays TCP).
// - NFS or SMB `mdns_enabled`: the mDNS responder on 5353/UDP (pkg/discovery/mdns/responder.go).
// - SMB `wsdiscovery_enabled`: WS-Discovery on 3702/UDP and its HTTP metadata endpoint on 5357/TCP
//   (pkg/discovery/wsd/responder.go, metadata.go).
// mDNS and WS-Discovery answer multicast queries; through a Service only unicast queries arrive.
// Portmapper and UDP settings take effect when the adapter restarts; mDNS and WS-Discovery at once.

export type Protocol = 'TCP' | 'UDP'

export interface ServicePort {
  name: string
  port: number
  targetPort: number
  protocol: Protocol
}

export const PORTMAPPER_SERVICE_PORT = 111
export const MDNS_PORT = 5353
export const WSD_PORT = 3702
export const WSD_METADATA_PORT = 5357

const port = (name: string, protocol: Protocol, number: number, targetPort = number): ServicePort => ({
  name,
  port: number,
  targetPort,
  protocol,
})

/**
 * The extra Service ports of one adapter, in a fixed order. Only DittoFS' own adapter types have listeners; their
 * port names (at most 15 characters, IANA service names) never collide with the adapter's own (`nfs`, `smb`).
 */
export function listenerPorts(type: string, adapterPort: number, listeners: AdapterListeners): ServicePort[] {
  const ports: ServicePort[] = []
  if (type === 'nfs') {
    const { portmapper, portmapperPort, udp, mdns } = listeners.nfs
    if (portmapper) {
      ports.push(port('portmap', 'TCP', PORTMAPPER_SERVICE_PORT, portmapperPort))
      ports.push(port('portmap-udp', 'UDP', PORTMAPPER_SERVICE_PORT, portmapperPort))
    }
    if (udp) ports.push(port('nfs-udp', 'UDP', adapterPort))
    if (mdns) ports.push(port('mdns', 'UDP', MDNS_PORT))
  }
  if (type === 'smb') {
    const { mdns, wsDiscovery } = listeners.smb
    if (mdns) ports.push(port('mdns', 'UDP', MDNS_PORT))
    if (wsDiscovery) ports.push(port('wsd', 'UDP', WSD_PORT), port('wsd-meta', 'TCP', WSD_METADATA_PORT))
  }
  return ports
}
