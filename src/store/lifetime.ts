/** Session lifetimes in integer milliseconds: the checks, the TTL a write sets, and when a read must touch. */
import { invalidOption } from '../errors.js'
import type { StoredFields } from './types.js'

/** The longest duration accepted anywhere: 400 days, the cookie lifetime limit of RFC 6265bis. */
export const MAX_DURATION = 400 * 86_400_000

/** Share of the idle timeout that may pass before a read slides it again (see docs/DESIGN.md). */
const TOUCH_FRACTION = 0.1

/**
 * A duration rounded up to whole milliseconds, or `undefined` unless it is a finite number above 0
 * and at most {@link MAX_DURATION}. Redis takes only integers for PEXPIRE; rounding up keeps
 * `86_400_000 / 7` meaning what it says.
 */
export function duration(value: unknown): number | undefined {
  if (typeof value !== 'number' || !(value > 0) || value > MAX_DURATION) return undefined
  return Math.ceil(value)
}

/**
 * Checks a duration option once, at configuration: a positive number of milliseconds (`unit: 's'`:
 * seconds, the seed's `store.ttl`), at most 400 days. Returns whole milliseconds, rounded up.
 */
export function durationOption(option: string, value: unknown, unit: 'ms' | 's', or = ''): number {
  const ms = typeof value === 'number' ? duration(unit === 's' ? value * 1000 : value) : undefined
  if (ms !== undefined) return ms
  const rule =
    unit === 's'
      ? `must be a positive number of SECONDS, at most 400 days (${MAX_DURATION / 1000})`
      : `must be a positive number of milliseconds, at most 400 days (${MAX_DURATION})`
  throw invalidOption(option, rule + or, value)
}

/** A stored millisecond timestamp (`_c`, `_t`, `_e`), or `undefined` when absent or not an integer. */
export function timestamp(value: string | undefined): number | undefined {
  if (value === undefined || !/^\d{1,15}$/.test(value)) return undefined
  return Number(value)
}

/** A stored `_m`: the session's own maxAge, or undefined when it has none or a bad one. */
export function parseMaxAge(value: string | undefined): number | 'session' | undefined {
  if (value === undefined) return undefined
  return value === 'session' ? 'session' : duration(Number(value))
}

/** The idle timeout of a stored session: its own `_m` when that is a valid duration, else `ttl`. */
export function idleTimeout(fields: StoredFields, ttl: number): number {
  const own = parseMaxAge(fields._m)
  return typeof own === 'number' ? own : ttl
}

/** True when a stored `_m` is neither absent, `'session'`, nor a valid duration: it is ignored and removed. */
export function badMaxAge(fields: StoredFields): boolean {
  return fields._m !== undefined && parseMaxAge(fields._m) === undefined
}

/**
 * The TTL a write or touch at `now` sets: the idle timeout, capped by what is left of the absolute
 * lifetime. 0 when the absolute lifetime is over (the session must not be written).
 */
export function ttlAt(now: number, ttl: number, createdAt: number, absoluteTimeout: number): number {
  if (absoluteTimeout === 0) return ttl
  return Math.max(0, Math.min(ttl, createdAt + absoluteTimeout - now))
}

/**
 * True when a read at `now` should slide the TTL: a tenth of the idle timeout has passed since the
 * last write or touch (`touchedAt`: `_t`, or `_c` for a session never written since its creation),
 * and the expiry is not already at the absolute deadline. So the key always has at least 90% of the
 * idle timeout left after a read.
 */
export function touchDue(
  now: number,
  touchedAt: number,
  ttl: number,
  createdAt: number,
  absoluteTimeout: number,
): boolean {
  if (now - touchedAt < ttl * TOUCH_FRACTION) return false
  return absoluteTimeout === 0 || touchedAt + ttl < createdAt + absoluteTimeout
}
