/** The parent side of the benchmark servers: spawning (pinned to a core), IPC questions, stopping. */
import { type ChildProcess, execFileSync, spawn, spawnSync } from 'node:child_process'
import { cpus } from 'node:os'
import { join } from 'node:path'
import type { ControlMessage, ControlReply } from '../servers/harness.js'
import type { Variant } from './scenarios.js'

export const ROOT = join(import.meta.dirname, '..', '..')

/** True when `taskset` exists and there are at least two cores to split between server and load generator. */
export const CAN_PIN: boolean =
  cpus().length >= 2 && spawnSync('taskset', ['--version'], { stdio: 'ignore' }).status === 0

/** Pins every thread of `pid` to `cpu` (a taskset CPU list). Returns false when pinning is not possible. */
export function pin(pid: number, cpu: string): boolean {
  if (!CAN_PIN) return false
  execFileSync('taskset', ['-a', '-cp', cpu, String(pid)], { stdio: 'ignore' })
  return true
}

export interface StartOptions {
  readonly redisPort: number
  readonly port: number
  /** taskset CPU list for the server, e.g. "0"; undefined: not pinned. */
  readonly cpu?: string | undefined
  /** Extra node flags, e.g. `--cpu-prof`. */
  readonly nodeArgs?: readonly string[] | undefined
  /** Extra environment, e.g. `REDIS_CLUSTER` (see `bench/servers/harness.ts`). */
  readonly env?: Readonly<Record<string, string>> | undefined
  readonly startTimeoutMs?: number | undefined
}

/** One benchmark server (`node --import tsx bench/servers/<variant>.ts`) in a child process, pinned to a core. */
export class ServerProcess {
  readonly variant: Variant
  readonly port: number
  readonly url: string
  readonly #child: ChildProcess
  readonly #pending = new Map<number, (reply: ControlReply) => void>()
  #nextId = 1
  #exited = false

  private constructor(variant: Variant, port: number, child: ChildProcess) {
    this.variant = variant
    this.port = port
    this.url = `http://127.0.0.1:${port}`
    this.#child = child
    child.on('message', (raw: unknown) => {
      const reply = raw as ControlReply
      const resolve = this.#pending.get(reply?.id)
      if (resolve === undefined) return
      this.#pending.delete(reply.id)
      resolve(reply)
    })
    child.on('exit', () => {
      this.#exited = true
    })
  }

  static async start(variant: Variant, o: StartOptions): Promise<ServerProcess> {
    const file = join(ROOT, 'bench', 'servers', `${variant}.ts`)
    const nodeArgv = [...(o.nodeArgs ?? []), '--import', 'tsx', file]
    // Started on any core (start-up compiles TypeScript: servers start in parallel on both cores), then
    // pinned with every thread before anything is measured; threads created later inherit the pinning.
    const child = spawn(process.execPath, nodeArgv, {
      cwd: ROOT,
      env: {
        ...process.env,
        PORT: String(o.port),
        REDIS_PORT: String(o.redisPort),
        BENCH_VARIANT: variant,
        NODE_ENV: 'production',
        // Only the runner points a server at a Cluster: never one inherited from the shell.
        REDIS_CLUSTER: undefined,
        ...o.env,
      },
      stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
    })
    const server = new ServerProcess(variant, o.port, child)
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        child.kill('SIGKILL')
        reject(new Error(`${variant}: no ready message within ${o.startTimeoutMs ?? 30_000} ms`))
      }, o.startTimeoutMs ?? 30_000)
      const onMessage = (raw: unknown): void => {
        if ((raw as { type?: string })?.type !== 'ready') return
        cleanup()
        resolve()
      }
      const onExit = (code: number | null, signal: string | null): void => {
        cleanup()
        reject(new Error(`${variant}: server exited during start-up (code ${code}, signal ${signal})`))
      }
      const onError = (error: Error): void => {
        cleanup()
        reject(error)
      }
      const cleanup = (): void => {
        clearTimeout(timer)
        child.off('message', onMessage)
        child.off('exit', onExit)
        child.off('error', onError)
      }
      child.on('message', onMessage)
      child.once('exit', onExit)
      child.once('error', onError)
    })
    if (o.cpu !== undefined) pin(server.pid, o.cpu)
    return server
  }

  get pid(): number {
    return this.#child.pid ?? -1
  }

  get alive(): boolean {
    return !this.#exited
  }

  /** Asks the server a question over IPC (see `bench/servers/harness.ts`). */
  ask(cmd: ControlMessage['cmd'], timeoutMs = 10_000, file?: string): Promise<ControlReply> {
    if (this.#exited) return Promise.reject(new Error(`${this.variant}: server is not running`))
    const id = this.#nextId++
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#pending.delete(id)
        reject(new Error(`${this.variant}: no reply to ${cmd} within ${timeoutMs} ms`))
      }, timeoutMs)
      this.#pending.set(id, (reply) => {
        clearTimeout(timer)
        resolve(reply)
      })
      this.#child.send({ id, cmd, ...(file === undefined ? {} : { file }) } satisfies ControlMessage)
    })
  }

  /** Asks the server to close and exit (so `--cpu-prof` can write its profile); kills it if it does not. */
  async stop(): Promise<void> {
    if (this.#exited) return
    const exited = new Promise<void>((resolve) => this.#child.once('exit', () => resolve()))
    try {
      await this.ask('stop', 5_000)
    } catch {
      // Not answering: killed below.
    }
    const timer = setTimeout(() => this.#child.kill('SIGKILL'), 10_000)
    await exited
    clearTimeout(timer)
  }
}
