// The local control plane: what each component is started with, how to tell it is healthy, and the steps of
// `cluster:up` / `cluster:down`. Everything listens on 127.0.0.1; all state lives in one temp folder.
import { execFileSync, spawnSync } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import http from 'node:http'
import https from 'node:https'
import os from 'node:os'
import path from 'node:path'
import { parseAllDocuments, stringify } from 'yaml'
import { Kube } from './kube.js'
import {
  type ApplyStrategy,
  apiserverUrl,
  apiUrlTemplate,
  type Binaries,
  clusterDir,
  envFile,
  kubeconfigFile,
  type Layout,
  loadLayout,
  pki,
  repoRoot,
  saveLayout,
  sharedDir,
} from './layout.js'
import {
  isAlive,
  logFile,
  type ProcessSpec,
  pidOf,
  reservePorts,
  startedNames,
  startProcess,
  stopProcess,
  waitFor,
} from './processes.js'

export const metacontrollerManifests = () =>
  path.join(sharedDir(), 'third_party/metacontroller-v4.17.2/manifests/production')

/** Runs scripts/cluster-build.sh (idempotent; builds only what the cache lacks) and returns the bin folders. */
export function buildBinaries(): Binaries {
  const out = execFileSync('bash', [path.join(repoRoot, 'scripts/cluster-build.sh')], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
  })
  const dirs = Object.fromEntries(
    out
      .trim()
      .split('\n')
      .map((line) => line.split('=') as [string, string]),
  )
  return {
    kubernetes: dirs.KUBERNETES_BIN!,
    metacontroller: dirs.METACONTROLLER_BIN!,
    dittofs: dirs.DITTOFS_BIN!,
    etcd: dirs.ETCD_BIN!,
  }
}

function kubectlPath(): string {
  const local = path.join(repoRoot, '.tools/bin/kubectl')
  if (!existsSync(local))
    execFileSync('bash', [path.join(repoRoot, 'scripts/get-tools.sh')], { stdio: 'inherit' })
  return local
}

const token = () => randomBytes(24).toString('hex')

export async function planLayout(bin: Binaries, resyncPeriodSeconds: number): Promise<Layout> {
  const state = mkdtempSync(path.join(os.tmpdir(), 'dittofs-hooks-cluster-'))
  const ports = await reservePorts(11)
  const port = () => ports.shift()!
  return {
    state,
    bin,
    kubectl: kubectlPath(),
    ports: {
      etcdClient: port(),
      etcdPeer: port(),
      apiserver: port(),
      controllerManager: port(),
      metacontrollerHealth: port(),
      metacontrollerMetrics: port(),
      hookBalancer: port(),
      hooks: [port(), port()],
      nodeAgent: port(),
      serviceProxy: port(),
    },
    tokens: { admin: token(), controllerManager: token(), metacontroller: token(), nodeAgent: token() },
    hooksSecretKey: token(),
    resyncPeriodSeconds,
  }
}

function openssl(args: string[]): void {
  const result = spawnSync('openssl', args, { encoding: 'utf8' })
  if (result.status !== 0) throw new Error(`openssl ${args[0]}: ${result.stderr}`)
}

/** A throwaway CA, the API server's serving certificate (127.0.0.1) and the service-account signing key. */
export function makePki(state: string): void {
  mkdirSync(path.join(state, 'pki'), { recursive: true })
  const f = (name: string) => pki(state, name)
  openssl(
    ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', f('ca.key'), '-out', f('ca.crt')].concat([
      '-days',
      '7',
      '-subj',
      '/CN=dittofs-hooks-test-ca',
    ]),
  )
  openssl(
    [
      'req',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-keyout',
      f('apiserver.key'),
      '-out',
      f('apiserver.csr'),
    ].concat(['-subj', '/CN=kube-apiserver']),
  )
  writeFileSync(f('apiserver.ext'), 'subjectAltName=IP:127.0.0.1,DNS:localhost,DNS:kubernetes.default.svc\n')
  openssl(
    ['x509', '-req', '-in', f('apiserver.csr'), '-CA', f('ca.crt'), '-CAkey', f('ca.key')].concat([
      '-CAcreateserial',
      '-out',
      f('apiserver.crt'),
      '-days',
      '7',
      '-extfile',
      f('apiserver.ext'),
    ]),
  )
  openssl(['genrsa', '-out', f('sa.key'), '2048'])
  openssl(['rsa', '-in', f('sa.key'), '-pubout', '-out', f('sa.pub')])
}

