// The image, checked without a Docker engine: dockerfile-utils for syntax, our own rules for how the server must
// run (numeric non-root user, exec-form CMD, pinned Node), and the build context (.dockerignore, tsconfig.image).
import { existsSync, readdirSync, readFileSync } from 'node:fs'
import path from 'node:path'
import { validate } from 'dockerfile-utils'
import t from 'tap'
import { parse } from 'yaml'
import {
  contextSources,
  dockerIgnored,
  EXPECTED_CMD,
  exposedPorts,
  imageProblems,
  readDockerignore,
} from './support/dockerfile.js'
import { repoRoot } from './support/tools.js'

type Json = Record<string, unknown>

const dockerfile = readFileSync(path.join(repoRoot, 'Dockerfile'), 'utf8')
const dockerignore = readDockerignore(readFileSync(path.join(repoRoot, '.dockerignore'), 'utf8'))
const packageJson = JSON.parse(readFileSync(path.join(repoRoot, 'package.json'), 'utf8')) as Json

t.test(
  'dockerfile-utils finds no problem in the Dockerfile, and does find them in a broken one',
  async (t) => {
    t.same(validate(dockerfile), [])
    const broken = 'FROM node:20\nMAINTAINER someone\nCMD ["node", "a.js"]\nCMD ["node", "b.js"]\n'
    t.match(
      validate(broken).map((d) => d.message),
      [/only be one CMD/, /MAINTAINER has been deprecated/],
    )
  },
)

t.test('the Dockerfile follows the image rules', async (t) => {
  t.same(imageProblems(dockerfile), [])
})

t.test('each image rule catches its own violation', async (t) => {
  const breaking: Array<[string, (text: string) => string, RegExp]> = [
    ['a user name', (d) => d.replace(/^USER 1000$/m, 'USER node'), /numeric, non-root USER/],
    ['root', (d) => d.replace(/^USER 1000$/m, 'USER 0'), /numeric, non-root USER/],
    ['an inline comment', (d) => d.replace(/^USER 1000$/m, 'USER 1000 # the node user'), /"#" inside USER/],
    ['a shell-form CMD', (d) => d.replace(/^CMD .*$/m, 'CMD node dist/hooks/server.js'), /exec-form CMD/],
    ['npm start', (d) => d.replace(/^CMD .*$/m, 'CMD ["npm", "start"]'), /exec-form CMD/],
    [
      'an unpinned base',
      (d) => d.replace(/^FROM node:\$\{NODE_VERSION\}-bookworm-slim$/m, 'FROM node:22'),
      /FROM node/,
    ],
    ['no NODE_VERSION', (d) => d.replace(/^ARG NODE_VERSION=.*$/m, ''), /ARG NODE_VERSION/],
    ['no prune', (d) => d.replace('npm prune --omit=dev', 'true'), /prune dev dependencies/],
    [
      'the test tsconfig',
      (d) => d.replace('tsc -p tsconfig.image.json', 'tsc -p tsconfig.json'),
      /tsconfig\.image/,
    ],
    ['no NODE_ENV', (d) => d.replace(/^ENV NODE_ENV=production$/m, ''), /NODE_ENV=production/],
  ]
  for (const [name, mutate, problem] of breaking) {
    const mutated = mutate(dockerfile)
    t.not(mutated, dockerfile, `${name}: the mutation applies`)
    t.match(imageProblems(mutated).join('\n'), problem, name)
  }
})

/** `^20.19.0 || ^24.0.0` → [[20, 19], [24, 0]]: the only shape engines.node takes here (one caret range a major). */
const engineMajors = (range: string): Array<[number, number]> =>
  range.split('||').map((part) => {
    const match = /^\s*\^(\d+)\.(\d+)\.\d+\s*$/.exec(part)
    return match ? [Number(match[1]), Number(match[2])] : [Number.NaN, Number.NaN]
  })

const admits = (range: string, version: string): boolean => {
  const [major, minor] = version.split('.').map(Number)
  return engineMajors(range).some(([m, n]) => major === m && minor! >= n)
}

t.test('engines.node names each tested major; the checker reads it as written', async (t) => {
  const range = String((packageJson.engines as Json).node)
  t.same(engineMajors(range), [
    [20, 19],
    [24, 0],
  ])
  t.ok(admits(range, '20.19.0'))
  t.ok(admits(range, '24.22.3'))
  t.notOk(admits(range, '20.18.9'), 'below the minor floor')
  t.notOk(admits(range, '22.12.0'), 'an untested major')
  t.notOk(admits(range, '26.0.0'), 'a newer, untested major')
  t.ok(admits(range, process.versions.node), 'the Node running the tests is one engines admits')
})

t.test('the image runs the exact Node 24 CI tested (scripts/get-node.sh)', async (t) => {
  const image = /^ARG NODE_VERSION=(\d+\.\d+\.\d+)$/m.exec(dockerfile)?.[1]
  const script = readFileSync(path.join(repoRoot, 'scripts/get-node.sh'), 'utf8')
  const tested = /^NODE_VERSION="(\d+\.\d+\.\d+)"$/m.exec(script)?.[1]
  t.ok(image, 'ARG NODE_VERSION=x.y.z')
  t.ok(tested, 'scripts/get-node.sh pins NODE_VERSION="x.y.z"')
  t.equal(image, tested, 'the image base is the Node .ci/run runs the suite on')
  t.equal(image?.split('.')[0], '24', 'the current LTS major')
  t.ok(admits(String((packageJson.engines as Json).node), image ?? ''), 'satisfies engines.node')
  t.match(script, /^TARBALL_SHA256="[0-9a-f]{64}"$/m, 'the download is checked against a pinned sha256')
})

