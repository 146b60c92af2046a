#!/usr/bin/env node
import { readFileSync } from 'node:fs'
import { parseArgs } from 'node:util'
import { parseAllDocuments, stringify } from 'yaml'
import type { ApiAdapter } from './discovery/types.js'
import type { KubeObject } from './metacontroller/types.js'
import { RenderError, renderDittoServer } from './render.js'
import { looserSecurityAllowed, type SettingsError } from './settings.js'

// `dittofs-hooks render -f dittoserver.yaml [--adapters adapters.json]`: prints, as YAML, the children the hook
// would return — like `helm template`, for review and GitOps diffs.

const USAGE = `usage: dittofs-hooks render -f <dittoserver.yaml> [--adapters <adapters.json>] [--show-secrets] [--status]
  -f, --file        DittoServer manifest(s) (YAML, '-' for stdin)
  --adapters        the JSON answer of GET /api/v1/adapters to render adapter Services for
  --show-secrets    print generated Secret values (derived from HOOKS_SECRET_KEY) instead of hiding them
  --status          also print the status the hook would write`

function fail(message: string): never {
  process.stderr.write(`dittofs-hooks: ${message}\n`)
  process.exit(2)
}

function readAdapters(file: string): ApiAdapter[] {
  const list: unknown = JSON.parse(readFileSync(file, 'utf8'))
  if (!Array.isArray(list)) fail(`${file}: expected a JSON array of adapters`)
  return list.map((a, i) => {
    if (!a || typeof a.type !== 'string' || !Number.isInteger(a.port))
      fail(`${file}: adapter ${i} needs type and port`)
    return { type: a.type, port: a.port, enabled: a.enabled !== false, running: a.running !== false }
  })
}

function main(argv: string[]): void {
  const [command, ...rest] = argv
  if (command !== 'render') fail(`${USAGE}`)
  const { values } = parseArgs({
    args: rest,
    options: {
      file: { type: 'string', short: 'f' },
      adapters: { type: 'string' },
      'show-secrets': { type: 'boolean', default: false },
      status: { type: 'boolean', default: false },
    },
  })
  if (!values.file) fail(USAGE)
  const text = readFileSync(values.file === '-' ? 0 : values.file, 'utf8')
  const adapters = values.adapters ? readAdapters(values.adapters) : undefined
  const key = Buffer.from(process.env.HOOKS_SECRET_KEY || 'dittofs-hooks-render', 'utf8')
  let allowLooserSecurity = false
  try {
    allowLooserSecurity = looserSecurityAllowed(process.env)
  } catch (error) {
    fail((error as SettingsError).message)
  }
  const out: string[] = []
  for (const doc of parseAllDocuments(text)) {
    if (doc.errors.length > 0) fail(`${values.file}: ${doc.errors[0]?.message}`)
    const object = doc.toJS() as KubeObject | null
    if (object?.kind !== 'DittoServer') continue
    try {
      const response = renderDittoServer(object, {
        secretKey: key,
        showSecrets: values['show-secrets'],
        allowLooserSecurity,
        ...(adapters ? { adapters } : {}),
      })
      out.push(`# DittoServer ${object.metadata.namespace ?? 'default'}/${object.metadata.name}`)
      for (const child of response.children) out.push(`---\n${stringify(child, { lineWidth: 0 })}`)
      if (values.status) out.push(`---\n# status\n${stringify(response.status, { lineWidth: 0 })}`)
    } catch (error) {
      if (error instanceof RenderError) fail(`${object.metadata?.name}: invalid spec: ${error.message}`)
      throw error
    }
  }
  if (out.length === 0) fail(`${values.file}: no DittoServer found`)
  process.stdout.write(`${out.join('\n')}\n`)
}

main(process.argv.slice(2))