/** Static bearer tokens: an admin, the controller manager, Metacontroller as its production ServiceAccount
 * (so the RBAC from its production manifests is what authorises it) and the node agent. */
export function writeTokens(layout: Layout): void {
  const { tokens } = layout
  const lines = [
    `${tokens.admin},cluster-admin,uid-admin,"system:masters"`,
    `${tokens.controllerManager},system:kube-controller-manager,uid-kcm,"system:masters"`,
    `${tokens.metacontroller},system:serviceaccount:metacontroller:metacontroller,uid-mc,"system:serviceaccounts,system:serviceaccounts:metacontroller"`,
    `${tokens.nodeAgent},system:node:dittofs-test-node,uid-node,"system:masters"`,
  ]
  writeFileSync(pki(layout.state, 'tokens.csv'), `${lines.join('\n')}\n`, { mode: 0o600 })
  for (const [who, value] of Object.entries(tokens)) {
    const config = {
      apiVersion: 'v1',
      kind: 'Config',
      clusters: [
        {
          name: 'local',
          cluster: { server: apiserverUrl(layout), 'certificate-authority': pki(layout.state, 'ca.crt') },
        },
      ],
      users: [{ name: who, user: { token: value } }],
      contexts: [{ name: 'local', context: { cluster: 'local', user: who, namespace: 'default' } }],
      'current-context': 'local',
    }
    writeFileSync(kubeconfigFile(layout.state, who), stringify(config), { mode: 0o600 })
  }
}

export function adminKube(layout: Layout): Kube {
  return new Kube({
    server: apiserverUrl(layout),
    caFile: pki(layout.state, 'ca.crt'),
    token: layout.tokens.admin,
  })
}

// ---- components -------------------------------------------------------------------------------------------

export function etcdSpec(layout: Layout): ProcessSpec {
  const { etcdClient, etcdPeer } = layout.ports
  const peer = `http://127.0.0.1:${etcdPeer}`
  return {
    name: 'etcd',
    command: path.join(layout.bin.etcd, 'etcd'),
    args: [
      `--data-dir=${path.join(layout.state, 'etcd')}`,
      `--listen-client-urls=http://127.0.0.1:${etcdClient}`,
      `--advertise-client-urls=http://127.0.0.1:${etcdClient}`,
      `--listen-peer-urls=${peer}`,
      `--initial-advertise-peer-urls=${peer}`,
      `--initial-cluster=default=${peer}`,
      '--log-level=warn',
      // A test cluster on a busy shared machine: no fsync stalls turned into leader elections.
      '--unsafe-no-fsync',
    ],
  }
}

export function apiserverSpec(layout: Layout): ProcessSpec {
  const f = (name: string) => pki(layout.state, name)
  return {
    name: 'kube-apiserver',
    command: path.join(layout.bin.kubernetes, 'kube-apiserver'),
    args: [
      `--etcd-servers=http://127.0.0.1:${layout.ports.etcdClient}`,
      '--bind-address=127.0.0.1',
      '--advertise-address=127.0.0.1',
      `--secure-port=${layout.ports.apiserver}`,
      `--tls-cert-file=${f('apiserver.crt')}`,
      `--tls-private-key-file=${f('apiserver.key')}`,
      `--client-ca-file=${f('ca.crt')}`,
      `--token-auth-file=${f('tokens.csv')}`,
      '--authorization-mode=RBAC',
      '--service-account-issuer=https://kubernetes.default.svc.cluster.local',
      `--service-account-key-file=${f('sa.pub')}`,
      `--service-account-signing-key-file=${f('sa.key')}`,
      '--service-cluster-ip-range=10.96.0.0/16',
      // No node runs the `kubernetes` Service's endpoints; loopback cannot be advertised to pods anyway.
      '--endpoint-reconciler-type=none',
      `--cert-dir=${path.join(layout.state, 'apiserver-certs')}`,
      '--profiling=false',
      // Kubernetes 1.36 relaxes Service names to DNS-1123 labels (beta, on by default); users run 1.30-1.36, so
      // children are checked against the older, stricter rule (DNS-1035: a Service name starts with a letter).
      '--feature-gates=RelaxedServiceNameValidation=false',
      '--v=1',
    ],
  }
}

