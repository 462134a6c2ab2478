// Helpers of the demo's in-process tests: its constants, and reading its pages as a person would.
import type request from 'supertest'
import { expect } from 'vitest'

export const SPA = 'http://localhost:3001'
export const HEADER = 'x-session-id'
export const CHROME_LINUX =
  'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36'
export const SAFARI_IPHONE =
  'Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.0 Mobile/15E148 Safari/604.1'

/** The number on the counter page. */
export function views(text: string): number {
  const match = /<h1 id="views">(\d+) views?<\/h1>/.exec(text)
  if (!match) throw new Error(`no view counter in: ${text.slice(0, 200)}`)
  return Number(match[1])
}

/** The value a response sets for cookie `name`. */
export function cookieValue(res: request.Response, name = 'koa.sess'): string | undefined {
  const cookies = ([] as string[]).concat(res.headers['set-cookie'] ?? [])
  return cookies
    .find((c) => c.startsWith(`${name}=`))
    ?.split(';')[0]
    ?.slice(name.length + 1)
}

/** Logs `agent` in through the demo's form as `user` (password `password`). */
export async function loggedInTo(agent: ReturnType<typeof request.agent>, user = 'alice') {
  const res = await agent.post('/login').type('form').send({ username: user, password: 'password' })
  expect(res.status).toBe(302)
  expect(res.headers.location).toBe('/')
  return agent
}

/** The rows of the sessions page: each session's handle, and whether it is this device. */
export function handles(html: string): { handle: string; current: boolean }[] {
  return [...html.matchAll(/<tr data-handle="([^"]+)"( class="current")?>/g)].map((m) => ({
    handle: m[1] as string,
    current: m[2] !== undefined,
  }))
}

/** The text a person reads on a page: tags dropped, entities of the escaper decoded, spaces squeezed. */
export function visible(page: string): string {
  return page
    .replace(/<style>[\s\S]*?<\/style>/g, '')
    .replace(/<[^>]+>/g, ' ')
    .replace(/&#(\d+);/g, (_, n) => String.fromCharCode(Number(n)))
    .replace(/\s+/g, ' ')
}

/** An error page of the demo's layout, with its title and its way back. */
export function expectErrorPage(res: request.Response, status: number, title: string, back: string): void {
  expect(res.status).toBe(status)
  expect(res.type).toBe('text/html')
  // A page of the layout: the phone viewport, the header's navigation, the title, and a way back.
  expect(res.text).toContain('<meta name="viewport" content="width=device-width, initial-scale=1">')
  expect(res.text).toContain('<a href="/sessions">Sessions</a>')
  expect(res.text).toContain(`<h1>${title}</h1>`)
  expect(res.text).toMatch(new RegExp(`<a id="back" href="${back}">`))
}
