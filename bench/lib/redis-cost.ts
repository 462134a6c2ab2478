/** What a request costs the Redis server itself: its CPU time (/proc schedstat) and its INFO commandstats time. */
import { readdirSync, readFileSync } from 'node:fs'
import { setTimeout as sleep } from 'node:timers/promises'
import { sendCommand } from '../../test/redis-servers.js'
import { type CommandCounts, type CommandStats, parseCommandStats } from './redis-stats.js'
import { median } from './stats.js'

/** On-CPU time of one process since it started, nanoseconds. */
export interface CpuTime {
  /** Every thread summed (redis-server 7 runs background threads besides the main one). */
  totalNs: number
  /** The main thread alone: the one that executes commands. */
  mainNs: number
}

/** CPU time of a process per request, microseconds; NaN where it could not be measured. */
export interface CpuPerRequest {
  /** Every thread of the process. */
  totalUs: number
  /** The main thread alone. */
  mainUs: number
}

/**
 * Reads the on-CPU time of `pid`, summed over `/proc/<pid>/task/<tid>/schedstat` (first field, ns): unlike
 * the 10 ms ticks of `/proc/<pid>/stat`, it resolves a single command. Undefined without such files (not
 * Linux, or a kernel built without CONFIG_SCHED_INFO).
 *
 * @example
 * const before = readCpuTime(redis.pid)
 */
export function readCpuTime(pid: number): CpuTime | undefined {
  let tids: string[]
  try {
    tids = readdirSync(`/proc/${pid}/task`)
  } catch {
    return undefined
  }
  let totalNs = 0
  let mainNs: number | undefined
  for (const tid of tids) {
    let ns: number
    try {
      ns = Number(readFileSync(`/proc/${pid}/task/${tid}/schedstat`, 'utf8').split(' ', 1)[0])
    } catch {
      // A thread that ended between readdir and here: its time is gone from every later reading too.
      continue
    }
    totalNs += ns
    if (tid === String(pid)) mainNs = ns
  }
  return mainNs === undefined || !Number.isFinite(totalNs) ? undefined : { totalNs, mainNs }
}

/**
 * CPU time between two readings divided by `requests`, in microseconds.
 *
 * @example
 * cpuPerRequest(before, readCpuTime(redis.pid), 200) // { totalUs: 31.2, mainUs: 31.0 }
 */
export function cpuPerRequest(
  before: CpuTime | undefined,
  after: CpuTime | undefined,
  requests: number,
): CpuPerRequest {
  if (before === undefined || after === undefined || requests <= 0) {
    return { totalUs: Number.NaN, mainUs: Number.NaN }
  }
  return {
    totalUs: (after.totalNs - before.totalNs) / 1000 / requests,
    mainUs: (after.mainNs - before.mainNs) / 1000 / requests,
  }
}

/**
 * redis-server's CPU time per second while nobody sends it anything (its timers: `serverCron` at `hz`),
 * in microseconds; NaN without /proc. Every figure includes this background; it matters only where
 * requests are slow and few (the sequential phase).
 *
 * @example
 * const idle = await idleCpuRate(redis.pid, 1000) // e.g. 1100 (µs per second)
 */
export async function idleCpuRate(pid: number, ms: number): Promise<number> {
  const before = readCpuTime(pid)
  const start = performance.now()
  await sleep(ms)
  const after = readCpuTime(pid)
  if (before === undefined || after === undefined) return Number.NaN
  return (after.totalNs - before.totalNs) / 1000 / ((performance.now() - start) / 1000)
}

/** The Redis cost of one chunk of sequential requests. */
export interface CostSample {
  requests: number
  durationMs: number
  cpu: CpuPerRequest
  /** INFO commandstats over the chunk (totals, not per request). */
  stats: CommandStats
}

/**
 * Sends `n` sequential requests in `chunks` chunks with nothing else watching Redis (no MONITOR: it would
 * bill every command's echo to the command, and a script's inner commands to the script), and returns
 * each chunk's Redis CPU time and INFO commandstats. Chunks, because commandstats `usec` is wall-clock
 * time: one command preempted by another process (or the hypervisor) would swell a single total.
 *
 * @example
 * const samples = await measureRedisCost(redis.port, redis.pid, 200, 5, (count) => sendRequests(count))
 */