export function controllerManagerSpec(layout: Layout): ProcessSpec {
  return {
    name: 'kube-controller-manager',
    command: path.join(layout.bin.kubernetes, 'kube-controller-manager'),
    args: [
      `--kubeconfig=${kubeconfigFile(layout.state, 'controllerManager')}`,
      `--authentication-kubeconfig=${kubeconfigFile(layout.state, 'controllerManager')}`,
      `--authorization-kubeconfig=${kubeconfigFile(layout.state, 'controllerManager')}`,
      // The garbage collector and namespace controller make ownerReference cascades real; the StatefulSet
      // controller makes pods (and PVCs); the serviceaccount controller creates the `default` ServiceAccount
      // that pod admission requires.
      '--controllers=garbagecollector,namespace,statefulset,serviceaccount',
      `--service-account-private-key-file=${pki(layout.state, 'sa.key')}`,
      `--root-ca-file=${pki(layout.state, 'ca.crt')}`,
      '--use-service-account-credentials=false',
      '--leader-elect=false',
      '--bind-address=127.0.0.1',
      `--secure-port=${layout.ports.controllerManager}`,
      `--cert-dir=${path.join(layout.state, 'kcm-certs')}`,
      '--v=1',
    ],
  }
}

export function metacontrollerSpec(layout: Layout, strategy: ApplyStrategy): ProcessSpec {
  return {
    name: 'metacontroller',
    command: path.join(layout.bin.metacontroller, 'metacontroller'),
    args: [
      '--discovery-interval=1s',
      `--apply-strategy=${strategy}`,
      `--health-probe-bind-address=127.0.0.1:${layout.ports.metacontrollerHealth}`,
      `--metrics-address=127.0.0.1:${layout.ports.metacontrollerMetrics}`,
      '--zap-log-level=4',
    ],
    env: { KUBECONFIG: kubeconfigFile(layout.state, 'metacontroller') },
  }
}

export const hookName = (replica: number) => (replica === 0 ? 'hook' : `hook-${replica + 1}`)

export function hookSpec(layout: Layout, replica: number): ProcessSpec {
  return {
    name: hookName(replica),
    command: process.execPath,
    args: [path.join(repoRoot, 'dist/hooks/server.js')],
    env: {
      HOST: '127.0.0.1',
      PORT: String(layout.ports.hooks[replica]),
      LOG_LEVEL: 'info',
      DITTOFS_API_URL_TEMPLATE: apiUrlTemplate(layout),
      HOOKS_SECRET_KEY: layout.hooksSecretKey,
      HOOKS_NAMESPACE: 'dittofs-hooks',
    },
  }
}

export function nodeAgentSpec(layout: Layout): ProcessSpec {
  return {
    name: 'node-agent',
    command: process.execPath,
    args: [path.join(repoRoot, 'dist/test/cluster/node-agent.js'), layout.state],
  }
}

// ---- health -----------------------------------------------------------------------------------------------

function httpStatus(url: string, headers: Record<string, string> = {}, ca?: Buffer): Promise<number> {
  return new Promise((resolve, reject) => {
    const lib = url.startsWith('https:') ? https : http
    const req = lib.get(
      url,
      { headers, timeout: 2000, ...(ca ? { ca } : { rejectUnauthorized: false }) },
      (res) => {
        res.resume()
        resolve(res.statusCode ?? 0)
      },
    )
    req.on('timeout', () => req.destroy(new Error('timeout')))
    req.on('error', reject)
  })
}

const ok = (url: string, headers?: Record<string, string>, ca?: Buffer) => async () => {
  const status = await httpStatus(url, headers, ca)
  return status === 200 || `HTTP ${status}`
}

/** Why the process we started under `name` cannot become healthy any more (it exited), with its last log lines. */
function exited(layout: Layout, name: string): string | undefined {
  const pid = pidOf(layout.state, name)
  if (pid !== undefined && isAlive(pid)) return undefined
  const log = logFile(layout.state, name)
  const tail = existsSync(log) ? readFileSync(log, 'utf8').trimEnd().split('\n').slice(-5).join('\n  ') : ''
  return `the process exited${tail ? `; its log ends:\n  ${tail}` : ''}`
}

