// The cookie side of the `npm start` demo in a real browser: counter, login and logout, the sessions page.
import type { Page } from 'playwright-core'
import { describe, expect, it } from 'vitest'
import {
  chromiumFound,
  containsText,
  hasCount,
  hasText,
  login as loginAs,
  shot,
  useBrowserRig,
} from './harness.js'

// A browser is slow to drive on a busy CI machine: generous bounds, each step still waits for a definite state.
describe.skipIf(!chromiumFound)('demo in Chromium', { timeout: 40_000 }, () => {
  const rig = useBrowserRig()
  const newPage = (userAgent?: string) => rig.newPage(userAgent ? { userAgent } : {})
  const views = (page: Page) => page.locator('#views')
  const login = (page: Page, user?: string) => loginAs(page, rig.demo.apiUrl, user)

  async function sessionCookie(page: Page): Promise<string | undefined> {
    return (await page.context().cookies(rig.demo.apiUrl)).find((c) => c.name === 'koa.sess')?.value
  }

  it('cookie demo: the counter rises across reloads, and another browser has its own session', async () => {
    const page = await newPage()
    await page.goto(rig.demo.apiUrl)
    await hasText(views(page), '1 view')
    await page.reload()
    await hasText(views(page), '2 views')
    await page.reload()
    await hasText(views(page), '3 views')
    await shot(page, 'counter')

    const other = await newPage()
    await other.goto(rig.demo.apiUrl)
    await hasText(views(other), '1 view')
    expect(await sessionCookie(other)).not.toBe(await sessionCookie(page))
    await page.reload()
    await hasText(views(page), '4 views')
  })

  it('login rotates the session id; logout ends the session, and replayed cookies get a fresh one', async () => {
    const page = await newPage()
    await page.goto(rig.demo.apiUrl)
    await hasText(views(page), '1 view')
    const guest = await page.context().cookies(rig.demo.apiUrl)
    await page.goto(`${rig.demo.apiUrl}/login`)
    await shot(page, 'login')
    await login(page)
    const user = await page.context().cookies(rig.demo.apiUrl)
    expect(await sessionCookie(page)).toBeDefined()
    expect(await sessionCookie(page)).not.toBe(guest.find((c) => c.name === 'koa.sess')?.value)
    await hasText(views(page), '2 views')

    await Promise.all([page.waitForURL(`${rig.demo.apiUrl}/`), page.click('header button[type=submit]')])
    await hasText(views(page), '1 view')
    await hasText(page.locator('#who'), 'Not logged in.')

    for (const replayed of [user, guest]) {
      const thief = await newPage()
      await thief.context().addCookies(replayed)
      await thief.goto(rig.demo.apiUrl)
      await hasText(views(thief), '1 view')
      await hasText(thief.locator('#who'), 'Not logged in.')
      expect(await sessionCookie(thief)).not.toBe(replayed.find((c) => c.name === 'koa.sess')?.value)
    }
  })

  it('sessions page: lists two devices of alice, revokes the other, then logs out everywhere else', async () => {
    const laptop = await newPage(
      'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36',
    )
    const phone = await newPage('Mozilla/5.0 (Android 14; Mobile; rv:133.0) Gecko/133.0 Firefox/133.0')
    await login(laptop)
    await login(phone)

    await laptop.goto(`${rig.demo.apiUrl}/sessions`)
    const rows = laptop.locator('#sessions tbody tr')
    await hasCount(rows, 2)
    await containsText(laptop.locator('tr.current'), 'Chrome 131 on Linux')
    await containsText(laptop.locator('tr.current'), 'this device')
    await containsText(laptop.locator('tbody tr:not(.current)'), 'Firefox 133 on Android 14')
    await shot(laptop, 'sessions')

    await Promise.all([
      laptop.waitForURL(`${rig.demo.apiUrl}/sessions?revoked=1`),
      laptop.click('tbody tr:not(.current) button'),
    ])
    await hasCount(rows, 1)
    await phone.goto(`${rig.demo.apiUrl}/sessions`)
    expect(new URL(phone.url()).pathname).toBe('/login')
    await phone.goto(rig.demo.apiUrl)
    await hasText(phone.locator('#who'), 'Not logged in.')

    const tablet = await newPage('DemoTablet/3.0')
    await login(tablet)
    await laptop.reload()
    await hasCount(rows, 2)
    await Promise.all([laptop.waitForURL(/revoked=1$/), laptop.click('#revoke-others')])
    await hasText(laptop.locator('#notice'), 'Logged out 1 other session.')
    await hasCount(rows, 1)
    await tablet.goto(`${rig.demo.apiUrl}/sessions`)
    expect(new URL(tablet.url()).pathname).toBe('/login')
  })
})
