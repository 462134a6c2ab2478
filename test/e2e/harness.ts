// The rig every browser test file shares: Debian's Chromium (driven by playwright-core) and the demo on a Redis of its own.
import { existsSync, mkdirSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import {
  type Browser,
  type BrowserContext,
  type BrowserContextOptions,
  chromium,
  type Locator,
  type Page,
} from 'playwright-core'
import { afterAll, beforeAll, expect } from 'vitest'
import { type Demo, startDemo } from '../../examples/demo/server.js'
import { RedisStore } from '../../src/index.js'
import { type RedisServer, startRedis } from '../redis-servers.js'

// Debian's package; CHROMIUM_PATH points elsewhere (another build, or a missing path to try the skip).
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium'
const SCREENSHOTS = fileURLToPath(new URL('../../test-results/screenshots/', import.meta.url))
const POLL = { timeout: 10_000 }

/** False when there is no Chromium to drive: the suites are then skipped, `describe.skipIf(!chromiumFound)`. */
export const chromiumFound = existsSync(CHROMIUM)

if (!chromiumFound && process.env.E2E_REQUIRED) {
  throw new Error(
    `E2E_REQUIRED is set but ${CHROMIUM} is missing: the browser tests cannot run. Install it: apt-get install chromium`,
  )
}
if (!chromiumFound) {
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

/** What a browser test file works with; filled in by its `beforeAll`. */
export interface Rig {
  demo: Demo
  store: RedisStore
  /** A fresh browser profile (no cookies, no storage), desktop-sized unless `options` say otherwise. */
  newPage(options?: BrowserContextOptions): Promise<Page>
}

/** Starts Redis, Chromium and the demo before the file's tests, and stops them after. Call inside the suite. */
export function useBrowserRig(): Rig {
  let redis: RedisServer | undefined
  let browser: Browser | undefined
  const contexts: BrowserContext[] = []
  const rig = {
    async newPage(options: BrowserContextOptions = {}) {
      const context = await (browser as Browser).newContext({
        viewport: { width: 1000, height: 700 },
        ...options,
      })
      contexts.push(context)
      return context.newPage()
    },
  } as Rig

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
    rig.store = new RedisStore({ url: redis.url })
    rig.demo = await startDemo({ store: rig.store, port: 0, spaPort: 0, keys: ['e2e key'], log: () => {} })
  })

  afterAll(async () => {
    await Promise.all(contexts.map((c) => c.close()))
    await browser?.close()
    await rig.demo?.close()
    await rig.store?.close()
    await redis?.stop()
  })
  return rig
}

// Vitest has no web-first assertions: poll the page until it says what is expected.
export const hasText = (loc: Locator, text: string) => expect.poll(() => loc.textContent(), POLL).toBe(text)
export const containsText = (loc: Locator, text: string) =>
  expect.poll(() => loc.textContent(), POLL).toContain(text)
export const hasCount = (loc: Locator, n: number) => expect.poll(() => loc.count(), POLL).toBe(n)

/** Saves a screenshot under test-results/screenshots/ (git-ignored), the whole page unless `fullPage` is false. */
export const shot = (page: Page, name: string, fullPage = true) =>
  page.screenshot({ path: `${SCREENSHOTS}${name}.png`, fullPage })

/** Logs in through the demo's login form and waits for the counter page to greet the user. */
export async function login(page: Page, apiUrl: string, user = 'alice'): Promise<void> {
  await page.goto(`${apiUrl}/login`)
  await page.fill('#username', user)
  await page.fill('#password', 'password')
  await Promise.all([page.waitForURL(`${apiUrl}/`), page.click('main button[type=submit]')])
  await hasText(page.locator('#who'), `Logged in as ${user === 'alice' ? 'Alice' : 'Bob'}.`)
}