t.test('the image serves on the port the Deployment probes, and starts the built server', async (t) => {
  const deployment = parse(readFileSync(path.join(repoRoot, 'manifests/deployment.yaml'), 'utf8')) as {
    spec: { template: { spec: { containers: Array<{ ports: Array<{ containerPort: number }> }> } } }
  }
  const containerPort = deployment.spec.template.spec.containers[0]?.ports[0]?.containerPort
  t.same(exposedPorts(dockerfile), [containerPort])

  const image = JSON.parse(readFileSync(path.join(repoRoot, 'tsconfig.image.json'), 'utf8')) as Json
  const base = JSON.parse(readFileSync(path.join(repoRoot, 'tsconfig.json'), 'utf8')) as Json
  t.same(image, { extends: './tsconfig.json', compilerOptions: { noEmit: false }, include: ['hooks'] })
  t.match(base.compilerOptions, { rootDir: '.', outDir: 'dist' })
  // dist/hooks/server.js is the compiled hooks/server.ts (rootDir ".", outDir "dist").
  const entry = EXPECTED_CMD[1]!.replace(/^dist\//, '').replace(/\.js$/, '.ts')
  t.ok(existsSync(path.join(repoRoot, entry)), `${entry} exists`)
})

/** Relative imports of a TypeScript file (import/export ... from, dynamic import), type-only ones marked. */
function importsOf(source: string): Array<{ specifier: string; typeOnly: boolean }> {
  const found: Array<{ specifier: string; typeOnly: boolean }> = []
  for (const match of source.matchAll(/^\s*(import|export)\s+(type\s+)?[^'"]*?from\s+['"]([^'"]+)['"]/gm)) {
    found.push({ specifier: match[3]!, typeOnly: match[2] !== undefined })
  }
  for (const match of source.matchAll(/\bimport\(\s*['"]([^'"]+)['"]\s*\)/g)) {
    found.push({ specifier: match[1]!, typeOnly: false })
  }
  for (const match of source.matchAll(/^\s*import\s+['"]([^'"]+)['"]/gm))
    found.push({ specifier: match[1]!, typeOnly: false })
  return found
}

const packageOf = (specifier: string): string =>
  specifier.startsWith('@') ? specifier.split('/').slice(0, 2).join('/') : specifier.split('/')[0]!

/** Why the image build (hooks/ only, dev dependencies pruned) could not run these hooks/ files. */
function imageImportProblems(sources: Map<string, string>, runtimeDependencies: Set<string>): string[] {
  const problems: string[] = []
  for (const [file, source] of sources) {
    for (const { specifier, typeOnly } of importsOf(source)) {
      if (specifier.startsWith('.')) {
        const target = path.posix.join('hooks', path.posix.dirname(file), specifier)
        if (!target.startsWith('hooks/')) problems.push(`hooks/${file} imports ${specifier}, outside hooks/`)
      } else if (
        !specifier.startsWith('node:') &&
        !typeOnly &&
        !runtimeDependencies.has(packageOf(specifier))
      ) {
        // npm prune --omit=dev removes it from the image: the server would fail to start.
        problems.push(`hooks/${file} imports ${specifier}, not a runtime dependency`)
      }
    }
  }
  return problems
}

t.test('the image build has all it needs: hooks/ imports only hooks/ and runtime dependencies', async (t) => {
  const hooksDir = path.join(repoRoot, 'hooks')
  const files = readdirSync(hooksDir, { recursive: true, encoding: 'utf8' }).filter((f) => f.endsWith('.ts'))
  t.ok(files.includes('server.ts'), 'the server entry is there')
  const sources = new Map(
    files.map((f) => [f.split(path.sep).join('/'), readFileSync(path.join(hooksDir, f), 'utf8')]),
  )
  const runtime = new Set(Object.keys((packageJson.dependencies as Json | undefined) ?? {}))
  t.same(imageImportProblems(sources, runtime), [])

  const bad = new Map([
    [
      'routes/x.ts',
      [
        "import type { IPod } from 'kubernetes-models/v1/Pod'",
        "import { helper } from '../../test/helper.js'",
        "import { fine } from '../settings.js'",
        "const tap = await import('tap')",
        "import Fastify from 'fastify'",
      ].join('\n'),
    ],
  ])
  t.same(imageImportProblems(bad, new Set(['fastify'])), [
    'hooks/routes/x.ts imports ../../test/helper.js, outside hooks/',
    'hooks/routes/x.ts imports tap, not a runtime dependency',
  ])
})

t.test('.dockerignore keeps build output and local state out, and lets every COPY source in', async (t) => {
  for (const excluded of ['node_modules', 'dist', '.git', '.tools', 'test', '.env']) {
    t.ok(dockerIgnored(dockerignore, excluded), `${excluded} is ignored`)
  }
  t.ok(
    dockerIgnored(dockerignore, 'node_modules/fastify/package.json'),
    'ignoring a folder ignores its content',
  )
  const sources = contextSources(dockerfile)
  t.same(sources.sort(), [
    'hooks',
    'package-lock.json',
    'package.json',
    'tsconfig.image.json',
    'tsconfig.json',
  ])
  for (const source of sources) t.notOk(dockerIgnored(dockerignore, source), `${source} reaches the build`)
  t.ok(dockerIgnored(['*.md', '!README.md'], 'CHANGELOG.md'), 'globs match')
  t.notOk(dockerIgnored(['*.md', '!README.md'], 'README.md'), 'exceptions win when later')
})
