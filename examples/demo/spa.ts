/** The single-page app on another origin: it talks to the API with the `x-session-id` header only, never a cookie. */
import { randomBytes } from 'node:crypto'
import Koa from 'koa'
import { CSS } from './css.js'
import { Html, html } from './html.js'
import { SPA_SCRIPT } from './spa-script.js'

/** The SPA's server: one page, nothing else. It holds no session; the API keeps it. */
export function createSpaApp(apiUrl: string): Koa {
  const app = new Koa()
  const apiOrigin = new URL(apiUrl).origin
  app.use(async (ctx) => {
    if (ctx.path !== '/' || (ctx.method !== 'GET' && ctx.method !== 'HEAD')) {
      // A page like the others (no script at all), with the way back, rather than a bare "Not Found".
      ctx.set(
        'Content-Security-Policy',
        "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'",
      )
      ctx.status = 404
      ctx.type = 'html'
      ctx.body = spaNotFound(apiOrigin)
      return
    }
    const nonce = randomBytes(16).toString('base64')
    // The page may only talk to the API; the inline script runs by nonce.
    ctx.set(
      'Content-Security-Policy',
      `default-src 'none'; script-src 'nonce-${nonce}'; style-src 'unsafe-inline'; img-src data:; ` +
        `connect-src ${apiOrigin}; base-uri 'none'; form-action 'none'; frame-ancestors 'none'`,
    )
    ctx.type = 'html'
    ctx.body = spaPage(apiOrigin, nonce)
  })
  return app
}

/** The SPA origin's 404 page. */
export function spaNotFound(apiOrigin: string): string {
  return html`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Page not found · koa-session-redis3 demo</title>
<link rel="icon" href="data:,">
<style>${new Html(CSS)}</style>
</head>
<body>
<header>
  <strong>koa-session-redis3 demo · SPA</strong>
  <nav><a href="/">SPA</a> <a href="${apiOrigin}/">Back to the cookie demo</a></nav>
</header>
<main>
<div class="card" id="error-page">
  <h1>Page not found</h1>
  <p id="error-text">The SPA has one page only.</p>
  <div class="actions"><a id="back" href="/">Back to the SPA</a></div>
</div>
</main>
</body>
</html>
`.value
}

/** The SPA page, with the API's origin baked in. */
export function spaPage(apiOrigin: string, nonce: string): string {
  return html`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>SPA · koa-session-redis3 demo</title>
<link rel="icon" href="data:,">
<style>${new Html(CSS)}</style>
</head>
<body>
<header>
  <strong>koa-session-redis3 demo · SPA</strong>
  <nav><a href="${apiOrigin}/">Back to the cookie demo</a></nav>
</header>
<main>
<div class="card">
  <h1>Header mode</h1>
  <p class="muted">This page is served from another origin. It calls <code>${apiOrigin}</code> with
  <code>fetch</code>, <code>credentials: 'omit'</code>, and carries the session id in the <code>x-session-id</code>
  header, kept in <code>sessionStorage</code>. No cookie is involved.</p>
  <div class="stats">
    <div class="stat"><span>Views</span><b id="views">…</b></div>
    <div class="stat"><span>User</span><b id="user">…</b></div>
    <div class="stat"><span>Session id (server)</span><b><code id="sid">…</code></b></div>
    <div class="stat"><span>Stored header</span><b><code id="stored">…</code></b></div>
  </div>
  <p id="status" class="ok" role="status"></p>
  <div class="actions"><button id="reload" type="button">Count a view</button></div>
</div>
<div class="card">
  <form id="login">
    <h2>Log in</h2>
    <label for="username">User name</label>
    <input id="username" autocomplete="username" placeholder="alice or bob">
    <label for="password">Password</label>
    <input id="password" type="password" autocomplete="current-password">
    <div class="actions"><button class="primary" type="submit">Log in</button>
    <span class="muted">alice or bob, password <code>password</code></span></div>
  </form>
  <div id="logout" hidden>
    <h2>Logged in</h2>
    <div class="actions"><button id="logout-button" class="danger" type="button">Log out</button></div>
  </div>
</div>
</main>
<script nonce="${nonce}">const API = ${new Html(JSON.stringify(apiOrigin).replace(/</g, '\\u003c'))}
${new Html(SPA_SCRIPT)}</script>
</body>
</html>
`.value
}
