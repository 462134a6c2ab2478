// Throwaway redis-server processes (standalone, Cluster, Sentinel) for tests; dependency-free on purpose.
import { type ChildProcess, execFile, spawn } from 'node:child_process'
import { closeSync, openSync, readFileSync, rmSync } from 'node:fs'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import net from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'

/** A host/port pair, in the shape ioredis expects for Cluster startup nodes and Sentinel addresses. */
export interface HostPort {
  host: string
  port: number
}

/** A redis-server (or sentinel) process owned by the test run. */
export interface RedisServer {
  readonly port: number
  readonly host: '127.0.0.1'
  /** `redis://127.0.0.1:<port>` */
  readonly url: string
  /** Working directory of the server (AOF, nodes.conf, sentinel.conf and `server.log` live here). */
  readonly dir: string
  /** Pid of the current process; changes after {@link RedisServer.restart}. */
  readonly pid: number
  /**
   * Sends `signal` (default `SIGTERM`) and resolves once the process has exited. A paused server is resumed so
   * the signal is delivered; if it has not exited after 10 s it is SIGKILLed. No-op when not running.
   */
  kill(signal?: NodeJS.Signals): Promise<void>
  /** Freezes the process (SIGSTOP): connections stay open but nothing answers, like a hung or partitioned node. */
  pause(): void
  /** Undoes {@link RedisServer.pause} (SIGCONT). */
  resume(): void
  /** Starts the server again on the same port and dir (so AOF / nodes.conf are reloaded); kills it first if running. */
  restart(): Promise<void>
  /** SIGKILLs the server, waits for it to exit and removes its temp dir. Idempotent. */
  stop(): Promise<void>
}

/** Options of {@link startRedis}. */
export interface StartRedisOptions {
  /** Enables AOF with `appendfsync always`, so data survives a SIGKILL + {@link RedisServer.restart}. Default false. */
  appendonly?: boolean | undefined
  /** Use this directory instead of a fresh temp dir; it is then left in place by {@link RedisServer.stop}. */
  dir?: string | undefined
  /** Fixed port; by default a free one is picked (and another one tried if it gets taken meanwhile). */
  port?: number | undefined
  /** Extra redis-server arguments, appended last so they override the defaults, e.g. `['--maxmemory', '1mb']`. */
  args?: readonly string[] | undefined
}

/** Options of {@link startCluster}. */
export interface StartClusterOptions {
  /** Number of masters, at least 3 (redis-cli refuses fewer). Default 3. */
  masters?: number | undefined
  /** Replicas per master. Default 0. */
  replicas?: number | undefined
}

/** A running Redis Cluster. */
export interface RedisCluster {
  /** All nodes, in the order given to `redis-cli --cluster create` (masters first). */
  readonly nodes: RedisServer[]
  /** Every node's address, to hand to `new Cluster(startupNodes)`. */
  readonly startupNodes: HostPort[]
  /** Stops every node and removes their temp dirs. */
  stop(): Promise<void>
}

/** A running Sentinel deployment: one master, one replica and three sentinels (quorum 2). */
export interface RedisSentinelSet {
  /** The monitored master name. */
  readonly name: 'mymaster'
  /** The server started as master; after a failover ask the sentinels who the master is. */
  readonly master: RedisServer
  /** The server started as replica of {@link RedisSentinelSet.master}. */
  readonly replica: RedisServer
  readonly sentinels: RedisServer[]
  /** Sentinel addresses, to hand to ioredis as `sentinels`. */
  readonly sentinelNodes: HostPort[]
  /** Stops sentinels first (so they do not start a failover), then the data nodes. */
  stop(): Promise<void>
}

/** A decoded RESP2 reply. Error replies nested in arrays (e.g. from EXEC) are `Error` instances. */
export type RespValue = string | number | null | Error | RespValue[]

const HOST = '127.0.0.1'
// Binaries can be swapped (e.g. for valkey-server / valkey-cli) without touching the tests.
const REDIS_SERVER = process.env.REDIS_SERVER_BIN ?? 'redis-server'
const REDIS_CLI = process.env.REDIS_CLI_BIN ?? 'redis-cli'
// The default port most likely belongs to a developer's real Redis: the harness must never talk to it, and a
// PING answered there could make us believe a server we failed to start is up.
const FORBIDDEN_PORT = 6379
const CLUSTER_BUS_OFFSET = 10_000
const READY_TIMEOUT_MS = 5_000
const TOPOLOGY_TIMEOUT_MS = 20_000
const KILL_ESCALATION_MS = 10_000
const LOG_FILE = 'server.log'

