// The test-side kubelet: binds DittoFS pods to its one node and runs each pod's container as the real `dfs`
// binary in a sandbox of its own (a network namespace with only loopback, a mount namespace whose root is a tmpfs
// with the pod's volumes mounted at the container's mount paths, the container's user). It resolves env from the
// pod spec (Secrets and ConfigMaps read from the API server), runs the startup, readiness and liveness probes,
// restarts the container when it exits, reports pod status, and finishes deletions as a kubelet does.
import { type ChildProcess, spawn } from 'node:child_process'
import { chownSync, existsSync, mkdirSync, openSync, rmSync, writeFileSync } from 'node:fs'
import http from 'node:http'
import net from 'node:net'
import path from 'node:path'
import { collectionPath, type Kube, KubeError, type KubeObject } from './kube.js'

export const NODE_NAME = 'dittofs-test-node'
const RUNS_IMAGE = /(^|\/)dittofs(:|@|$)/

interface Probe {
  path: string
  port: number
  initialDelaySeconds: number
  periodSeconds: number
  failureThreshold: number
  timeoutSeconds: number
}

interface PodRun {
  key: string
  uid: string
  pod: KubeObject
  dir: string
  socket: string
  ip: string
  process?: ChildProcess
  startedAt?: string
  restarts: number
  started: boolean
  ready: boolean
  /** Held stopped by a test (the DittoFS process is down; the kubelet does not restart it until released). */
  held: boolean
  terminating: boolean
  waitingReason?: string
  timers: NodeJS.Timeout[]
  failures: { readiness: number; liveness: number }
  lastStatusJson: string
}

export interface KubeletOptions {
  kube: Kube
  state: string
  dfsBinary: string
  forwarderScript: string
  log: (line: string) => void
}

