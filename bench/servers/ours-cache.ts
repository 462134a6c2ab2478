// Ours with the session cache (README, "Session cache"): unchanged reads served in process, kept true by
// CLIENT TRACKING. Everything else as `ours`.
import { serveOurs } from './ours-app.js'

await serveOurs({ cache: true })