export async function measureRedisCost(
  port: number,
  pid: number,
  n: number,
  chunks: number,
  send: (count: number) => Promise<void>,
): Promise<CostSample[]> {
  const samples: CostSample[] = []
  const parts = Math.max(1, Math.min(chunks, n))
  for (let k = 0; k < parts; k++) {
    const requests = Math.floor((n * (k + 1)) / parts) - Math.floor((n * k) / parts)
    await sendCommand(port, ['CONFIG', 'RESETSTAT'])
    // Redis closes the harness's connection after replying: let it, so that work is not billed to `send`.
    await sleep(10)
    const before = readCpuTime(pid)
    const start = performance.now()
    await send(requests)
    const durationMs = performance.now() - start
    const after = readCpuTime(pid)
    const stats = parseCommandStats(String(await sendCommand(port, ['INFO', 'commandstats'])))
    samples.push({ requests, durationMs, cpu: cpuPerRequest(before, after, requests), stats })
  }
  return samples
}

/** The per-request Redis cost of a cell, from its chunks: medians, so one disturbed chunk does not count. */
export interface Cost {
  /** Median over chunks of redis-server CPU per request, µs. */
  cpu: CpuPerRequest
  /** All chunks together, ms. */
  durationMs: number
  /** Per command, the median over chunks of commandstats `usec` per request. */
  usec: CommandCounts
  /** The same for the commands the application sent (see {@link topLevelUsec}). */
  sentUsec: CommandCounts
  /** The sum of `sentUsec`: Redis command time per request, µs. */
  timeUs: number
}

/**
 * Folds the chunks of {@link measureRedisCost} into per-request figures, given which commands the
 * application sent and which ran inside scripts (MONITOR, any number of requests: only the shares matter).
 *
 * @example
 * const cost = summarizeCost(samples, counts.client, counts.lua)
 */
export function summarizeCost(
  samples: readonly CostSample[],
  sent: CommandCounts,
  inside: CommandCounts,
): Cost {
  const names = new Set(samples.flatMap((s) => Object.keys(s.stats.usec)))
  const perCommand = (pick: (s: CostSample) => CommandCounts): CommandCounts => {
    const out: CommandCounts = {}
    for (const name of names) out[name] = median(samples.map((s) => (pick(s)[name] ?? 0) / s.requests))
    return out
  }
  const usec = perCommand((s) => s.stats.usec)
  const sentUsec = perCommand((s) => topLevelUsec(s.stats.usec, sent, inside))
  for (const [name, us] of Object.entries(sentUsec)) if (!(us > 0)) delete sentUsec[name]
  return {
    cpu: {
      totalUs: median(samples.map((s) => s.cpu.totalUs).filter(Number.isFinite)),
      mainUs: median(samples.map((s) => s.cpu.mainUs).filter(Number.isFinite)),
    },
    durationMs: samples.reduce((a, s) => a + s.durationMs, 0),
    usec,
    sentUsec,
    timeUs: Object.values(sentUsec).reduce((a, b) => a + b, 0),
  }
}

/**
 * The commandstats time of the commands the application sent, per command. A script's time already
 * includes the commands it runs, which commandstats also lists on their own: each command's time is
 * counted in the share of its calls that were sent rather than run inside a script (from MONITOR). A
 * command MONITOR never saw counts as sent.
 *
 * @example
 * topLevelUsec({ evalsha: 900, hgetall: 80 }, { evalsha: 100 }, { hgetall: 100 }) // { evalsha: 900 }
 */
export function topLevelUsec(usec: CommandCounts, sent: CommandCounts, inside: CommandCounts): CommandCounts {
  const out: CommandCounts = {}
  for (const [name, us] of Object.entries(usec)) {
    const s = sent[name] ?? 0
    const i = inside[name] ?? 0
    const share = s + i === 0 ? 1 : s / (s + i)
    if (share > 0) out[name] = us * share
  }
  return out
}
