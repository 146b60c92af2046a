// Fault injection for the DittoFS emulator: answers that a sick or hostile API might give.
import type { IncomingMessage, ServerResponse } from 'node:http'

export type FaultMode =
  /** Delay the request, then answer normally (set ms beyond the client's timeout to force a timeout). */
  | { mode: 'latency'; ms: number }
  /** Answer with a 5xx problem JSON. */
  | { mode: 'status'; status: 500 | 502 | 503 | 504 }
  /** Destroy the socket without an answer. */
  | { mode: 'reset' }
  /** 200 with a body that is not JSON. */
  | { mode: 'garbage' }
  /** 401 on every call, as after a JWT secret rotation. */
  | { mode: 'unauthorized' }
  /** 200, then a body that trickles forever. */
  | { mode: 'slowBody'; bytesPerTick: number; tickMs: number }
  /** 200 with a JSON array of `bytes` bytes; `declareLength` sends a Content-Length up front. */
  | { mode: 'hugeBody'; bytes: number; declareLength?: boolean }
  | { mode: 'redirect'; location: string; status?: 301 | 302 | 307 | 308 }
  /** The adapter list mixes malformed entries with one valid entry (type `webdav`, port 8081). */
  | { mode: 'wrongTypes' }
  /** Accept the request and never answer. */
  | { mode: 'blackhole' }
  /** Answer with exactly this status, content type and body (e.g. a fixture file). */
  | { mode: 'raw'; status: number; contentType: string; body: string }
  /**
   * Answer `status` with the request's body and Authorization header reflected back, as problem JSON (`detail`)
   * or as plain text: a server that echoes the credentials it was sent.
   */
  | { mode: 'echo'; status: number; as: 'problem' | 'text' }
  /**
   * The adapter list carries the caller's password and pieces of its token as adapter types (all valid-looking),
   * next to the configured adapters: a server trying to get credentials written into the parent's status.
   */
  | { mode: 'echoCredentials' }

/** A fault applies to paths starting with `pathPrefix` (default all) for `count` requests (default until cleared). */
export type Fault = FaultMode & { pathPrefix?: string; count?: number }

/** The adapter list served under `wrongTypes`: only the `webdav` entry is valid. */
export const WRONG_TYPES_ADAPTERS: unknown[] = [
  { type: 'nfs', port: '12049', enabled: true, running: true },
  { type: 'smb', port: 70000, enabled: true, running: true },
  { type: '../x', port: 2049, enabled: true, running: true },
  { type: 'ftp', port: 2121, enabled: 'true', running: true },
  null,
  42,
  { type: 'webdav', port: 8081, enabled: true, running: true, extra: { tolerated: true } },
]

/** Tracks timers so that closing the emulator stops endless bodies and pending delays. */
export class Timers {
  readonly #live = new Set<NodeJS.Timeout>()

  delay(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.#live.delete(timer)
        resolve()
      }, ms)
      this.#live.add(timer)
    })
  }

  every(ms: number, fn: () => void): () => void {
    const timer = setInterval(fn, ms)
    this.#live.add(timer)
    return () => {
      clearInterval(timer)
      this.#live.delete(timer)
    }
  }

  clear(): void {
    for (const timer of this.#live) clearTimeout(timer)
    this.#live.clear()
  }
}

/**
 * Answers the request according to an intercepting fault. Returns false for faults that do not intercept
 * (latency and wrongTypes change how the normal route answers instead).
 */
export function interceptWithFault(
  fault: FaultMode,
  req: IncomingMessage,
  res: ServerResponse,
  timers: Timers,
): boolean {
  switch (fault.mode) {
    case 'latency':
    case 'wrongTypes':
    case 'echoCredentials':
      return false
    case 'status':
      sendProblem(res, fault.status, 'Injected failure')
      return true
    case 'reset':
      req.socket.destroy()
      return true
    case 'garbage':
      sendRaw(res, 200, 'application/json', '<html>definitely {not json')
      return true
    case 'unauthorized':
      if (req.url?.startsWith('/api/v1/auth/')) sendProblem(res, 401, 'Invalid username or password')
      else sendRaw(res, 401, 'text/plain; charset=utf-8', 'Invalid or expired token\n')
      return true
    case 'redirect':
      res.writeHead(fault.status ?? 302, { location: fault.location, 'content-length': '0' })
      res.end()
      return true
    case 'slowBody':
      trickle(res, fault.bytesPerTick, fault.tickMs, timers)
      return true
    case 'hugeBody':
      void streamHugeArray(res, fault.bytes, fault.declareLength === true)
      return true
    case 'raw':
      sendRaw(res, fault.status, fault.contentType, fault.body)
      return true
    case 'echo':
      void echo(req, res, fault.status, fault.as)
      return true
    case 'blackhole':
      // Read the request so the client finishes sending, then say nothing until the emulator closes.
      req.resume()
      return true
  }
}