export async function waitHealthy(layout: Layout, name: string): Promise<void> {
  const p = layout.ports
  const ca = () => readFileSync(pki(layout.state, 'ca.crt'))
  const checks: Record<string, [string, () => Promise<boolean | string>, number]> = {
    etcd: ['etcd /health', ok(`http://127.0.0.1:${p.etcdClient}/health`), 60_000],
    'kube-apiserver': [
      'kube-apiserver /readyz',
      ok(`${apiserverUrl(layout)}/readyz`, { authorization: `Bearer ${layout.tokens.admin}` }, ca()),
      180_000,
    ],
    'kube-controller-manager': [
      'kube-controller-manager /healthz',
      ok(`https://127.0.0.1:${p.controllerManager}/healthz`),
      120_000,
    ],
    metacontroller: [
      'metacontroller /readyz',
      ok(`http://127.0.0.1:${p.metacontrollerHealth}/readyz`),
      120_000,
    ],
    'node-agent': ['node agent /healthz', ok(`http://127.0.0.1:${p.nodeAgent}/healthz`), 60_000],
  }
  const replica = name === 'hook' ? 0 : /^hook-(\d+)$/.exec(name) ? Number(name.slice(5)) - 1 : -1
  const check =
    replica >= 0
      ? ([`${name} /readyz`, ok(`http://127.0.0.1:${p.hooks[replica]}/readyz`), 60_000] as const)
      : checks[name]
  if (!check) throw new Error(`no health check for ${name}`)
  await waitFor(`${check[0]} (log: ${logFile(layout.state, name)})`, check[1], check[2], () =>
    exited(layout, name),
  )
}

export async function startComponent(layout: Layout, spec: ProcessSpec): Promise<void> {
  startProcess(layout.state, spec)
  await waitHealthy(layout, spec.name)
}

// ---- manifests --------------------------------------------------------------------------------------------

export function kubectl(
  layout: Layout,
  args: string[],
  input?: string,
): { status: number; stdout: string; stderr: string } {
  const result = spawnSync(layout.kubectl, ['--kubeconfig', kubeconfigFile(layout.state, 'admin'), ...args], {
    encoding: 'utf8',
    input,
    cwd: repoRoot,
    maxBuffer: 64 << 20,
  })
  return { status: result.status ?? -1, stdout: result.stdout, stderr: result.stderr }
}

function mustKubectl(layout: Layout, args: string[], input?: string): string {
  const result = kubectl(layout, args, input)
  if (result.status !== 0) throw new Error(`kubectl ${args.join(' ')}: ${result.stderr}`)
  return result.stdout
}

/** Our CompositeController with the hook URLs pointed at the local balancer and the resync period shortened
 * (the steady-state test watches several resync periods); `hookVersion` as the Helm value sets it. Everything else
 * is the shipped manifest. */
export function localCompositeController(layout: Layout, hookVersion?: 'v1' | 'v2'): string {
  const doc = parseAllDocuments(
    readFileSync(path.join(repoRoot, 'manifests/compositecontroller.yaml'), 'utf8'),
  )[0]!
  const controller = doc.toJS() as { spec: { resyncPeriodSeconds: number; hooks: Record<string, any> } }
  controller.spec.resyncPeriodSeconds = layout.resyncPeriodSeconds
  for (const hook of Object.values(controller.spec.hooks)) {
    if (hookVersion) hook.version = hookVersion
    const { service, ...rest } = hook.webhook
    hook.webhook = { ...rest, url: `http://127.0.0.1:${layout.ports.hookBalancer}${rest.path}` }
    delete hook.webhook.path
  }
  return stringify(controller)
}

export function installMetacontrollerAndCrds(layout: Layout): void {
  const production = metacontrollerManifests()
  for (const file of [
    'metacontroller-namespace.yaml',
    'metacontroller-crds-v1.yaml',
    'metacontroller-rbac.yaml',
  ]) {
    mustKubectl(layout, ['apply', '-f', path.join(production, file)])
  }
  mustKubectl(layout, [
    'apply',
    '-f',
    'manifests/crd/dittoservers.yaml',
    '-f',
    'manifests/rbac-metacontroller.yaml',
  ])
  mustKubectl(layout, ['wait', '--for=condition=Established', '--timeout=60s', 'crd', '--all'])
}

export function installCompositeController(layout: Layout): void {
  mustKubectl(layout, ['apply', '-f', '-'], localCompositeController(layout))
}

// ---- up / down --------------------------------------------------------------------------------------------

