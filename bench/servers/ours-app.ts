/**
 * Ours as a benchmark server, shared by the variants that differ only in RedisStore options (`ours`,
 * `ours-cache`). It runs the built package in `dist/`, the code `npm install` gives users, not `src/`
 * through tsx: tsx compiles with esbuild's `keepNames`, which wraps every named closure in a `__name`
 * call that the published JavaScript does not have (1.6 µs per request in a CPU profile of an
 * increment, the second largest item of our code's self time). The peers run their published
 * JavaScript too.
 */
import { statSync } from 'node:fs'
import { readdir } from 'node:fs/promises'
import { join } from 'node:path'
import Koa from 'koa'
import type * as Library from '../../src/index.js'
import type { RedisStoreOptions } from '../../src/index.js'
import { ROOT } from '../lib/processes.js'
import { access, act, MAX_AGE_MS, parseRoute, SECRET, type SessionAccess } from '../lib/scenarios.js'
import { serveKoa, serverEnv } from './harness.js'

/** Serves the benchmark's routes through our middleware on one RedisStore with `options` added. */
export async function serveOurs(options: RedisStoreOptions = {}): Promise<void> {
  const { RedisStore, session } = await built()
  const { port, redisPort, cluster } = serverEnv()
  // One store (one connection) for both apps, as one app with two middleware configurations would have.
  const where = cluster === undefined ? { host: '127.0.0.1', port: redisPort } : { cluster }
  const store = new RedisStore({ ...where, ...options })

  function makeApp(rolling: boolean): Koa {
    const app = new Koa()
    app.keys = [SECRET]
    app.use(session({ store, lazy: true, rolling, maxAge: MAX_AGE_MS }, app))
    app.use(async (ctx) => {
      const route = parseRoute(ctx.url)
      if (route === undefined) return
      ctx.body = await act(route, async (): Promise<SessionAccess> => {
        const s = (await ctx.loadSession()) as Record<string, unknown>
        return access(s)
      })
    })
    return app
  }

  await serveKoa(makeApp, port, () => store.close())
}

/** `dist/index.js`, refused when older than any file in `src/`: a stale build would be measured. */
async function built(): Promise<typeof Library> {
  const entry = join(ROOT, 'dist', 'index.js')
  const builtAt = statSync(entry, { throwIfNoEntry: false })?.mtimeMs
  const sources = (await readdir(join(ROOT, 'src'), { recursive: true })).filter((f) => f.endsWith('.ts'))
  const stale = sources.find((f) => statSync(join(ROOT, 'src', f)).mtimeMs > (builtAt ?? 0))
  if (builtAt === undefined || stale !== undefined) {
    throw new Error(
      `the benchmark measures the built package, and dist/ is ${builtAt === undefined ? 'missing' : `older than src/${stale}`}: run \`npm run build\` (npm run bench does)`,
    )
  }
  // A computed specifier: TypeScript takes the types from src/ (the import type above), not from
  // dist/'s declarations, which would declare the Koa context augmentation a second time.
  const specifier = entry
  return (await import(specifier)) as typeof Library
}