// ---------------------------------------------------------------------------------------------------------
// Process registry. It lives on globalThis because a test runner may evaluate this module several times in one
// process; a single registry means one set of exit hooks and no port handed out twice.

interface Reapable {
  reapSync(): void
}

interface Registry {
  live: Set<Reapable>
  ports: Set<number>
}

const REGISTRY_KEY = Symbol.for('koa-session-redis3.test.redis-servers')

function createRegistry(): Registry {
  const registry: Registry = { live: new Set(), ports: new Set() }
  const reapAll = (): void => {
    for (const server of registry.live) server.reapSync()
    registry.live.clear()
  }
  // 'exit' handlers must be synchronous, hence SIGKILL + rmSync rather than the async stop().
  process.on('exit', reapAll)
  // A signal-terminated process never emits 'exit'. Reap, then re-raise so the default action (dying) still
  // happens unless someone else (e.g. the test runner) handles the signal.
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.once(signal, () => {
      reapAll()
      if (process.listenerCount(signal) === 0) process.kill(process.pid, signal)
    })
  }
  return registry
}

const globalSlot = globalThis as typeof globalThis & { [REGISTRY_KEY]?: Registry }
globalSlot[REGISTRY_KEY] ??= createRegistry()
const registry: Registry = globalSlot[REGISTRY_KEY]

// ---------------------------------------------------------------------------------------------------------
// Ports

function tryListen(port: number): Promise<number | undefined> {
  return new Promise((resolve) => {
    const server = net.createServer()
    server.once('error', () => resolve(undefined))
    server.listen({ port, host: HOST, exclusive: true }, () => {
      const address = server.address()
      const bound = typeof address === 'object' && address !== null ? address.port : undefined
      server.close(() => resolve(bound))
    })
  })
}

/**
 * Returns a port that is free on 127.0.0.1 together with port + 10000 (the Redis Cluster bus port), below 55535
 * so the bus port is valid. Ports are never handed out twice in one process, since the OS may otherwise return
 * a port again once our probe socket is closed and before redis-server has bound it.
 */
export async function freePort(): Promise<number> {
  for (let attempt = 0; attempt < 200; attempt++) {
    const port = await tryListen(0)
    if (port === undefined || port + CLUSTER_BUS_OFFSET >= 65_535 || port === FORBIDDEN_PORT) continue
    const { ports } = registry
    if (ports.has(port) || ports.has(port + CLUSTER_BUS_OFFSET) || ports.has(port - CLUSTER_BUS_OFFSET)) {
      continue
    }
    if ((await tryListen(port + CLUSTER_BUS_OFFSET)) === undefined) continue
    ports.add(port)
    return port
  }
  throw new Error('freePort: no port p with p and p+10000 both free found after 200 attempts')
}

// ---------------------------------------------------------------------------------------------------------
// Minimal RESP2 client

function encodeCommand(args: readonly string[]): string {
  let out = `*${args.length}\r\n`
  for (const arg of args) out += `$${Buffer.byteLength(arg)}\r\n${arg}\r\n`
  return out
}

// Returns undefined while the buffer holds only part of the reply, so the caller waits for more data.
function parseReply(buf: Buffer, pos: number): [RespValue, number] | undefined {
  const eol = buf.indexOf('\r\n', pos)
  if (eol === -1) return undefined
  const type = String.fromCharCode(buf[pos] ?? 0)
  const line = buf.toString('utf8', pos + 1, eol)
  const next = eol + 2
  switch (type) {
    case '+':
      return [line, next]
    case '-':
      return [new Error(line), next]
    case ':':
      return [Number(line), next]
    case '$': {
      const length = Number(line)
      if (length < 0) return [null, next]
      if (buf.length < next + length + 2) return undefined
      return [buf.toString('utf8', next, next + length), next + length + 2]
    }
    case '*': {
      const count = Number(line)
      if (count < 0) return [null, next]
      const items: RespValue[] = []
      let cursor = next
      for (let i = 0; i < count; i++) {
        const item = parseReply(buf, cursor)
        if (item === undefined) return undefined
        items.push(item[0])
        cursor = item[1]
      }
      return [items, cursor]
    }
    default:
      throw new Error(`unexpected RESP type byte ${JSON.stringify(type)}`)
  }
}

/**
 * Sends one command to 127.0.0.1:`port` on a fresh connection and resolves with the decoded reply; an error reply
 * rejects. Meant for harness checks and raw test set-up, not for speed. Refuses port 6379.
 */