async function echo(req: IncomingMessage, res: ServerResponse, status: number, as: 'problem' | 'text') {
  const chunks: Buffer[] = []
  for await (const chunk of req as AsyncIterable<Buffer>) chunks.push(chunk)
  const reflected = `${Buffer.concat(chunks)
    .toString('utf8')
    .slice(0, 64 * 1024)} ${req.headers.authorization ?? ''}`
  if (as === 'problem') sendProblem(res, status, reflected)
  else sendRaw(res, status, 'text/plain; charset=utf-8', `${reflected}\n`)
}

function trickle(res: ServerResponse, bytesPerTick: number, tickMs: number, timers: Timers): void {
  res.writeHead(200, { 'content-type': 'application/json' })
  res.write('[')
  const chunk = ' '.repeat(Math.max(1, bytesPerTick))
  const stop = timers.every(tickMs, () => {
    if (res.destroyed) stop()
    else res.write(chunk)
  })
  res.once('close', stop)
}

/** `[0,0,…,0]` of exactly `bytes` bytes (at least 3), written with back-pressure so memory stays flat. */
async function streamHugeArray(res: ServerResponse, bytes: number, declareLength: boolean): Promise<void> {
  const total = Math.max(3, Math.floor(bytes))
  const headers: Record<string, string> = { 'content-type': 'application/json' }
  if (declareLength) headers['content-length'] = String(total)
  res.writeHead(200, headers)
  // Body = head + '0,' × pairs + '0]'; a space after '[' makes up an odd remainder.
  const head = (total - 3) % 2 === 1 ? '[ ' : '['
  const blockPairs = 32 * 1024
  const block = '0,'.repeat(blockPairs)
  let pairsLeft = (total - head.length - 2) / 2
  res.write(head)
  while (pairsLeft > 0 && !res.destroyed) {
    const pairs = Math.min(pairsLeft, blockPairs)
    pairsLeft -= pairs
    const more = res.write(pairs === blockPairs ? block : '0,'.repeat(pairs))
    if (!more) await drainedOrClosed(res)
  }
  if (!res.destroyed) res.end('0]')
}

function drainedOrClosed(res: ServerResponse): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      res.off('drain', done)
      res.off('close', done)
      resolve()
    }
    res.on('drain', done)
    res.on('close', done)
  })
}

export function sendRaw(res: ServerResponse, status: number, contentType: string, body: string): void {
  const headers: Record<string, string> = {
    'content-type': contentType,
    'content-length': String(Buffer.byteLength(body)),
  }
  if (contentType.startsWith('text/plain')) headers['x-content-type-options'] = 'nosniff'
  res.writeHead(status, headers)
  res.end(body)
}

const TITLES: Record<number, string> = {
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  409: 'Conflict',
  413: 'Request Entity Too Large',
  422: 'Unprocessable Entity',
  500: 'Internal Server Error',
  502: 'Bad Gateway',
  503: 'Service Unavailable',
  504: 'Gateway Timeout',
}

/** RFC 7807 problem JSON, as DittoFS handlers write it (json.Encoder adds the trailing newline). */
export function sendProblem(res: ServerResponse, status: number, detail: string): void {
  const body = { type: 'about:blank', title: TITLES[status] ?? 'Error', status, detail }
  sendRaw(res, status, 'application/problem+json', `${JSON.stringify(body)}\n`)
}

/** Plain-text error, as DittoFS's auth middleware writes it with Go's http.Error. */
export function sendText(res: ServerResponse, status: number, message: string): void {
  sendRaw(res, status, 'text/plain; charset=utf-8', `${message}\n`)
}

export function sendJson(res: ServerResponse, status: number, value: unknown): void {
  sendRaw(res, status, 'application/json', `${JSON.stringify(value)}\n`)
}
