import { Agent, request } from 'node:http'

// A minimal keep-alive HTTP client for the sequential measurements: timed with hrtime from the first byte
// written to the last byte read, so sub-millisecond latencies are not rounded away (autocannon reports whole ms).

export interface Answer {
  status: number
  body: Buffer
  ms: number
}

export class BenchClient {
  readonly #agent: Agent

  constructor(
    readonly port: number,
    sockets = 1,
  ) {
    this.#agent = new Agent({ keepAlive: true, maxSockets: sockets })
  }

  post(path: string, body: Buffer | string): Promise<Answer> {
    return this.#send('POST', path, typeof body === 'string' ? Buffer.from(body) : body)
  }

  get(path: string): Promise<Answer> {
    return this.#send('GET', path, undefined)
  }

  close(): void {
    this.#agent.destroy()
  }

  #send(method: string, path: string, body: Buffer | undefined): Promise<Answer> {
    return new Promise((resolve, reject) => {
      const started = process.hrtime.bigint()
      const headers: Record<string, string | number> = {}
      if (body !== undefined) {
        headers['content-type'] = 'application/json'
        headers['content-length'] = body.length
      }
      const req = request(
        { host: '127.0.0.1', port: this.port, method, path, agent: this.#agent, headers },
        (res) => {
          const chunks: Buffer[] = []
          res.on('data', (chunk: Buffer) => chunks.push(chunk))
          res.on('error', reject)
          res.on('end', () =>
            resolve({
              status: res.statusCode ?? 0,
              body: Buffer.concat(chunks),
              ms: Number(process.hrtime.bigint() - started) / 1e6,
            }),
          )
        },
      )
      // Like autocannon: no Nagle delay between the headers and a large body.
      req.on('socket', (socket) => socket.setNoDelay(true))
      req.on('error', reject)
      req.end(body)
    })
  }
}

export interface Summary {
  n: number
  mean: number
  p50: number
  p99: number
  max: number
}

/** Nearest-rank percentiles of a sample (ms). */
export function summarize(samples: number[]): Summary {
  const sorted = Float64Array.from(samples).sort()
  const rank = (p: number) =>
    sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(p * sorted.length) - 1))] ?? 0
  const total = samples.reduce((sum, x) => sum + x, 0)
  return {
    n: sorted.length,
    mean: sorted.length === 0 ? 0 : total / sorted.length,
    p50: rank(0.5),
    p99: rank(0.99),
    max: sorted[sorted.length - 1] ?? 0,
  }
}
