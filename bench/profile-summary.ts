// Top self-time functions of a V8 .cpuprofile (from `node --cpu-prof`, or `BENCH_CPU_PROF=1 npm run bench`).
// Usage: node dist/bench/profile-summary.js <file.cpuprofile> [top=25]
import { readFileSync } from 'node:fs'
import { relative } from 'node:path'

interface ProfileNode {
  id: number
  callFrame: { functionName: string; url: string; lineNumber: number }
  children?: number[]
}

interface CpuProfile {
  nodes: ProfileNode[]
  samples: number[]
  timeDeltas: number[]
}

export interface FunctionCost {
  name: string
  selfMs: number
  share: number
}

export interface ProfileSummary {
  totalMs: number
  /** Top functions by self time. */
  functions: FunctionCost[]
  /** Self time by where the code lives: a package under node_modules, a file of ours, node internals, V8. */
  places: FunctionCost[]
}

export function summarizeProfile(profile: CpuProfile, top: number): ProfileSummary {
  const nodes = new Map(profile.nodes.map((n) => [n.id, n]))
  const byFunction = new Map<string, number>()
  const byPlace = new Map<string, number>()
  const add = (map: Map<string, number>, key: string, us: number) => map.set(key, (map.get(key) ?? 0) + us)
  let totalUs = 0
  profile.samples.forEach((id, i) => {
    const node = nodes.get(id)
    const delta = profile.timeDeltas[i] ?? 0
    if (node === undefined) return
    totalUs += delta
    const { functionName, url, lineNumber } = node.callFrame
    const where = url === '' ? '' : ` ${shortUrl(url)}:${lineNumber + 1}`
    add(byFunction, `${functionName || '(anonymous)'}${where}`, delta)
    add(byPlace, placeOf(functionName, url), delta)
  })
  const ranked = (map: Map<string, number>) =>
    [...map.entries()]
      .sort((a, b) => b[1] - a[1])
      .slice(0, top)
      .map(([name, us]) => ({ name, selfMs: us / 1000, share: totalUs === 0 ? 0 : us / totalUs }))
  return { totalMs: totalUs / 1000, functions: ranked(byFunction), places: ranked(byPlace) }
}

function placeOf(functionName: string, url: string): string {
  if (url === '') return functionName.startsWith('(') ? functionName : '(native / regexp)'
  if (url.startsWith('node:')) return 'node internals'
  const path = shortUrl(url)
  const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(path)
  return pkg ? `npm:${pkg[1]}` : path
}

function shortUrl(url: string): string {
  const path = url.startsWith('file://') ? new URL(url).pathname : url
  const rel = relative(process.cwd(), path)
  return rel.startsWith('..') ? path : rel
}

if (process.argv[1]?.endsWith('profile-summary.js')) {
  // Piped into `head`: stop quietly.
  process.stdout.on('error', () => process.exit(0))
  const file = process.argv[2]
  if (file === undefined) {
    process.stderr.write('usage: node dist/bench/profile-summary.js <file.cpuprofile> [top]\n')
    process.exit(2)
  }
  const profile = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile
  const { totalMs, functions, places } = summarizeProfile(profile, Number(process.argv[3] ?? 25))
  process.stdout.write(`total sampled: ${totalMs.toFixed(0)} ms\n`)
  for (const [title, rows] of [
    ['function', functions],
    ['where', places],
  ] as const) {
    process.stdout.write(`\n| self ms | share | ${title} |\n| ---: | ---: | --- |\n`)
    for (const f of rows) {
      process.stdout.write(`| ${f.selfMs.toFixed(0)} | ${(f.share * 100).toFixed(1)}% | \`${f.name}\` |\n`)
    }
  }
}
