// Helpers of the fault tests: an app on a real HTTP server, a client that times every request, traffic loops,
// Koa-compatible cookie signing and a small table of measured figures.
import { createHmac } from 'node:crypto'
import http from 'node:http'
import type { AddressInfo } from 'node:net'
import { performance } from 'node:perf_hooks'
import { setTimeout as sleep } from 'node:timers/promises'
import Koa from 'koa'
import { type SessionOptions, session } from '../../src/index.js'

export { sleep }

/** `app.keys` of the fault apps: the first signs. */
export const APP_KEYS = ['fault-key-new', 'fault-key-old'] as const
export const COOKIE = 'koa.sess'

/** One HTTP exchange, timed with `performance.now()`. */
export interface Reply {
  path: string
  /** HTTP status, or 0 when no answer came within the client's bound (a hung request). */
  status: number
  body: string
  json: Record<string, unknown> | undefined
  setCookie: string[]
  start: number
  end: number
  ms: number
}

/**
 * A Koa app with the session middleware on a real `http.Server` (port 0). Routes:
 * - `/health`: answers `ok`, never touches the session;
 * - `/views`: increments `ctx.session.views` and answers `{ views, storeUnavailable, isNew }`;
 * - `/peek`: answers the same without changing anything.
 */
export class FaultApp {
  /** Errors Koa reported through `app.on('error')`. */
  readonly errors: unknown[] = []
  /** Session events the app emitted (`session:error`, `session:missed`, ...), in order. */
  readonly events: string[] = []
  readonly base: string
  readonly #server: http.Server

  private constructor(server: http.Server, errors: unknown[], events: string[]) {
    this.#server = server
    this.errors = errors
    this.events = events
    this.base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  }

  static async start(options: SessionOptions): Promise<FaultApp> {
    const app = new Koa()
    app.keys = [...APP_KEYS]
    app.silent = true
    const errors: unknown[] = []
    app.on('error', (err: unknown) => errors.push(err))
    const events: string[] = []
    for (const name of ['session:error', 'session:missed', 'session:expired', 'session:invalid']) {
      app.on(name, () => events.push(name))
    }
    app.use(session(options, app))
    app.use(async (ctx) => {
      if (ctx.path === '/health') {
        ctx.body = 'ok'
        return
      }
      const s = ctx.session
      if (s === null) throw new Error('no session')
      if (ctx.path === '/views') s.views = Number(s.views ?? 0) + 1
      ctx.body = { views: s.views ?? null, storeUnavailable: s.storeUnavailable, isNew: s.isNew }
    })
    const server = http.createServer(app.callback())
    server.listen(0, '127.0.0.1')
    await new Promise<void>((resolve, reject) => {
      server.once('listening', resolve)
      server.once('error', reject)
    })
    return new FaultApp(server, errors, events)
  }

  /** GET `path`, with `cookie` as the Cookie header; a request not answered within `limitMs` gives status 0. */
  async get(path: string, cookie?: string, limitMs = 5_000): Promise<Reply> {
    const start = performance.now()
    const headers: Record<string, string> = cookie === undefined ? {} : { cookie }
    try {
      const res = await fetch(this.base + path, { headers, signal: AbortSignal.timeout(limitMs) })
      const body = await res.text()
      const end = performance.now()
      let json: Record<string, unknown> | undefined
      if ((res.headers.get('content-type') ?? '').includes('json')) json = JSON.parse(body)
      return {
        path,
        status: res.status,
        body,
        json,
        setCookie: res.headers.getSetCookie(),
        start,
        end,
        ms: end - start,
      }
    } catch (err) {
      const end = performance.now()
      return {
        path,
        status: 0,
        body: String(err),
        json: undefined,
        setCookie: [],
        start,
        end,
        ms: end - start,
      }
    }
  }