export function sendCommand(
  port: number,
  args: readonly string[],
  opts: { timeoutMs?: number | undefined } = {},
): Promise<RespValue> {
  const timeoutMs = opts.timeoutMs ?? 2_000
  return new Promise((resolve, reject) => {
    if (port === FORBIDDEN_PORT) {
      reject(new Error(`sendCommand: refusing to talk to port ${FORBIDDEN_PORT}`))
      return
    }
    let settled = false
    let buffer = Buffer.alloc(0)
    const socket = net.connect({ port, host: HOST })
    const finish = (error: Error | undefined, value?: RespValue): void => {
      if (settled) return
      settled = true
      clearTimeout(timer)
      socket.destroy()
      if (error) reject(error)
      else resolve(value ?? null)
    }
    const timer = setTimeout(
      () => finish(new Error(`${args[0]} on port ${port}: no reply within ${timeoutMs} ms`)),
      timeoutMs,
    )
    socket.once('connect', () => socket.write(encodeCommand(args)))
    socket.on('data', (chunk: Buffer) => {
      buffer = Buffer.concat([buffer, chunk])
      let parsed: [RespValue, number] | undefined
      try {
        parsed = parseReply(buffer, 0)
      } catch (error) {
        finish(error as Error)
        return
      }
      if (parsed === undefined) return
      const [value] = parsed
      if (value instanceof Error) finish(new Error(`${args[0]} on port ${port}: ${value.message}`))
      else finish(undefined, value)
    })
    socket.once('error', (error) => finish(error))
    socket.once('close', () =>
      finish(new Error(`${args[0]} on port ${port}: connection closed before a reply`)),
    )
  })
}

// ---------------------------------------------------------------------------------------------------------
// Helpers

function message(error: unknown): string {
  return error instanceof Error ? error.message : String(error)
}

function isRunning(child: ChildProcess): boolean {
  return child.exitCode === null && child.signalCode === null
}

function waitForExit(child: ChildProcess): Promise<void> {
  if (!isRunning(child)) return Promise.resolve()
  return new Promise((resolve) => child.once('exit', () => resolve()))
}

function readLog(dir: string): string {
  try {
    const log = readFileSync(join(dir, LOG_FILE), 'utf8').trim()
    return log.length > 4_000 ? `...${log.slice(-4_000)}` : log
  } catch {
    return ''
  }
}

// Thrown from a waitUntil() check to stop polling at once: waiting longer cannot help.
class FatalError extends Error {}

// Start-up failure; `retryable` when another port may succeed (ours was taken, or the process died at once).
class StartError extends Error {
  readonly retryable: boolean
  constructor(text: string, retryable: boolean) {
    super(text)
    this.retryable = retryable
  }
}

