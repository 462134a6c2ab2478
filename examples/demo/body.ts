/** A tiny request body reader (urlencoded forms and JSON), so the demo needs no body-parser package. */
import type { Context, Middleware } from 'koa'

const LIMIT = 16 * 1024

/** The parsed body of a POST, or `{}`. */
export function bodyOf(ctx: Context): Record<string, unknown> {
  return (ctx.request as { body?: Record<string, unknown> }).body ?? {}
}

/**
 * Reads POST bodies into `ctx.request.body` (where passport-local looks for `username` and `password`).
 * Anything but a form or a JSON object is left unread; oversized or malformed bodies are refused.
 */
export function bodyReader(): Middleware {
  return async function bodyReader(ctx, next) {
    if (ctx.method === 'POST') {
      const type = ctx.is('urlencoded', 'json')
      if (type !== false && type !== null) {
        const text = await readText(ctx)
        const request = ctx.request as { body?: Record<string, unknown> }
        request.body =
          type === 'urlencoded' ? Object.fromEntries(new URLSearchParams(text)) : parseJson(ctx, text)
      }
    }
    await next()
  }
}

async function readText(ctx: Context): Promise<string> {
  if (Number(ctx.get('content-length')) > LIMIT) ctx.throw(413, 'request body too large')
  const chunks: Buffer[] = []
  let size = 0
  for await (const chunk of ctx.req as AsyncIterable<Buffer>) {
    size += chunk.length
    if (size > LIMIT) ctx.throw(413, 'request body too large')
    chunks.push(chunk)
  }
  return Buffer.concat(chunks).toString('utf8')
}

function parseJson(ctx: Context, text: string): Record<string, unknown> {
  let value: unknown
  try {
    value = JSON.parse(text)
  } catch {
    ctx.throw(400, 'malformed JSON body')
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    ctx.throw(400, 'expected a JSON object')
  return value as Record<string, unknown>
}
