/** How the sessions page names a device and a time: "Chrome 131 on Linux", "12:04:05 UTC (3 min ago)". */
import Bowser from 'bowser'

/** A device as the sessions page shows it: the browser and the OS by name, with major versions. */
export interface Device {
  browser: string
  os: string
  /** "Chrome 131 on Linux", or the raw user agent (shortened) when the parser knows neither. */
  label: string
}

/** Names the browser and the OS of a user agent (bowser, MIT). */
export function deviceOf(userAgent: string | undefined): Device {
  if (userAgent === undefined || userAgent === '') return { browser: '', os: '', label: 'Unknown device' }
  const { browser, os } = Bowser.parse(userAgent)
  // A user agent the parser cannot name reads "Mozilla 5.0": that says nothing, so show the raw string.
  const name = browser.name && browser.name !== 'Mozilla' ? withMajor(browser.name, browser.version) : ''
  const system = os.name ? withMajor(os.name, os.version, os.versionName) : ''
  const label =
    name && system
      ? `${name} on ${system}`
      : name || (system ? `Unknown browser on ${system}` : shorten(userAgent))
  return { browser: name, os: system, label }
}

function withMajor(name: string, version?: string, versionName?: string): string {
  if (versionName) return `${name} ${versionName}`
  const major = version?.split('.')[0]
  return major ? `${name} ${major}` : name
}

function shorten(text: string): string {
  return text.length > 60 ? `${text.slice(0, 59)}…` : text
}

/** `2026-12-02 07:03:15 UTC`: to the second, so two logins a minute apart differ. */
export function exactTime(ms: number): string {
  return `${new Date(ms).toISOString().slice(0, 19).replace('T', ' ')} UTC`
}

/** "just now", "42 s ago", "3 min ago", "2 h ago", "5 days ago". */
export function relativeTime(ms: number, now: number): string {
  const s = Math.max(0, Math.round((now - ms) / 1000))
  if (s < 5) return 'just now'
  if (s < 60) return `${s} s ago`
  if (s < 3600) return `${Math.floor(s / 60)} min ago`
  if (s < 86_400) return `${Math.floor(s / 3600)} h ago`
  const days = Math.floor(s / 86_400)
  return `${days} day${days === 1 ? '' : 's'} ago`
}
