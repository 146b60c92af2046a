// Lists object literals that start with a spread and add more properties (`{ ...a, k: v }`, `{ ...a, ...b }`):
// on Node 20 (V8 11.3) each evaluation builds a new hidden class (slow, and megamorphic for every reader).
// Usage: node dist/bench/find-spreads.js hooks [more dirs or files]
import { readdirSync, readFileSync, statSync } from 'node:fs'
import { join } from 'node:path'
import ts from 'typescript'

function sourceFiles(path: string): string[] {
  if (statSync(path).isFile()) return path.endsWith('.ts') ? [path] : []
  return readdirSync(path).flatMap((entry) => sourceFiles(join(path, entry)))
}

export function spreadFirstLiterals(file: string, text: string): Array<{ line: number; text: string }> {
  const source = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, true)
  const found: Array<{ line: number; text: string }> = []
  const visit = (node: ts.Node) => {
    if (ts.isObjectLiteralExpression(node)) {
      const [first, ...rest] = node.properties
      if (first !== undefined && ts.isSpreadAssignment(first) && rest.length > 0) {
        const line = source.getLineAndCharacterOfPosition(node.getStart()).line + 1
        found.push({ line, text: node.getText().replace(/\s+/g, ' ').slice(0, 110) })
      }
    }
    ts.forEachChild(node, visit)
  }
  visit(source)
  return found
}

if (process.argv[1]?.endsWith('find-spreads.js')) {
  const roots = process.argv.slice(2)
  for (const file of (roots.length > 0 ? roots : ['hooks']).flatMap(sourceFiles)) {
    for (const hit of spreadFirstLiterals(file, readFileSync(file, 'utf8'))) {
      process.stdout.write(`${file}:${hit.line}: ${hit.text}\n`)
    }
  }
}
