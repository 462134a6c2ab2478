// Tests of the Redis test harness itself: if these fail, every Redis-backed test is suspect.
import { type ChildProcess, spawn } from 'node:child_process'
import { existsSync, readFileSync } from 'node:fs'
import net from 'node:net'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest'
import {
  freePort,
  type RedisCluster,
  type RedisSentinelSet,
  type RedisServer,
  sendCommand,
  startCluster,
  startRedis,
  startSentinel,
} from './redis-servers.js'

const HARNESS = fileURLToPath(new URL('./redis-servers.ts', import.meta.url))
const REPO_ROOT = fileURLToPath(new URL('..', import.meta.url))

function canListen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = net.createServer()
    server.once('error', () => resolve(false))
    server.listen({ port, host: '127.0.0.1', exclusive: true }, () => server.close(() => resolve(true)))
  })
}

// A process whose parent died may linger as a zombie until init reaps it; it is dead all the same.
function isAlive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z'
  } catch {
    return false
  }
}

async function eventually(check: () => boolean, timeoutMs = 3_000): Promise<boolean> {
  const deadline = Date.now() + timeoutMs
  while (!check()) {
    if (Date.now() > deadline) return false
    await new Promise((resolve) => setTimeout(resolve, 25))
  }
  return true
}

function exited(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve()
  return new Promise((resolve) => child.once('exit', () => resolve()))
}

// Runs the harness in a separate Node process that never calls stop(), to prove its exit hooks clean up.
function startOrphaningProcess(
  andThen: 'exit' | 'wait-for-signal',
): Promise<{ pid: number; dir: string; child: ChildProcess }> {
  const code = [
    `import { startRedis } from ${JSON.stringify(pathToFileURL(HARNESS).href)}`,
    'const server = await startRedis()',
    'console.log(JSON.stringify({ pid: server.pid, dir: server.dir }))',
    andThen === 'wait-for-signal' ? 'setInterval(() => {}, 1000)' : '',
  ].join('\n')
  const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', code], {
    cwd: REPO_ROOT,
    stdio: ['ignore', 'pipe', 'inherit'],
  })
  return new Promise((resolve, reject) => {
    let out = ''
    child.stdout.on('data', (chunk: Buffer) => {
      out += chunk.toString()
      const line = out.split('\n').find((l) => l.startsWith('{'))
      if (line) resolve({ ...(JSON.parse(line) as { pid: number; dir: string }), child })
    })
    child.once('exit', (status) => reject(new Error(`child exited (${status}) before reporting: ${out}`)))
  })
}

describe('freePort', () => {
  it('returns distinct ports whose cluster bus port (+10000) is free too', async () => {
    const ports = await Promise.all([freePort(), freePort(), freePort()])
    expect(new Set(ports).size).toBe(3)
    for (const port of ports) {
      expect(port).toBeLessThan(55_535)
      expect(port).not.toBe(6379)
      expect(await canListen(port)).toBe(true)
      expect(await canListen(port + 10_000)).toBe(true)
    }
  })
})

describe('global setup', () => {
  it('provides a running server of its own', async () => {
    const port = inject('redisPort')
    expect(port).not.toBe(6379)
    expect(inject('redisUrl')).toBe(`redis://127.0.0.1:${port}`)
    expect(await sendCommand(port, ['PING'])).toBe('PONG')
  })
})

describe('startRedis', () => {
  let server: RedisServer

  beforeAll(async () => {
    server = await startRedis({ appendonly: true })
  })

  afterAll(() => server?.stop())

  it('answers PING at the advertised address', async () => {
    expect(server.host).toBe('127.0.0.1')
    expect(server.url).toBe(`redis://127.0.0.1:${server.port}`)
    expect(isAlive(server.pid)).toBe(true)
    expect(await sendCommand(server.port, ['PING'])).toBe('PONG')
  })

  it('keeps acknowledged writes across SIGKILL + restart (AOF, fsync always)', async () => {
    expect(await sendCommand(server.port, ['SET', 'harness:key', 'survives'])).toBe('OK')
    const oldPid = server.pid
    await server.kill('SIGKILL')
    expect(isAlive(oldPid)).toBe(false)
    await expect(sendCommand(server.port, ['PING'])).rejects.toThrow(/ECONNREFUSED/)
    await server.restart()
    expect(server.pid).not.toBe(oldPid)
    expect(await sendCommand(server.port, ['GET', 'harness:key'])).toBe('survives')
  })

  it('stops answering while paused and catches up on resume', async () => {
    server.pause()
    try {
      await expect(sendCommand(server.port, ['PING'], { timeoutMs: 300 })).rejects.toThrow(/no reply/)
    } finally {
      server.resume()
    }
    expect(await sendCommand(server.port, ['PING'])).toBe('PONG')
  })

  it('can kill a paused server gracefully', async () => {
    const other = await startRedis()
    other.pause()
    await other.kill('SIGTERM')
    expect(isAlive(other.pid)).toBe(false)
    await other.stop()
  })

  it('stop() kills the process and removes its temp dir', async () => {
    const other = await startRedis()
    const { pid, dir } = other
    expect(existsSync(dir)).toBe(true)
    await other.stop()
    expect(isAlive(pid)).toBe(false)
    expect(existsSync(dir)).toBe(false)
    await other.stop()
  })

  it('refuses port 6379, which may belong to a real server', async () => {
    await expect(startRedis({ port: 6379 })).rejects.toThrow(/6379/)
    await expect(sendCommand(6379, ['PING'])).rejects.toThrow(/refusing/)
  })

  it('reports the server log when redis-server cannot start', async () => {
    await expect(startRedis({ args: ['--no-such-directive', 'x'] })).rejects.toThrow(/Bad directive/)
  })

  it('kills leftover servers and removes their dirs when the process exits', async () => {
    const { pid, dir, child } = await startOrphaningProcess('exit')
    await exited(child)
    expect(await eventually(() => !isAlive(pid))).toBe(true)
    expect(existsSync(dir)).toBe(false)
  })

  it('kills leftover servers when the process dies of SIGTERM', async () => {
    const { pid, dir, child } = await startOrphaningProcess('wait-for-signal')
    expect(isAlive(pid)).toBe(true)
    child.kill('SIGTERM')
    await exited(child)
    expect(await eventually(() => !isAlive(pid))).toBe(true)
    expect(existsSync(dir)).toBe(false)
  })
})

