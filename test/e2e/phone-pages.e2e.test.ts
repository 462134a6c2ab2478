// The demo's error pages and sessions list at phone width (390 x 844) in Chromium: what they say, and that they fit.
import type { Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type Demo, startDemo } from '../../examples/demo/server.js'
import { RedisStore } from '../../src/index.js'
import { freePort } from '../redis-servers.js'
import { chromiumFound, containsText, hasCount, hasText, login, shot, useBrowserRig } from './harness.js'

const IPHONE =
  'Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.0 Mobile/15E148 Safari/604.1'
const LINUX_CHROME =
  'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36'
const WINDOWS_FIREFOX = 'Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:133.0) Gecko/20100101 Firefox/133.0'
const PHONE = { viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true, userAgent: IPHONE }

interface Fit {
  innerWidth: number
  scrollWidth: number
  bodyFont: number
}

// Run in the page as a string: the project's tsconfig has no DOM lib. With `isMobile`, a page without
// a viewport meta is laid out 980 px wide, so an innerWidth of 390 proves the meta is there and works.
const FIT = `({
  innerWidth,
  scrollWidth: document.documentElement.scrollWidth,
  bodyFont: parseFloat(getComputedStyle(document.body).fontSize),
})`

// Cells of the sessions list whose content is wider than the cell, and the list wider than its box.
const CLIPPED = `(() => {
  const wrap = document.querySelector('.table-wrap')
  const cells = [...document.querySelectorAll('#sessions td')].filter((td) => td.scrollWidth > td.clientWidth + 1)
  return cells.length + (wrap.scrollWidth > wrap.clientWidth + 1 ? 1 : 0)
})()`

async function expectPhoneFit(page: Page): Promise<void> {
  const fit = await page.evaluate<Fit>(FIT)
  expect(fit.innerWidth).toBe(390)
  expect(fit.scrollWidth).toBeLessThanOrEqual(fit.innerWidth)
  expect(fit.bodyFont).toBeGreaterThanOrEqual(16)
}

/** The way back of an error page: on screen, and where it leads. */
async function expectWayBack(page: Page, href: string, label: string): Promise<void> {
  const back = page.locator('#back')
  await hasText(back, label)
  expect(await back.getAttribute('href')).toBe(href)
  expect(await back.isVisible()).toBe(true)
  const box = await back.boundingBox()
  expect(box && box.x >= 0 && box.x + box.width <= 390 && box.y + box.height <= 844).toBe(true)
}

