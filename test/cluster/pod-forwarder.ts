// Runs inside a pod's network namespace (started by the test kubelet before the container): accepts connections
// on a Unix socket in the pod's folder and relays each to 127.0.0.1:<port> inside the pod, the port being the
// first line the client sends. Unix sockets live in the file system, not in a network namespace, so this is how
// the host side (probes, the Service proxy) reaches a pod that has nothing but its own loopback.
import { rmSync } from 'node:fs'
import net from 'node:net'

const socketPath = process.argv[2]
if (!socketPath) throw new Error('usage: pod-forwarder <socket path>')
rmSync(socketPath, { force: true })

net
  .createServer((client) => {
    let head = Buffer.alloc(0)
    const onData = (chunk: Buffer) => {
      head = Buffer.concat([head, chunk])
      const nl = head.indexOf(10)
      if (nl < 0) {
        if (head.length > 16) client.destroy()
        return
      }
      client.off('data', onData)
      client.pause()
      const port = Number(head.subarray(0, nl).toString())
      const rest = head.subarray(nl + 1)
      const upstream = net.connect(port, '127.0.0.1', () => {
        if (rest.length) upstream.write(rest)
        client.pipe(upstream).pipe(client)
        client.resume()
      })
      upstream.on('error', () => client.destroy())
      client.on('error', () => upstream.destroy())
      client.on('close', () => upstream.destroy())
    }
    client.on('data', onData)
  })
  .listen(socketPath)