describe('startCluster', { timeout: 60_000 }, () => {
  let cluster: RedisCluster

  beforeAll(async () => {
    cluster = await startCluster()
  }, 60_000)

  afterAll(() => cluster?.stop(), 60_000)

  it('reaches cluster_state:ok on every node', async () => {
    expect(cluster.nodes).toHaveLength(3)
    expect(cluster.startupNodes).toEqual(cluster.nodes.map((n) => ({ host: '127.0.0.1', port: n.port })))
    for (const node of cluster.nodes) {
      expect(await sendCommand(node.port, ['CLUSTER', 'INFO'])).toMatch(/^cluster_state:ok\r?$/m)
    }
  })

  it('spreads all 16384 slots over 3 masters', async () => {
    const slots = (await sendCommand(cluster.nodes[0].port, ['CLUSTER', 'SLOTS'])) as [
      number,
      number,
      [string, number, string],
    ][]
    expect(slots).toHaveLength(3)
    expect(slots.reduce((sum, [from, to]) => sum + to - from + 1, 0)).toBe(16_384)
    expect(new Set(slots.map(([, , [, port]]) => port))).toEqual(new Set(cluster.nodes.map((n) => n.port)))

    const nodes = String(await sendCommand(cluster.nodes[1].port, ['CLUSTER', 'NODES']))
    const masters = nodes.split('\n').filter((line) => line.split(' ')[2]?.split(',').includes('master'))
    expect(masters).toHaveLength(3)
    for (const line of masters) expect(line).toContain(' connected')
  })

  it('routes keys: the owning node accepts a write, others redirect', async () => {
    const replies = await Promise.allSettled(
      cluster.nodes.map((node) => sendCommand(node.port, ['SET', 'harness:cluster', '1'])),
    )
    expect(replies.filter((r) => r.status === 'fulfilled')).toHaveLength(1)
    for (const r of replies) if (r.status === 'rejected') expect(String(r.reason)).toMatch(/MOVED/)
  })
})

describe('startSentinel', { timeout: 60_000 }, () => {
  let set: RedisSentinelSet

  beforeAll(async () => {
    set = await startSentinel()
  }, 60_000)

  afterAll(() => set?.stop(), 60_000)

  it('has every sentinel report the master and know the replica', async () => {
    expect(set.name).toBe('mymaster')
    expect(set.sentinels).toHaveLength(3)
    expect(set.sentinelNodes).toEqual(set.sentinels.map((s) => ({ host: '127.0.0.1', port: s.port })))
    for (const sentinel of set.sentinels) {
      expect(await sendCommand(sentinel.port, ['SENTINEL', 'get-master-addr-by-name', 'mymaster'])).toEqual([
        '127.0.0.1',
        String(set.master.port),
      ])
      const replicas = (await sendCommand(sentinel.port, ['SENTINEL', 'replicas', 'mymaster'])) as string[][]
      expect(replicas.map((fields) => fields[fields.indexOf('port') + 1])).toEqual([String(set.replica.port)])
    }
  })

  it('replicates from master to replica', async () => {
    expect(await sendCommand(set.replica.port, ['INFO', 'replication'])).toMatch(/^role:slave\r?$/m)
    await sendCommand(set.master.port, ['SET', 'harness:sentinel', 'replicated'])
    await sendCommand(set.master.port, ['WAIT', '1', '2000'])
    expect(await sendCommand(set.replica.port, ['GET', 'harness:sentinel'])).toBe('replicated')
  })
})
