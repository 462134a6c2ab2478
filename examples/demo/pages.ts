/** The server-rendered pages of the demo: the counter, the login form and the user's sessions. */
import type { SessionInfo } from 'koa-session-redis3'
import { deviceOf, exactTime, relativeTime } from './devices.js'
import { html } from './html.js'

/** Page: the view counter of the first screen. */
export function counterPage(views: number, user: string | undefined) {
  return html`<div class="card">
  <h1 id="views">${views} ${views === 1 ? 'view' : 'views'}</h1>
  <p class="muted">Reload the page: the counter lives in the session, stored server-side; the cookie only carries its id.</p>
  <p id="who">${user === undefined ? 'Not logged in.' : html`Logged in as <b>${user}</b>.`}</p>
  <div class="actions">
    <a href="/">Reload</a>
    ${user === undefined ? html`<a href="/login">Log in</a>` : html`<a href="/sessions">Your sessions</a>`}
  </div>
</div>
<div class="card">
  <h2>What to try</h2>
  <p>Log in (alice or bob, password <code>password</code>): the session id changes, the counter stays.</p>
  <p>Log in as the same user from a second browser, then revoke one session from <a href="/sessions">Sessions</a>.</p>
  <p>Log out: the session is destroyed, the counter starts again.</p>
</div>`
}

/** Page: the login form (posted to `/login`, checked by passport-local); `username` is what was typed. */
export function loginPage(failed: boolean, user: string | undefined, username: string) {
  return html`<div class="card">
  <h1>Log in</h1>
  ${user === undefined ? '' : html`<p>You are logged in as <b>${user}</b>; logging in again starts a new session.</p>`}
  ${failed ? html`<p class="error" id="error">Wrong user name or password.</p>` : ''}
  <form method="post" action="/login">
    <label for="username">User name</label>
    <input id="username" name="username" autocomplete="username" required value="${username}" placeholder="alice or bob">
    <label for="password">Password</label>
    <input id="password" name="password" type="password" autocomplete="current-password" required>
    <div class="actions"><button class="primary" type="submit">Log in</button></div>
  </form>
  <p class="muted">Demo users: <code>alice</code> and <code>bob</code>, password <code>password</code>.</p>
</div>`
}

/**
 * Page: the user's live sessions, with revoke buttons. `current` is the handle of this request's
 * session; it comes first. Handles are not shown: the first characters of all of one user's handles
 * are the same (the Cluster tag), and the rest means nothing to a person; the device and times do.
 */
export function sessionsPage(
  user: string,
  sessions: SessionInfo[],
  current: string,
  notice: string | undefined,
  now: number,
) {
  const rows = [...sessions]
    .sort(
      (a, b) => Number(b.handle === current) - Number(a.handle === current) || b.lastSeenAt - a.lastSeenAt,
    )
    .map((s) => {
      const here = s.handle === current
      const device = deviceOf(s.userAgent)
      return html`<tr data-handle="${s.handle}"${here ? html` class="current"` : ''}>
    <td class="device"><b title="${s.userAgent ?? ''}">${device.label}</b>${
      here ? html` <span class="badge">this device</span>` : ''
    }</td>
    <td data-label="Signed in">${time(s.createdAt, now)}</td>
    <td data-label="Last active">${time(s.lastSeenAt, now)}</td>
    <td class="action"><form class="inline" method="post" action="/sessions/revoke">
      <input type="hidden" name="handle" value="${s.handle}">
      <button class="danger" type="submit">${here ? 'Log out' : 'Revoke'}</button>
    </form></td>
  </tr>`
    })
  return html`<div class="card">
  <h1>Your sessions</h1>
  <p class="muted">Every browser where <b>${user}</b> is logged in. Revoking one logs that browser out at its next request.</p>
  ${notice === undefined ? '' : html`<p class="ok" id="notice">${notice}</p>`}
  <div class="table-wrap"><table id="sessions">
    <thead><tr><th>Device</th><th>Signed in</th><th>Last active</th><th></th></tr></thead>
    <tbody>${rows}</tbody>
  </table></div>
  <div class="actions">
    <form class="inline" method="post" action="/sessions/revoke-others">
      <button class="danger" type="submit" id="revoke-others">Log out everywhere else</button>
    </form>
    <span class="muted">${sessions.length} active session${sessions.length === 1 ? '' : 's'}</span>
  </div>
</div>`
}

function time(ms: number, now: number) {
  const iso = new Date(ms).toISOString()
  return html`<time datetime="${iso}" title="${exactTime(ms)}">${relativeTime(ms, now)}</time> <span class="muted">${exactTime(ms)}</span>`
}