  async close(): Promise<void> {
    this.#server.closeAllConnections()
    await new Promise<void>((resolve) => this.#server.close(() => resolve()))
  }
}

/** The Cookie header replaying the session cookie a reply set; throws when it set none. */
export function cookieOf(reply: Reply): string {
  const pairs = reply.setCookie.map((line) => line.split(';')[0] as string)
  const id = pairs.find((p) => p.startsWith(`${COOKIE}=`))
  const sig = pairs.find((p) => p.startsWith(`${COOKIE}.sig=`))
  if (id === undefined || sig === undefined) {
    throw new Error(`no session cookie in ${JSON.stringify(reply.setCookie)} (status ${reply.status})`)
  }
  return `${id}; ${sig}`
}

/** The session id inside a Cookie header built by {@link cookieOf} or {@link signedCookie}. */
export function idOf(cookie: string): string {
  const match = new RegExp(`^${COOKIE.replace('.', '\\.')}=([^;]+)`).exec(cookie)
  if (!match?.[1]) throw new Error(`no session id in ${cookie}`)
  return match[1]
}

/** A Cookie header carrying `id` with the signature Koa (Keygrip: HMAC-SHA1, base64url) would give it. */
export function signedCookie(id: string): string {
  const sig = createHmac('sha1', APP_KEYS[0]).update(`${COOKIE}=${id}`).digest('base64url')
  return `${COOKIE}=${id}; ${COOKIE}.sig=${sig}`
}

/** A new session with `views` set to `count` (one request per view); returns its Cookie header. */
export async function sessionWithViews(app: FaultApp, count: number): Promise<string> {
  const first = await app.get('/views')
  if (first.status !== 200) throw new Error(`creating a session answered ${first.status}: ${first.body}`)
  const cookie = cookieOf(first)
  for (let i = 1; i < count; i++) {
    const r = await app.get('/views', cookie)
    if (r.status !== 200 || r.json?.views !== i + 1) throw new Error(`view ${i + 1}: ${r.status} ${r.body}`)
  }
  return cookie
}

/** A switch the traffic loops watch. */
export interface Running {
  on: boolean
}

/** Sends `path` (with `cookie`) back to back, `gapMs` apart, into `sink` until `running.on` is false. */
export async function loop(
  app: FaultApp,
  path: string,
  cookie: string | undefined,
  sink: Reply[],
  running: Running,
  gapMs = 15,
): Promise<void> {
  while (running.on) {
    sink.push(await app.get(path, cookie))
    await sleep(gapMs)
  }
}

/**
 * Repeats `path` every `everyMs` until `done(reply)` or `limitMs` passed; returns every reply in order (the
 * last one satisfies `done` unless the bound was hit).
 */
export async function pollUntil(
  app: FaultApp,
  path: string,
  cookie: string | undefined,
  done: (r: Reply) => boolean,
  limitMs: number,
  everyMs = 25,
): Promise<Reply[]> {
  const replies: Reply[] = []
  const deadline = performance.now() + limitMs
  for (;;) {
    const r = await app.get(path, cookie)
    replies.push(r)
    if (done(r) || performance.now() > deadline) return replies
    await sleep(everyMs)
  }
}

/** Collects the unhandled rejections and uncaught exceptions of the process while installed. */
export function crashSpy(): { rejections: unknown[]; exceptions: unknown[]; uninstall: () => void } {
  const rejections: unknown[] = []
  const exceptions: unknown[] = []
  const onRejection = (reason: unknown): void => {
    rejections.push(reason)
  }
  const onException = (err: unknown): void => {
    exceptions.push(err)
  }
  process.on('unhandledRejection', onRejection)
  process.on('uncaughtExceptionMonitor', onException)
  return {
    rejections,
    exceptions,
    uninstall: () => {
      process.off('unhandledRejection', onRejection)
      process.off('uncaughtExceptionMonitor', onException)
    },
  }
}

/** Measured figures, printed as one table at the end of the file. */
export const figures: { test: string; metric: string; value: string }[] = []

export function record(test: string, metric: string, value: number | string, unit = 'ms'): void {
  figures.push({ test, metric, value: typeof value === 'number' ? `${value.toFixed(0)} ${unit}` : value })
}

export function max(values: number[]): number {
  return values.length === 0 ? Number.NaN : Math.max(...values)
}

export function median(values: number[]): number {
  if (values.length === 0) return Number.NaN
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.floor(sorted.length / 2)] as number
}

/**
 * Checks one session's replies in time order: only 200 and 503; 503s carry Koa's bare "Service Unavailable"
 * and no Set-Cookie; 200s never carry a new session, and a Set-Cookie only on a `/views` and always with the same
 * id (a saved change sends the cookie again); views grow by one per `/views` (none per
 * `/peek`), each failed `/views` in between allowing one more (its write may have landed though the reply was
 * a 503). Returns the violations (empty when fine).
 */
export function auditSession(replies: Reply[], label: string): string[] {
  const problems: string[] = []
  let last: number | undefined
  let failedWrites = 0
  let sent: string | undefined
  for (const r of replies) {
    if (r.status === 503) {
      if (r.path === '/views') failedWrites++
      if (r.body !== 'Service Unavailable') problems.push(`${label}: 503 body ${JSON.stringify(r.body)}`)
      if (r.setCookie.length > 0) problems.push(`${label}: 503 with Set-Cookie ${r.setCookie.join(' | ')}`)
      continue
    }
    if (r.status !== 200) {
      problems.push(`${label}: status ${r.status} after ${r.ms.toFixed(0)} ms: ${r.body.slice(0, 200)}`)
      continue
    }
    // A saved change sends the cookie again (koa-session's behaviour), always with the same id.
    if (r.setCookie.length > 0) {
      const id = idOf(cookieOf(r))
      sent ??= id
      if (r.path !== '/views' || id !== sent)
        problems.push(`${label}: 200 with Set-Cookie ${r.setCookie.join(' | ')}`)
    }
    const views = Number(r.json?.views)
    if (r.json?.isNew !== false) problems.push(`${label}: 200 served a new session (views ${views})`)
    if (last !== undefined) {
      const grew = views - last
      const least = r.path === '/views' ? 1 : 0
      if (grew < least || grew > least + failedWrites) {
        problems.push(
          `${label}: views went ${last} -> ${views} (${r.path}) with ${failedWrites} failed writes between`,
        )
      }
    }
    last = views
    failedWrites = 0
  }
  return problems
}

/**
 * Watches this process's event loop with a 10 ms ticker. The app is served in-process, so when the box is loaded
 * and the process is off the CPU, every reply is late, and a Redis reply that arrived during the stall loses the
 * race against the store's timer (timers run before I/O callbacks when the loop wakes up).
 */
export class StallWatch {
  #ticks: number[] = []
  #timer: NodeJS.Timeout | undefined

  start(): void {
    this.#ticks = [performance.now()]
    this.#timer = setInterval(() => this.#ticks.push(performance.now()), 10)
    this.#timer.unref()
  }

  stop(): void {
    clearInterval(this.#timer)
  }

  /** The longest time the loop went without a tick, among gaps overlapping [from, to] (ms, ticker period excluded). */
  longestGap(from = Number.NEGATIVE_INFINITY, to = performance.now()): number {
    const ticks = [...this.#ticks, performance.now()]
    let longest = 0
    for (let i = 1; i < ticks.length; i++) {
      const a = ticks[i - 1] as number
      const b = ticks[i] as number
      if (b >= from && a <= to) longest = Math.max(longest, b - a - 10)
    }
    return Math.max(0, longest)
  }
}
