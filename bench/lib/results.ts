/** The shape of `bench/results/latest.json` and `soak.json`: everything the report and chart are made from. */
import type { MachineInfo } from './machine.js'
import type { CpuPerRequest } from './redis-cost.js'
import type { CommandCounts } from './redis-stats.js'
import type { Scenario, Variant } from './scenarios.js'

export interface Settings {
  mode: 'full' | 'smoke' | 'custom'
  rounds: number
  /** Seconds per measured run, or undefined when runs are bounded by `amount`. */
  durationS: number | undefined
  /** Requests per measured run, when bounded by count (smoke). */
  amount: number | undefined
  warmupS: number | undefined
  warmupAmount: number | undefined
  connections: number
  /** Sequential requests per (variant, scenario) for the command counts (and as many again for Redis cost). */
  commandRequests: number
  /** The chunks the sequential Redis cost requests are sent in; the median chunk is kept. */
  costChunks: number
  /** Sessions created through each variant on the Cluster for the slot spread; 0: not measured. */
  clusterSessions: number
  /** Whether server / load generator / Redis were pinned with taskset. */
  pinned: boolean
  serverCpu: string
  loadCpu: string
  redisCpu: string
}

/** One timed run of one variant on one scenario. */
export interface Measurement {
  /** Which run of a combined result it came from, 1-based (`bench/combine.ts`); absent in a single run. */
  run?: number
  round: number
  scenario: Scenario
  variant: Variant
  requests: number
  durationS: number
  rps: number
  p50Ms: number
  p99Ms: number
  /** Server process CPU (user + system) per request, microseconds. */
  cpuUsPerReq: number
  /** redis-server CPU per request during the same run, µs: every thread (schedstat); NaN without /proc. */
  redisCpuUsPerReq: number
  /** The same, redis-server's main thread alone. */
  redisMainCpuUsPerReq: number
  errors: number
  timeouts: number
  non2xx: number
}

/** Medians over the rounds of one (scenario, variant). */
export interface Summary {
  rps: number
  p99Ms: number
  cpuUsPerReq: number
  /** redis-server CPU per request under load, µs (every thread). */
  redisCpuUsPerReq: number
  /** Requests per second one Redis core carries: 1e6 / `redisCpuUsPerReq`. */
  redisRpsPerCore: number
  /** Median over rounds of (this variant's Redis CPU per request / koa-session + koa-redis's in the same round). */
  redisCpuRatioKoaSession: number
  /** Median over rounds of (this variant's req/s / hand-written's req/s in the same round). */
  ratioHandwritten: number
  /** Same against koa-session + koa-redis. */
  ratioKoaSession: number
  rounds: number
}

/** Redis commands per request of one (scenario, variant), from `commandRequests` sequential requests. */
export interface CommandFigure {
  n: number
  /** Commands the app sent (MONITOR, client connections), per request. */
  sent: CommandCounts
  /** Commands Redis executed (INFO commandstats: sent + inside scripts), per request. */
  executed: CommandCounts
  /** Commands run inside Lua scripts (MONITOR `[lua]`), per request. */
  insideScripts: CommandCounts
  /**
   * redis-server CPU per request over another `n` sequential requests without MONITOR, µs: the median of
   * the chunks they are sent in (`bench/lib/redis-cost.ts`).
   */
  redisCpu: CpuPerRequest
  /** Wall-clock time of those requests, ms (idle Redis work scales with it: see `redisIdleUsPerS`). */
  durationMs: number
  /** INFO commandstats `usec` per request and command, median over the chunks (a script's includes its inner commands). */
  usec: CommandCounts
  /** The part of `usec` spent in commands the application sent (inner script commands left out), per command. */
  sentUsec: CommandCounts
  /** The sum of `sentUsec`: Redis command time per request, µs. */
  redisTimeUs: number
  /**
   * `redisCpu.totalUs` / koa-session + koa-redis's, the median over the runs of each run's ratio. Set by
   * `bench/combine.ts` only; a single run's report divides the two figures itself.
   */
  redisCpuRatioKoaSession?: number
}

