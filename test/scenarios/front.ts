// The hook server's Kubernetes Service, reduced to what a scenario needs: a stable address on loopback that
// forwards each call to the current hook processes, in turn when there are several (a Service's endpoints;
// a scenario can restart the processes behind it), and a wire tap that keeps a summary of every exchange for the invariants (what was observed, what was
// answered).
import { createServer, request as httpRequest, type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { answerProblems } from '../support/apimachinery.js'

type Loose = Record<string, unknown>

/** One child as a hook request or response names it. */
export interface ChildRef {
  kind: string
  name: string
  /** An adapter Service (label `dittofs.io/adapter-service: "true"`). */
  adapterService: boolean
  /** The NetworkPolicy that opens an adapter Service's ports: its own name, or for a UDP Service its adapter's. */
  policyName: string
  /** Observed with a deletionTimestamp. */
  terminating: boolean
}

export interface SyncRequestSummary {
  parentName: string
  parentUid: string
  generation: number | undefined
  spec: Loose
  deleting: boolean
  finalizing: boolean
  observed: ChildRef[]
}

export interface SyncResponseSummary {
  children: ChildRef[]
  status: Loose
  resyncAfterSeconds: number | undefined
  finalized: boolean | undefined
}

export interface Exchange {
  /** Order of arrival. */
  seq: number
  /** Virtual time of the call. */
  at: number
  /** `/sync`, `/finalize`, `/customize`. */
  path: string
  statusCode: number
  /** Which hook processes answered (0 = the first, 1 after one restart, ...). */
  generation: number
  /** Which of the hook processes behind the front answered (0 with one replica). */
  replica: number
  /** For /sync and /finalize with a parseable request. */
  request?: SyncRequestSummary
  /** For a 200 /sync or /finalize answer. */
  response?: SyncResponseSummary
  /** What a 200 /sync or /finalize answer breaks of the API server's rules (support/apimachinery.ts). */
  problems?: string[]
  /** DittoFS API requests made while this call was answered (filled in by the world). */
  apiRequests?: number
}

export interface HookFront {
  /** Base URL for the simulated Metacontroller. */
  url: string
  exchanges: Exchange[]
  /** Points the front at new hook processes (a restart). */
  setTargets(urls: readonly string[]): void
  close(): Promise<void>
}

const loose = (value: unknown): Loose =>
  value && typeof value === 'object' && !Array.isArray(value) ? (value as Loose) : {}

function childRefs(objects: unknown[]): ChildRef[] {
  return objects.map((raw) => {
    const obj = loose(raw)
    const meta = loose(obj.metadata)
    const labels = loose(meta.labels)
    return {
      kind: String(obj.kind),
      name: String(meta.name),
      adapterService: obj.kind === 'Service' && labels['dittofs.io/adapter-service'] === 'true',
      policyName: String(labels['dittofs.io/udp-service-of'] ?? meta.name),
      terminating: typeof meta.deletionTimestamp === 'string',
    }
  })
}

function summarizeRequest(body: unknown): SyncRequestSummary | undefined {
  const request = loose(body)
  const parent = loose(request.parent)
  const meta = loose(parent.metadata)
  if (typeof meta.name !== 'string') return undefined
  const observed = Object.values(loose(request.children)).flatMap((group) => Object.values(loose(group)))
  return {
    parentName: meta.name,
    parentUid: String(meta.uid ?? ''),
    generation: typeof meta.generation === 'number' ? meta.generation : undefined,
    spec: loose(parent.spec),
    deleting: typeof meta.deletionTimestamp === 'string',
    finalizing: request.finalizing === true,
    observed: childRefs(observed),
  }
}

function summarizeResponse(body: unknown): SyncResponseSummary {
  const response = loose(body)
  return {
    children: childRefs(Array.isArray(response.children) ? response.children : []),
    status: loose(response.status),
    resyncAfterSeconds:
      typeof response.resyncAfterSeconds === 'number' ? response.resyncAfterSeconds : undefined,
    finalized: typeof response.finalized === 'boolean' ? response.finalized : undefined,
  }
}

const parseJson = (buffer: Buffer): unknown => {
  try {
    return JSON.parse(buffer.toString('utf8'))
  } catch {
    return undefined
  }
}

async function readAll(stream: AsyncIterable<Buffer>): Promise<Buffer> {
  const chunks: Buffer[] = []
  for await (const chunk of stream) chunks.push(chunk)
  return Buffer.concat(chunks)
}

export interface HookFrontOptions {
  /** The hook processes; each call goes to the next one (round-robin). */
  targets: readonly string[]
  now: () => number
  /** Called before the answer is sent back, with the exchange just recorded. */
  onExchange?: (exchange: Exchange) => void
}

export async function startHookFront(options: HookFrontOptions): Promise<HookFront> {
  let targets = [...options.targets]
  let calls = 0
  let generation = 0
  const exchanges: Exchange[] = []

  const forward = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const body = await readAll(req)
    const at = options.now()
    const path = (req.url ?? '/').split('?')[0] ?? '/'
    const replica = calls++ % targets.length
    const upstream = new URL(req.url ?? '/', targets[replica])
    const answer = await new Promise<{ status: number; headers: Loose; body: Buffer }>((resolve, reject) => {
      const call = httpRequest(
        upstream,
        {
          method: req.method,
          headers: { ...req.headers, host: upstream.host, 'content-length': String(body.length) },
        },
        (upstreamRes) => {
          readAll(upstreamRes).then(
            (data) =>
              resolve({ status: upstreamRes.statusCode ?? 502, headers: upstreamRes.headers, body: data }),
            reject,
          )
        },
      )
      call.on('error', reject)
      call.end(body)
    })
    const exchange: Exchange = {
      seq: exchanges.length,
      at,
      path,
      statusCode: answer.status,
      generation,
      replica,
    }
    if (path === '/sync' || path === '/finalize') {
      const request = summarizeRequest(parseJson(body))
      if (request) exchange.request = request
      if (answer.status === 200) {
        const parsed = parseJson(answer.body)
        exchange.response = summarizeResponse(parsed)
        exchange.problems = answerProblems(parseJson(body), parsed)
      }
    }
    exchanges.push(exchange)
    options.onExchange?.(exchange)
    const headers = { ...answer.headers }
    delete headers['transfer-encoding']
    delete headers.connection
    delete headers['keep-alive']
    res.writeHead(answer.status, { ...headers, 'content-length': String(answer.body.length) } as never)
    res.end(answer.body)
  }

  const server = createServer((req, res) => {
    forward(req, res).catch(() => {
      // The hook process is gone (a restart in progress): what a Service without endpoints does.
      if (!res.headersSent) res.writeHead(503, { 'content-type': 'text/plain' })
      res.end('no hook server behind the front')
    })
  })
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => resolve())
  })
  const { port } = server.address() as AddressInfo
  return {
    url: `http://127.0.0.1:${port}`,
    exchanges,
    setTargets(urls) {
      targets = [...urls]
      generation += 1
    },
    close: async () => {
      server.closeAllConnections()
      await new Promise<void>((resolve) => server.close(() => resolve()))
    },
  }
}
