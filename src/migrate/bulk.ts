/** The bulk move: every old session of a layout, found by SCAN on every master, moved as the read-through moves it. */
import { IncomingMessage, ServerResponse } from 'node:http'
import { Socket } from 'node:net'
import type { Cluster, Redis } from 'ioredis'
import type Koa from 'koa'
import type { Resolved } from '../options.js'
import { RequestSession } from '../state.js'
import { oldState } from './old-key.js'

/** What a bulk run found, per outcome; `remaining` (old sessions still to move) is what a dry run reports. */
export interface BulkCounts {
  /** Keys SCAN returned under the prefix whose name is an old id. */
  scanned: number
  /** Moved by this run. */
  moved: number
  /** Moved before (by a request or an earlier run): only the marker is left. */
  already: number
  /** Still to move (a dry run moves nothing). */
  remaining: number
  /** Over, empty, or invalid (reported as `session:invalid`): left for Redis to expire. */
  skipped: number
}

/** How a bulk run goes: batch size of each SCAN, moves in flight at once, and where progress goes. */
export interface BulkOptions {
  dryRun: boolean
  batch: number
  concurrency: number
  progress: (counts: BulkCounts, master: number, masters: number) => void
}

/**
 * Moves every old session under the migration's prefix: SCAN (COUNT `batch`) on each master, and for
 * each key named by an old id, the read-through's own step. Each step is idempotent and converges with
 * requests that move the same session meanwhile, so a run can be stopped and started again at will;
 * a SCAN holds Redis for one batch at a time.
 */
export async function moveAll(
  o: Resolved,
  client: Redis | Cluster,
  app: Koa,
  options: BulkOptions,
): Promise<BulkCounts> {
  const m = o.migrate
  if (m === undefined) throw new Error('koa-session-redis3: moveAll needs the `migrate` option')
  if (m.from === 'koa-session-redis3' && m.prefix === '') {
    // 1.x values carry no mark of their library: with no prefix, any 24-character key holding JSON would pass.
    throw new Error('koa-session-redis3: a bulk move from 1.x needs its keySchema as --prefix')
  }
  const counts: BulkCounts = { scanned: 0, moved: 0, already: 0, remaining: 0, skipped: 0 }
  // A Cluster knows its masters once it has read the slot map, which a first command waits for.
  await client.ping()
  const masters = 'nodes' in client && typeof client.nodes === 'function' ? client.nodes('master') : [client]
  const pattern = `${m.prefix.replace(/[*?[\]\\]/g, '\\$&')}*`
  for (const [index, node] of masters.entries()) {
    let cursor = '0'
    do {
      const [next, keys] = await node.scan(cursor, 'MATCH', pattern, 'COUNT', options.batch)
      cursor = next
      const ids = keys.map((key) => key.slice(m.prefix.length)).filter((id) => m.isOldId(id))
      counts.scanned += ids.length
      await inParallel(ids, options.concurrency, async (id) => {
        if (options.dryRun) {
          const state = await oldState(m, m.prefix + id)
          counts[state === 'moved' ? 'already' : state === 'to move' ? 'remaining' : 'skipped']++
          return
        }
        const adopted = await new RequestSession(contextOf(app), o).adoptOld(id)
        counts[adopted === undefined ? 'skipped' : adopted.moved ? 'moved' : 'already']++
      })
      options.progress(counts, index + 1, masters.length)
    } while (cursor !== '0')
  }
  return counts
}

/** A request context with no request behind it: the bulk move has no cookie, only the old id. */
function contextOf(app: Koa): Koa.Context {
  const req = new IncomingMessage(new Socket())
  return app.createContext(req, new ServerResponse(req)) as Koa.Context
}

async function inParallel<T>(items: T[], limit: number, run: (item: T) => Promise<void>): Promise<void> {
  let next = 0
  const worker = async () => {
    while (next < items.length) await run(items[next++] as T)
  }
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker))
}
