// The `npm start` demo in a real browser (Debian's Chromium, driven by playwright-core), on a Redis of its own.
import { existsSync, mkdirSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import {
  type Browser,
  type BrowserContext,
  chromium,
  type Locator,
  type Page,
  type Request,
} from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type Demo, startDemo } from '../../examples/demo/server.js'
import { RedisStore } from '../../src/index.js'
import { type RedisServer, startRedis } from '../redis-servers.js'

// Debian's package; CHROMIUM_PATH points elsewhere (another build, or a missing path to try the skip).
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium'
const SCREENSHOTS = fileURLToPath(new URL('../../test-results/screenshots/', import.meta.url))
const POLL = { timeout: 10_000 }
const STORAGE_KEY = 'koa-session-redis3.demo.id'
const found = existsSync(CHROMIUM)

if (!found && process.env.E2E_REQUIRED) {
  throw new Error(
    `E2E_REQUIRED is set but ${CHROMIUM} is missing: the browser tests cannot run. Install it: apt-get install chromium`,
  )
}
if (!found) {
  console.warn(
    [
      '',
      '*'.repeat(100),
      `* Browser tests SKIPPED: no Chromium at ${CHROMIUM}.`,
      '* Install it to run them: sudo apt-get install chromium   (CI sets E2E_REQUIRED=1, which fails instead)',
      '*'.repeat(100),
      '',
    ].join('\n'),
  )
}

const suite = found ? describe : describe.skip

