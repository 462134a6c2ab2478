/** The SPA's browser code, inlined into its page: the session id travels in the `x-session-id` header only. */

/**
 * The page's script, plain JavaScript run by the browser as written (the page's CSP allows it by nonce).
 * The id lives in sessionStorage (per tab, gone when the tab closes); `credentials: 'omit'` keeps
 * cookies out entirely. The user last shown is kept there too, so that after a reload the page can
 * still tell a session that ended from one that was a guest's all along.
 */
export const SPA_SCRIPT = `
const KEY = 'koa-session-redis3.demo.id'
const USER = 'koa-session-redis3.demo.user'
const $ = (id) => document.getElementById(id)
const short = (id) => id.slice(0, 8) + '…'
// The id without its signature: a rotated app key re-signs the same session.
const idOf = (value) => (value ?? '').split('.')[0]

async function api(path, init = {}) {
  const headers = new Headers(init.headers)
  const id = sessionStorage.getItem(KEY)
  if (id) headers.set('x-session-id', id)
  const res = await fetch(API + path, { ...init, headers, credentials: 'omit' })
  // A new or regenerated id comes back in the header; an empty header means the session was destroyed.
  const next = res.headers.get('x-session-id')
  if (next === '') sessionStorage.removeItem(KEY)
  else if (next) sessionStorage.setItem(KEY, next)
  return res
}

function say(text, kind) {
  $('status').textContent = text
  $('status').className = kind
}

// Shows what /api/me answered. When the id sent was no live session, says so rather than turning into
// a guest without a word: the user was logged out by a revoke elsewhere, or the session expired.
async function refresh() {
  const res = await api('/api/me')
  if (!res.ok) throw new Error('HTTP ' + res.status)
  const me = await res.json()
  const was = sessionStorage.getItem(USER)
  if (me.user) sessionStorage.setItem(USER, me.name)
  else sessionStorage.removeItem(USER)
  $('views').textContent = String(me.views)
  $('user').textContent = me.name ?? 'guest'
  $('sid').textContent = me.sessionIdPrefix ? me.sessionIdPrefix + '…' : '—'
  const stored = sessionStorage.getItem(KEY)
  $('stored').textContent = stored ? short(stored) : '(none)'
  $('login').hidden = Boolean(me.user)
  $('logout').hidden = !me.user
  if (!me.staleId) say('', 'ok')
  else if (was) say('Your session as ' + was + ' has ended: it was revoked from another device, or it expired. You are a guest now.', 'warn')
  else say('Your previous session had ended (it expired or was revoked): a new guest session started.', 'warn')
  return me.staleId
}

// A network failure or an error status must not leave the page silent, or showing the last success.
const run = (action) => () => action().catch((err) => say('API error: ' + err.message, 'error'))

$('login').addEventListener('submit', (event) => {
  event.preventDefault()
  run(async () => {
    const before = idOf(sessionStorage.getItem(KEY))
    const body = JSON.stringify({ username: $('username').value, password: $('password').value })
    const res = await api('/api/login', { method: 'POST', headers: { 'content-type': 'application/json' }, body })
    $('password').value = ''
    // A refused login changed nothing: say so without asking /api/me, which would count a view.
    if (res.status === 401) return say('Wrong user name or password.', 'error')
    if (await refresh()) return
    if (!res.ok) say('Login failed: the API answered ' + res.status + '.', 'error')
    else if (idOf(sessionStorage.getItem(KEY)) !== before) say('Logged in: the session id changed.', 'ok')
    else say('Logged in.', 'ok')
  })()
})

$('logout-button').addEventListener('click', run(async () => {
  const res = await api('/api/logout', { method: 'POST' })
  if (!res.ok) return say('Logout failed: the API answered ' + res.status + '.', 'error')
  const dropped = sessionStorage.getItem(KEY) === null
  await refresh()
  // Showing the page asked the API again, which gave this tab a new guest session: say that too.
  const next = sessionStorage.getItem(KEY)
  const guest = next ? ' The next request started a new guest session (' + short(next) + ').' : ''
  say(dropped ? 'Logged out: the server destroyed the session and this page dropped its id.' + guest : 'Logged out.', 'ok')
}))

$('reload').addEventListener('click', run(refresh))

run(refresh)()
`
