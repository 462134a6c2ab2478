/** The command line: `koa-session-redis3 migrate ...` moves every old session in bulk (README, "Migration"). */
import { parseArgs } from 'node:util'
import { Cluster, Redis } from 'ioredis'
import Koa from 'koa'
import { moveAll } from './migrate/bulk.js'
import type { MigrateFrom } from './migrate/options.js'
import type { SessionOptions } from './options.js'
import { resolveOptions } from './resolve-options.js'
import { RedisStore } from './store/redis.js'

const USAGE = `Usage: koa-session-redis3 migrate --from <koa-redis|koa-generic-session|koa-session-redis3>
         (--url redis://... | --cluster host:port,host:port,...)
         [--prefix <old key prefix>] [--key-schema <our keySchema>] [--user-id <path, e.g. passport.user>]
         [--max-age <ms, idle timeout of old keys without TTL>] [--no-hash-ids (the store's hashIds: false)]
         [--dry-run] [--batch 250] [--concurrency 32]

Environment: APP_KEYS (required; the app's app.keys, comma-separated, newest first: new ids are
derived with the first), ENCRYPTION_KEYS (the app's encryptionKeys, base64, comma-separated, if any).
Give the same --key-schema, --user-id and keys as the app, so both move a session to the same id.`

/** Where the command writes: the summary (`out`) and the progress lines and errors (`err`). */
export interface Output {
  out: (text: string) => void
  err: (text: string) => void
}

const STDIO: Output = {
  out: (text) => process.stdout.write(text),
  err: (text) => process.stderr.write(text),
}

/** Runs the command line `argv` (without node and the script); resolves the exit code. */
export async function main(
  argv: string[],
  env: NodeJS.ProcessEnv = process.env,
  io: Output = STDIO,
): Promise<number> {
  const [command, ...rest] = argv
  if (command !== 'migrate') {
    io.err(`${USAGE}\n`)
    return command === '--help' || command === undefined ? 0 : 2
  }
  const { values: a } = parseArgs({
    args: rest,
    options: {
      from: { type: 'string' },
      url: { type: 'string' },
      cluster: { type: 'string' },
      prefix: { type: 'string' },
      'key-schema': { type: 'string' },
      'user-id': { type: 'string' },
      'max-age': { type: 'string' },
      'no-hash-ids': { type: 'boolean', default: false },
      'dry-run': { type: 'boolean', default: false },
      batch: { type: 'string', default: '250' },
      concurrency: { type: 'string', default: '32' },
    },
  })
  const keys = env.APP_KEYS?.split(',').filter((k) => k !== '')
  const fail = (message: string) => {
    io.err(`koa-session-redis3 migrate: ${message}\n\n${USAGE}\n`)
    return 2
  }
  if (!keys?.length) return fail('APP_KEYS must hold the app.keys of the app (comma-separated)')
  if ((a.url === undefined) === (a.cluster === undefined)) return fail('give one of --url and --cluster')
  const batch = Number(a.batch)
  const concurrency = Number(a.concurrency)
  if (!(Number.isInteger(batch) && batch > 0))
    return fail(`--batch must be a positive integer, received ${a.batch}`)
  if (!(Number.isInteger(concurrency) && concurrency > 0))
    return fail(`--concurrency must be a positive integer, received ${a.concurrency}`)

  const client = a.cluster
    ? new Cluster(a.cluster.split(',').map(node))
    : new Redis(a.url as string, { maxRetriesPerRequest: 1 })
  const app = new Koa()
  app.keys = keys
  const path = a['user-id']?.split('.')
  const options: SessionOptions = {
    store: new RedisStore({
      client,
      hashIds: !a['no-hash-ids'],
      ...(a['key-schema'] === undefined ? {} : { keySchema: a['key-schema'] }),
      timeout: 5000,
    }),
    migrate: { from: a.from as MigrateFrom, ...(a.prefix === undefined ? {} : { prefix: a.prefix }) },
    ...(a['max-age'] === undefined ? {} : { maxAge: Number(a['max-age']) }),
    ...(path === undefined ? {} : { userId: (data) => userAt(data, path) }),
    ...(env.ENCRYPTION_KEYS
      ? { encryptionKeys: env.ENCRYPTION_KEYS.split(',').map((k) => Buffer.from(k, 'base64')) }
      : {}),
  }
  try {
    const o = resolveOptions(options, app)
    const started = Date.now()
    const counts = await moveAll(o, client, app, {
      dryRun: a['dry-run'],
      batch,
      concurrency,
      progress: (c, master, masters) =>
        io.err(
          `master ${master}/${masters}: scanned ${c.scanned}, moved ${c.moved}, already moved ${c.already}, ` +
            `${a['dry-run'] ? `to move ${c.remaining}, ` : ''}skipped ${c.skipped}\n`,
        ),
    })
    const seconds = ((Date.now() - started) / 1000).toFixed(1)
    io.out(
      a['dry-run']
        ? `${counts.remaining} old sessions to move (${counts.already} moved already, ${counts.skipped} skipped)\n`
        : `moved ${counts.moved} old sessions in ${seconds} s (${counts.already} moved already, ${counts.skipped} skipped)\n`,
    )
    return 0
  } catch (err) {
    io.err(`koa-session-redis3 migrate: ${(err as Error).message}\n`)
    return 1
  } finally {
    client.disconnect()
  }
}

function node(hostPort: string): { host: string; port: number } {
  const at = hostPort.lastIndexOf(':')
  return { host: hostPort.slice(0, at), port: Number(hostPort.slice(at + 1)) }
}

/** The value at `path` in the session data (`passport.user`), when it is a user id. */
function userAt(data: unknown, path: string[]): string | number | undefined {
  let value = data
  for (const key of path) value = (value as Record<string, unknown> | undefined)?.[key]
  return typeof value === 'string' || typeof value === 'number' ? value : undefined
}
