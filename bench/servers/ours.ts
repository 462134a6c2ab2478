import { serveOurs } from './ours-app.js'

await serveOurs()
