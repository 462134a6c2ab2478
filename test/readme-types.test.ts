// The README's TypeScript compiled as printed (strict, NodeNext), in a project that installs the built package.
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import ts from 'typescript'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'

const root = join(import.meta.dirname, '..')
let project: string
let program: ts.Program

/**
 * The snippets to compile: the first screen (the first `js` fence, valid TypeScript as it stands)
 * and every `ts` / `typescript` fence. A fence whose first line is a comment naming a file
 * (`// server.cts`) is written under that name, so the README decides ESM or CommonJS.
 */
function snippets(): Map<string, string> {
  const readme = readFileSync(join(root, 'README.md'), 'utf8')
  const files = new Map<string, string>()
  let firstScreen = true
  for (const [, lang, code] of readme.matchAll(/```(\w*)\n([\s\S]*?)```/g)) {
    if (lang === 'js' && firstScreen) {
      firstScreen = false
      files.set('first-screen.ts', code as string)
    } else if (lang === 'ts' || lang === 'typescript') {
      const named = /^\/\/ (\S+\.(?:d\.ts|ts|mts|cts))\n/.exec(code as string)?.[1]
      files.set(named ?? `snippet-${files.size}.ts`, code as string)
    }
  }
  return files
}

beforeAll(() => {
  // An app's folder: an ES module package whose node_modules holds this package, Koa and the
  // @types it installs. Links, not copies: resolution follows them to the real files, as npm's would.
  project = mkdtempSync(join(tmpdir(), 'ksr3-types-'))
  mkdirSync(join(project, 'node_modules'))
  symlinkSync(root, join(project, 'node_modules', 'koa-session-redis3'), 'dir')
  symlinkSync(join(root, 'node_modules', 'koa'), join(project, 'node_modules', 'koa'), 'dir')
  symlinkSync(join(root, 'node_modules', '@types'), join(project, 'node_modules', '@types'), 'dir')
  writeFileSync(join(project, 'package.json'), JSON.stringify({ type: 'module', private: true }))
  const files = [...snippets()].map(([name, code]) => {
    writeFileSync(join(project, name), code)
    return join(project, name)
  })
  // Both entry points in one program: the ES types for `import`, dist/index.d.cts for `require`.
  writeFileSync(
    join(project, 'entry-points.cts'),
    [
      "import cjs = require('koa-session-redis3')",
      "type Esm = typeof import('koa-session-redis3', { with: { 'resolution-mode': 'import' } })",
      'export declare const esmFactory: Esm["session"]',
      'export const cjsFactory = cjs',
      '',
    ].join('\n'),
  )
  files.push(join(project, 'entry-points.cts'))
  program = ts.createProgram(files, {
    strict: true,
    module: ts.ModuleKind.NodeNext,
    moduleResolution: ts.ModuleResolutionKind.NodeNext,
    target: ts.ScriptTarget.ES2022,
    types: ['node'],
    noEmit: true,
    // The package's own declaration files are checked too, as a user's strict build would.
    skipLibCheck: false,
  })
}, 60_000)

afterAll(() => {
  if (project) rmSync(project, { recursive: true, force: true })
})

describe('README TypeScript', () => {
  it('README: the first screen and the ts snippets (ESM and CommonJS) compile under strict NodeNext', () => {
    const names = [...snippets().keys()]
    expect(names).toContain('first-screen.ts')
    expect(names.some((n) => n.endsWith('.cts'))).toBe(true)
    expect(snippets().get('first-screen.ts')).toContain('ctx.session.views')
    // The snippets and the package's declaration files, checked as with skipLibCheck: false; the
    // other libraries are not ours to check (and checking @types/node alone takes seconds).
    const ours = program
      .getSourceFiles()
      .filter((f) => f.fileName.startsWith(project) || f.fileName.startsWith(join(root, 'dist')))
    expect(ours.map((f) => f.fileName)).toContain(join(root, 'dist', 'index.d.cts'))
    const diagnostics = [
      ...program.getOptionsDiagnostics(),
      ...program.getGlobalDiagnostics(),
      ...ours.flatMap((f) => [...program.getSyntacticDiagnostics(f), ...program.getSemanticDiagnostics(f)]),
    ]
    const text = ts.formatDiagnostics(diagnostics, {
      getCanonicalFileName: (f) => f,
      getCurrentDirectory: () => project,
      getNewLine: () => '\n',
    })
    expect(text).toBe('')
  })

  it('CommonJS types: dist/index.d.cts offers every export of the ES module, as members of the factory', () => {
    const checker = program.getTypeChecker()
    const exportsOf = (file: string) => {
      const source = program.getSourceFile(join(root, 'dist', file))
      if (!source) throw new Error(`${file} is not in the program`)
      const module = checker.getSymbolAtLocation(source)
      if (!module) throw new Error(`${file} is not a module`)
      return checker
        .getExportsOfModule(module)
        .map((s) => s.name)
        .filter((name) => name !== 'default')
        .sort()
    }
    const esm = exportsOf('index.d.ts')
    expect(esm).toContain('SessionOptions')
    expect(exportsOf('index.d.cts')).toEqual(esm)
  })

  it("CommonJS types: the factory has the same call signatures as the ES module's session()", () => {
    // index.d.cts repeats the overloads (a namespace can only merge with a function declaration).
    const checker = program.getTypeChecker()
    const source = program.getSourceFile(join(project, 'entry-points.cts'))
    const signatures = (name: string) => {
      const declaration = source?.statements
        .filter(ts.isVariableStatement)
        .flatMap((s) => s.declarationList.declarations)
        .find((d) => d.name.getText() === name)
      if (!declaration) throw new Error(`entry-points.cts declares no ${name}`)
      return checker
        .getSignaturesOfType(checker.getTypeAtLocation(declaration.name), ts.SignatureKind.Call)
        .map((s) => checker.signatureToString(s, undefined, ts.TypeFormatFlags.NoTruncation))
    }
    const esm = signatures('esmFactory')
    expect(esm).toHaveLength(2)
    expect(signatures('cjsFactory')).toEqual(esm)
  })
})
