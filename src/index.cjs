/** CommonJS entry: `require('koa-session-redis3')` is the middleware factory itself, as in the seed. */
'use strict'

// Node >= 20.19 can require() an ES module. Loading the one ES build (instead of shipping a second,
// CommonJS build) keeps one copy of the package's state for require() and import alike.
let esm
try {
  esm = require('./index.js')
} catch (err) {
  if (err?.code !== 'ERR_REQUIRE_ESM') throw err
  throw new Error(
    'koa-session-redis3: require() of this package needs Node >= 20.19 (require of ES modules); ' +
      `upgrade Node or use import, running ${process.version}`,
    { cause: err },
  )
}

/**
 * Creates the session middleware: the ES module's `session`, under a name of its own so that the
 * exports below are set on this function, not on the one `import` users share.
 *
 * @example
 * const session = require('koa-session-redis3')
 * app.use(session({ store: { host: '127.0.0.1', port: 6379, ttl: 3600, keySchema: 'your:schema' } }))
 */
function session(...args) {
  return esm.session(...args)
}

// Every named export (session, RedisStore, MemoryStore, SessionError, ...); the list follows
// index.ts by itself. Not `__esModule`, which Node's require() adds to the namespace: on this
// function it would make TypeScript's and Babel's default-import helpers look for a `.default`.
for (const [name, value] of Object.entries(esm)) {
  if (name !== 'default' && name !== '__esModule') session[name] = value
}

module.exports = session
