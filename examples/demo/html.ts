/** A tagged template that escapes what it interpolates, and the page layout of the demo's server-rendered pages. */
import { CSS } from './css.js'

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

/**
 * The page frame of the demo API server: header with navigation, then `body`. `ended` names the
 * user whose session ended elsewhere (revoked, expired), said above the page whichever it is.
 */
export function layout(
  title: string,
  user: string | undefined,
  spaUrl: string,
  body: Html,
  ended?: string,
): string {
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
  <nav>
    <a href="/">Counter</a>
    <a href="/sessions">Sessions</a>
    <a href="${spaUrl}">SPA (header mode)</a>
  </nav>
  <div class="account">
  ${
    user === undefined
      ? html`<a href="/login">Log in</a>`
      : html`<span>${user}</span>
    <form class="inline" method="post" action="/logout"><button type="submit">Log out</button></form>`
  }
  </div>
</header>
<main>
${
  ended === undefined
    ? ''
    : html`<p class="notice" id="ended" role="status">${html`Your session as <b>${ended}</b> has ended: `}${'it was revoked from another device, or it expired. '}<a href="/login">Log in again</a> to continue.</p>`
}
${body}
</main>
</body>
</html>
`.value
}
