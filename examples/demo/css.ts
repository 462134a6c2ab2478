/** The stylesheet of the demo's pages (the server-rendered ones and the SPA), phones included. */

/** One stylesheet for both origins; inlined in each page, whose CSP allows inline styles only. */
export const CSS = `
:root { color-scheme: light; --fg: #1f2328; --muted: #656d76; --line: #d0d7de; --accent: #0969da; --bg: #f6f8fa; }
* { box-sizing: border-box; }
body { margin: 0; font: 16px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, "DejaVu Sans", sans-serif; color: var(--fg); background: var(--bg); }
header { background: #24292f; color: #fff; padding: 12px 24px; display: flex; gap: 20px; align-items: center; flex-wrap: wrap; }
header strong { margin-right: auto; }
header nav, header .account { display: flex; gap: 20px; align-items: center; }
header .account { gap: 12px; }
header a { color: #fff; text-decoration: none; opacity: .85; }
header a:hover { opacity: 1; text-decoration: underline; }
main { max-width: 940px; margin: 32px auto; padding: 0 24px; }
.card { background: #fff; border: 1px solid var(--line); border-radius: 8px; padding: 20px 24px; margin-bottom: 20px; }
h1 { margin: 0 0 8px; font-size: 28px; }
h2 { margin: 0 0 12px; font-size: 20px; }
p { margin: 8px 0; }
.muted { color: var(--muted); font-size: 14px; }
.error { color: #cf222e; }
.ok { color: #1a7f37; }
.warn { color: #9a6700; }
code { font: 13px ui-monospace, "DejaVu Sans Mono", monospace; background: var(--bg); padding: 2px 6px; border-radius: 4px; }
label { display: block; margin: 10px 0 4px; font-weight: 600; font-size: 14px; }
input { font: inherit; padding: 6px 10px; border: 1px solid var(--line); border-radius: 6px; width: 100%; max-width: 320px; }
button { font: inherit; font-size: 14px; padding: 6px 14px; border-radius: 6px; border: 1px solid var(--line); background: #fff; cursor: pointer; }
button.primary { background: var(--accent); border-color: var(--accent); color: #fff; }
button.danger { color: #cf222e; }
button:hover { filter: brightness(0.96); }
form.inline { display: inline; margin: 0; }
.actions { display: flex; gap: 10px; align-items: center; margin-top: 14px; flex-wrap: wrap; }
.table-wrap { overflow-x: auto; }
table { width: 100%; border-collapse: collapse; font-size: 14px; }
th, td { text-align: left; padding: 8px 10px; border-bottom: 1px solid var(--line); vertical-align: middle; white-space: nowrap; }
tr.current { background: #f6fbff; }
th { color: var(--muted); font-weight: 600; }
.device { white-space: normal; }
.notice { background: #fff8c5; border: 1px solid #d4a72c; border-radius: 8px; padding: 12px 16px; margin-bottom: 20px; }
.badge { display: inline-block; font-size: 12px; padding: 1px 8px; border-radius: 999px; background: #ddf4ff; color: var(--accent); border: 1px solid #b6e3ff; }
.stats { display: grid; grid-template-columns: repeat(auto-fit, minmax(180px, 1fr)); gap: 12px; margin: 12px 0; }
.stat { border: 1px solid var(--line); border-radius: 8px; padding: 10px 14px; }
.stat span { display: block; color: var(--muted); font-size: 13px; }
.stat b { font-size: 22px; }

/* Phones. The header keeps two rows (title and account, then the navigation) instead of wrapping
   item by item into three, and the sessions table turns each row into a small card with its
   button on its first line: a table of six nowrap columns pushed Revoke and Log out off a 390 px screen. */
@media (max-width: 600px) {
  header { display: grid; grid-template-columns: minmax(0, 1fr) auto; gap: 6px 12px; padding: 10px 16px; }
  header strong { grid-area: 1 / 1; margin: 0; font-size: 15px; overflow: hidden; text-overflow: ellipsis; white-space: nowrap; }
  header .account { grid-area: 1 / 2; gap: 10px; }
  header nav { grid-area: 2 / 1 / 3 / 3; gap: 16px; flex-wrap: wrap; }
  main { margin: 16px auto; padding: 0 12px; }
  .card { padding: 16px; }
  h1 { font-size: 24px; }
  .stats { grid-template-columns: repeat(2, minmax(0, 1fr)); }
  #sessions thead { display: none; }
  #sessions, #sessions tbody { display: block; }
  #sessions tr { display: grid; grid-template-columns: minmax(0, 1fr) auto; gap: 2px 12px; align-items: center; padding: 10px 8px; border-bottom: 1px solid var(--line); }
  #sessions td { grid-column: 1 / -1; padding: 0; border: 0; white-space: normal; }
  #sessions td:first-child { grid-column: 1; }
  #sessions td.action { grid-area: 1 / 2; }
  #sessions td:empty { display: none; }
  #sessions td[data-label]::before { content: attr(data-label) ": "; color: var(--muted); }
}
`
