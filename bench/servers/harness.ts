/**
 * The child side of a benchmark server: reads PORT / REDIS_PORT, listens, announces itself, and answers the
 * orchestrator's IPC questions (CPU time, memory, requests served) so the numbers come from inside the server.
 */
import { writeFileSync } from 'node:fs'
import { createServer, type Server } from 'node:http'
import { Session } from 'node:inspector/promises'
import type Koa from 'koa'
import { isRollingPath } from '../lib/scenarios.js'

/** Environment every server gets from `bench/run.ts` or `bench/soak.ts`. */
export interface ServerEnv {
  readonly port: number
  readonly redisPort: number
  /**
   * `REDIS_CLUSTER=host:port,host:port,...`: the startup nodes of the benchmark's Cluster. The servers that
   * support it (ours, koa-session) then point their store there instead of at `redisPort`.
   */
  readonly cluster: { host: string; port: number }[] | undefined
}

/** Reads and checks the server's environment; throws when it could reach anything but the benchmark's Redis. */
export function serverEnv(): ServerEnv {
  const port = Number(process.env.PORT)
  const redisPort = Number(process.env.REDIS_PORT)
  if (!Number.isInteger(port) || port <= 0) throw new Error('bench server: PORT is not set')
  if (!Number.isInteger(redisPort) || redisPort <= 0 || redisPort === 6379) {
    throw new Error('bench server: REDIS_PORT must name the benchmark Redis (never 6379)')
  }
  const cluster = process.env.REDIS_CLUSTER?.split(',').map((node) => {
    const [host, nodePort] = node.split(':')
    if (!host || !(Number(nodePort) > 0) || Number(nodePort) === 6379) {
      throw new Error(`bench server: REDIS_CLUSTER must list host:port nodes (never 6379), got ${node}`)
    }
    return { host, port: Number(nodePort) }
  })
  return { port, redisPort, cluster }
}

/** A question from the orchestrator; the reply carries the same `id`. */
export interface ControlMessage {
  readonly id: number
  readonly cmd: 'cpu' | 'mem' | 'stop' | 'profile-start' | 'profile-stop'
  /** `profile-stop`: where to write the `.cpuprofile`. */
  readonly file?: string
}

/** The reply to a {@link ControlMessage}. */
export interface ControlReply {
  readonly id: number
  /** Requests this process has received since it started. */
  readonly served: number
  /** `process.cpuUsage()`, microseconds. */
  readonly cpu?: { user: number; system: number }
  /** `process.memoryUsage()` after a full GC when the process runs with `--expose-gc`. */
  readonly mem?: { rss: number; heapUsed: number; heapTotal: number; external: number; gc: boolean }
}

/** Announces the server once it listens, counts its requests and serves the IPC questions. */
export function attach(server: Server, close: () => Promise<void>): void {
  let served = 0
  server.on('request', () => {
    served++
  })
  // Dropped connections at the end of a load run are expected: never let them kill the server.
  server.on('clientError', (_err, socket) => socket.destroy())
  process.on('message', (raw: unknown) => {
    const msg = raw as ControlMessage
    if (typeof msg?.id !== 'number') return
    if (msg.cmd === 'cpu') {
      reply({ id: msg.id, served, cpu: process.cpuUsage() })
    } else if (msg.cmd === 'mem') {
      const gc = (globalThis as { gc?: () => void }).gc
      gc?.()
      const m = process.memoryUsage()
      reply({
        id: msg.id,
        served,
        mem: { rss: m.rss, heapUsed: m.heapUsed, heapTotal: m.heapTotal, external: m.external, gc: !!gc },
      })
    } else if (msg.cmd === 'profile-start') {
      void profileStart().then(() => reply({ id: msg.id, served }))
    } else if (msg.cmd === 'profile-stop') {
      void profileStop(msg.file as string).then(() => reply({ id: msg.id, served }))
    } else if (msg.cmd === 'stop') {
      // Replied to before closing, so the parent knows; process.exit lets --cpu-prof write its profile.
      reply({ id: msg.id, served })
      server.closeAllConnections()
      void close()
        .catch(() => undefined)
        .finally(() => process.exit(0))
    }
  })
  // The orchestrator went away without saying stop: do not linger.
  process.on('disconnect', () => process.exit(0))
  process.send?.({ type: 'ready' })
  console.log(`ready ${process.env.BENCH_VARIANT ?? ''}`.trim())
}

function reply(message: ControlReply): void {
  process.send?.(message)
}

// CPU profiles of exactly one measured run (inspector Profiler), rather than of the whole process life.
let inspector: Session | undefined

async function profileStart(): Promise<void> {
  if (inspector === undefined) {
    inspector = new Session()
    inspector.connect()
    await inspector.post('Profiler.enable')
    await inspector.post('Profiler.setSamplingInterval', { interval: 250 })
  }
  await inspector.post('Profiler.start')
}

async function profileStop(file: string): Promise<void> {
  if (inspector === undefined) return
  const { profile } = await inspector.post('Profiler.stop')
  writeFileSync(file, JSON.stringify(profile))
}

/** Listens on 127.0.0.1:`port`. */
export function listen(server: Server, port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject)
    server.listen(port, '127.0.0.1', () => {
      server.off('error', reject)
      resolve()
    })
  })
}

/**
 * Serves a Koa variant: `/rolling` paths from the app made with `rolling` on, the rest from the
 * other, on one port; `close` releases the variant's Redis connection at shutdown.
 */
export async function serveKoa(make: (rolling: boolean) => Koa, port: number, close: () => Promise<unknown>) {
  const plain = make(false).callback()
  const rolling = make(true).callback()
  const server = createServer((req, res) => (isRollingPath(req.url) ? rolling : plain)(req, res))
  await listen(server, port)
  attach(server, async () => {
    server.close()
    await close()
  })
}
