/** Small security middleware of the demo pages: same-origin form posts and protective response headers. */
import type { Context, Next } from 'koa'

/**
 * Refuses form posts from other origins. SameSite=Lax cookies already keep the session out of
 * cross-site posts; this also stops login CSRF, which needs no cookie.
 */
export async function sameOriginForms(ctx: Context, next: Next): Promise<void> {
  const origin = ctx.get('Origin')
  // Not `ctx.origin`: in Koa 3 that is the request's Origin header, not this server's origin.
  const self = `${ctx.protocol}://${ctx.host}`
  if (ctx.method === 'POST' && !ctx.path.startsWith('/api/') && origin !== '' && origin !== self) {
    ctx.throw(403, 'cross-origin form post refused')
  }
  await next()
}

/** nosniff, a same-origin referrer, and a CSP with no script and no framing. */
export async function securityHeaders(ctx: Context, next: Next): Promise<void> {
  ctx.set('X-Content-Type-Options', 'nosniff')
  ctx.set('Referrer-Policy', 'same-origin')
  // No script on these pages; framing refused, so the revoke buttons cannot be clickjacked.
  ctx.set(
    'Content-Security-Policy',
    "default-src 'none'; style-src 'unsafe-inline'; img-src data:; form-action 'self'; frame-ancestors 'none'",
  )
  await next()
}
