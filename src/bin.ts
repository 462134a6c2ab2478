#!/usr/bin/env node
/** The package's `bin`: `npx koa-session-redis3 migrate ...` (see src/cli.ts). */
import { main } from './cli.js'

main(process.argv.slice(2)).then((code) => {
  process.exitCode = code
})
