// The demo at phone width (390 x 844, as an iPhone 14): header, sessions table and SPA usable without sideways scrolling.
import type { Page } from 'playwright-core'
import { describe, expect, it } from 'vitest'
import { chromiumFound, hasCount, hasText, login, shot, useBrowserRig } from './harness.js'

const PHONE = {
  viewport: { width: 390, height: 844 },
  // A mobile viewport honours (or, without one, ignores) the page's viewport meta tag, as a phone does.
  isMobile: true,
  hasTouch: true,
  userAgent: 'Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) DemoPhone/1.0 Mobile/15E148',
}

interface HeaderRows {
  rows: number
  height: number
  tallest: number
  padding: number
}

// In-page measurements run as strings: the project's tsconfig has no DOM lib.
// Rows of the header: its visible items sorted by top, a new row wherever one starts below the last row.
const HEADER_ROWS = `(() => {
  const header = document.querySelector('header')
  const boxes = [...header.querySelectorAll('strong, a, span, button')]
    .map((el) => el.getBoundingClientRect())
    .filter((r) => r.width > 0 && r.height > 0)
    .sort((a, b) => a.top - b.top)
  let rows = 0
  let bottom = -Infinity
  for (const r of boxes) {
    if (r.top >= bottom - 1) rows += 1
    bottom = Math.max(bottom, r.bottom)
  }
  const style = getComputedStyle(header)
  return {
    rows,
    height: header.getBoundingClientRect().height,
    tallest: Math.max(...boxes.map((r) => r.height)),
    padding: parseFloat(style.paddingTop) + parseFloat(style.paddingBottom),
  }
})()`

interface Placement {
  text: string
  inside: boolean
  onTop: boolean
}

// Where each matching element is: wholly inside the viewport as it stands (no scrolling), and the
// element a tap at its centre would reach (not covered, not clipped by a scrolling container).
const placements = (
  selector: string,
) => `[...document.querySelectorAll(${JSON.stringify(selector)})].map((el) => {
  const r = el.getBoundingClientRect()
  const inside = r.width > 0 && r.height > 0 && r.left >= 0 && r.top >= 0 && r.right <= innerWidth && r.bottom <= innerHeight
  const hit = document.elementFromPoint(r.left + r.width / 2, r.top + r.height / 2)
  return { text: el.textContent.trim(), inside, onTop: hit !== null && el.contains(hit) }
})`

const SIDEWAYS = '({ scrollWidth: document.documentElement.scrollWidth, innerWidth })'

// A browser is slow to drive on a busy CI machine: generous bounds, each step still waits for a definite state.
describe.skipIf(!chromiumFound)('demo at phone width in Chromium', { timeout: 40_000 }, () => {
  const rig = useBrowserRig()

  async function expectNoSidewaysScroll(page: Page): Promise<void> {
    const { scrollWidth, innerWidth } = await page.evaluate<{ scrollWidth: number; innerWidth: number }>(
      SIDEWAYS,
    )
    expect(innerWidth).toBe(390)
    expect(scrollWidth).toBeLessThanOrEqual(innerWidth)
  }

  async function expectHeaderOfTwoRowsAtMost(page: Page): Promise<void> {
    const header = await page.evaluate<HeaderRows>(HEADER_ROWS)
    expect(header.rows).toBeGreaterThanOrEqual(1)
    expect(header.rows).toBeLessThanOrEqual(2)
    // Three rows of items at least `tallest` high cannot fit in less than three times that plus the padding.
    expect(header.height).toBeLessThan(3 * header.tallest + header.padding)
  }

  async function expectOnScreen(page: Page, selector: string, texts: string[]): Promise<void> {
    const found = await page.evaluate<Placement[]>(placements(selector))
    expect(found.map((b) => b.text)).toEqual(texts)
    for (const item of found) expect(item).toEqual({ text: item.text, inside: true, onTop: true })
  }

  it('header: two rows at most, logged out and logged in, every link and button on screen', async () => {
    const page = await rig.newPage(PHONE)
    await page.goto(rig.demo.apiUrl)
    await hasText(page.locator('#views'), '1 view')
    await expectHeaderOfTwoRowsAtMost(page)
    await expectOnScreen(page, 'header a', ['Counter', 'Sessions', 'SPA (header mode)', 'Log in'])

    // Bob: the sessions test counts alice's sessions.
    await login(page, rig.demo.apiUrl, 'bob')
    await expectHeaderOfTwoRowsAtMost(page)
    await expectOnScreen(page, 'header a, header button', [
      'Counter',
      'Sessions',
      'SPA (header mode)',
      'Log out',
    ])
    await expectNoSidewaysScroll(page)
  })

  it('sessions page: Revoke and Log out on screen without scrolling, and Revoke works by touch', async () => {
    const laptop = await rig.newPage({ userAgent: 'Mozilla/5.0 (X11; Linux x86_64) DemoLaptop/1.0' })
    await login(laptop, rig.demo.apiUrl)
    const phone = await rig.newPage(PHONE)
    await login(phone, rig.demo.apiUrl)
    await phone.goto(`${rig.demo.apiUrl}/sessions`)
    await hasCount(phone.locator('#sessions tbody tr'), 2)
    await shot(phone, 'phone-sessions', false)
    // This device's row comes first and offers Log out; the laptop's, Revoke.
    await expectOnScreen(phone, '#sessions button', ['Log out', 'Revoke'])
    await expectOnScreen(phone, 'header button, #revoke-others', ['Log out', 'Log out everywhere else'])
    await expectNoSidewaysScroll(phone)
    await expectHeaderOfTwoRowsAtMost(phone)

    await Promise.all([phone.waitForURL(/revoked=1$/), phone.tap('#sessions tr:not(.current) button')])
    await hasCount(phone.locator('#sessions tbody tr'), 1)
    await laptop.goto(rig.demo.apiUrl)
    await hasText(laptop.locator('#who'), 'Not logged in.')
  })

  it('SPA: two header rows at most, no sideways scrolling, its buttons on screen once logged in', async () => {
    const page = await rig.newPage(PHONE)
    await page.goto(rig.demo.spaUrl)
    await hasText(page.locator('#views'), '1')
    await expectHeaderOfTwoRowsAtMost(page)
    await expectNoSidewaysScroll(page)
    await page.fill('#username', 'alice')
    await page.fill('#password', 'password')
    await page.click('#login button[type=submit]')
    await hasText(page.locator('#user'), 'Alice')
    await shot(page, 'phone-spa', false)
    await expectOnScreen(page, 'main button:not([hidden] button)', ['Count a view', 'Log out'])
    await expectNoSidewaysScroll(page)
  })
})
