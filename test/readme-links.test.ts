// The README and docs/ as a reader meets them: every local link leads somewhere, lines fit a screen, no undefined words.
import { existsSync, readdirSync, readFileSync } from 'node:fs'
import { dirname, join, normalize } from 'node:path'
import { describe, expect, it } from 'vitest'

const root = join(import.meta.dirname, '..')
const pages = ['README.md', ...readdirSync(join(root, 'docs')).map((f) => `docs/${f}`)]

/** GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens. */
function slug(heading: string): string {
  return heading
    .trim()
    .toLowerCase()
    .replace(/[^\w\- ]/g, '')
    .replace(/ /g, '-')
}

function anchors(file: string): Set<string> {
  const text = readFileSync(join(root, file), 'utf8').replace(/```[\s\S]*?```/g, '')
  return new Set([...text.matchAll(/^#+ (.*)$/gm)].map((m) => slug(m[1] as string)))
}

describe('README and docs', () => {
  it('links: every local link of README.md and docs/*.md names an existing file and heading', () => {
    const broken: string[] = []
    for (const page of pages) {
      const text = readFileSync(join(root, page), 'utf8')
      for (const [, link] of text.matchAll(/\]\(([^)\s]+)\)/g)) {
        if (/^https?:/.test(link as string)) continue
        const [path = '', fragment] = (link as string).split('#')
        const target = path === '' ? page : normalize(join(dirname(page), path))
        if (!existsSync(join(root, target))) broken.push(`${page}: ${link} (no file)`)
        else if (fragment && target.endsWith('.md') && !anchors(target).has(fragment))
          broken.push(`${page}: ${link} (no heading)`)
      }
    }
    expect(broken).toEqual([])
  })

  it('README: no line over 120 characters, no "the seed", the 1.x package and the install way named', () => {
    const readme = readFileSync(join(root, 'README.md'), 'utf8')
    expect(readme.split('\n').filter((line) => line.length > 120)).toEqual([])
    expect(readme).not.toMatch(/\bseed\b/i)
    expect(readme).toContain('1.3.4')
    expect(readme).toContain('npm pack')
    expect(readme).toContain('bench/results/chart.svg')
  })
})
