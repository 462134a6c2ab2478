// What users install: `npm pack` of the built package, put into an empty app, serving the README first screen.
import { execFileSync, spawnSync } from 'node:child_process'
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest'
import { type ChildApp, startChildApp, visit } from './child-app.js'
import { freePort, sendCommand } from './redis-servers.js'

const root = join(import.meta.dirname, '..')
const redisPort = inject('redisPort')
let work: string
let files: string[]
let installed: string
const apps: ChildApp[] = []

/** The README's fences of one language, in order. */
function fences(lang: string): string[] {
  const readme = readFileSync(join(root, 'README.md'), 'utf8')
  return [...readme.matchAll(/```(\w*)\n([\s\S]*?)```/g)]
    .filter((m) => m[1] === lang)
    .map((m) => m[2] as string)
}

/** The first screen with the ports of this run, and a key schema of its own in the shared Redis. */
function firstScreen(code: string, port: number, keySchema: string): string {
  return code
    .replace('port: 6379', `port: ${redisPort}`)
    .replace("keySchema: 'your:schema'", `keySchema: '${keySchema}'`)
    .replace('listen(3000)', `listen(${port})`)
}

beforeAll(() => {
  work = mkdtempSync(join(tmpdir(), 'ksr3-pack-'))
  // --ignore-scripts: npm test has just built dist/, and prepack's rebuild (rm -rf dist) would pull
  // it from under the other test files that run the built package at the same time.
  const out = execFileSync('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', work], {
    cwd: root,
    encoding: 'utf8',
  })
  const [packed] = JSON.parse(out) as { filename: string; files: { path: string }[] }[]
  if (!packed) throw new Error(`npm pack printed no result: ${out}`)
  files = packed.files.map((f) => f.path).sort()

  // The empty app, with the tarball unpacked where npm install puts it. npm itself cannot install
  // it offline (npm ci caches tarballs, not the registry metadata a range needs), so the package's
  // declared dependencies and peers are linked from this checkout: an import of anything else fails.
  const app = join(work, 'app')
  installed = join(app, 'node_modules', 'koa-session-redis3')
  mkdirSync(installed, { recursive: true })
  writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'app', private: true, type: 'module' }))
  execFileSync('tar', ['-xzf', join(work, packed.filename), '-C', installed, '--strip-components=1'])
  const manifest = JSON.parse(readFileSync(join(installed, 'package.json'), 'utf8'))
  for (const name of Object.keys({ ...manifest.dependencies, ...manifest.peerDependencies })) {
    mkdirSync(dirname(join(app, 'node_modules', name)), { recursive: true })
    symlinkSync(join(root, 'node_modules', name), join(app, 'node_modules', name), 'dir')
  }
}, 60_000)

afterAll(() => {
  for (const app of apps) app.child.kill()
  if (work) rmSync(work, { recursive: true, force: true })
})

describe('npm pack', () => {
  it('npm pack: the tarball holds the build (ESM, CommonJS, types), LICENSE, README and nothing else', () => {
    for (const file of [
      'LICENSE',
      'README.md',
      'package.json',
      'dist/index.js',
      'dist/index.d.ts',
      'dist/index.cjs',
      'dist/index.d.cts',
    ]) {
      expect(files).toContain(file)
    }
    expect(files.filter((f) => !f.startsWith('dist/'))).toEqual(['LICENSE', 'README.md', 'package.json'])
    expect(files.filter((f) => /\.test[.-]/.test(f))).toEqual([])
    expect(readFileSync(join(installed, 'LICENSE'), 'utf8')).toMatch(/^MIT License/)
  })

  it('npm pack: the `bin` (koa-session-redis3 migrate) is in the tarball, with its shebang, and prints its usage', () => {
    const { bin } = JSON.parse(readFileSync(join(installed, 'package.json'), 'utf8')) as {
      bin: Record<string, string>
    }
    const file = bin['koa-session-redis3'] as string
    expect(files).toContain(file.replace(/^\.\//, ''))
    expect(readFileSync(join(installed, file), 'utf8')).toMatch(/^#!\/usr\/bin\/env node\n/)
    const usage = spawnSync(process.execPath, [join(installed, file), '--help'], { encoding: 'utf8' })
    expect(usage.status).toBe(0)
    expect(usage.stderr).toContain('Usage: koa-session-redis3 migrate --from')
  })

  it('npm pack: every source map carries the sources it names (src/ is not shipped)', () => {
    const maps = files.filter((f) => f.endsWith('.map'))
    expect(maps.length).toBeGreaterThan(0)
    for (const map of maps) {
      const { sources, sourcesContent } = JSON.parse(readFileSync(join(installed, map), 'utf8'))
      expect(sourcesContent?.length, map).toBe(sources.length)
      expect(
        sourcesContent.every((s: unknown) => typeof s === 'string' && s.length > 0),
        map,
      ).toBe(true)
    }
  })

  it('installed: the first screen serves the counter from ESM (import) and from CommonJS (require)', async () => {
    const [esm, cjsLines] = [fences('js')[0], fences('js').find((c) => c.includes('require('))]
    expect(esm).toContain("import session from 'koa-session-redis3'")
    expect(cjsLines).toContain("const session = require('koa-session-redis3')")
    // The README's CommonJS form (server.js): the whole program, or its require lines in place of the
    // first screen's imports.
    const cjs = (cjsLines as string).includes('listen(3000)')
      ? (cjsLines as string)
      : `${cjsLines}${(esm as string).replace(/^import .*\n/gm, '')}`
    expect(cjs).not.toContain('import ')

    const variants = [
      { file: 'first-screen.mjs', code: esm as string, keySchema: `pack:esm:${process.pid}:` },
      { file: 'first-screen.cjs', code: cjs, keySchema: `pack:cjs:${process.pid}:` },
    ]
    for (const { file, code, keySchema } of variants) {
      const port = await freePort()
      const path = join(work, 'app', file)
      writeFileSync(path, firstScreen(code, port, keySchema))
      const app = await startChildApp(path, port, join(work, 'app'))
      apps.push(app)
      const { texts } = await visit(app.base, 3)
      expect(texts, file).toEqual(['1 views', '2 views', '3 views'])
      const keys = (await sendCommand(redisPort, ['KEYS', `${keySchema}*`])) as string[]
      expect(keys, file).toHaveLength(1)
      const ttl = (await sendCommand(redisPort, ['PTTL', keys[0] as string])) as number
      expect(ttl, file).toBeGreaterThan(3_500_000)
      expect(ttl, file).toBeLessThanOrEqual(3_600_000)
    }
  })
})