// A browser is slow to drive on a busy CI machine: generous bounds, each step still waits for a definite state.
suite('demo in Chromium', { timeout: 40_000 }, () => {
  let redis: RedisServer
  let store: RedisStore
  let demo: Demo
  let browser: Browser
  const contexts: BrowserContext[] = []

  beforeAll(async () => {
    mkdirSync(SCREENSHOTS, { recursive: true })
    ;[redis, browser] = await Promise.all([
      startRedis(),
      chromium.launch({
        executablePath: CHROMIUM,
        headless: true,
        args: [
          '--no-sandbox',
          '--disable-gpu',
          '--disable-background-networking',
          '--disable-component-update',
          '--disable-sync',
          '--no-first-run',
          '--disable-quic',
        ],
      }),
    ])
    store = new RedisStore({ url: redis.url })
    demo = await startDemo({ store, port: 0, spaPort: 0, keys: ['e2e key'], log: () => {} })
  })

  afterAll(async () => {
    await Promise.all(contexts.map((c) => c.close()))
    await browser?.close()
    await demo?.close()
    await store?.close()
    await redis?.stop()
  })

  /** A fresh browser profile: no cookies, no storage. */
  async function newPage(userAgent?: string): Promise<Page> {
    const context = await browser.newContext({
      ...(userAgent ? { userAgent } : {}),
      viewport: { width: 1000, height: 700 },
    })
    contexts.push(context)
    return context.newPage()
  }

  // Vitest has no web-first assertions: poll the page until it says what is expected.
  const hasText = (loc: Locator, text: string) => expect.poll(() => loc.textContent(), POLL).toBe(text)
  const containsText = (loc: Locator, text: string) =>
    expect.poll(() => loc.textContent(), POLL).toContain(text)
  const hasCount = (loc: Locator, n: number) => expect.poll(() => loc.count(), POLL).toBe(n)
  const views = (page: Page) => page.locator('#views')
  const shot = (page: Page, name: string) =>
    page.screenshot({ path: `${SCREENSHOTS}${name}.png`, fullPage: true })

  async function sessionCookie(page: Page): Promise<string | undefined> {
    return (await page.context().cookies(demo.apiUrl)).find((c) => c.name === 'koa.sess')?.value
  }

  async function login(page: Page, user = 'alice'): Promise<void> {
    await page.goto(`${demo.apiUrl}/login`)
    await page.fill('#username', user)
    await page.fill('#password', 'password')
    await Promise.all([page.waitForURL(`${demo.apiUrl}/`), page.click('main button[type=submit]')])
    await hasText(page.locator('#who'), `Logged in as ${user === 'alice' ? 'Alice' : 'Bob'}.`)
  }

  it('cookie demo: the counter rises across reloads, and another browser has its own session', async () => {
    const page = await newPage()
    await page.goto(demo.apiUrl)
    await hasText(views(page), '1 views')
    await page.reload()
    await hasText(views(page), '2 views')
    await page.reload()
    await hasText(views(page), '3 views')
    await shot(page, 'counter')

    const other = await newPage()
    await other.goto(demo.apiUrl)
    await hasText(views(other), '1 views')
    expect(await sessionCookie(other)).not.toBe(await sessionCookie(page))
    await page.reload()
    await hasText(views(page), '4 views')
  })

  it('login rotates the session id; logout ends the session, and replayed cookies get a fresh one', async () => {
    const page = await newPage()
    await page.goto(demo.apiUrl)
    await hasText(views(page), '1 views')
    const guest = await page.context().cookies(demo.apiUrl)
    await page.goto(`${demo.apiUrl}/login`)
    await shot(page, 'login')
    await login(page)
    const user = await page.context().cookies(demo.apiUrl)
    expect(await sessionCookie(page)).toBeDefined()
    expect(await sessionCookie(page)).not.toBe(guest.find((c) => c.name === 'koa.sess')?.value)
    await hasText(views(page), '2 views')

    await Promise.all([page.waitForURL(`${demo.apiUrl}/`), page.click('header button[type=submit]')])
    await hasText(views(page), '1 views')
    await hasText(page.locator('#who'), 'Not logged in.')

    for (const replayed of [user, guest]) {
      const thief = await newPage()
      await thief.context().addCookies(replayed)
      await thief.goto(demo.apiUrl)
      await hasText(views(thief), '1 views')
      await hasText(thief.locator('#who'), 'Not logged in.')
      expect(await sessionCookie(thief)).not.toBe(replayed.find((c) => c.name === 'koa.sess')?.value)
    }
  })

  it('SPA on another origin: keeps its session in the header across reloads, with no cookie at all', async () => {
    const page = await newPage()
    const apiRequests: Request[] = []
    page.on('request', (r) => {
      if (r.url().startsWith(demo.apiUrl)) apiRequests.push(r)
    })
    const stored = () =>
      page.evaluate(
        // Runs in the page; the project's tsconfig has no DOM lib.
        (key) =>
          (
            globalThis as unknown as { sessionStorage: { getItem(k: string): string | null } }
          ).sessionStorage.getItem(key),
        STORAGE_KEY,
      )

    await page.goto(demo.spaUrl)
    await hasText(page.locator('#views'), '1')
    await page.reload()
    await hasText(page.locator('#views'), '2')
    await page.reload()
    await hasText(page.locator('#views'), '3')
    await hasText(page.locator('#user'), 'guest')
    const guestId = (await stored()) as string
    expect(guestId).toMatch(/^[\w-]{43}\.[\w-]+$/)
    await hasText(page.locator('#sid'), `${guestId.slice(0, 8)}…`)
    await shot(page, 'spa')

    await page.fill('#password', 'password')
    await page.click('#login button[type=submit]')
    await hasText(page.locator('#user'), 'alice')
    await hasText(page.locator('#views'), '4')
    const userId = (await stored()) as string
    expect(userId.slice(0, 43)).not.toBe(guestId.slice(0, 43))
    await page.reload()
    await hasText(page.locator('#user'), 'alice')
    await hasText(page.locator('#views'), '5')
    await shot(page, 'spa-logged-in')

    await page.click('#logout-button')
    await containsText(page.locator('#status'), 'Logged out')
    await hasText(page.locator('#user'), 'guest')
    await hasText(page.locator('#views'), '1')
    expect((await stored())?.slice(0, 43)).not.toBe(userId.slice(0, 43))
    // The logged-in id is dead: replaying it gets a fresh guest session.
    const replay = await fetch(`${demo.apiUrl}/api/me`, { headers: { 'x-session-id': userId } })
    expect(await replay.json()).toMatchObject({ views: 1, user: null })

    // Not one API request carried a cookie, and the browser holds none for the API.
    expect(apiRequests.length).toBeGreaterThanOrEqual(8)
    const headers = await Promise.all(apiRequests.map((r) => r.allHeaders()))
    expect(headers.filter((h) => h.cookie !== undefined)).toEqual([])
    expect(await page.context().cookies(demo.apiUrl)).toEqual([])
    // Reloads sent the stored id, and the first request after the logout went without one.
    const sent = apiRequests.map(
      (r, i) => `${r.method()} ${new URL(r.url()).pathname} ${headers[i]?.['x-session-id'] ? 'id' : '-'}`,
    )
    expect(sent.filter((s) => s === 'GET /api/me id').length).toBeGreaterThanOrEqual(4)
    const logout = sent.indexOf('POST /api/logout id')
    expect(logout).toBeGreaterThan(0)
    expect(sent.slice(logout + 1).find((s) => s.startsWith('GET /api/me'))).toBe('GET /api/me -')
  })

  it('sessions page: lists two devices of alice, revokes the other, then logs out everywhere else', async () => {
    const laptop = await newPage('Mozilla/5.0 (X11; Linux x86_64) DemoLaptop/1.0')
    const phone = await newPage('Mozilla/5.0 (Linux; Android 14) DemoPhone/2.0')
    await login(laptop)
    await login(phone)

    await laptop.goto(`${demo.apiUrl}/sessions`)
    const rows = laptop.locator('#sessions tbody tr')
    await hasCount(rows, 2)
    await containsText(laptop.locator('tr.current'), 'DemoLaptop/1.0')
    await containsText(laptop.locator('tr.current'), 'this device')
    await containsText(laptop.locator('tbody tr:not(.current)'), 'DemoPhone/2.0')
    await shot(laptop, 'sessions')

    await Promise.all([
      laptop.waitForURL(`${demo.apiUrl}/sessions?revoked=1`),
      laptop.click('tbody tr:not(.current) button'),
    ])
    await hasCount(rows, 1)
    await phone.goto(`${demo.apiUrl}/sessions`)
    expect(new URL(phone.url()).pathname).toBe('/login')
    await phone.goto(demo.apiUrl)
    await hasText(phone.locator('#who'), 'Not logged in.')

    const tablet = await newPage('DemoTablet/3.0')
    await login(tablet)
    await laptop.reload()
    await hasCount(rows, 2)
    await Promise.all([laptop.waitForURL(/revoked=1$/), laptop.click('#revoke-others')])
    await hasText(laptop.locator('#notice'), 'Logged out 1 other session.')
    await hasCount(rows, 1)
    await tablet.goto(`${demo.apiUrl}/sessions`)
    expect(new URL(tablet.url()).pathname).toBe('/login')
  })
})
