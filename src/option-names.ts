/** Misspelled option names: refused with the closest known name, since a silently ignored option is a bug. */
import { invalidOption } from './errors.js'

/** Options of koa-session that belong to sessions stored in the cookie, which this library does not do. */
const COOKIE_SESSION_ONLY = new Set(['encode', 'decode'])

/**
 * Throws for the first own key of `given` that is not in `known`: `where` prefixes the option's name
 * (`store.`), and the message offers the closest known name when one is near, else `elsewhere`.
 */
export function checkNames(given: object, known: readonly string[], where = '', elsewhere = ''): void {
  for (const name of Object.keys(given)) {
    if (known.includes(name)) continue
    if (where === '' && COOKIE_SESSION_ONLY.has(name)) {
      throw invalidOption(
        name,
        'is a koa-session option for sessions kept in the cookie, which this library does not do',
        name,
      )
    }
    const near = closest(name, known)
    const hint =
      near !== undefined ? ` (did you mean \`${where}${near}\`?)` : elsewhere ? ` (${elsewhere})` : ''
    throw invalidOption(
      `${where}${name}`,
      `is not an option${hint}`,
      (given as Record<string, unknown>)[name],
    )
  }
}

/** The known name within two edits of `name` (case ignored), if any. */
function closest(name: string, known: readonly string[]): string | undefined {
  let best: string | undefined
  let bestDistance = 3
  for (const candidate of known) {
    const d = distance(name.toLowerCase(), candidate.toLowerCase())
    if (d < bestDistance) {
      best = candidate
      bestDistance = d
    }
  }
  return best
}

/** Levenshtein distance: insertions, deletions and substitutions. */
function distance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j)
  for (let i = 1; i <= a.length; i++) {
    const row = [i]
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1
      row[j] = Math.min(
        (previous[j] as number) + 1,
        (row[j - 1] as number) + 1,
        (previous[j - 1] as number) + cost,
      )
    }
    previous = row
  }
  return previous[b.length] as number
}
