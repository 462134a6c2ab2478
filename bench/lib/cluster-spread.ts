/** The Cluster slot spread: which hash slots and masters the sessions of each Cluster-capable variant land on. */
import {
  freePort,
  type RedisCluster,
  type RedisServer,
  sendCommand,
  startCluster,
} from '../../test/redis-servers.js'
import { createSessions } from './http.js'
import { ServerProcess } from './processes.js'
import type { ClusterSpread, SlotSpread } from './results.js'
import type { Variant } from './scenarios.js'

/** The variants whose servers can point their store at a Cluster (`REDIS_CLUSTER`), in report order. */
export const CLUSTER_VARIANTS: readonly Variant[] = ['ours', 'koa-session']

/** Options of {@link measureClusterSpread}. */
export interface ClusterSpreadOptions {
  /** The variants of the run; only those in {@link CLUSTER_VARIANTS} are measured. */
  readonly variants: readonly Variant[]
  /** Sessions created through each variant. */
  readonly sessions: number
  /** The standalone benchmark Redis (the servers require it; with `REDIS_CLUSTER` they do not use it). */
  readonly redisPort: number
  readonly log: (line: string) => void
  /** Harness failures are pushed here rather than thrown, as in the rest of the run. */
  readonly problems: string[]
}

/**
 * Starts a 3-master Cluster and, for each Cluster-capable variant, a server of its own pointed at it;
 * creates `sessions` sessions through each and counts where their keys landed. Everything it starts is
 * stopped before it returns. Undefined when no selected variant supports a Cluster.
 *
 * @example
 * const spread = await measureClusterSpread({ variants, sessions: 1000, redisPort, log, problems })
 */
export async function measureClusterSpread(o: ClusterSpreadOptions): Promise<ClusterSpread | undefined> {
  const chosen = CLUSTER_VARIANTS.filter((v) => o.variants.includes(v))
  if (chosen.length === 0 || o.sessions <= 0) return undefined
  let cluster: RedisCluster
  try {
    cluster = await startCluster({ masters: 3 })
  } catch (error) {
    o.problems.push(`cluster: could not start one: ${(error as Error).message}`)
    return undefined
  }
  const servers: ServerProcess[] = []
  try {
    const env = { REDIS_CLUSTER: cluster.startupNodes.map((n) => `${n.host}:${n.port}`).join(',') }
    const started = await Promise.allSettled(
      chosen.map(async (variant) => {
        const server = await ServerProcess.start(variant, {
          port: await freePort(),
          redisPort: o.redisPort,
          env,
        })
        servers.push(server)
      }),
    )
    for (const s of started) if (s.status === 'rejected') o.problems.push(`cluster: ${String(s.reason)}`)
    o.log(`Cluster of 3 masters up; measuring the slot spread of ${o.sessions} sessions`)
    // With no replicas every node is a master (startCluster's default).
    const masters = cluster.nodes
    const out: ClusterSpread = { masters: masters.map((m) => `${m.host}:${m.port}`), variants: {} }
    for (const variant of chosen) {
      const server = servers.find((s) => s.variant === variant)
      if (server === undefined) continue
      try {
        await Promise.all(
          masters.map((m) => sendCommand(m.port, ['FLUSHALL', 'SYNC'], { timeoutMs: 30_000 })),
        )
        const cookies = await createSessions(server.url, 'read', o.sessions)
        if (cookies.length !== o.sessions) {
          throw new Error(`${cookies.length} of ${o.sessions} session cookies handed out`)
        }
        const figure = await spread(masters, o.sessions)
        out.variants[variant] = figure
        o.log(
          `cluster spread ${variant}: ${figure.keys} keys in ${figure.slots} slots, ` +
            `per master ${figure.keysPerMaster.join(' / ')}`,
        )
      } catch (error) {
        o.problems.push(`cluster ${variant}: ${(error as Error).message}`)
      }
    }
    return out
  } finally {
    await Promise.allSettled(servers.map((s) => s.stop()))
    await cluster.stop()
  }
}

/** Counts the keys on each master and the distinct hash slots they occupy. */
async function spread(masters: readonly RedisServer[], sessions: number): Promise<SlotSpread> {
  const keysPerMaster: number[] = []
  const slots = new Set<number>()
  for (const master of masters) {
    // The Cluster is the benchmark's own and holds nothing else: KEYS is fine here.
    const keys = (await sendCommand(master.port, ['KEYS', '*'])) as string[]
    keysPerMaster.push(keys.length)
    // One connection per command (the harness's client): a few at a time keeps 1,000 keys under a second.
    for (let i = 0; i < keys.length; i += 32) {
      const batch = keys.slice(i, i + 32)
      const replies = await Promise.all(batch.map((k) => sendCommand(master.port, ['CLUSTER', 'KEYSLOT', k])))
      for (const slot of replies) slots.add(Number(slot))
    }
  }
  const max = Math.max(...keysPerMaster)
  const min = Math.min(...keysPerMaster)
  return {
    sessions,
    keys: keysPerMaster.reduce((a, b) => a + b, 0),
    slots: slots.size,
    keysPerMaster,
    maxMinRatio: min > 0 ? max / min : null,
  }
}