// `check` returns true when done, or a description of the current state for the timeout message.
async function waitUntil(
  what: string,
  timeoutMs: number,
  check: () => Promise<true | string>,
): Promise<void> {
  const deadline = Date.now() + timeoutMs
  let state = 'not checked yet'
  for (;;) {
    try {
      const result = await check()
      if (result === true) return
      state = result
    } catch (error) {
      if (error instanceof FatalError) throw error
      state = message(error)
    }
    if (Date.now() >= deadline) {
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}: ${state}`)
    }
    await sleep(50)
  }
}

// Starts everything in parallel but, if one fails, stops the others before rethrowing so nothing leaks.
async function startAll(starters: Array<() => Promise<RedisServer>>): Promise<RedisServer[]> {
  const results = await Promise.allSettled(starters.map((start) => start()))
  const failed = results.find((result) => result.status === 'rejected')
  const started = results.flatMap((result) => (result.status === 'fulfilled' ? [result.value] : []))
  if (failed === undefined) return started
  await stopAll(started)
  throw failed.reason
}

async function stopAll(servers: readonly RedisServer[]): Promise<void> {
  await Promise.allSettled(servers.map((server) => server.stop()))
}

function infoField(info: RespValue, field: string): string | undefined {
  if (typeof info !== 'string') return undefined
  return new RegExp(`^${field}:(.*)$`, 'm').exec(info)?.[1]?.trim()
}

// ---------------------------------------------------------------------------------------------------------
// Server process

class ManagedServer implements RedisServer, Reapable {
  readonly host = HOST
  readonly port: number
  readonly dir: string
  readonly #argv: readonly string[]
  readonly #ownsDir: boolean
  #child: ChildProcess | undefined
  #paused = false
  #stopped = false

  constructor(port: number, dir: string, argv: readonly string[], ownsDir: boolean) {
    this.port = port
    this.dir = dir
    this.#argv = argv
    this.#ownsDir = ownsDir
    registry.live.add(this)
  }

  get url(): string {
    return `redis://${HOST}:${this.port}`
  }

  get pid(): number {
    return this.#child?.pid ?? -1
  }

  async start(): Promise<void> {
    if (this.#stopped) throw new Error(`redis-server on port ${this.port} was stopped; start a new one`)
    // Output goes to a file rather than a pipe: no stream keeps the event loop alive, and it survives for the
    // error message even when the process dies during start-up (config errors never reach --logfile).
    const fd = openSync(join(this.dir, LOG_FILE), 'a')
    let child: ChildProcess
    try {
      child = spawn(REDIS_SERVER, this.#argv, { stdio: ['ignore', fd, fd] })
    } finally {
      closeSync(fd)
    }
    let spawnError: Error | undefined
    // Without a listener, a failed spawn (e.g. binary missing) would crash the test process.
    child.on('error', (error) => {
      spawnError = error
    })
    this.#child = child
    this.#paused = false
    try {
      await this.#waitReady(child, () => spawnError)
    } catch (error) {
      child.kill('SIGKILL')
      await waitForExit(child)
      const log = readLog(this.dir)
      throw new StartError(
        `redis-server failed to start on port ${this.port}: ${message(error)}\n` +
          `command: ${REDIS_SERVER} ${this.#argv.map((arg) => (arg === '' ? "''" : arg)).join(' ')}\n` +
          (log ? `log (${join(this.dir, LOG_FILE)}):\n${log}` : '(empty log)'),
        error instanceof FatalError && spawnError === undefined,
      )
    }
    // The exit hook kills it anyway; unref lets a script that forgets stop() still finish.
    child.unref()
  }

  async #waitReady(child: ChildProcess, spawnError: () => Error | undefined): Promise<void> {
    await waitUntil(`PONG on port ${this.port}`, READY_TIMEOUT_MS, async () => {
      const error = spawnError()
      if (error) throw new FatalError(`cannot spawn ${REDIS_SERVER}: ${error.message}`)
      if (!isRunning(child)) {
        throw new FatalError(`exited early (code ${child.exitCode}, signal ${child.signalCode})`)
      }
      // ECONNREFUSED and -LOADING (AOF replay) are expected while starting: they just mean "not yet".
      const reply = await sendCommand(this.port, ['PING'], { timeoutMs: 1_000 })
      if (reply !== 'PONG') return `PING replied ${JSON.stringify(reply)}`
      // Make sure the PONG came from our process and not from something else that grabbed the port.
      const pid = infoField(await sendCommand(this.port, ['INFO', 'server']), 'process_id')
      if (pid !== String(child.pid)) throw new FatalError(`port taken by another process (pid ${pid})`)
      return true
    })
  }

  async kill(signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
    const child = this.#child
    if (child === undefined || !isRunning(child)) return
    const exited = waitForExit(child)
    // Referenced again so the event loop cannot end while we wait for the exit event.
    child.ref()
    child.kill(signal)
    // A stopped process only acts on a signal (other than SIGKILL) once continued.
    if (this.#paused && signal !== 'SIGKILL') child.kill('SIGCONT')
    this.#paused = false
    const escalation = setTimeout(() => child.kill('SIGKILL'), KILL_ESCALATION_MS)
    try {
      await exited
    } finally {
      clearTimeout(escalation)
    }
  }

  pause(): void {
    if (this.#child === undefined || !isRunning(this.#child)) {
      throw new Error(`port ${this.port}: not running`)
    }
    this.#child.kill('SIGSTOP')
    this.#paused = true
  }

  resume(): void {
    if (this.#child === undefined || !isRunning(this.#child)) {
      throw new Error(`port ${this.port}: not running`)
    }
    this.#child.kill('SIGCONT')
    this.#paused = false
  }

  async restart(): Promise<void> {
    await this.kill()
    await this.start()
  }

  async stop(): Promise<void> {
    this.#stopped = true
    await this.kill('SIGKILL')
    if (this.#ownsDir) await rm(this.dir, { recursive: true, force: true, maxRetries: 3 })
    registry.live.delete(this)
  }

  reapSync(): void {
    if (this.#child !== undefined && isRunning(this.#child)) this.#child.kill('SIGKILL')
    if (!this.#ownsDir) return
    try {
      rmSync(this.dir, { recursive: true, force: true, maxRetries: 3 })
    } catch {
      // Best effort while the process exits: a leftover temp dir is not worth crashing the exit path.
    }
  }
}

// Picks a port, builds the command line and starts the server. With an auto-picked port, another port is tried
// when the server dies at start-up, because some other process may have taken the port after freePort().
async function launch(opts: {
  port?: number | undefined
  dir?: string | undefined
  argv: (port: number, dir: string) => Promise<string[]> | string[]
}): Promise<RedisServer> {
  if (opts.port === FORBIDDEN_PORT) {
    throw new Error(`refusing to start a test server on port ${FORBIDDEN_PORT}`)
  }
  const ownsDir = opts.dir === undefined
  const dir = opts.dir ?? (await mkdtemp(join(tmpdir(), 'redis-test-')))
  const attempts = opts.port === undefined ? 3 : 1
  let lastError: unknown
  for (let attempt = 0; attempt < attempts; attempt++) {
    const port = opts.port ?? (await freePort())
    const server = new ManagedServer(port, dir, await opts.argv(port, dir), ownsDir)
    try {
      await server.start()
      return server
    } catch (error) {
      registry.live.delete(server)
      lastError = error
      if (!(error instanceof StartError && error.retryable)) break
    }
  }
  if (ownsDir) await rm(dir, { recursive: true, force: true, maxRetries: 3 })
  throw lastError
}

// ---------------------------------------------------------------------------------------------------------
// Public starters

/**
 * Starts a standalone redis-server on 127.0.0.1 in a temp dir and resolves once it answers PING (5 s timeout; the
 * error includes the server log). RDB snapshots are disabled; pass `appendonly: true` for crash-safe AOF.
 */
export function startRedis(opts: StartRedisOptions = {}): Promise<RedisServer> {
  const appendonly = opts.appendonly ?? false
  return launch({
    port: opts.port,
    dir: opts.dir,
    argv: (port, dir) => [
      '--port',
      String(port),
      '--bind',
      HOST,
      '--dir',
      dir,
      '--save',
      '',
      '--appendonly',
      appendonly ? 'yes' : 'no',
      // fsync on every write so a SIGKILL (simulated crash) loses nothing that was acknowledged.
      ...(appendonly ? ['--appendfsync', 'always'] : []),
      '--daemonize',
      'no',
      '--protected-mode',
      'no',
      '--loglevel',
      'warning',
      // The 5 s default delays every replica's first sync (Sentinel, Cluster replicas) for nothing.
      '--repl-diskless-sync-delay',
      '0',
      ...(opts.args ?? []),
    ],
  })
}

/**
 * Starts `masters * (1 + replicas)` cluster-enabled nodes (AOF, fsync always, node timeout 2 s), joins them with
 * `redis-cli --cluster create` and resolves once every node reports `cluster_state:ok` and knows all the others.
 */
export async function startCluster(opts: StartClusterOptions = {}): Promise<RedisCluster> {
  const masters = opts.masters ?? 3
  const replicas = opts.replicas ?? 0
  if (masters < 3) throw new Error('startCluster: redis-cli needs at least 3 masters')
  const total = masters * (1 + replicas)
  const clusterArgs = [
    '--cluster-enabled',
    'yes',
    '--cluster-config-file',
    'nodes.conf',
    '--cluster-node-timeout',
    '2000',
  ]
  const nodes = await startAll(
    Array.from({ length: total }, () => () => startRedis({ appendonly: true, args: clusterArgs })),
  )
  const stop = (): Promise<void> => stopAll(nodes)
  try {
    const addresses = nodes.map((node) => `${HOST}:${node.port}`)
    await new Promise<void>((resolve, reject) => {
      execFile(
        REDIS_CLI,
        ['--cluster', 'create', ...addresses, '--cluster-replicas', String(replicas), '--cluster-yes'],
        { timeout: 30_000 },
        (error, stdout, stderr) => {
          if (error) {
            reject(new Error(`redis-cli --cluster create failed: ${error.message}\n${stdout}\n${stderr}`))
          } else {
            resolve()
          }
        },
      )
    })
    await Promise.all(
      nodes.map((node) =>
        waitUntil(`cluster_state:ok on port ${node.port}`, TOPOLOGY_TIMEOUT_MS, async () => {
          const info = await sendCommand(node.port, ['CLUSTER', 'INFO'])
          const state = infoField(info, 'cluster_state')
          const known = infoField(info, 'cluster_known_nodes')
          return state === 'ok' && known === String(total)
            ? true
            : `state ${state}, known nodes ${known}/${total}`
        }),
      ),
    )
  } catch (error) {
    await stop()
    throw error
  }
  return { nodes, startupNodes: nodes.map((node) => ({ host: HOST, port: node.port })), stop }
}

async function startSentinelNode(name: string, masterPort: number): Promise<RedisServer> {
  return launch({
    argv: async (port, dir) => {
      // Sentinel only takes its settings from a writable file, which it rewrites with its state.
      const config = join(dir, 'sentinel.conf')
      await writeFile(
        config,
        [
          `port ${port}`,
          `bind ${HOST}`,
          `dir ${dir}`,
          'daemonize no',
          'protected-mode no',
          'loglevel warning',
          `sentinel monitor ${name} ${HOST} ${masterPort} 2`,
          `sentinel down-after-milliseconds ${name} 1000`,
          `sentinel failover-timeout ${name} 5000`,
          `sentinel parallel-syncs ${name} 1`,
          '',
        ].join('\n'),
      )
      return [config, '--sentinel']
    },
  })
}

/**
 * The port of the master that the first sentinel of `set` names, once it names `expected` or after
 * `timeoutMs`. A sentinel that did not lead a failover learns of it from the others a moment later.
 */
export async function sentinelMasterPort(
  set: RedisSentinelSet,
  expected: number,
  timeoutMs = 5_000,
): Promise<number> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const addr = await sendCommand(set.sentinels[0]?.port as number, [
      'SENTINEL',
      'get-master-addr-by-name',
      set.name,
    ])
    const port = Number((addr as RespValue[])[1])
    if (port === expected || Date.now() > deadline) return port
    await sleep(50)
  }
}

/**
 * Starts a master, a replica and three sentinels monitoring them as `mymaster` (quorum 2, down after 1 s,
 * failover timeout 5 s). Resolves once every sentinel knows the master, the replica and the two other
 * sentinels, so a failover can be authorised right away.
 */

export async function startSentinel(): Promise<RedisSentinelSet> {
  const name = 'mymaster' as const
  const started: RedisServer[] = []
  try {
    // AOF on both: a master restarted empty before the failover would otherwise wipe the replica on resync.
    const master = await startRedis({ appendonly: true })
    started.push(master)
    const replica = await startRedis({ appendonly: true, args: ['--replicaof', HOST, String(master.port)] })
    started.push(replica)
    // Sentinels learn replicas from the master's INFO, polled every 10 s: only start them once the replica is
    // online, or the first poll misses it and start-up takes 10 s longer.
    await waitUntil(`replica ${replica.port} online`, TOPOLOGY_TIMEOUT_MS, async () => {
      const info = await sendCommand(master.port, ['INFO', 'replication'])
      const slave = infoField(info, 'slave0') ?? 'no replica'
      return slave.includes(`port=${replica.port}`) && slave.includes('state=online') ? true : slave
    })
    const sentinels = await startAll([0, 1, 2].map(() => () => startSentinelNode(name, master.port)))
    started.push(...sentinels)
    await Promise.all(
      sentinels.map((sentinel) =>
        waitUntil(`sentinel ${sentinel.port} to see the topology`, TOPOLOGY_TIMEOUT_MS, async () => {
          const addr = await sendCommand(sentinel.port, ['SENTINEL', 'get-master-addr-by-name', name])
          if (!Array.isArray(addr) || addr[1] !== String(master.port)) return `master ${JSON.stringify(addr)}`
          const knownReplicas = await sendCommand(sentinel.port, ['SENTINEL', 'replicas', name])
          if (!Array.isArray(knownReplicas) || knownReplicas.length === 0) return 'no replica known yet'
          const peers = await sendCommand(sentinel.port, ['SENTINEL', 'sentinels', name])
          const count = Array.isArray(peers) ? peers.length : 0
          return count >= sentinels.length - 1 ? true : `${count} other sentinels known`
        }),
      ),
    )
    return {
      name,
      master,
      replica,
      sentinels,
      sentinelNodes: sentinels.map((sentinel) => ({ host: HOST, port: sentinel.port })),
      // Sentinels first, so they do not react to the data nodes going away.
      stop: async () => {
        await stopAll(sentinels)
        await stopAll([master, replica])
      },
    }
  } catch (error) {
    await stopAll(started)
    throw error
  }
}
