// The dashboard's stylesheet (inlined into the page; the CSP allows exactly this text by hash).

export const DASHBOARD_CSS = `
:root { color-scheme: light dark; --bg: #f6f7f9; --fg: #1b1f24; --muted: #667085; --card: #fff;
  --line: #e4e7ec; --leader: #b54708; --ok: #067647; --bad: #b42318; --accent: #1d4ed8; }
@media (prefers-color-scheme: dark) { :root { --bg: #0f1115; --fg: #e6e8eb; --muted: #98a2b3;
  --card: #171a21; --line: #2a2f3a; --leader: #f79009; --ok: #32d583; --bad: #f97066; --accent: #7aa2ff; } }
* { box-sizing: border-box; }
body { margin: 0; font: 14px/1.45 system-ui, sans-serif; background: var(--bg); color: var(--fg); }
header { display: flex; gap: 12px; align-items: baseline; padding: 14px 20px; border-bottom: 1px solid var(--line); }
header h1 { margin: 0; font-size: 18px; }
.muted { color: var(--muted); }
.pill { border: 1px solid var(--line); border-radius: 999px; padding: 1px 9px; font-size: 12px; }
.pill.live { color: var(--ok); border-color: var(--ok); }
.pill.down { color: var(--bad); border-color: var(--bad); }
main { padding: 16px 20px; display: grid; gap: 16px; }
section { background: var(--card); border: 1px solid var(--line); border-radius: 8px; padding: 12px 14px; }
h2 { margin: 0 0 8px; font-size: 14px; text-transform: uppercase; letter-spacing: .04em; color: var(--muted); }
table { border-collapse: collapse; width: 100%; }
th, td { text-align: left; padding: 5px 8px; border-bottom: 1px solid var(--line); white-space: nowrap; }
th { font-weight: 600; color: var(--muted); font-size: 12px; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
code { font: 12px ui-monospace, monospace; }
a { color: var(--accent); }
.role { font-weight: 600; }
.role-leader, .leader-mark { color: var(--leader); }
.role-replica { color: var(--accent); }
.role-candidate { color: var(--bad); }
.replica { display: inline-block; margin-right: 10px; }
.up { color: var(--ok); } .down { color: var(--bad); }
#chart { width: 100%; height: 160px; display: block; }
#chart .axis { stroke: var(--line); }
h2 .muted { text-transform: none; letter-spacing: 0; font-weight: 400; margin-left: 8px; }
#legend span { margin-right: 14px; font-size: 12px; }
#legend i { display: inline-block; width: 10px; height: 10px; border-radius: 2px; margin-right: 4px; }
#message { color: var(--bad); }
footer { padding: 0 20px 16px; font-size: 12px; }
`;
