// Where a local control plane keeps its state and which loopback ports it uses: decided once by `cluster:up`,
// written to <state>/layout.json and read back by `cluster:down`, the node agent and the tests.
import { existsSync, readFileSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'

/** The checkout: the nearest folder above this file with a package.json (this file also runs from dist/). */
function findRepoRoot(from: string): string {
  for (let dir = from; dir !== path.dirname(dir); dir = path.dirname(dir)) {
    if (existsSync(path.join(dir, 'package.json'))) return dir
  }
  throw new Error(`no package.json above ${from}`)
}

export const repoRoot = findRepoRoot(path.dirname(fileURLToPath(import.meta.url)))
/** The reference and third-party folder beside the checkout (../shared; ../../shared from a worktree). */
export function sharedDir(): string {
  const candidates = [path.resolve(repoRoot, '../shared'), path.resolve(repoRoot, '../../shared')]
  return candidates.find((dir) => existsSync(path.join(dir, 'third_party'))) ?? candidates[0]!
}

/** The git-ignored folder holding `env` (KEY=value lines for people and other tests). */
export const clusterDir = path.join(repoRoot, '.cluster')
export const envFile = path.join(clusterDir, 'env')

export type ApplyStrategy = 'dynamic-apply' | 'server-side-apply'

export interface Binaries {
  kubernetes: string
  metacontroller: string
  dittofs: string
  etcd: string
}

export interface Layout {
  state: string
  bin: Binaries
  kubectl: string
  ports: {
    etcdClient: number
    etcdPeer: number
    apiserver: number
    controllerManager: number
    metacontrollerHealth: number
    metacontrollerMetrics: number
    /** The address Metacontroller calls: the node agent's round-robin proxy in front of the hook replicas. */
    hookBalancer: number
    /** One port per hook replica; replicas beyond the first are started by tests. */
    hooks: number[]
    /** The node agent's own API (health, pods, counters) and its Service proxy for DittoFS APIs. */
    nodeAgent: number
    serviceProxy: number
  }
  tokens: { admin: string; controllerManager: string; metacontroller: string; nodeAgent: string }
  /** Shared by every hook replica: generated secrets must not depend on which replica answered. */
  hooksSecretKey: string
  resyncPeriodSeconds: number
}

export const layoutFile = (state: string) => path.join(state, 'layout.json')
export const pki = (state: string, file: string) => path.join(state, 'pki', file)
export const kubeconfigFile = (state: string, who: string) => path.join(state, `kubeconfig-${who}.yaml`)
export const apiserverUrl = (layout: Layout) => `https://127.0.0.1:${layout.ports.apiserver}`

/** The URL template the hook is given: the node agent's Service proxy stands in for cluster DNS + kube-proxy. */
export const apiUrlTemplate = (layout: Layout) =>
  `http://127.0.0.1:${layout.ports.serviceProxy}/{namespace}/{name}-api/{port}`

export function saveLayout(layout: Layout): void {
  writeFileSync(layoutFile(layout.state), `${JSON.stringify(layout, null, 2)}\n`, { mode: 0o600 })
}

export function loadLayout(state: string): Layout {
  return JSON.parse(readFileSync(layoutFile(state), 'utf8')) as Layout
}

/** KEY=value lines of .cluster/env, or {} when no cluster is up. */
export function readEnvFile(file = envFile): Record<string, string> {
  if (!existsSync(file)) return {}
  const env: Record<string, string> = {}
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    const eq = line.indexOf('=')
    if (eq > 0 && !line.startsWith('#')) env[line.slice(0, eq)] = line.slice(eq + 1)
  }
  return env
}

/** The layout of the cluster named by CLUSTER_STATE or by .cluster/env. */
export function currentLayout(): Layout {
  const state = process.env.CLUSTER_STATE || readEnvFile().CLUSTER_STATE
  if (!state || !existsSync(layoutFile(state))) {
    throw new Error('no local control plane is up: run `npm run cluster:up` (or `npm run test:cluster`)')
  }
  return loadLayout(state)
}