const q = (s: string) => `'${s.replaceAll("'", `'\\''`)}'`

export interface SandboxPlan {
  root: string
  mounts: Array<{ host: string; target: string; readOnly: boolean }>
  binaries: Array<{ host: string; target: string }>
  forwarder: string[]
  user?: { uid: number; gid: number }
  argv: string[]
}

/** The shell script run under `unshare --mount --net`: loopback up, a tmpfs root with the binaries and volumes
 * bound in, the port forwarder started in the pod's network, then the container command chrooted. */
export function sandboxScript(plan: SandboxPlan): string {
  const r = (p: string) => q(path.join(plan.root, p))
  const lines = [
    'set -eu',
    'ip link set lo up',
    `mount -t tmpfs -o mode=0755 tmpfs ${q(plan.root)}`,
    `mkdir -p ${r('dev')} ${r('proc')} ${r('tmp')} ${r('etc')}`,
    `mount --rbind /dev ${r('dev')}`,
    `mount --rbind /proc ${r('proc')}`,
    `mount -t tmpfs -o mode=1777 tmpfs ${r('tmp')}`,
    `printf 'root:x:0:0::/:/bin/sh\\nnonroot:x:65532:65532::/tmp:/bin/sh\\n' > ${r('etc/passwd')}`,
    `printf '127.0.0.1 localhost\\n' > ${r('etc/hosts')}`,
  ]
  for (const bin of plan.binaries) {
    lines.push(`mkdir -p ${q(path.dirname(path.join(plan.root, bin.target)))}`)
    lines.push(`touch ${r(bin.target)} && mount --bind ${q(bin.host)} ${r(bin.target)}`)
  }
  for (const m of plan.mounts) {
    lines.push(`mkdir -p ${r(m.target)} && mount --bind ${q(m.host)} ${r(m.target)}`)
    if (m.readOnly) lines.push(`mount -o remount,bind,ro ${r(m.target)}`)
  }
  lines.push(`${plan.forwarder.map(q).join(' ')} &`)
  const user = plan.user ? `--userspec=${plan.user.uid}:${plan.user.gid} ` : ''
  lines.push(`cd /tmp && exec chroot ${user}${q(plan.root)} ${plan.argv.map(q).join(' ')}`)
  return `${lines.join('\n')}\n`
}

const decode = (value: string | undefined) =>
  value === undefined ? undefined : Buffer.from(value, 'base64').toString()

export class Kubelet {
  readonly #o: KubeletOptions
  readonly #runs = new Map<string, PodRun>()
  #nextIp = 10

  constructor(options: KubeletOptions) {
    this.#o = options
  }

  async registerNode(): Promise<void> {
    const node = {
      apiVersion: 'v1',
      kind: 'Node',
      metadata: { name: NODE_NAME, labels: { 'kubernetes.io/hostname': NODE_NAME } },
    }
    try {
      await this.#o.kube.create('/api/v1/nodes', node)
    } catch (error) {
      if (!(error instanceof KubeError && error.status === 409)) throw error
    }
  }

  /** Reacts to one pod watch event (all namespaces). */
  onPod(type: string, pod: KubeObject): void {
    if (!RUNS_IMAGE.test(pod.spec?.containers?.[0]?.image ?? '')) return
    const key = `${pod.metadata.namespace}/${pod.metadata.name}`
    const run = this.#runs.get(pod.metadata.uid!)
    if (type === 'DELETED') {
      if (run) void this.#teardown(run)
      return
    }
    if (!run) {
      if (pod.metadata.deletionTimestamp) return
      void this.#admit(key, pod).catch((error) => this.#o.log(`${key}: ${(error as Error).message}`))
      return
    }
    run.pod = pod
    if (pod.metadata.deletionTimestamp && !run.terminating) void this.#terminate(run)
  }

  /** Ready pods of this node matching a label selector, for the Service proxy. */
  readyPods(namespace: string, selector: Record<string, string>): PodRun[] {
    return [...this.#runs.values()].filter(
      (run) =>
        run.pod.metadata.namespace === namespace &&
        run.ready &&
        !run.terminating &&
        Object.entries(selector).every(([k, v]) => run.pod.metadata.labels?.[k] === v),
    )
  }

  /** A TCP connection to `port` inside the pod. */
  connect(run: PodRun, port: number): net.Socket {
    const socket = net.connect(run.socket)
    socket.write(`${port}\n`)
    return socket
  }

  runs(): PodRun[] {
    return [...this.#runs.values()]
  }

  find(namespace: string, name: string): PodRun | undefined {
    return this.runs().find(
      (r) => r.pod.metadata.namespace === namespace && r.pod.metadata.name === name && !r.terminating,
    )
  }

  /** Stops the container and keeps it stopped (a test's DittoFS outage) until `release`. */
  hold(run: PodRun): void {
    run.held = true
    this.#killContainer(run, 'SIGKILL')
  }

  release(run: PodRun): void {
    run.held = false
    if (!run.process) void this.#startContainer(run)
  }

  async shutdown(): Promise<void> {
    for (const run of this.#runs.values()) {
      run.terminating = true
      this.#killContainer(run, 'SIGKILL')
    }
  }

  async #admit(key: string, pod: KubeObject): Promise<void> {
    const uid = pod.metadata.uid!
    const dir = path.join(this.#o.state, 'node', 'pods', uid)
    mkdirSync(dir, { recursive: true })
    const run: PodRun = {
      key,
      uid,
      pod,
      dir,
      socket: path.join(dir, 'net.sock'),
      ip: `10.244.0.${this.#nextIp++}`,
      restarts: 0,
      started: false,
      ready: false,
      held: false,
      terminating: false,
      timers: [],
      failures: { readiness: 0, liveness: 0 },
      lastStatusJson: '',
    }
    this.#runs.set(uid, run)
    if (!pod.spec.nodeName) {
      // No kube-scheduler here: this node takes every DittoFS pod, through the same binding subresource.
      await this.#o.kube.create(
        `${collectionPath('v1', 'pods', pod.metadata.namespace)}/${pod.metadata.name}/binding`,
        {
          apiVersion: 'v1',
          kind: 'Binding',
          metadata: { name: pod.metadata.name },
          target: { apiVersion: 'v1', kind: 'Node', name: NODE_NAME },
        },
      )
    }
    await this.#startContainer(run)
  }

  async #startContainer(run: PodRun): Promise<void> {
    if (run.terminating || run.held || run.process) return
    const pod = run.pod
    const container = pod.spec.containers[0]
    let env: Record<string, string>
    let mounts: SandboxPlan['mounts']
    try {
      env = await this.#resolveEnv(pod, container)
      mounts = await this.#prepareVolumes(run, container)
      run.waitingReason = undefined
    } catch (error) {
      // As a kubelet: the pod waits (CreateContainerConfigError) and is retried.
      run.waitingReason = 'CreateContainerConfigError'
      this.#o.log(`${run.key}: ${(error as Error).message}`)
      await this.#reportStatus(run)
      this.#later(run, () => this.#startContainer(run), 2000)
      return
    }
    const argv = [...(container.command ?? []), ...(container.args ?? [])]
    const security = { ...pod.spec.securityContext, ...container.securityContext }
    const plan: SandboxPlan = {
      root: path.join(run.dir, 'rootfs'),
      mounts,
      binaries: [{ host: this.#o.dfsBinary, target: argv[0] ?? '/app/dfs' }],
      forwarder: [process.execPath, this.#o.forwarderScript, run.socket],
      user:
        security.runAsUser !== undefined
          ? { uid: security.runAsUser, gid: security.runAsGroup ?? security.fsGroup ?? security.runAsUser }
          : undefined,
      argv,
    }
    mkdirSync(plan.root, { recursive: true })
    writeFileSync(path.join(run.dir, 'sandbox.sh'), sandboxScript(plan))
    const out = openSync(path.join(run.dir, 'container.log'), 'a')
    const child = spawn(
      'unshare',
      [
        '--mount',
        '--net',
        '--fork',
        '--kill-child',
        '--propagation',
        'private',
        'sh',
        path.join(run.dir, 'sandbox.sh'),
      ],
      {
        env: { PATH: '/usr/sbin:/usr/bin:/sbin:/bin', HOSTNAME: pod.metadata.name, ...env },
        detached: true,
        stdio: ['ignore', out, out],
      },
    )
    writeFileSync(path.join(run.dir, 'pid'), String(child.pid))
    run.process = child
    run.startedAt = new Date().toISOString()
    run.started = false
    run.ready = false
    run.failures = { readiness: 0, liveness: 0 }
    child.on('exit', (code, signal) => {
      run.process = undefined
      run.started = false
      run.ready = false
      this.#o.log(`${run.key}: container exited (${signal ?? code})`)
      if (run.terminating) return
      run.restarts++
      void this.#reportStatus(run)
      this.#later(
        run,
        () => this.#startContainer(run),
        Math.min(1000 * 2 ** Math.min(run.restarts, 5), 30_000),
      )
    })
    this.#o.log(`${run.key}: container started (pid ${child.pid})`)
    await this.#reportStatus(run)
    this.#probeLoop(run, child, container)
  }

  #probeLoop(run: PodRun, child: ChildProcess, container: any): void {
    const startup = probeOf(container, 'startupProbe')
    const readiness = probeOf(container, 'readinessProbe')
    const liveness = probeOf(container, 'livenessProbe')
    const alive = () => run.process === child
    const tick = async (kind: 'startup' | 'readiness' | 'liveness', probe: Probe) => {
      if (!alive()) return
      const success = await this.#probe(run, probe)
      if (!alive()) return
      if (kind === 'startup') {
        if (success) {
          run.started = true
          await this.#reportStatus(run)
          if (readiness)
            this.#later(run, () => tick('readiness', readiness), readiness.initialDelaySeconds * 1000)
          if (liveness)
            this.#later(run, () => tick('liveness', liveness), liveness.initialDelaySeconds * 1000)
          return
        }
      } else if (kind === 'readiness') {
        run.failures.readiness = success ? 0 : run.failures.readiness + 1
        const ready = success || (run.ready && run.failures.readiness < probe.failureThreshold)
        if (ready !== run.ready) {
          run.ready = ready
          await this.#reportStatus(run)
        }
      } else {
        run.failures.liveness = success ? 0 : run.failures.liveness + 1
        if (run.failures.liveness >= probe.failureThreshold) {
          this.#o.log(`${run.key}: liveness probe failed ${probe.failureThreshold} times; restarting`)
          this.#killContainer(run, 'SIGTERM')
          return
        }
      }
      this.#later(run, () => tick(kind, probe), probe.periodSeconds * 1000)
    }
    if (startup) this.#later(run, () => tick('startup', startup), startup.initialDelaySeconds * 1000)
    else {
      run.started = true
      if (readiness)
        this.#later(run, () => tick('readiness', readiness), readiness.initialDelaySeconds * 1000)
    }
  }

  #probe(run: PodRun, probe: Probe): Promise<boolean> {
    return new Promise((resolve) => {
      const req = http.request(
        {
          path: probe.path,
          method: 'GET',
          createConnection: () => this.connect(run, probe.port),
          timeout: probe.timeoutSeconds * 1000,
        },
        (res) => {
          res.resume()
          resolve((res.statusCode ?? 0) >= 200 && (res.statusCode ?? 0) < 400)
        },
      )
      req.on('timeout', () => req.destroy())
      req.on('error', () => resolve(false))
      req.end()
    })
  }

  async #resolveEnv(pod: KubeObject, container: any): Promise<Record<string, string>> {
    const ns = pod.metadata.namespace!
    const env: Record<string, string> = {}
    const read = async (kind: 'secrets' | 'configmaps', name: string) =>
      this.#o.kube.find(`${collectionPath('v1', kind, ns)}/${name}`)
    for (const e of container.env ?? []) {
      if (e.value !== undefined) env[e.name] = e.value
      else if (e.valueFrom?.secretKeyRef || e.valueFrom?.configMapKeyRef) {
        const ref = e.valueFrom.secretKeyRef ?? e.valueFrom.configMapKeyRef
        const isSecret = Boolean(e.valueFrom.secretKeyRef)
        const object = await read(isSecret ? 'secrets' : 'configmaps', ref.name)
        const value = isSecret ? decode(object?.data?.[ref.key]) : object?.data?.[ref.key]
        if (value !== undefined) env[e.name] = value
        else if (!ref.optional)
          throw new Error(
            `env ${e.name}: ${isSecret ? 'secret' : 'configmap'} "${ref.name}" key "${ref.key}" not found`,
          )
      } else if (e.valueFrom?.fieldRef) {
        const field = e.valueFrom.fieldRef.fieldPath as string
        const values: Record<string, string> = {
          'metadata.name': pod.metadata.name,
          'metadata.namespace': ns,
          'metadata.uid': pod.metadata.uid!,
          'spec.nodeName': NODE_NAME,
          'status.podIP': '127.0.0.1',
        }
        env[e.name] = values[field] ?? ''
      }
    }
    return env
  }

  async #prepareVolumes(run: PodRun, container: any): Promise<SandboxPlan['mounts']> {
    const pod = run.pod
    const ns = pod.metadata.namespace!
    const owner = pod.spec.securityContext ?? {}
    const mounts: SandboxPlan['mounts'] = []
    for (const mount of container.volumeMounts ?? []) {
      const volume = (pod.spec.volumes ?? []).find((v: any) => v.name === mount.name)
      if (!volume) throw new Error(`volume ${mount.name} not in the pod spec`)
      let host: string
      if (volume.persistentVolumeClaim) {
        // No storage provisioner: each claim is a folder that outlives the pod, as a PersistentVolume does.
        host = path.join(this.#o.state, 'node', 'volumes', ns, volume.persistentVolumeClaim.claimName)
        if (!existsSync(host)) {
          mkdirSync(host, { recursive: true })
          if (owner.fsGroup !== undefined) chownSync(host, owner.runAsUser ?? 0, owner.fsGroup)
        }
      } else if (volume.configMap || volume.secret) {
        const isSecret = Boolean(volume.secret)
        const name = isSecret ? volume.secret.secretName : volume.configMap.name
        const object = await this.#o.kube.find(
          `${collectionPath('v1', isSecret ? 'secrets' : 'configmaps', ns)}/${name}`,
        )
        if (!object)
          throw new Error(`volume ${mount.name}: ${isSecret ? 'secret' : 'configmap'} "${name}" not found`)
        host = path.join(run.dir, 'volumes', mount.name)
        rmSync(host, { recursive: true, force: true })
        mkdirSync(host, { recursive: true })
        const data = object.data ?? {}
        const items: Array<{ key: string; path: string }> =
          (isSecret ? volume.secret.items : volume.configMap.items) ??
          Object.keys(data).map((key) => ({ key, path: key }))
        for (const item of items) {
          const value = isSecret ? decode(data[item.key]) : data[item.key]
          if (value !== undefined) writeFileSync(path.join(host, item.path), value, { mode: 0o644 })
        }
      } else {
        host = path.join(run.dir, 'volumes', mount.name)
        mkdirSync(host, { recursive: true })
      }
      mounts.push({ host, target: mount.mountPath, readOnly: Boolean(mount.readOnly) })
    }
    return mounts
  }

  #killContainer(run: PodRun, signal: NodeJS.Signals): void {
    const pid = run.process?.pid
    if (pid === undefined) return
    try {
      process.kill(-pid, signal)
    } catch {
      // already gone
    }
  }

  async #terminate(run: PodRun): Promise<void> {
    run.terminating = true
    run.ready = false
    const grace = (run.pod.metadata.deletionGracePeriodSeconds as number | undefined) ?? 30
    const exited = run.process ? new Promise((r) => run.process!.once('exit', r)) : Promise.resolve()
    this.#killContainer(run, 'SIGTERM')
    await Promise.race([exited, new Promise((r) => setTimeout(r, grace * 1000))])
    this.#killContainer(run, 'SIGKILL')
    await exited
    // The kubelet's last word: the pod object goes once its containers are gone.
    const podPath = `${collectionPath('v1', 'pods', run.pod.metadata.namespace)}/${run.pod.metadata.name}`
    await this.#o.kube
      .delete(podPath, { gracePeriodSeconds: 0, preconditions: { uid: run.uid } })
      .catch((error) => this.#o.log(`${run.key}: final delete: ${(error as Error).message}`))
  }

  async #teardown(run: PodRun): Promise<void> {
    run.terminating = true
    for (const t of run.timers) clearTimeout(t)
    this.#killContainer(run, 'SIGKILL')
    this.#runs.delete(run.uid)
  }

  #later(run: PodRun, fn: () => unknown, ms: number): void {
    const timer = setTimeout(() => {
      run.timers = run.timers.filter((t) => t !== timer)
      void Promise.resolve(fn()).catch((error) => this.#o.log(`${run.key}: ${(error as Error).message}`))
    }, ms)
    run.timers.push(timer)
  }

  async #reportStatus(run: PodRun): Promise<void> {
    if (run.terminating) return
    const now = new Date().toISOString()
    const running = Boolean(run.process)
    const condition = (type: string, value: boolean) => ({
      type,
      status: value ? 'True' : 'False',
      lastProbeTime: null,
    })
    const container = run.pod.spec.containers[0]
    const state = running
      ? { running: { startedAt: run.startedAt } }
      : {
          waiting: {
            reason: run.waitingReason ?? (run.restarts > 0 ? 'CrashLoopBackOff' : 'ContainerCreating'),
          },
        }
    const status = {
      phase: 'Running',
      hostIP: '127.0.0.1',
      podIP: run.ip,
      podIPs: [{ ip: run.ip }],
      startTime: run.pod.status?.startTime ?? now,
      conditions: [
        condition('PodScheduled', true),
        condition('Initialized', true),
        condition('ContainersReady', run.ready),
        condition('Ready', run.ready),
      ],
      containerStatuses: [
        {
          name: container.name,
          image: container.image,
          imageID: '',
          containerID: running ? `dittofs-test://${run.process!.pid}` : undefined,
          ready: run.ready,
          started: run.started,
          restartCount: run.restarts,
          state,
        },
      ],
    }
    const json = JSON.stringify(status)
    if (json === run.lastStatusJson) return
    run.lastStatusJson = json
    const podPath = `${collectionPath('v1', 'pods', run.pod.metadata.namespace)}/${run.pod.metadata.name}/status`
    await this.#o.kube.mergePatch(podPath, { status }).catch((error) => {
      run.lastStatusJson = ''
      this.#o.log(`${run.key}: status: ${(error as Error).message}`)
    })
  }
}

function probeOf(container: any, kind: string): Probe | undefined {
  const p = container[kind]
  if (!p?.httpGet) return undefined
  const port =
    typeof p.httpGet.port === 'number'
      ? p.httpGet.port
      : (container.ports ?? []).find((cp: any) => cp.name === p.httpGet.port)?.containerPort
  return {
    path: p.httpGet.path ?? '/',
    port,
    initialDelaySeconds: p.initialDelaySeconds ?? 0,
    periodSeconds: p.periodSeconds ?? 10,
    failureThreshold: p.failureThreshold ?? 3,
    timeoutSeconds: p.timeoutSeconds ?? 1,
  }
}
