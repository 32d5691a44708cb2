/// The operators' page at `GET /admin`: one self-contained HTML file (inline CSS and JS,
/// nothing fetched from elsewhere) that reads the admin API once, then follows the stats
/// topic over the broker's own WebSocket.
enum AdminPage {
    /// The whole page.
    static let html = head + body + "<script>\n" + script + "\n</script>\n</body>\n</html>\n"

    private static let head = #"""
    <!doctype html>
    <html lang="en">
    <head>
    <meta charset="utf-8">
    <meta name="viewport" content="width=device-width, initial-scale=1">
    <title>Switchboard · admin</title>
    <style>
    :root {
      --bg: #f5f6f8; --panel: #ffffff; --ink: #1b1f24; --muted: #6b7380; --faint: #9aa1ab; --line: #e4e7eb;
      --accent: #4f46e5; --accent-soft: #eef0ff; --good: #15803d; --warn: #b45309; --bad: #b91c1c;
      --ws: #4f46e5; --poll: #0891b2; --sse: #c026d3;
      --card: #fcfcfd; --head: #fafbfc; --chip: #f1f2f4; --track: #eef0f3; --rule: #f0f1f3; --hover: #fafaff;
      --good-soft: #e7f6ec; --bad-soft: #fdecec; --bad-line: #f3b4b4; --ws-soft: #eef0ff; --poll-soft: #e6f6fa; --sse-soft: #fbeafd;
    }
    @media (prefers-color-scheme: dark) {
      :root {
        --bg: #0f1115; --panel: #171a21; --ink: #e6e8ec; --muted: #9199a6; --faint: #6b7380; --line: #2a2f3a;
        --accent: #818cf8; --accent-soft: #272a4a; --good: #4ade80; --warn: #fbbf24; --bad: #f87171;
        --ws: #a5b4fc; --poll: #67e8f9; --sse: #f0abfc;
        --card: #1b1f27; --head: #1b1f27; --chip: #232834; --track: #2a2f3a; --rule: #222731; --hover: #1d2130;
        --good-soft: #12301f; --bad-soft: #3a1717; --bad-line: #6b2a2a; --ws-soft: #262a4d; --poll-soft: #103540; --sse-soft: #3b1840;
      }
    }
    * { box-sizing: border-box; }
    body { margin: 0; background: var(--bg); color: var(--ink);
      font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif; }
    .num, td.n, th.n { font-variant-numeric: tabular-nums; text-align: right; white-space: nowrap; }
    code, .mono { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; font-size: 12.5px; }
    header { background: var(--panel); border-bottom: 1px solid var(--line); padding: 14px 28px 16px; }
    .titlebar { display: flex; align-items: center; gap: 14px; margin-bottom: 14px; }
    h1 { font-size: 18px; margin: 0; letter-spacing: -0.01em; }
    h1 span { color: var(--muted); font-weight: 400; }
    .pill { font-size: 12px; padding: 2px 10px; border-radius: 999px; background: var(--chip); color: var(--muted); }
    .pill.live { background: var(--good-soft); color: var(--good); }
    .pill.live::before { content: "●"; margin-right: 6px; animation: pulse 2s infinite; }
    .pill.down { background: var(--bad-soft); color: var(--bad); }
    @keyframes pulse { 50% { opacity: .35; } }
    .spacer { flex: 1; }
    .token { display: none; gap: 6px; align-items: center; }
    .token.shown { display: flex; }
    input { font: inherit; padding: 5px 9px; border: 1px solid var(--line); border-radius: 6px; background: var(--panel); color: var(--ink); }
    input:focus { outline: 2px solid var(--accent-soft); border-color: var(--accent); }
    button { font: inherit; font-size: 12.5px; padding: 4px 10px; border-radius: 6px; border: 1px solid var(--line);
      background: var(--panel); color: var(--ink); cursor: pointer; }
    button:hover { border-color: var(--faint); }
    button.danger { color: var(--bad); }
    button.danger:hover { background: var(--bad-soft); border-color: var(--bad-line); }
    .cards { display: grid; grid-template-columns: repeat(6, minmax(0, 1fr)); gap: 12px; }
    .card { border: 1px solid var(--line); border-radius: 10px; padding: 10px 14px; background: var(--card); min-width: 0; }
    .card .label { font-size: 11.5px; text-transform: uppercase; letter-spacing: .06em; color: var(--muted); }
    .card .value { font-size: 22px; font-weight: 600; font-variant-numeric: tabular-nums; letter-spacing: -0.01em; }
    .card .sub { font-size: 12px; color: var(--muted); white-space: nowrap; overflow: hidden; text-overflow: ellipsis; }
    .card svg { display: block; margin-top: 4px; }
    main { padding: 20px 28px 40px; display: grid; gap: 20px; }
    section { background: var(--panel); border: 1px solid var(--line); border-radius: 10px; overflow: hidden; }
    .sechead { display: flex; align-items: center; gap: 12px; padding: 12px 16px; border-bottom: 1px solid var(--line); }
    h2 { font-size: 14px; margin: 0; }
    .count { color: var(--muted); font-size: 12.5px; }
    .scroll { max-height: 46vh; overflow: auto; }
    table { width: 100%; border-collapse: collapse; table-layout: fixed; }
    th { position: sticky; top: 0; background: var(--head); z-index: 1; font-size: 11.5px; font-weight: 600; color: var(--muted);
      text-transform: uppercase; letter-spacing: .05em; text-align: left; padding: 8px 12px; border-bottom: 1px solid var(--line); }
    td { padding: 7px 12px; border-bottom: 1px solid var(--rule); overflow: hidden; text-overflow: ellipsis; white-space: nowrap; vertical-align: middle; }
    tr:last-child td { border-bottom: 0; }
    tbody tr:hover { background: var(--hover); }
    td.name { font-weight: 500; }
    td.act { overflow: visible; padding-left: 4px; }
    .sys { font-size: 10.5px; color: var(--muted); border: 1px solid var(--line); border-radius: 4px; padding: 0 5px; margin-left: 6px; font-weight: 400; }
    .bar { height: 6px; background: var(--track); border-radius: 3px; overflow: hidden; margin-top: 3px; }
    .bar > i { display: block; height: 100%; background: var(--accent); border-radius: 3px; transition: width .4s; }
    .subs { display: inline-flex; gap: 4px; }
    .tag { font-size: 11.5px; border-radius: 4px; padding: 1px 6px; background: var(--chip); color: var(--muted); font-variant-numeric: tabular-nums; }
    .tag.ws { background: var(--ws-soft); color: var(--ws); } .tag.poll { background: var(--poll-soft); color: var(--poll); } .tag.sse { background: var(--sse-soft); color: var(--sse); }
    .tag.zero { opacity: .45; }
    .muted { color: var(--muted); } .warn { color: var(--warn); } .bad { color: var(--bad); }
    .empty { padding: 26px; text-align: center; color: var(--muted); }
    .qual { text-transform: none; letter-spacing: 0; font-weight: 400; color: var(--faint); }
    .auth { display: none; padding: 16px 20px; border-color: var(--accent); }
    .auth.shown { display: block; }
    .auth h2 { margin-bottom: 6px; } .auth p { margin: 4px 0; }
    .spark path { fill: none; stroke: var(--accent); stroke-width: 1.5; }
    .spark path.area { fill: var(--accent-soft); stroke: none; }
    #toast { position: fixed; right: 20px; bottom: 20px; background: var(--ink); color: var(--bg); padding: 8px 14px; border-radius: 8px;
      font-size: 13px; opacity: 0; transition: opacity .3s; pointer-events: none; }
    #toast.shown { opacity: .92; }
    footer { color: var(--faint); font-size: 12px; padding: 0 28px 24px; }
    @media (max-width: 1100px) { .cards { grid-template-columns: repeat(3, minmax(0, 1fr)); } }
    </style>
    </head>

    """#

    private static let body = #"""
    <body data-live-updates="0">
    <header>
      <div class="titlebar">
        <h1>Switchboard <span>admin</span></h1>
        <span id="status" class="pill">connecting…</span>
        <span class="muted" id="version"></span>
        <div class="spacer"></div>
        <form class="token" id="tokenForm"><input id="tokenInput" type="password" placeholder="admin token" size="28"><button>Use token</button></form>
      </div>
      <div class="cards">
        <div class="card"><div class="label">Uptime</div><div class="value" id="uptime">–</div><div class="sub" id="started">&nbsp;</div></div>
        <div class="card"><div class="label">Topics</div><div class="value" id="topicsCount">–</div><div class="sub" id="buffered">&nbsp;</div></div>
        <div class="card"><div class="label">Connections</div><div class="value" id="connCount">–</div><div class="sub" id="connSplit">&nbsp;</div></div>
        <div class="card" title="Events published in the last second, all topics"><div class="label">Published / s <span class="qual">last second</span></div><div class="value" id="pubRate">–</div><svg class="spark" id="pubSpark" width="100%" height="22" viewBox="0 0 120 22" preserveAspectRatio="none"></svg></div>
        <div class="card"><div class="label">Delivered / s</div><div class="value" id="delRate">–</div><div class="sub" id="delTotal">&nbsp;</div></div>
        <div class="card"><div class="label">Sent / s</div><div class="value" id="sentRate">–</div><div class="sub" id="sentSub">&nbsp;</div></div>
      </div>
    </header>
    <main>
      <section class="auth" id="authPrompt" role="alert">
        <h2>Admin token needed</h2>
        <p id="authReason">This broker asks for credentials.</p>
        <p>Enter the admin token (<code>--admin-token</code>, or a JWT whose <code>switchboard</code> claim has
          <code>"admin":true</code>) in the field at the top right, or open <code>/admin?token=TOKEN</code>.</p>
      </section>
      <section>
        <div class="sechead"><h2>Topics</h2><span class="count" id="topicsNote"></span><div class="spacer"></div>
          <input id="filter" placeholder="Filter topics" size="24"></div>
        <div class="scroll"><table id="topics">
          <colgroup><col style="width:24%"><col style="width:15%"><col style="width:9%"><col style="width:15%"><col style="width:9%"><col style="width:14%"><col style="width:9%"><col style="width:92px"></colgroup>
          <thead><tr><th>Topic</th><th class="n" title="Events published per second, averaged over the last minute">Rate / s <span class="qual">1-min avg</span></th><th class="n">Seq</th><th class="n">Buffered</th><th class="n">Bytes</th><th>Subscribers</th><th>Epoch</th><th></th></tr></thead>
          <tbody></tbody></table><div class="empty" id="topicsEmpty">No topics yet.</div></div>
      </section>
      <section>
        <div class="sechead"><h2>Connections</h2><span class="count" id="connNote"></span></div>
        <div class="scroll"><table id="connections">
          <colgroup><col style="width:7%"><col style="width:12%"><col style="width:15%"><col style="width:32%"><col style="width:10%"><col style="width:7%"><col style="width:9%"><col style="width:84px"></colgroup>
          <thead><tr><th class="n">Id</th><th>Transport</th><th>Remote</th><th>Subscriptions</th><th class="n">Queued</th><th class="n">Gaps</th><th class="n">Age</th><th></th></tr></thead>
          <tbody></tbody></table><div class="empty" id="connEmpty">No connections.</div></div>
      </section>
    </main>
    <footer>Live over <code>/v1/ws</code>, topic <code>_switchboard.stats</code> · <span id="lastUpdate">no update yet</span> · <span id="liveCount">0</span> live updates</footer>
    <div id="toast"></div>

    """#
}
