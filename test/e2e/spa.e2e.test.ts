// The SPA of the `npm start` demo in a real browser: another origin, the session id in a header, and what it tells its user.
import type { Page, Request } from 'playwright-core'
import { describe, expect, it } from 'vitest'
import { chromiumFound, containsText, hasCount, hasText, login, shot, useBrowserRig } from './harness.js'

const STORAGE_KEY = 'koa-session-redis3.demo.id'

// Runs in the page, as a string: the project's tsconfig has no DOM lib. A probe element gives the colour
// the page's stylesheet assigns to each status class, so the test does not hard-code the palette.
const COLOURS = `(() => {
  const probe = (cls) => {
    const p = document.createElement('p')
    p.className = cls
    document.body.append(p)
    const colour = getComputedStyle(p).color
    p.remove()
    return colour
  }
  return { status: getComputedStyle(document.getElementById('status')).color, plain: probe(''), ok: probe('ok'), error: probe('error'), warn: probe('warn') }
})()`

interface Colours {
  status: string
  plain: string
  ok: string
  error: string
  warn: string
}

// A browser is slow to drive on a busy CI machine: generous bounds, each step still waits for a definite state.
describe.skipIf(!chromiumFound)('demo SPA in Chromium', { timeout: 40_000 }, () => {
  const rig = useBrowserRig()
  const newPage = () => rig.newPage()
  const colours = (page: Page) => page.evaluate<Colours>(COLOURS)
  const stored = (page: Page) =>
    page.evaluate<string | null>(`sessionStorage.getItem(${JSON.stringify(STORAGE_KEY)})`)

  it('SPA on another origin: keeps its session in the header across reloads, with no cookie at all', async () => {
    const page = await newPage()
    const apiRequests: Request[] = []
    page.on('request', (r) => {
      if (r.url().startsWith(rig.demo.apiUrl)) apiRequests.push(r)
    })
    const storedId = () => stored(page)

    await page.goto(rig.demo.spaUrl)
    await hasText(page.locator('#views'), '1')
    await page.reload()
    await hasText(page.locator('#views'), '2')
    await page.reload()
    await hasText(page.locator('#views'), '3')
    await hasText(page.locator('#user'), 'guest')
    const guestId = (await storedId()) as string
    expect(guestId).toMatch(/^[\w-]{43}\.[\w-]+$/)
    await hasText(page.locator('#sid'), `${guestId.slice(0, 8)}…`)
    await shot(page, 'spa')

    await page.fill('#username', 'alice')

    await page.fill('#password', 'password')
    await page.click('#login button[type=submit]')
    await hasText(page.locator('#user'), 'Alice')
    await hasText(page.locator('#views'), '4')
    const userId = (await storedId()) as string
    expect(userId.slice(0, 43)).not.toBe(guestId.slice(0, 43))
    await page.reload()
    await hasText(page.locator('#user'), 'Alice')
    await hasText(page.locator('#views'), '5')
    await shot(page, 'spa-logged-in')

    await page.click('#logout-button')
    await containsText(page.locator('#status'), 'Logged out')
    await hasText(page.locator('#user'), 'guest')
    await hasText(page.locator('#views'), '1')
    expect((await storedId())?.slice(0, 43)).not.toBe(userId.slice(0, 43))
    // The logged-in id is dead: replaying it gets a fresh guest session.
    const replay = await fetch(`${rig.demo.apiUrl}/api/me`, { headers: { 'x-session-id': userId } })
    expect(await replay.json()).toMatchObject({ views: 1, user: null })

    // Not one API request carried a cookie, and the browser holds none for the API.
    expect(apiRequests.length).toBeGreaterThanOrEqual(8)
    const headers = await Promise.all(apiRequests.map((r) => r.allHeaders()))
    expect(headers.filter((h) => h.cookie !== undefined)).toEqual([])
    expect(await page.context().cookies(rig.demo.apiUrl)).toEqual([])
    // Reloads sent the stored id, and the first request after the logout went without one.
    const sent = apiRequests.map(
      (r, i) => `${r.method()} ${new URL(r.url()).pathname} ${headers[i]?.['x-session-id'] ? 'id' : '-'}`,
    )
    expect(sent.filter((s) => s === 'GET /api/me id').length).toBeGreaterThanOrEqual(4)
    const logout = sent.indexOf('POST /api/logout id')
    expect(logout).toBeGreaterThan(0)
    expect(sent.slice(logout + 1).find((s) => s.startsWith('GET /api/me'))).toBe('GET /api/me -')
  })

  /** Opens the SPA in a fresh profile and logs in through its form, checking the success message. */
  async function spaLoggedIn(): Promise<Page> {
    const page = await newPage()
    await page.goto(rig.demo.spaUrl)
    await hasText(page.locator('#views'), '1')
    await page.fill('#username', 'alice')
    await page.fill('#password', 'password')
    await page.click('#login button[type=submit]')
    await hasText(page.locator('#user'), 'Alice')
    await hasText(page.locator('#status'), 'Logged in: the session id changed.')
    const c = await colours(page)
    expect(c.status).toBe(c.ok)
    return page
  }

  it('SPA: a wrong password, or an API out of reach, is reported in the error colour, not the success colour', async () => {
    const page = await newPage()
    await page.goto(rig.demo.spaUrl)
    await hasText(page.locator('#views'), '1')
    await page.fill('#username', 'alice')
    await page.fill('#password', 'wrong')
    await page.click('#login button[type=submit]')
    await hasText(page.locator('#status'), 'Wrong user name or password.')
    const c = await colours(page)
    expect(new Set([c.plain, c.ok, c.error]).size).toBe(3)
    expect(c.status).toBe(c.error)
    await hasText(page.locator('#user'), 'guest')
    // The refused login counted no view, and the field keeps what was typed.
    await hasText(page.locator('#views'), '1')
    expect(await page.inputValue('#username')).toBe('alice')

    // So is an API that cannot be reached.
    await page.route(`${rig.demo.apiUrl}/api/me`, (route) => route.abort())
    await page.click('#reload')
    await hasText(page.locator('#status'), 'API error: Failed to fetch')
    expect((await colours(page)).status).toBe(c.error)
  })

  it('SPA: the logout message says the id was dropped and names the new guest session the page then got', async () => {
    const page = await spaLoggedIn()
    const userId = (await stored(page)) as string
    await page.click('#logout-button')
    await hasText(page.locator('#user'), 'guest')
    const guestId = (await stored(page)) as string
    expect(guestId.slice(0, 43)).not.toBe(userId.slice(0, 43))
    await hasText(
      page.locator('#status'),
      'Logged out: the server destroyed the session and this page dropped its id. ' +
        `The next request started a new guest session (${guestId.slice(0, 8)}…).`,
    )
    await hasText(page.locator('#stored'), `${guestId.slice(0, 8)}…`)
    const c = await colours(page)
    expect(c.status).toBe(c.ok)
  })

  it('SPA: a session revoked from another device, or expired, is reported once, in the warning colour', async () => {
    const page = await spaLoggedIn()
    const status = page.locator('#status')
    // Another device of alice revokes the SPA's session from the sessions page.
    const laptop = await newPage()
    await login(laptop, rig.demo.apiUrl)
    await laptop.goto(`${rig.demo.apiUrl}/sessions`)
    await hasCount(laptop.locator('#sessions tbody tr'), 2)
    await Promise.all([
      laptop.waitForURL(/revoked=1$/),
      laptop.click('#sessions tbody tr:not(.current) button'),
    ])

    await page.click('#reload')
    await hasText(
      status,
      'Your session as Alice has ended: it was revoked from another device, or it expired. You are a guest now.',
    )
    await hasText(page.locator('#user'), 'guest')
    await hasText(page.locator('#views'), '1')
    const c = await colours(page)
    expect(new Set([c.plain, c.ok, c.error, c.warn]).size).toBe(4)
    expect(c.status).toBe(c.warn)
    await shot(page, 'spa-session-ended')
    // Said once: the next answer is an ordinary guest one.
    await page.reload()
    await hasText(page.locator('#views'), '2')
    await hasText(status, '')

    // A guest session the store no longer has (as after expiry) is reported too, without a user name.
    await rig.store.remove(((await stored(page)) as string).slice(0, 43))
    await page.click('#reload')
    await hasText(
      status,
      'Your previous session had ended (it expired or was revoked): a new guest session started.',
    )
    await hasText(page.locator('#views'), '1')
  })
})
