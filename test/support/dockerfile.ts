// A small Dockerfile reader and the project's own image rules (dockerfile-utils checks syntax, not these).

export interface Instruction {
  keyword: string
  args: string
  line: number
}

/** Instructions with continuation lines joined; comments and blank lines dropped. */
export function parseDockerfile(text: string): Instruction[] {
  const instructions: Instruction[] = []
  let pending: { text: string; line: number } | undefined
  text.split('\n').forEach((raw, index) => {
    const trimmed = raw.trim()
    if (pending === undefined && (trimmed === '' || trimmed.startsWith('#'))) return
    if (pending !== undefined && trimmed.startsWith('#')) return // comment lines inside a continuation
    const body = trimmed.endsWith('\\') ? trimmed.slice(0, -1).trimEnd() : trimmed
    pending =
      pending === undefined
        ? { text: body, line: index + 1 }
        : { ...pending, text: `${pending.text} ${body}` }
    if (!trimmed.endsWith('\\')) {
      const [keyword = '', ...rest] = pending.text.split(/\s+/)
      instructions.push({ keyword: keyword.toUpperCase(), args: rest.join(' '), line: pending.line })
      pending = undefined
    }
  })
  return instructions
}

const stages = (instructions: Instruction[]): Instruction[][] =>
  instructions.reduce<Instruction[][]>((all, instruction) => {
    if (instruction.keyword === 'FROM') all.push([instruction])
    else all.at(-1)?.push(instruction)
    return all
  }, [])

export const EXPECTED_CMD = ['node', 'dist/hooks/server.js']

/** Every rule of docs/deploy.md ("The image") the Dockerfile breaks; empty when it follows them all. */
export function imageProblems(text: string): string[] {
  const instructions = parseDockerfile(text)
  const problems: string[] = []
  const firstFrom = instructions.findIndex((i) => i.keyword === 'FROM')
  const nodeVersion = instructions
    .slice(0, Math.max(firstFrom, 0))
    .find((i) => i.keyword === 'ARG' && i.args.startsWith('NODE_VERSION='))
  if (!nodeVersion || !/^NODE_VERSION=\d+\.\d+\.\d+$/.test(nodeVersion.args)) {
    problems.push('ARG NODE_VERSION=<x.y.z> must come before the first FROM')
  }
  for (const instruction of instructions) {
    // An inline "# ..." is not a comment in a Dockerfile: it becomes part of the instruction.
    if (instruction.keyword !== 'RUN' && instruction.args.includes('#')) {
      problems.push(
        `line ${instruction.line}: "#" inside ${instruction.keyword} (comments must be on their own line)`,
      )
    }
  }
  const all = stages(instructions)
  if (all.length < 2) problems.push('a multi-stage build is expected (build, then runtime)')
  for (const stage of all) {
    if (!/^node:\$\{NODE_VERSION\}-bookworm-slim( AS \w+)?$/i.test(stage[0]!.args)) {
      problems.push(`line ${stage[0]!.line}: every stage must start FROM node:\${NODE_VERSION}-bookworm-slim`)
    }
  }
  const build = all.slice(0, -1).flat()
  const runs = build.filter((i) => i.keyword === 'RUN').map((i) => i.args)
  const runsWith = (pattern: RegExp) => runs.some((run) => pattern.test(run))
  if (!runsWith(/\bnpm ci\b/)) problems.push('the build stage must install with npm ci')
  if (!runsWith(/\btsc -p tsconfig\.image\.json\b/))
    problems.push('the build must compile with tsconfig.image.json')
  if (!runsWith(/\bnpm prune --omit=dev\b/)) problems.push('the build must prune dev dependencies')

  const final = all.at(-1) ?? []
  const user = final.filter((i) => i.keyword === 'USER').at(-1)
  if (!user || !/^[1-9]\d*(:\d+)?$/.test(user.args)) {
    problems.push('the runtime stage must end with a numeric, non-root USER (runAsNonRoot needs a number)')
  }
  if (!final.some((i) => i.keyword === 'ENV' && /(^|\s)NODE_ENV=production(\s|$)/.test(i.args))) {
    problems.push('the runtime stage must set ENV NODE_ENV=production')
  }
  const cmds = instructions.filter((i) => i.keyword === 'CMD')
  let cmd: unknown
  try {
    cmd = cmds.length === 1 ? JSON.parse(cmds[0]!.args) : undefined
  } catch {
    cmd = undefined
  }
  if (JSON.stringify(cmd) !== JSON.stringify(EXPECTED_CMD)) {
    problems.push(
      `exactly one exec-form CMD ${JSON.stringify(EXPECTED_CMD)} (no shell, no npm: node gets SIGTERM)`,
    )
  }
  if (instructions.some((i) => i.keyword === 'ENTRYPOINT'))
    problems.push('no ENTRYPOINT: CMD starts node directly')
  return problems
}

/** The image's exposed ports. */
export const exposedPorts = (text: string): number[] =>
  parseDockerfile(text)
    .filter((i) => i.keyword === 'EXPOSE')
    .flatMap((i) => i.args.split(/\s+/).map((port) => Number.parseInt(port, 10)))

/** Sources of COPY instructions that read the build context (not --from=another stage). */
export const contextSources = (text: string): string[] =>
  parseDockerfile(text)
    .filter((i) => i.keyword === 'COPY' && !/--from=/.test(i.args))
    .flatMap((i) =>
      i.args
        .split(/\s+/)
        .filter((word) => !word.startsWith('--'))
        .slice(0, -1),
    )

/** Whether a .dockerignore pattern list excludes a context path (exact names, `*` globs, `!` exceptions). */
export function dockerIgnored(patterns: string[], file: string): boolean {
  let ignored = false
  for (const raw of patterns) {
    const negated = raw.startsWith('!')
    const pattern = (negated ? raw.slice(1) : raw).replace(/^\/+|\/+$/g, '')
    const regex = new RegExp(
      `^${pattern
        .split('*')
        .map((part) => part.replace(/[.+?^${}()|[\]\\]/g, '\\$&'))
        .join('[^/]*')}(/.*)?$`,
    )
    if (regex.test(file)) ignored = !negated
  }
  return ignored
}

export const readDockerignore = (text: string): string[] =>
  text
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '' && !line.startsWith('#'))
