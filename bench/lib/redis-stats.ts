/** Deterministic Redis figures: commands per request (INFO commandstats + MONITOR) and bytes per session. */
import net from 'node:net'
import { setTimeout as sleep } from 'node:timers/promises'
import { sendCommand } from '../../test/redis-servers.js'

/** Command name -> number of calls. */
export type CommandCounts = Record<string, number>

/** Our own harness commands, never attributed to a variant. */
const HARNESS = /^(config|info|monitor|echo|ping|flushall|keys|memory|client|hello|command|select)(\||$)/

/** `INFO commandstats` per command: calls, and the microseconds Redis spent executing them. */
export interface CommandStats {
  calls: CommandCounts
  /** A script's `usec` includes the commands it runs, which are also listed on their own. */
  usec: CommandCounts
}

/** Parses `INFO commandstats` (subcommands as `config|resetstat`), leaving out the harness's own commands. */
export function parseCommandStats(info: string): CommandStats {
  const calls: CommandCounts = {}
  const usec: CommandCounts = {}
  for (const match of info.matchAll(/^cmdstat_([^:]+):calls=(\d+),usec=(\d+)/gm)) {
    const name = (match[1] as string).toLowerCase()
    if (HARNESS.test(name)) continue
    calls[name] = Number(match[2])
    usec[name] = Number(match[3])
  }
  return { calls, usec }
}

/** A MONITOR connection recording every command Redis executes, split into client-sent and script-inner. */
export interface Monitor {
  /** Stops recording once everything sent before the call has been seen; returns what was recorded. */
  stop(): Promise<{ client: CommandCounts; lua: CommandCounts }>
}

export async function startMonitor(port: number): Promise<Monitor> {
  const socket = net.connect({ port, host: '127.0.0.1' })
  let buffer = ''
  const lines: string[] = []
  let onLine: (() => void) | undefined
  socket.setEncoding('utf8')
  socket.on('data', (chunk: string) => {
    buffer += chunk
    let eol = buffer.indexOf('\r\n')
    while (eol !== -1) {
      lines.push(buffer.slice(0, eol))
      buffer = buffer.slice(eol + 2)
      eol = buffer.indexOf('\r\n')
    }
    onLine?.()
  })
  await new Promise<void>((resolve, reject) => {
    socket.once('error', reject)
    socket.once('connect', () => {
      socket.write('*1\r\n$7\r\nMONITOR\r\n')
      onLine = () => {
        if (lines.length > 0) {
          if (lines[0] !== '+OK') reject(new Error(`MONITOR replied ${lines[0]}`))
          lines.shift()
          onLine = undefined
          resolve()
        }
      }
    })
  })

  return {
    async stop() {
      // A marker from another connection: once MONITOR shows it, every earlier command has been shown too.
      const marker = `bench-marker-${process.hrtime.bigint()}`
      await sendCommand(port, ['ECHO', marker])
      const deadline = Date.now() + 5_000
      while (!lines.some((line) => line.includes(marker))) {
        if (Date.now() > deadline) throw new Error('MONITOR: marker not seen within 5 s')
        await sleep(5)
      }
      socket.destroy()
      const client: CommandCounts = {}
      const lua: CommandCounts = {}
      for (const line of lines) {
        // +1700000000.123456 [0 127.0.0.1:50000] "GET" "key"   or   [0 lua] "HGETALL" "key"
        const m = /^\+[\d.]+ \[\d+ ([^\]]+)\] "([^"]+)"/.exec(line)
        if (m === null) continue
        const name = (m[2] as string).toLowerCase()
        if (HARNESS.test(name)) continue
        const target = m[1] === 'lua' ? lua : client
        target[name] = (target[name] ?? 0) + 1
      }
      return { client, lua }
    },
  }
}

/** Measures the Redis commands `run` causes: commandstats (all executed) and MONITOR (who sent them). */
export async function countCommands(
  port: number,
  run: () => Promise<void>,
): Promise<{ executed: CommandCounts; client: CommandCounts; lua: CommandCounts }> {
  await sendCommand(port, ['CONFIG', 'RESETSTAT'])
  const monitor = await startMonitor(port)
  await run()
  const { client, lua } = await monitor.stop()
  const executed = parseCommandStats(String(await sendCommand(port, ['INFO', 'commandstats']))).calls
  return { executed, client, lua }
}

/** Every key in the (benchmark-only) database with its type and `MEMORY USAGE` (exact: SAMPLES 0). */
export async function keyMemory(port: number): Promise<{ key: string; type: string; bytes: number }[]> {
  const keys = (await sendCommand(port, ['KEYS', '*'])) as string[]
  const out: { key: string; type: string; bytes: number }[] = []
  for (const key of keys.sort()) {
    const bytes = Number(await sendCommand(port, ['MEMORY', 'USAGE', key, 'SAMPLES', '0']))
    const type = String(await sendCommand(port, ['TYPE', key]))
    out.push({ key, type, bytes })
  }
  return out
}

export async function flushAll(port: number): Promise<void> {
  await sendCommand(port, ['FLUSHALL', 'SYNC'], { timeoutMs: 30_000 })
}

/** Divides each count by `n` (commands per request). */
export function perRequest(counts: CommandCounts, n: number): CommandCounts {
  const out: CommandCounts = {}
  for (const [name, calls] of Object.entries(counts)) out[name] = calls / n
  return out
}

export function total(counts: CommandCounts): number {
  return Object.values(counts).reduce((a, b) => a + b, 0)
}
