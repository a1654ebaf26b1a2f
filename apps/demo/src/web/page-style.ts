/** The live page's stylesheet (inlined by page.ts, allowed by its hash in the CSP). */
export const STYLE = `
:root {
  --bg: #f6f7f9; --card: #ffffff; --ink: #1b1f24; --muted: #5b6470; --line: #d9dde3;
  --accent: #1f5fbf; --ok: #1d7a3a; --warn: #a15c00; --bad: #b3261e;
  --mono: ui-monospace, "DejaVu Sans Mono", Menlo, Consolas, monospace;
}
* { box-sizing: border-box; }
body { margin: 0; background: var(--bg); color: var(--ink);
  font: 14px/1.45 system-ui, "DejaVu Sans", "Segoe UI", sans-serif; }
header { display: flex; align-items: baseline; gap: 16px; flex-wrap: wrap;
  padding: 14px 24px; background: var(--card); border-bottom: 1px solid var(--line); }
header h1 { font-size: 18px; margin: 0; }
header p { margin: 0; color: var(--muted); }
#status { margin-left: auto; font-weight: 600; }
#status[data-state="live"] { color: var(--ok); }
#status[data-state="down"] { color: var(--bad); }
#health { margin: 16px 24px 0; max-width: 1232px; padding: 10px 16px; border-radius: 8px; font-weight: 600;
  background: #fdecea; border: 1px solid #e3a9a5; color: var(--bad); }
#health[hidden] { display: none; }
.alerts { list-style: none; margin: 0; padding: 0; font-size: 13px; }
.alerts li { padding: 3px 0; border-bottom: 1px solid var(--line); }
.alerts li.alert b { color: var(--bad); }
.alerts li.clear b { color: var(--ok); }
.machine { font-weight: 400; color: var(--muted); }
#alerter-state[data-state="alerting"] { color: var(--bad); font-weight: 700; }
main { padding: 16px 24px 32px; display: grid; grid-template-columns: minmax(0, 1fr); gap: 16px; max-width: 1280px; }
section { background: var(--card); border: 1px solid var(--line); border-radius: 8px; padding: 12px 16px; }
section > h2 { font-size: 15px; margin: 0 0 10px; display: flex; align-items: center; gap: 12px; }
section > h2 .hint { font-weight: 400; color: var(--muted); font-size: 13px; }
.charts { display: grid; grid-template-columns: repeat(auto-fit, minmax(210px, 1fr)); gap: 12px; }
figure { margin: 0; border: 1px solid var(--line); border-radius: 6px; padding: 8px 10px 6px; }
figcaption { display: flex; justify-content: space-between; align-items: baseline; color: var(--muted); }
figcaption output { font: 600 20px var(--mono); color: var(--ink); }
figcaption output small { font-size: 12px; font-weight: 400; color: var(--muted); }
svg.chart { display: block; width: 100%; height: 64px; margin-top: 4px; overflow: visible; }
svg.chart .grid { stroke: var(--line); stroke-width: 1; }
svg.chart .area { stroke: none; opacity: 0.12; }
svg.chart .line { fill: none; stroke-width: 1.75; stroke-linejoin: round; }
svg.chart .dot { stroke-width: 6; stroke-linecap: round; }

.axis { display: flex; justify-content: space-between; font: 11px var(--mono); color: var(--muted); }
.scroll { overflow-x: auto; }
/* The tree: nested lists whose rows share one column grid (the name column shrinks as it nests). */
.tree, .tree ul { list-style: none; margin: 0; padding: 0; font-family: var(--mono); font-size: 13px; }
.tree ul { margin-left: 9px; padding-left: 12px; border-left: 1px dashed #c3c9d2; }
.row { --depth: 0; display: grid; align-items: center; column-gap: 8px; padding: 3px 6px; border-radius: 4px;
  grid-template-columns: calc(230px - var(--depth) * 22px) 92px 96px repeat(4, 78px) minmax(170px, 1fr); }
@media (max-width: 1000px) {
  /* Sized to fit a 760 px window without scrolling the tree (see the browser test). */
  .row { column-gap: 6px;
    grid-template-columns: calc(150px - var(--depth) * 22px) 76px 76px repeat(4, 52px) minmax(128px, 1fr); }
  .row.head { font-size: 11px; }
  .actions button { padding: 3px 7px; }
  header, main { padding-left: 12px; padding-right: 12px; }
  #health { margin-left: 12px; margin-right: 12px; }
}
.tree .row:hover { background: #f0f3f7; }
.row.head { font: 600 12px system-ui, "DejaVu Sans", sans-serif; color: var(--muted);
  border-bottom: 1px solid var(--line); border-radius: 0; margin-bottom: 4px; }
.num { text-align: right; font-variant-numeric: tabular-nums; }
.name { font-weight: 700; overflow: hidden; text-overflow: ellipsis; white-space: nowrap; }
.badge { justify-self: start; font-size: 11px; padding: 0 7px; border-radius: 9px; border: 1px solid var(--line);
  color: var(--muted); }
.st-running { color: var(--ok); border-color: #a9d5b6; }
.st-suspended { color: var(--warn); border-color: #e5c48f; }
.st-stopping, .st-stopped { color: var(--bad); border-color: #e3a9a5; }
.num.hot { color: var(--bad); font-weight: 700; }
.actions { display: flex; gap: 6px; justify-content: flex-end; }
button { font: 12px system-ui, "DejaVu Sans", sans-serif; padding: 3px 10px; border-radius: 5px; white-space: nowrap;
  border: 1px solid #b7bec8; background: #fff; color: var(--ink); cursor: pointer; }
button:hover { background: #eef2f7; }
button:focus-visible { outline: 2px solid var(--accent); outline-offset: 1px; }
button.danger { border-color: #e3a9a5; color: var(--bad); }
button[aria-pressed="true"] { background: #fff4e0; border-color: #e5c48f; color: var(--warn); }
.tree ul.subs { margin: 0 0 4px 9px; padding: 0 0 0 12px; border-left: 1px dashed #c3c9d2; color: var(--muted);
  font-size: 12px; }
.subs b { color: var(--ink); font-weight: 600; }
.controls { display: flex; gap: 12px; align-items: center; flex-wrap: wrap; margin-bottom: 8px; }
#result { color: var(--muted); font-size: 13px; }
#result[data-ok="false"] { color: var(--bad); }
table { width: 100%; border-collapse: collapse; font-size: 12px; }
th, td { text-align: left; padding: 4px 6px; border-bottom: 1px solid var(--line); vertical-align: top; }
th { color: var(--muted); font-weight: 600; }
td.msg { font-family: var(--mono); max-width: 0; width: 55%; overflow: hidden; text-overflow: ellipsis;
  white-space: nowrap; }
td.count { text-align: right; font-variant-numeric: tabular-nums; }
.dl { max-height: 320px; overflow: auto; }
.empty { color: var(--muted); font-style: italic; }
.sr-only { position: absolute; width: 1px; height: 1px; overflow: hidden; clip-path: inset(50%); white-space: nowrap; }
`;
