// `dittofs-hooks render` (hooks/cli.ts) as a user runs it: the same security policy as the hook, from the same
// environment variable, and a clear error for a mistyped value.
import { spawnSync } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import t from 'tap'
import { repoRoot } from './support/tools.js'

const LOADER = path.join(repoRoot, 'node_modules/@tapjs/typescript/dist/esm/import.mjs')
const dir = mkdtempSync(path.join(os.tmpdir(), 'dittofs-render-'))
t.teardown(() => rmSync(dir, { recursive: true, force: true }))
const file = path.join(dir, 'privileged.yaml')
writeFileSync(
  file,
  `apiVersion: dittofs.dittofs.com/v1alpha1
kind: DittoServer
metadata: {name: ditto, namespace: storage}
spec:
  storage: {metadataSize: 10Gi}
  securityContext: {privileged: true}
`,
)

function render(env: Record<string, string>) {
  const { ALLOW_LOOSER_SECURITY: _inherited, ...base } = process.env
  return spawnSync(process.execPath, [`--import=${LOADER}`, 'hooks/cli.ts', 'render', '-f', file], {
    cwd: repoRoot,
    encoding: 'utf8',
    env: { ...base, ...env },
  })
}

t.test('a privileged spec is refused, naming the field', async (t) => {
  const result = render({})
  t.equal(result.status, 2)
  t.match(result.stderr, 'ditto: invalid spec: spec.securityContext.privileged must not be true')
  t.equal(result.stdout, '')
})

t.test('with ALLOW_LOOSER_SECURITY=true it renders as the hook would', async (t) => {
  const result = render({ ALLOW_LOOSER_SECURITY: 'true' })
  t.equal(result.status, 0, result.stderr)
  t.match(result.stdout, /kind: StatefulSet[\s\S]*privileged: true/)
})

t.test('a mistyped ALLOW_LOOSER_SECURITY stops before rendering', async (t) => {
  const result = render({ ALLOW_LOOSER_SECURITY: 'yes' })
  t.equal(result.status, 2)
  t.match(result.stderr, 'ALLOW_LOOSER_SECURITY must be true or false, got "yes"')
  t.equal(result.stdout, '')
})
