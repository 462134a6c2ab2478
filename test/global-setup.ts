// Vitest globalSetup: one standalone Redis shared by every test file, so files need not start their own.
import type { TestProject } from 'vitest/node'
import { startRedis } from './redis-servers.js'

/**
 * Starts the shared server and hands its address to test files via `inject('redisPort')` / `inject('redisUrl')`.
 * Returns the teardown that stops it once the whole run is over.
 */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const server = await startRedis()
  project.provide('redisPort', server.port)
  project.provide('redisUrl', server.url)
  return () => server.stop()
}