export interface KeyBytes {
  key: string
  type: string
  bytes: number
}

/** `MEMORY USAGE` summed over every key one session occupies. */
export interface BytesFigure {
  bytes: number
  keys: KeyBytes[]
}

/** Where the sessions of one variant landed on the Cluster. */
export interface SlotSpread {
  sessions: number
  /** Keys found on the masters after creating `sessions` sessions (every key, indexes included). */
  keys: number
  /** Distinct hash slots those keys occupy (`CLUSTER KEYSLOT`). */
  slots: number
  /** Keys on each master, in the order of {@link ClusterSpread.masters}. */
  keysPerMaster: number[]
  /** Keys on the fullest master / keys on the emptiest; null when a master holds none. */
  maxMinRatio: number | null
}

/** The hash-slot spread of sessions on one 3-master Cluster, per variant that supports a Cluster. */
export interface ClusterSpread {
  /** `host:port` of each master. */
  masters: string[]
  variants: Partial<Record<Variant, SlotSpread>>
}

/** The lowest and highest value of one figure over the runs of a combined result. */
export interface Range {
  min: number
  max: number
}

/** Ranges per (scenario, variant), keyed by the field's path in the figure, e.g. `rps`, `redisCpu.totalUs`. */
export type CellRanges = Partial<Record<Scenario, Partial<Record<Variant, Record<string, Range>>>>>

/** One of the full runs a combined result was made from. */
export interface RunInfo {
  /** The directory its `latest.json` was read from. */
  dir: string
  createdAt: string
  wallClockS: number
  loadAverage: { start: number[]; end: number[] }
  problems: number
}

/**
 * What `bench/combine.ts` adds: the runs, and the range of every figure it took the median of. In the
 * combined result, `summary` and the Redis cost figures of `commands` are medians over the runs.
 */
export interface Combined {
  runs: RunInfo[]
  summary: CellRanges
  commands: CellRanges
}

export interface Results {
  version: 2
  createdAt: string
  machine: MachineInfo
  settings: Settings
  variants: Variant[]
  scenarios: Scenario[]
  measurements: Measurement[]
  summary: Partial<Record<Scenario, Partial<Record<Variant, Summary>>>>
  commands: Partial<Record<Scenario, Partial<Record<Variant, CommandFigure>>>>
  /** `small`: `{ views: 1 }`; `large`: the ~2 KB session of the `2kb` scenario. */
  bytes: Partial<Record<Variant, { small: BytesFigure; large: BytesFigure }>>
  /** redis-server CPU per second with no requests (its timers), µs; included in every Redis CPU figure. */
  redisIdleUsPerS: number
  /** Absent when not measured (`--cluster-sessions 0`, or neither ours nor koa-session selected). */
  cluster?: ClusterSpread
  /**
   * Harness failures (a failed probe or setup, a crashed server). Empty on a clean run. Error responses
   * under load are not problems: they are results, counted in each measurement.
   */
  problems: string[]
  /** `os.loadavg()` before and after: other work on the machine makes timings noisy. */
  loadAverage: { start: number[]; end: number[] }
  wallClockS: number
  /** Present when this result is the median of several runs (`bench/combine.ts`). */
  combined?: Combined
}

export interface SoakSample {
  served: number
  elapsedS: number
  rss: number
  heapUsed: number
  heapTotal: number
  external: number
}

export interface SoakResults {
  version: 1
  createdAt: string
  machine: MachineInfo
  requests: number
  connections: number
  mix: string[]
  durationS: number
  rps: number
  errors: number
  non2xx: number
  /** Samples taken after a forced GC (`--expose-gc`). */
  gc: boolean
  samples: SoakSample[]
  /** Least-squares slopes over the samples after the warm-up share, bytes per 1000 requests. */
  slope: {
    fromServed: number
    rssBytesPer1000: number
    rssR2: number
    heapBytesPer1000: number
    heapR2: number
  }
}
