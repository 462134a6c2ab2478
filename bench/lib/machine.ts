/** The machine, runtime and package versions a result was measured with. */
import { readFileSync } from 'node:fs'
import { cpus, release, totalmem } from 'node:os'
import { join } from 'node:path'
import { sendCommand } from '../../test/redis-servers.js'
import { ROOT } from './processes.js'

export interface MachineInfo {
  cpuModel: string
  cores: number
  memoryGiB: number
  kernel: string
  node: string
  redis: string
  packages: Record<string, string>
}

const PACKAGES = [
  'koa',
  'ioredis',
  'redis',
  'koa-session',
  'koa-redis',
  'koa-generic-session',
  'express',
  'express-session',
  'connect-redis',
  'fastify',
  '@fastify/session',
  '@fastify/cookie',
  'autocannon',
  'tsx',
] as const

function cpuModel(): string {
  try {
    const info = readFileSync('/proc/cpuinfo', 'utf8')
    const model = /^model name\s*:\s*(.+)$/m.exec(info)?.[1]
    if (model) return model.trim()
  } catch {
    // Not Linux: fall back to what Node reports.
  }
  return cpus()[0]?.model ?? 'unknown'
}

function version(pkg: string): string {
  try {
    return (
      JSON.parse(readFileSync(join(ROOT, 'node_modules', pkg, 'package.json'), 'utf8')) as { version: string }
    ).version
  } catch {
    return 'missing'
  }
}

export async function machineInfo(redisPort: number): Promise<MachineInfo> {
  const info = String(await sendCommand(redisPort, ['INFO', 'server']))
  const redis = /^redis_version:(.*)$/m.exec(info)?.[1]?.trim() ?? 'unknown'
  const own = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as {
    name: string
    version: string
  }
  const packages: Record<string, string> = { [own.name]: `${own.version} (this checkout)` }
  for (const p of PACKAGES) packages[p] = version(p)
  return {
    cpuModel: cpuModel(),
    cores: cpus().length,
    memoryGiB: Math.round((totalmem() / 2 ** 30) * 10) / 10,
    kernel: release(),
    node: process.version,
    redis,
    packages,
  }
}
