// A minimal Kubernetes REST client for the cluster tools and tests: HTTPS to the local kube-apiserver with its CA
// and a bearer token, JSON in and out, and watches as a stream of events. Only what the tools need; kubectl is
// used where a user would use it (applying manifests).
import { readFileSync } from 'node:fs'
import https from 'node:https'

export interface KubeObject {
  apiVersion?: string
  kind?: string
  metadata: {
    name: string
    namespace?: string
    uid?: string
    resourceVersion?: string
    generation?: number
    labels?: Record<string, string>
    annotations?: Record<string, string>
    finalizers?: string[]
    deletionTimestamp?: string
    creationTimestamp?: string
    ownerReferences?: Array<{ kind: string; name: string; uid: string; controller?: boolean }>
    [key: string]: unknown
  }
  spec?: any
  status?: any
  data?: Record<string, string>
  [key: string]: unknown
}

export interface KubeList {
  metadata: { resourceVersion: string }
  items: KubeObject[]
}

export interface WatchEvent {
  type: 'ADDED' | 'MODIFIED' | 'DELETED' | 'BOOKMARK' | 'ERROR'
  object: KubeObject
}

export interface KubeAccess {
  server: string
  caFile: string
  token: string
}

export class KubeError extends Error {
  constructor(
    readonly status: number,
    readonly body: string,
    message: string,
  ) {
    super(message)
  }
}

/** Where a namespaced or cluster-scoped collection lives, e.g. path('apps/v1', 'statefulsets', 'ns'). */
export function collectionPath(apiVersion: string, plural: string, namespace?: string): string {
  const prefix = apiVersion.includes('/') ? `/apis/${apiVersion}` : `/api/${apiVersion}`
  return namespace === undefined ? `${prefix}/${plural}` : `${prefix}/namespaces/${namespace}/${plural}`
}

export class Kube {
  readonly #server: URL
  readonly #agent: https.Agent
  readonly #token: string

  constructor(access: KubeAccess) {
    this.#server = new URL(access.server)
    this.#agent = new https.Agent({ ca: readFileSync(access.caFile), keepAlive: true, maxSockets: 16 })
    this.#token = access.token
  }

  async request<T = KubeObject>(
    method: string,
    path: string,
    body?: unknown,
    contentType = 'application/json',
  ): Promise<T> {
    const payload = body === undefined ? undefined : Buffer.from(JSON.stringify(body))
    const { status, text } = await new Promise<{ status: number; text: string }>((resolve, reject) => {
      const req = https.request(
        new URL(path, this.#server),
        {
          method,
          agent: this.#agent,
          headers: {
            authorization: `Bearer ${this.#token}`,
            accept: 'application/json',
            ...(payload ? { 'content-type': contentType, 'content-length': payload.length } : {}),
          },
          timeout: 30_000,
        },
        (res) => {
          const chunks: Buffer[] = []
          res.on('data', (c: Buffer) => chunks.push(c))
          res.on('end', () =>
            resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString() }),
          )
          res.on('error', reject)
        },
      )
      req.on('timeout', () => req.destroy(new Error(`${method} ${path}: timed out`)))
      req.on('error', reject)
      req.end(payload)
    })
    if (status >= 400) throw new KubeError(status, text, `${method} ${path}: ${status} ${messageOf(text)}`)
    return (text ? JSON.parse(text) : undefined) as T
  }

  get = (path: string): Promise<KubeObject> => this.request('GET', path)
  list = (path: string): Promise<KubeList> => this.request<KubeList>('GET', path)
  create = (path: string, body: unknown): Promise<KubeObject> => this.request('POST', path, body)
  mergePatch = (path: string, body: unknown): Promise<KubeObject> =>
    this.request('PATCH', path, body, 'application/merge-patch+json')
  delete = (path: string, body?: unknown): Promise<KubeObject> => this.request('DELETE', path, body)

  /** The object, or undefined on 404. */
  async find(path: string): Promise<KubeObject | undefined> {
    try {
      return await this.get(path)
    } catch (error) {
      if (error instanceof KubeError && error.status === 404) return undefined
      throw error
    }
  }

  /**
   * Watches a collection from `resourceVersion` (a list first when not given) and calls `onEvent` for every
   * event until `signal` aborts. Reconnects after a dropped stream, relisting after 410 Gone.
   */
  async watch(
    path: string,
    onEvent: (event: WatchEvent) => void,
    signal: AbortSignal,
    options: {
      resourceVersion?: string
      onList?: (items: KubeObject[]) => void
      labelSelector?: string
    } = {},
  ): Promise<void> {
    const selector = options.labelSelector
      ? `labelSelector=${encodeURIComponent(options.labelSelector)}&`
      : ''
    let resourceVersion = options.resourceVersion
    while (!signal.aborted) {
      if (resourceVersion === undefined) {
        const list = await this.list(`${path}?${selector}`)
        options.onList?.(list.items)
        for (const item of list.items) onEvent({ type: 'ADDED', object: item })
        resourceVersion = list.metadata.resourceVersion
      }
      const query = `${selector}watch=1&allowWatchBookmarks=true&resourceVersion=${resourceVersion}`
      const gone = await this.#stream(`${path}?${query}`, signal, (event) => {
        if (event.object?.metadata?.resourceVersion) resourceVersion = event.object.metadata.resourceVersion
        if (event.type !== 'BOOKMARK' && event.type !== 'ERROR') onEvent(event)
        return event.type === 'ERROR' && (event.object as { code?: number }).code === 410
      }).catch(() => false)
      if (gone) resourceVersion = undefined
      if (!signal.aborted) await new Promise((r) => setTimeout(r, 200))
    }
  }

  /** One watch stream; resolves true when the server said 410 Gone. */
  #stream(path: string, signal: AbortSignal, onEvent: (event: WatchEvent) => boolean): Promise<boolean> {
    return new Promise((resolve, reject) => {
      const req = https.request(
        new URL(path, this.#server),
        {
          method: 'GET',
          agent: false,
          ca: this.#agent.options.ca,
          headers: { authorization: `Bearer ${this.#token}` },
          signal,
        },
        (res) => {
          if ((res.statusCode ?? 0) >= 400) {
            res.resume()
            resolve(res.statusCode === 410)
            return
          }
          let buffered = ''
          let gone = false
          res.setEncoding('utf8')
          res.on('data', (chunk: string) => {
            buffered += chunk
            for (let nl = buffered.indexOf('\n'); nl >= 0; nl = buffered.indexOf('\n')) {
              const line = buffered.slice(0, nl)
              buffered = buffered.slice(nl + 1)
              if (line.trim() && onEvent(JSON.parse(line) as WatchEvent)) gone = true
            }
          })
          res.on('end', () => resolve(gone))
          res.on('error', reject)
        },
      )
      req.on('error', (error) => (signal.aborted ? resolve(false) : reject(error)))
      req.end()
    })
  }

  close(): void {
    this.#agent.destroy()
  }
}

function messageOf(text: string): string {
  try {
    return (JSON.parse(text) as { message?: string }).message ?? text
  } catch {
    return text.slice(0, 500)
  }
}
