// The local control plane's ports (test/cluster/processes.ts): some are bound minutes after they are chosen (a
// second hook replica), so they must be distinct and outside the range the kernel hands out on its own.
import { readFileSync } from 'node:fs'
import net from 'node:net'
import t from 'tap'
import { reservePorts } from './cluster/processes.js'

const listenOn = (port: number) =>
  new Promise<net.Server>((resolve, reject) => {
    const server = net.createServer()
    server.once('error', reject)
    server.listen({ port, host: '127.0.0.1', exclusive: true }, () => resolve(server))
  })
const close = (server: net.Server) => new Promise((resolve) => server.close(resolve))

t.test('reservePorts: distinct, free, and below the ephemeral range', async (t) => {
  const ports = await reservePorts(11)
  t.equal(new Set(ports).size, 11, 'eleven different ports')
  const range = '/proc/sys/net/ipv4/ip_local_port_range'
  const ephemeralLow = Number(readFileSync(range, 'utf8').trim().split(/\s+/)[0])
  t.ok(
    ports.every((p) => p >= 10_000 && p < ephemeralLow),
    `all in 10000..${ephemeralLow - 1}: ${ports.join(', ')}`,
  )
  const servers = await Promise.all(ports.map(listenOn))
  t.equal(servers.length, 11, 'each can be bound once reservePorts returns')
  await Promise.all(servers.map(close))
})

t.test('reservePorts never hands out a port someone holds', async (t) => {
  const first = await reservePorts(40)
  const held = await Promise.all(first.map(listenOn))
  const second = await reservePorts(40)
  t.same(
    second.filter((p) => first.includes(p)),
    [],
    'no port of the held 40 chosen again',
  )
  await Promise.all(held.map(close))
})
