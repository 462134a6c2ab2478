/** The demo's error pages: every failure answers a page in the layout (or JSON under /api/), with a way back. */
import type { Context, Next } from 'koa'
import { SessionError } from 'koa-session-redis3'
import { type Html, html } from './html.js'

/** What an error page shows: its status, a title, one sentence, and the way back. */
interface PageError {
  status: number
  title: string
  text: string
  back?: { href: string; label: string }
}

/** An error the demo throws on purpose, with the page to show. */
export class PageFailure extends Error {
  constructor(readonly page: PageError) {
    super(page.title)
  }
}

/** Thrown by a revoke whose session is no longer listed: it ended already (or was never this user's). */
export function sessionGone(): PageFailure {
  return new PageFailure({
    status: 404,
    title: 'That session has already ended',
    text: 'It was logged out, revoked from another device, or it expired. Nothing else was changed.',
    back: { href: '/sessions', label: 'Back to your sessions' },
  })
}

/**
 * Catches what the rest of the app throws (and a route that matched nothing) and renders it with
 * `render`. A store failure (`SessionError`, 503) is still reported through `app.emit('error')`, as
 * Koa would, but the visitor gets a page that says what happened instead of "Service Unavailable".
 */
export function errorPages(render: (ctx: Context, title: string, body: Html) => void) {
  return async function errorPages(ctx: Context, next: Next): Promise<void> {
    try {
      await next()
      if (ctx.status === 404 && ctx.body === undefined) ctx.throw(404)
    } catch (err) {
      const page = pageFor(err)
      if (page.status >= 500) ctx.app.emit('error', err, ctx)
      ctx.status = page.status
      if (ctx.path.startsWith('/api/')) {
        ctx.body = { error: page.title, detail: page.text }
        return
      }
      const back = page.back ?? { href: '/', label: 'Back to the counter' }
      render(
        ctx,
        page.title,
        html`<div class="card" id="error-page">
  <h1>${page.title}</h1>
  <p id="error-text">${page.text}</p>
  <div class="actions"><a id="back" href="${back.href}">${back.label}</a>${
    back.href === '/' ? '' : html` <a href="/">Home</a>`
  }</div>
</div>`,
      )
    }
  }
}

function pageFor(err: unknown): PageError {
  if (err instanceof PageFailure) return err.page
  const e = err as { status?: number; expose?: boolean; message?: string }
  if (SessionError.is(err) && err.status === 503) {
    return {
      status: 503,
      title: 'Sessions are unavailable right now',
      text:
        'The session store (Redis) is not answering, so this page cannot load your session. ' +
        'Nothing is lost: you are still logged in once it is back. Try again in a moment.',
    }
  }
  const status = typeof e.status === 'number' && e.status >= 400 && e.status < 600 ? e.status : 500
  if (status === 404) return { status, title: 'Page not found', text: 'There is no page at this address.' }
  // Only messages Koa marks as safe to show (4xx thrown with ctx.throw) reach the page.
  const text = e.expose && e.message ? e.message : 'Something went wrong on our side. Try again in a moment.'
  return { status, title: status < 500 ? 'That did not work' : 'Something went wrong', text }
}
