/** A tagged template that escapes what it interpolates, and the demo's shared page layout and CSS. */

/** Markup that is already safe: interpolating it into `html` does not escape it again. */
export class Html {
  constructor(readonly value: string) {}
  toString(): string {
    return this.value
  }
}

/** Builds markup; every interpolated value is HTML-escaped unless it is `Html` (arrays are joined). */
export function html(strings: TemplateStringsArray, ...values: unknown[]): Html {
  let out = strings[0] ?? ''
  values.forEach((value, i) => {
    out += render(value) + (strings[i + 1] ?? '')
  })
  return new Html(out)
}

function render(value: unknown): string {
  if (value instanceof Html) return value.value
  if (Array.isArray(value)) return value.map(render).join('')
  if (value === undefined || value === null || value === false) return ''
  return String(value).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`)
}

export const CSS = `
:root { color-scheme: light; --fg: #1f2328; --muted: #656d76; --line: #d0d7de; --accent: #0969da; --bg: #f6f8fa; }
* { box-sizing: border-box; }
body { margin: 0; font: 16px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, "DejaVu Sans", sans-serif; color: var(--fg); background: var(--bg); }
header { background: #24292f; color: #fff; padding: 12px 24px; display: flex; gap: 20px; align-items: center; flex-wrap: wrap; }
header strong { margin-right: auto; }
header a { color: #fff; text-decoration: none; opacity: .85; }
header a:hover { opacity: 1; text-decoration: underline; }
main { max-width: 940px; margin: 32px auto; padding: 0 24px; }
.card { background: #fff; border: 1px solid var(--line); border-radius: 8px; padding: 20px 24px; margin-bottom: 20px; }
h1 { margin: 0 0 8px; font-size: 28px; }
h2 { margin: 0 0 12px; font-size: 20px; }
p { margin: 8px 0; }
.muted { color: var(--muted); font-size: 14px; }
.error { color: #cf222e; }
.ok { color: #1a7f37; }
.warn { color: #9a6700; }
code { font: 13px ui-monospace, "DejaVu Sans Mono", monospace; background: var(--bg); padding: 2px 6px; border-radius: 4px; }
label { display: block; margin: 10px 0 4px; font-weight: 600; font-size: 14px; }
input { font: inherit; padding: 6px 10px; border: 1px solid var(--line); border-radius: 6px; width: 100%; max-width: 320px; }
button { font: inherit; font-size: 14px; padding: 6px 14px; border-radius: 6px; border: 1px solid var(--line); background: #fff; cursor: pointer; }
button.primary { background: var(--accent); border-color: var(--accent); color: #fff; }
button.danger { color: #cf222e; }
button:hover { filter: brightness(0.96); }
form.inline { display: inline; margin: 0; }
.actions { display: flex; gap: 10px; align-items: center; margin-top: 14px; flex-wrap: wrap; }
.table-wrap { overflow-x: auto; }
table { width: 100%; border-collapse: collapse; font-size: 14px; }
th, td { text-align: left; padding: 8px 10px; border-bottom: 1px solid var(--line); vertical-align: middle; white-space: nowrap; }
tr.current { background: #f6fbff; }
th { color: var(--muted); font-weight: 600; }
.ua { max-width: 220px; overflow: hidden; text-overflow: ellipsis; white-space: nowrap; }
.badge { display: inline-block; font-size: 12px; padding: 1px 8px; border-radius: 999px; background: #ddf4ff; color: var(--accent); border: 1px solid #b6e3ff; }
.stats { display: grid; grid-template-columns: repeat(auto-fit, minmax(180px, 1fr)); gap: 12px; margin: 12px 0; }
.stat { border: 1px solid var(--line); border-radius: 8px; padding: 10px 14px; }
.stat span { display: block; color: var(--muted); font-size: 13px; }
.stat b { font-size: 22px; }
`

/** The page frame of the demo API server: header with navigation, then `body`. */
export function layout(title: string, user: string | undefined, spaUrl: string, body: Html): string {
  return html`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${title} · koa-session-redis3 demo</title>
<link rel="icon" href="data:,">
<style>${new Html(CSS)}</style>
</head>
<body>
<header>
  <strong>koa-session-redis3 demo</strong>
  <a href="/">Counter</a>
  <a href="/sessions">Sessions</a>
  <a href="${spaUrl}">SPA (header mode)</a>
  ${
    user === undefined
      ? html`<a href="/login">Log in</a>`
      : html`<span>${user}</span>
  <form class="inline" method="post" action="/logout"><button type="submit">Log out</button></form>`
  }
</header>
<main>
${body}
</main>
</body>
</html>
`.value
}
