// The SPA of the `npm start` demo in a real browser: another origin, the session id in a header.
import type { Page, Request } from 'playwright-core'
import { describe, expect, it } from 'vitest'
import { chromiumFound, containsText, hasText, shot, useBrowserRig } from './harness.js'

const STORAGE_KEY = 'koa-session-redis3.demo.id'

// A browser is slow to drive on a busy CI machine: generous bounds, each step still waits for a definite state.
describe.skipIf(!chromiumFound)('demo SPA in Chromium', { timeout: 40_000 }, () => {
  const rig = useBrowserRig()
  const newPage = () => rig.newPage()
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

    await page.fill('#password', 'password')
    await page.click('#login button[type=submit]')
    await hasText(page.locator('#user'), 'alice')
    await hasText(page.locator('#views'), '4')
    const userId = (await storedId()) as string
    expect(userId.slice(0, 43)).not.toBe(guestId.slice(0, 43))
    await page.reload()
    await hasText(page.locator('#user'), 'alice')
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
})
