// Paths and the real command-line tools (helm, kubectl) the deployment tests run, all offline.
import { execFile, type SpawnSyncOptions, spawnSync } from 'node:child_process'
import { existsSync, mkdtempSync, rmSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'

export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..')

/** Reference material next to the project checkout; a user's clone does not have it. */
export const sharedRoot = path.resolve(repoRoot, '../shared')
export const metacontrollerCrdFile = path.join(sharedRoot, 'reference/crds/metacontroller-crds-v1.yaml')
export const dittofsFixturesDir = path.join(sharedRoot, 'reference/fixtures/dittofs')

/** The skip reason for a test that needs `file` from ../shared, or false when it is there. */
export function sharedMissing(file: string): string | false {
  return existsSync(file)
    ? false
    : `needs ${path.relative(sharedRoot, file)} from the reference folder ${sharedRoot}, which this checkout lacks`
}

/** `.tools/bin/<name>` (put there by scripts/get-tools.sh) when present, else the one on PATH. */
export function toolPath(name: 'helm' | 'kubectl'): string {
  const local = path.join(repoRoot, '.tools/bin', name)
  return existsSync(local) ? local : name
}

export interface RunResult {
  status: number | null
  stdout: string
  stderr: string
}

function run(command: string, args: string[], options: SpawnSyncOptions = {}): RunResult {
  const result = spawnSync(command, args, {
    cwd: repoRoot,
    encoding: 'utf8',
    maxBuffer: 64 << 20,
    ...options,
  })
  if (result.error) throw result.error
  return { status: result.status, stdout: String(result.stdout), stderr: String(result.stderr) }
}

// One throw-away HOME-like folder per test process, so helm never reads or writes the user's config.
let helmHome: string | undefined
function helmEnv(): NodeJS.ProcessEnv {
  if (helmHome === undefined) {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'dittofs-hooks-helm-'))
    process.once('exit', () => rmSync(dir, { recursive: true, force: true }))
    helmHome = dir
  }
  return {
    ...process.env,
    HELM_CACHE_HOME: path.join(helmHome, 'cache'),
    HELM_CONFIG_HOME: path.join(helmHome, 'config'),
    HELM_DATA_HOME: path.join(helmHome, 'data'),
    KUBECONFIG: path.join(helmHome, 'no-kubeconfig'),
  }
}

export function helm(args: string[]): RunResult {
  return run(toolPath('helm'), args, { env: helmEnv() })
}

/** helm without blocking, so that independent renders run side by side. */
export function helmAsync(args: string[]): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    execFile(
      toolPath('helm'),
      args,
      { cwd: repoRoot, env: helmEnv(), encoding: 'utf8', maxBuffer: 64 << 20 },
      (error, stdout, stderr) => {
        const status = error ? (typeof error.code === 'number' ? error.code : null) : 0
        if (error && status === null) reject(error)
        else resolve({ status, stdout, stderr })
      },
    )
  })
}

/** kubectl with a kubeconfig that does not exist: only offline subcommands (kustomize) can succeed. */
export function kubectl(args: string[]): RunResult {
  return run(toolPath('kubectl'), args, { env: helmEnv() })
}
