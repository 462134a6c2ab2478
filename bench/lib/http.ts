/** Plain HTTP from the orchestrator: creating sessions, collecting their cookies, sanity probes. */
import { expectedProbe, type Scenario } from './scenarios.js'

export interface Reply {
  readonly status: number
  readonly body: string
  /** `name=value` of every Set-Cookie, attributes dropped. */
  readonly cookies: string[]
}

export async function get(url: string, cookie?: string): Promise<Reply> {
  const res = await fetch(url, cookie === undefined ? {} : { headers: { cookie } })
  const body = await res.text()
  const cookies = res.headers
    .getSetCookie()
    .map((c) => c.split(';', 1)[0] as string)
    .filter((c) => !/=$/.test(c))
  return { status: res.status, body, cookies }
}

/**
 * Creates a session through the variant's `/<scenario>/setup` route and returns the Cookie header that
 * carries it (all cookies set, e.g. koa's `.sig` companions). Undefined for a variant without sessions.
 */
export async function createSession(base: string, scenario: Scenario): Promise<string | undefined> {
  const reply = await get(`${base}/${scenario}/setup`)
  if (reply.status !== 200)
    throw new Error(`${base}/${scenario}/setup answered ${reply.status}: ${reply.body}`)
  return reply.cookies.length === 0 ? undefined : reply.cookies.join('; ')
}

/** Creates `count` sessions (a few at a time). */
export async function createSessions(base: string, scenario: Scenario, count: number): Promise<string[]> {
  const cookies: string[] = []
  for (let i = 0; i < count; i += 10) {
    const batch = await Promise.all(
      Array.from({ length: Math.min(10, count - i) }, () => createSession(base, scenario)),
    )
    for (const c of batch) if (c !== undefined) cookies.push(c)
  }
  return cookies
}

/**
 * Checks the variant really serves the scenario: one request with the first session's cookie (none for
 * `new`) must answer 200 with the expected body, and `new` must hand out a cookie. Throws otherwise.
 */
export async function probe(base: string, scenario: Scenario, cookie: string | undefined): Promise<void> {
  const reply = await get(`${base}/${scenario}`, scenario === 'new' ? undefined : cookie)
  const expected = expectedProbe(scenario)
  if (reply.status !== 200 || (expected !== undefined && reply.body !== expected)) {
    throw new Error(
      `probe ${base}/${scenario}: got ${reply.status} ${JSON.stringify(reply.body)}, expected 200 ${JSON.stringify(expected)}`,
    )
  }
  if (scenario === 'new' && reply.cookies.length === 0) {
    throw new Error(`probe ${base}/new: no session cookie handed out`)
  }
}