describe.skipIf(!chromiumFound)('demo error pages and sessions at phone width', { timeout: 40_000 }, () => {
  const rig = useBrowserRig()
  let down: RedisStore
  let outage: Demo

  beforeAll(async () => {
    // A demo whose Redis is not there: nothing listens on that port.
    down = new RedisStore({ port: await freePort(), timeout: 300 })
    outage = await startDemo({ store: down, port: 0, spaPort: 0, keys: ['e2e key'], log: () => {} })
    outage.app.silent = true
  })

  afterAll(async () => {
    await outage?.close()
    await down?.close()
  })

  it('404: a page in the layout, readable on a phone, with a link home', async () => {
    const page = await rig.newPage(PHONE)
    const res = await page.goto(`${rig.demo.apiUrl}/no-such-page`)
    expect(res?.status()).toBe(404)
    await hasText(page.locator('h1'), 'Page not found')
    await hasText(page.locator('#error-text'), 'There is no page at this address.')
    await expectWayBack(page, '/', 'Back to the counter')
    expect(await page.locator('header nav a').allTextContents()).toContain('Sessions')
    await expectPhoneFit(page)
    await shot(page, 'phone-404', false)
    await Promise.all([page.waitForURL(`${rig.demo.apiUrl}/`), page.tap('#back')])
    await hasText(page.locator('#views'), '1 view')

    // The SPA's origin too.
    const spa = await page.goto(`${rig.demo.spaUrl}/no-such-page`)
    expect(spa?.status()).toBe(404)
    await hasText(page.locator('h1'), 'Page not found')
    await expectWayBack(page, '/', 'Back to the SPA')
    await expectPhoneFit(page)
  })

  it('Redis down: a 503 page that says what happened and that nothing is lost', async () => {
    const page = await rig.newPage(PHONE)
    const res = await page.goto(outage.apiUrl)
    expect(res?.status()).toBe(503)
    await hasText(page.locator('h1'), 'Sessions are unavailable right now')
    await containsText(page.locator('#error-text'), 'The session store (Redis) is not answering')
    await containsText(page.locator('#error-text'), 'Nothing is lost')
    await expectWayBack(page, '/', 'Back to the counter')
    await expectPhoneFit(page)
    await shot(page, 'phone-503', false)
  })

  it('sessions: this device first and marked, the others by browser and OS, times to the second', async () => {
    await rig.store.destroyUserSessions('alice')
    const laptop = await rig.newPage({ userAgent: LINUX_CHROME })
    await login(laptop, rig.demo.apiUrl)
    const phone = await rig.newPage(PHONE)
    await login(phone, rig.demo.apiUrl)
    const desktop = await rig.newPage({ userAgent: WINDOWS_FIREFOX })
    await login(desktop, rig.demo.apiUrl)

    await phone.goto(`${rig.demo.apiUrl}/sessions`)
    const rows = phone.locator('#sessions tbody tr')
    await hasCount(rows, 3)
    const texts = (await rows.allInnerTexts()).map((t) => t.replace(/\s+/g, ' '))
    // The phone is not the most recently active session, and still comes first.
    expect(await rows.first().getAttribute('class')).toBe('current')
    expect(texts[0]).toMatch(/^Safari 17 on iOS 17 this device /)
    const devices = await phone.locator('#sessions td.device b').allTextContents()
    expect(devices[0]).toBe('Safari 17 on iOS 17')
    expect(devices.slice(1).sort()).toEqual(['Chrome 131 on Linux', 'Firefox 133 on Windows 10'])
    // Signed in and last active, each relative and to the second.
    for (const text of texts)
      expect(text.match(/(?:just now|\d+ s ago) \d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC/g)).toHaveLength(2)
    // No handle text: the first characters of one user's handles are all the same.
    const handles = await rows.evaluateAll((trs) => trs.map((tr) => tr.getAttribute('data-handle') ?? ''))
    for (const handle of handles) expect(texts.join(' ')).not.toContain(handle.slice(0, 6))
    expect(await phone.locator('#sessions button').allTextContents()).toEqual(['Log out', 'Revoke', 'Revoke'])
    await expectPhoneFit(phone)
    // Nothing cut off inside the list either (the table scrolls sideways within its box on desktops).
    const clipped = await phone.evaluate<number>(CLIPPED)
    expect(clipped).toBe(0)
    await shot(phone, 'phone-sessions-devices', true)
  })

  it('a revoke of a session that already ended: a page with a way back to the sessions', async () => {
    await rig.store.destroyUserSessions('alice')
    const laptop = await rig.newPage({ userAgent: LINUX_CHROME })
    await login(laptop, rig.demo.apiUrl)
    const phone = await rig.newPage(PHONE)
    await login(phone, rig.demo.apiUrl)
    await phone.goto(`${rig.demo.apiUrl}/sessions`)
    await hasCount(phone.locator('#sessions tbody tr'), 2)
    // The laptop logs out while the phone still shows its row.
    await Promise.all([laptop.waitForURL(`${rig.demo.apiUrl}/`), laptop.click('header button[type=submit]')])

    await phone.tap('#sessions tr:not(.current) button')
    await hasText(phone.locator('h1'), 'That session has already ended')
    await containsText(phone.locator('#error-text'), 'revoked from another device, or it expired')
    await expectWayBack(phone, '/sessions', 'Back to your sessions')
    await expectPhoneFit(phone)
    await shot(phone, 'phone-revoke-ended', false)
    await Promise.all([phone.waitForURL(`${rig.demo.apiUrl}/sessions`), phone.tap('#back')])
    await hasCount(phone.locator('#sessions tbody tr'), 1)
  })

  it('a session revoked from another device is said on the next cookie page', async () => {
    await rig.store.destroyUserSessions('alice')
    const phone = await rig.newPage(PHONE)
    await login(phone, rig.demo.apiUrl)
    const laptop = await rig.newPage({ userAgent: LINUX_CHROME })
    await login(laptop, rig.demo.apiUrl)
    await laptop.goto(`${rig.demo.apiUrl}/sessions`)
    await Promise.all([laptop.waitForURL(/revoked=1$/), laptop.click('#sessions tr:not(.current) button')])

    await phone.goto(`${rig.demo.apiUrl}/sessions`)
    expect(new URL(phone.url()).pathname).toBe('/login')
    await hasText(
      phone.locator('#ended'),
      'Your session as Alice has ended: it was revoked from another device, or it expired. Log in again to continue.',
    )
    await expectPhoneFit(phone)
    await shot(phone, 'phone-ended', false)
    await phone.reload()
    await hasCount(phone.locator('#ended'), 0)
  })
})
