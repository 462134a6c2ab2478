/** What every variant serves: the scenarios, their URLs, the session data, and the one handler body they share. */

/** The traffic shapes measured, in report order. */
export const SCENARIOS = ['not-read', 'read', 'rolling', 'increment', 'new', '2kb'] as const
export type Scenario = (typeof SCENARIOS)[number]

export const SCENARIO_LABELS: Readonly<Record<Scenario, string>> = {
  'not-read': 'session not read',
  read: 'read, unchanged',
  rolling: 'read, unchanged, rolling',
  increment: 'increment (views++)',
  new: 'new session per request',
  '2kb': '~2 KB session, views++',
}

/** Scenarios whose requests carry the cookie of a session created beforehand (all but `new`). */
export function needsSession(scenario: Scenario): boolean {
  return scenario !== 'new'
}

/** The variants, in report order. Each has a server in `bench/servers/<id>.ts`. */
export const VARIANTS = [
  'bare',
  'handwritten',
  'ours',
  'ours-cache',
  'koa-session',
  'koa-generic-session',
  'express-session',
  'fastify-session',
] as const
export type Variant = (typeof VARIANTS)[number]

export const VARIANT_LABELS: Readonly<Record<Variant, string>> = {
  bare: 'bare Koa (no session, ceiling)',
  handwritten: 'hand-written GET + SET PX',
  ours: 'koa-session-redis3 (ours)',
  'ours-cache': 'koa-session-redis3, cache: true',
  'koa-session': 'koa-session 7 + koa-redis',
  'koa-generic-session': 'koa-generic-session + koa-redis',
  'express-session': 'Express 5 + express-session + connect-redis',
  'fastify-session': 'Fastify 5 + @fastify/session + connect-redis',
}

/** Short names for tables and the chart legend. */
export const VARIANT_SHORT: Readonly<Record<Variant, string>> = {
  bare: 'bare Koa',
  handwritten: 'hand-written',
  ours: 'ours',
  'ours-cache': 'ours (cache)',
  'koa-session': 'koa-session',
  'koa-generic-session': 'koa-generic-session',
  'express-session': 'express-session',
  'fastify-session': '@fastify/session',
}

/** Session lifetime used by every variant (cookie and Redis TTL): one day. */
export const MAX_AGE_MS = 86_400_000
/** Cookie signing secret shared by all variants (@fastify/session wants 32+ characters). */
export const SECRET = 'benchmark-secret-of-at-least-32-characters'

/**
 * The ~2 KB value of the `2kb` scenario: a profile with a visit history, built deterministically so that
 * `JSON.stringify({ views: 1, profile })` is just over 2048 bytes.
 */
export const PROFILE: Readonly<{ name: string; email: string; roles: string[]; history: object[] }> = (() => {
  const profile = {
    name: 'Ada Lovelace',
    email: 'ada@example.org',
    roles: ['reader', 'editor', 'reviewer'],
    history: [] as object[],
  }
  for (let i = 0; JSON.stringify({ views: 1, profile }).length < 2048; i++) {
    profile.history.push({ path: `/articles/${1000 + i}`, at: 1_700_000_000_000 + i * 60_000 })
  }
  return profile
})()

/** A parsed request path: `/<scenario>` or `/<scenario>/setup`. */
export interface Route {
  readonly scenario: Scenario
  /** `/<scenario>/setup` creates the session the scenario's requests then carry. */
  readonly setup: boolean
}

const ROUTES = new Map<string, Route>()
for (const scenario of SCENARIOS) {
  ROUTES.set(`/${scenario}`, { scenario, setup: false })
  ROUTES.set(`/${scenario}/setup`, { scenario, setup: true })
}

/** The route of a request URL (query string ignored), or undefined (404). */
export function parseRoute(url: string | undefined): Route | undefined {
  if (url === undefined) return undefined
  const q = url.indexOf('?')
  return ROUTES.get(q === -1 ? url : url.slice(0, q))
}

/** Rolling sessions need a differently configured middleware: their paths go to a second app. */
export function isRollingPath(url: string | undefined): boolean {
  return url?.startsWith('/rolling') === true
}

/** The session as the shared handler sees it, whatever the library. */
export interface SessionAccess {
  get(key: string): unknown
  set(key: string, value: unknown): void
}

/**
 * The handler body of every variant. `open` loads the session (for the lazy variants that is where the
 * Redis call happens); the `not-read` scenario never calls it. Returns the response body.
 */
export async function act(route: Route, open: () => Promise<SessionAccess>): Promise<string> {
  if (route.setup) {
    const s = await open()
    s.set('views', 1)
    if (route.scenario === '2kb') s.set('profile', PROFILE)
    return 'created'
  }
  switch (route.scenario) {
    case 'not-read':
      return 'ok'
    case 'read':
    case 'rolling': {
      const s = await open()
      return `views=${String(s.get('views'))}`
    }
    case 'increment': {
      const s = await open()
      const views = (Number(s.get('views')) || 0) + 1
      s.set('views', views)
      return `views=${views}`
    }
    case 'new': {
      const s = await open()
      s.set('views', 1)
      return 'views=1'
    }
    case '2kb': {
      const s = await open()
      const profile = s.get('profile') as { history?: unknown[] } | undefined
      const views = (Number(s.get('views')) || 0) + 1
      s.set('views', views)
      return `views=${views} history=${profile?.history?.length ?? 0}`
    }
  }
}

/**
 * What the first request of a scenario must answer right after its session was set up: proves the variant
 * really read (and could write) the session before anything is timed. `undefined`: any 200 will do.
 */
export function expectedProbe(scenario: Scenario): string | undefined {
  switch (scenario) {
    case 'not-read':
      return 'ok'
    case 'read':
    case 'rolling':
      return 'views=1'
    case 'increment':
      return 'views=2'
    case 'new':
      return 'views=1'
    case '2kb':
      return `views=2 history=${PROFILE.history.length}`
  }
}

/** {@link SessionAccess} over a plain object whose properties are the session data. */
export function access(data: Record<string, unknown>): SessionAccess {
  return {
    get: (key) => data[key],
    set(key, value) {
      data[key] = value
    },
  }
}
