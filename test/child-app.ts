/** Helpers for tests that run an app as users would: a Node child process on a real port, visited with fetch. */
import { type ChildProcess, spawn } from 'node:child_process'
import { connect } from 'node:net'

/** A running child app and the base URL it listens on. */
export interface ChildApp {
  child: ChildProcess
  base: string
}

/** Extra settings of {@link startChildApp}: Node flags (e.g. `--import tsx`) and environment variables. */
export interface ChildAppOptions {
  execArgv?: string[]
  env?: Record<string, string>
}

/**
 * Runs `file` with Node in `cwd` and waits until `port` accepts connections.
 *
 * @example
 * const app = await startChildApp(file, port, dir)
 */
export async function startChildApp(
  file: string,
  port: number,
  cwd?: string,
  options: ChildAppOptions = {},
): Promise<ChildApp> {
  const child = spawn(process.execPath, [...(options.execArgv ?? []), file], {
    cwd,
    env: { ...process.env, ...options.env },
    stdio: ['ignore', 'inherit', 'inherit'],
  })
  const exited = new Promise<never>((_, reject) =>
    child.once('exit', (code) => reject(new Error(`${file} exited with code ${code} before listening`))),
  )
  // A bare TCP connect, not an HTTP probe: a request would create a session of its own.
  const ready = (async () => {
    for (let i = 0; i < 400; i++) {
      if (await canConnect(port)) return
      await new Promise((r) => setTimeout(r, 50))
    }
    throw new Error(`${file} did not listen on ${port} within 20 s`)
  })()
  try {
    await Promise.race([ready, exited])
  } catch (err) {
    child.kill()
    throw err
  }
  exited.catch(() => undefined)
  return { child, base: `http://127.0.0.1:${port}` }
}

function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1')
    socket.on('connect', () => {
      socket.destroy()
      resolve(true)
    })
    socket.on('error', () => resolve(false))
  })
}

/** Requests `base` `times` times like a browser with a cookie jar; returns the bodies and the last cookies. */
export async function visit(base: string, times: number): Promise<{ texts: string[]; cookie: string }> {
  let cookie = ''
  const texts: string[] = []
  for (let i = 0; i < times; i++) {
    const res = await fetch(base, { headers: { cookie } })
    texts.push(await res.text())
    const set = res.headers.getSetCookie().map((c) => c.split(';')[0])
    if (set.length > 0) cookie = set.join('; ')
  }
  return { texts, cookie }
}