export interface UpOptions {
  applyStrategy?: ApplyStrategy
  resyncPeriodSeconds?: number
  log?: (line: string) => void
}

export async function clusterUp(options: UpOptions = {}): Promise<Layout> {
  const log = options.log ?? ((line: string) => process.stderr.write(`[cluster:up] ${line}\n`))
  const started = Date.now()
  const bin = buildBinaries()
  log(`binaries ready (${((Date.now() - started) / 1000).toFixed(1)} s)`)
  if (!existsSync(path.join(repoRoot, 'dist/hooks/server.js'))) throw new Error('run `npm run build` first')
  const layout = await planLayout(bin, options.resyncPeriodSeconds ?? 23)
  saveLayout(layout)
  try {
    makePki(layout.state)
    writeTokens(layout)
    for (const spec of [etcdSpec(layout), apiserverSpec(layout), controllerManagerSpec(layout)]) {
      await startComponent(layout, spec)
      log(`${spec.name} healthy`)
    }
    installMetacontrollerAndCrds(layout)
    await startComponent(layout, nodeAgentSpec(layout))
    await startComponent(layout, hookSpec(layout, 0))
    writeBalancerBackends(layout, [0])
    await startComponent(layout, metacontrollerSpec(layout, options.applyStrategy ?? 'dynamic-apply'))
    installCompositeController(layout)
    log(`node agent, hook, metacontroller healthy; CompositeController installed`)
    writeEnv(layout)
    log(`up in ${((Date.now() - started) / 1000).toFixed(1)} s; state ${layout.state}; env ${envFile}`)
    return layout
  } catch (error) {
    log(`failed: ${(error as Error).message}; logs kept in ${layout.state}/logs`)
    await stopAll(layout.state)
    throw error
  }
}

/** Which hook replicas the balancer sends to (the node agent rereads this file on every request). */
export function writeBalancerBackends(layout: Layout, replicas: number[]): void {
  const ports = replicas.map((r) => layout.ports.hooks[r])
  writeFileSync(path.join(layout.state, 'hook-backends.json'), JSON.stringify(ports))
}

function writeEnv(layout: Layout): void {
  mkdirSync(clusterDir, { recursive: true })
  const lines = [
    `KUBECONFIG=${kubeconfigFile(layout.state, 'admin')}`,
    `HOOK_URL=http://127.0.0.1:${layout.ports.hookBalancer}`,
    `DITTOFS_API_URL=${apiUrlTemplate(layout)}`,
    `KUBECTL=${layout.kubectl}`,
    `CLUSTER_STATE=${layout.state}`,
    `NODE_AGENT_URL=http://127.0.0.1:${layout.ports.nodeAgent}`,
  ]
  writeFileSync(envFile, `${lines.join('\n')}\n`)
}

/** Stops every process this cluster started (Metacontroller first, so nothing acts on a half-stopped cluster). */
export async function stopAll(state: string): Promise<void> {
  const order = [
    'metacontroller',
    'hook',
    'hook-2',
    'node-agent',
    'kube-controller-manager',
    'kube-apiserver',
    'etcd',
  ]
  const names = startedNames(state)
  for (const name of [
    ...order.filter((n) => names.includes(n)),
    ...names.filter((n) => !order.includes(n)),
  ]) {
    await stopProcess(state, name)
  }
}

/** A safety net after the node agent stopped: any pod sandbox it started and that is still running. */
function killPodSandboxes(state: string): void {
  const pods = path.join(state, 'node', 'pods')
  if (!existsSync(pods)) return
  for (const uid of readdirSync(pods)) {
    const file = path.join(pods, uid, 'pid')
    const pid = existsSync(file) ? Number(readFileSync(file, 'utf8')) : Number.NaN
    if (Number.isInteger(pid) && pid > 1 && isAlive(pid)) {
      try {
        process.kill(-pid, 'SIGKILL')
      } catch {
        // gone meanwhile
      }
    }
  }
}

export async function clusterDown(state: string): Promise<void> {
  if (existsSync(path.join(state, 'layout.json'))) loadLayout(state)
  await stopAll(state)
  killPodSandboxes(state)
  // Pod sandboxes bind-mount nothing outside their own mount namespace, so removing the folder is safe.
  rmSync(state, { recursive: true, force: true })
  rmSync(envFile, { force: true })
}
