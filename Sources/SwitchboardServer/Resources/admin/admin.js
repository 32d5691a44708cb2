"use strict";
const STATS_TOPIC = "_switchboard.stats";
const params = new URLSearchParams(location.search);
let token = params.get("token") || sessionStorage.getItem("switchboard.token") || "";
const $ = (id) => document.getElementById(id);
const state = { totals: [], liveUpdates: 0, ws: null, retry: 500, last: null, needToken: false };

// ---- formatting ----
const nf = new Intl.NumberFormat("en-US");
const fmtInt = (n) => nf.format(n);
function fmtRate(r) { return r >= 100 ? nf.format(Math.round(r)) : r >= 10 ? r.toFixed(1) : r.toFixed(2); }
function fmtBytes(b) {
  const units = ["B", "KiB", "MiB", "GiB", "TiB"]; let i = 0;
  while (b >= 1024 && i < units.length - 1) { b /= 1024; i++; }
  return (i === 0 ? String(Math.round(b)) : b.toFixed(b >= 100 ? 0 : 1)) + " " + units[i];
}
function fmtAge(seconds) {
  seconds = Math.max(0, Math.floor(seconds));
  const d = Math.floor(seconds / 86400), h = Math.floor(seconds % 86400 / 3600), m = Math.floor(seconds % 3600 / 60), s = seconds % 60;
  if (d) return d + "d " + h + "h"; if (h) return h + "h " + m + "m"; if (m) return m + "m " + s + "s"; return s + "s";
}
function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) { if (k === "class") node.className = v; else node.setAttribute(k, v); }
  for (const c of children) node.append(c);
  return node;
}
function toast(text) { const t = $("toast"); t.textContent = text; t.classList.add("shown"); clearTimeout(toast.timer); toast.timer = setTimeout(() => t.classList.remove("shown"), 2500); }
function sparkPath(values, w, h) {
  if (values.length < 2) return "";
  const max = Math.max(1e-9, ...values), step = w / (values.length - 1);
  return values.map((v, i) => (i ? "L" : "M") + (i * step).toFixed(1) + " " + (h - 1 - (v / max) * (h - 2)).toFixed(1)).join(" ");
}
function spark(svg, values, w, h) {
  const line = sparkPath(values, w, h);
  svg.innerHTML = line ? `<path class="area" d="${line} L${w} ${h} L0 ${h} Z"></path><path d="${line}"></path>` : "";
}

// ---- HTTP ----
async function api(method, path) {
  const headers = token ? { Authorization: "Bearer " + token } : {};
  const response = await fetch(path, { method, headers });
  if (response.status === 401 || response.status === 403) {
    needToken(response.status === 403 ? "This token does not allow the admin API (403 forbidden)."
      : token ? "The token was refused (401 unauthorized)." : "This broker asks for an admin token (401 unauthorized).");
    throw new Error("admin token needed");
  }
  if (!response.ok) { let msg = response.status + ""; try { msg = (await response.json()).error.message; } catch (e) {} throw new Error(msg); }
  return response.status === 204 ? null : response.json();
}
// Without admin credentials the page has nothing to show: it asks for the token instead.
function needToken(reason) {
  state.needToken = true;
  $("tokenForm").classList.add("shown"); $("authPrompt").classList.add("shown"); $("authReason").textContent = reason;
  $("topicsEmpty").textContent = "Enter the admin token to see topics."; $("connEmpty").textContent = "Enter the admin token to see connections.";
  setStatus("down", "admin token needed");
}
async function loadOnce() {
  try {
    const [stats, topics, connections] = await Promise.all([api("GET", "/v1/admin/stats"), api("GET", "/v1/admin/topics"), api("GET", "/v1/admin/connections")]);
    render({ ts: Date.now() * 1000, stats, topics: topics.topics, connections: connections.connections,
             totals: { topics: topics.topics.length, connections: connections.connections.length } }, "http");
  } catch (e) { if (!state.needToken) setStatus("down", e.message); }
}

// ---- WebSocket: the stats topic, binary frames decoded by hand ----
function decodeFrame(buffer) {
  const view = new DataView(buffer); let at = 0;
  const flags = view.getUint8(at); at += 1;
  if (flags & 1) throw new Error("compressed frame on a plain connection");
  const topicLength = view.getUint16(at); at += 2;
  const topic = new TextDecoder().decode(new Uint8Array(buffer, at, topicLength)); at += topicLength;
  const firstSeq = Number(view.getBigUint64(at)); at += 8;
  const count = view.getUint32(at); at += 4;
  const events = [];
  for (let i = 0; i < count; i++) {
    const ts = Number(view.getBigInt64(at)); at += 8;
    const length = view.getUint32(at); at += 4;
    events.push({ seq: firstSeq + i, ts, payload: new Uint8Array(buffer, at, length) }); at += length;
  }
  return { topic, events };
}
function connect() {
  const url = new URL("/v1/ws", location.href);
  url.protocol = location.protocol === "https:" ? "wss:" : "ws:";
  if (token) url.searchParams.set("token", token);
  const ws = new WebSocket(url, ["switchboard.v1"]);
  ws.binaryType = "arraybuffer";
  state.ws = ws;
  ws.onopen = () => { state.retry = 500; ws.send(JSON.stringify({ op: "subscribe", topic: STATS_TOPIC, last: 1, id: "stats" })); };
  ws.onmessage = (message) => {
    if (typeof message.data === "string") {
      const control = JSON.parse(message.data);
      if (control.type === "subscribed") setStatus("live", "live");
      else if (control.type === "deleted") ws.send(JSON.stringify({ op: "subscribe", topic: STATS_TOPIC, id: "stats" }));
      else if (control.type === "error") setStatus("down", control.message);
      return;
    }
    const frame = decodeFrame(message.data);
    if (frame.topic !== STATS_TOPIC || !frame.events.length) return;
    const newest = frame.events[frame.events.length - 1];
    render(JSON.parse(new TextDecoder().decode(newest.payload)), "ws");
  };
  ws.onclose = (event) => {
    if (!state.needToken) setStatus("down", event.code === 1008 ? "closed by an operator" : "disconnected");
    state.retry = Math.min(state.retry * 2, 8000);
    setTimeout(connect, state.retry);
  };
}
function setStatus(kind, text) { const s = $("status"); s.className = "pill " + kind; s.textContent = text; }

// ---- rendering ----
function remember(snapshot) {
  const now = snapshot.ts / 1e6;
  const s = snapshot.stats;
  state.totals.push([now, s.events_published_total, s.events_delivered_total, s.bytes_sent_total, s.bytes_sent_uncompressed_total]);
  if (state.totals.length > 61) state.totals.shift();
}
function rates(points, index) {
  const out = [];
  for (let i = 1; i < points.length; i++) {
    const dt = points[i][0] - points[i - 1][0];
    out.push(dt > 0 ? Math.max(0, points[i][index] - points[i - 1][index]) / dt : 0);
  }
  return out;
}
function render(snapshot, source) {
  state.last = { snapshot, source };
  if (source === "ws") {
    state.liveUpdates++;
    document.body.dataset.liveUpdates = String(state.liveUpdates);
    $("liveCount").textContent = String(state.liveUpdates);
    $("lastUpdate").textContent = "updated " + new Date(snapshot.ts / 1000).toLocaleTimeString();
    remember(snapshot);
  }
  renderHeader(snapshot);
  renderTopics(snapshot, source);
  renderConnections(snapshot, source);
}
function renderHeader(snapshot) {
  const s = snapshot.stats, c = s.connections;
  $("version").textContent = "v" + s.version;
  $("uptime").textContent = fmtAge(s.uptime_seconds);
  const started = new Date(snapshot.ts / 1000 - s.uptime_seconds * 1000);
  $("started").textContent = "since " + (started.toDateString() === new Date().toDateString() ? started.toLocaleTimeString() : started.toLocaleString());
  $("topicsCount").textContent = fmtInt(s.topics);
  const buffered = snapshot.topics.reduce((sum, t) => sum + t.buffered_bytes, 0);
  $("buffered").textContent = fmtBytes(buffered) + " buffered";
  $("connCount").textContent = fmtInt(c.ws + c.poll + c.sse);
  $("connSplit").textContent = `ws ${c.ws} · poll ${c.poll} · sse ${c.sse}`;
  const delivered = rates(state.totals, 2), sent = rates(state.totals, 3);
  const lastOf = (a) => a.length ? a[a.length - 1] : null;
  // Per-second publishes of every topic but the broker's own, summed from the snapshot's histories.
  const published = [];
  for (const t of snapshot.topics) {
    if (t.name.startsWith("_switchboard.") || !t.rate_history) continue;
    t.rate_history.forEach((n, i) => { published[i] = (published[i] || 0) + n; });
  }
  $("pubRate").textContent = published.length ? fmtInt(published[published.length - 1]) : "–";
  spark($("pubSpark"), published, 120, 22);
  $("delRate").textContent = lastOf(delivered) === null ? "–" : fmtRate(lastOf(delivered));
  $("delTotal").textContent = fmtInt(s.events_delivered_total) + " total · " + fmtInt(s.gaps_total) + " gaps";
  $("sentRate").textContent = lastOf(sent) === null ? "–" : fmtBytes(lastOf(sent));
  const ratio = s.bytes_sent_total > 0 ? s.bytes_sent_uncompressed_total / s.bytes_sent_total : 1;
  $("sentSub").textContent = fmtBytes(s.bytes_sent_total) + " total" + (ratio > 1.01 ? " · zstd ×" + ratio.toFixed(1) : "");
}
function topicRow(name) {
  const row = el("tr", { "data-topic": name });
  const nameCell = el("td", { class: "name", title: name }, name);
  if (name.startsWith("_switchboard.")) nameCell.append(el("span", { class: "sys" }, "system"));
  const rate = el("td", { class: "n" }, el("span", { class: "rate" }), " ", el("span", {}, ""));
  rate.lastChild.innerHTML = '<svg class="spark" width="60" height="16" viewBox="0 0 60 16" style="vertical-align:middle"></svg>';
  const del = el("button", { class: "danger" }, "Delete");
  del.onclick = async () => {
    if (!confirm(`Delete topic "${name}"?\nIts subscribers are told "deleted"; its next use starts a new epoch.`)) return;
    try { await api("DELETE", "/v1/admin/topics/" + encodeURIComponent(name)); toast("Deleted " + name); row.remove(); }
    catch (e) { toast("Not deleted: " + e.message); }
  };
  row.append(nameCell, rate, el("td", { class: "n seq" }), el("td", { class: "n buf" }), el("td", { class: "n bytes" }),
             el("td", { class: "subs-cell" }), el("td", { class: "epoch mono muted" }), el("td", { class: "n act" }, del));
  return row;
}
function renderTopics(snapshot, source) {
  const tbody = document.querySelector("#topics tbody");
  const filter = $("filter").value.trim();
  const shown = snapshot.topics.filter((t) => !filter || t.name.includes(filter));
  const rows = new Map([...tbody.children].map((r) => [r.dataset.topic, r]));
  let previous = null;
  for (const t of shown) {
    let row = rows.get(t.name);
    if (!row) row = topicRow(t.name);
    rows.delete(t.name);
    if ((previous ? previous.nextSibling : tbody.firstChild) !== row) tbody.insertBefore(row, previous ? previous.nextSibling : tbody.firstChild);
    previous = row;
    const cells = row.children;
    const perSecond = t.rate_history || [];
    cells[1].firstChild.textContent = fmtRate(t.publish_rate) + "/s";
    cells[1].firstChild.title = perSecond.length ? "last second: " + fmtInt(perSecond[perSecond.length - 1]) + " events" : "";
    spark(cells[1].querySelector("svg"), perSecond, 60, 16);
    cells[2].textContent = fmtInt(t.seq);
    const fill = Math.min(100, 100 * t.buffered_events / t.limits.capacity);
    cells[3].innerHTML = `${fmtInt(t.buffered_events)} <span class="muted">/ ${fmtInt(t.limits.capacity)}</span><div class="bar"><i style="width:${fill.toFixed(1)}%"></i></div>`;
    cells[3].title = `oldest seq ${t.oldest_seq}; limits: ${t.limits.capacity} events, ${fmtBytes(t.limits.max_bytes)}, ttl ${t.limits.ttl_seconds ? t.limits.ttl_seconds + " s" : "none"}`;
    cells[4].textContent = fmtBytes(t.buffered_bytes);
    const sub = t.subscribers;
    cells[5].innerHTML = ["ws", "poll", "sse"].map((k) => `<span class="tag ${k}${sub[k] ? "" : " zero"}">${k} ${sub[k]}</span>`).join(" ");
    cells[6].textContent = t.epoch; cells[6].title = t.epoch;
    row.dataset.source = source;
  }
  for (const stale of rows.values()) stale.remove();
  $("topicsEmpty").style.display = shown.length ? "none" : "block";
  const total = snapshot.totals ? snapshot.totals.topics : snapshot.topics.length;
  $("topicsNote").textContent = total > snapshot.topics.length ? `the ${snapshot.topics.length} busiest of ${fmtInt(total)}` : fmtInt(total) + (total === 1 ? " topic" : " topics");
}
function connectionRow(id) {
  const row = el("tr", { "data-connection": String(id) });
  const close = el("button", { class: "danger" }, "Close");
  close.onclick = async () => {
    if (!confirm(`Close connection ${id}?\nA WebSocket is closed with 1008.`)) return;
    try { await api("DELETE", "/v1/admin/connections/" + id); toast("Closed connection " + id); row.remove(); }
    catch (e) { toast("Not closed: " + e.message); }
  };
  row.append(el("td", { class: "n mono" }, String(id)), el("td"), el("td", { class: "mono" }), el("td"), el("td", { class: "n" }),
             el("td", { class: "n" }), el("td", { class: "n" }), el("td", { class: "n act" }, close));
  return row;
}
function renderConnections(snapshot, source) {
  const tbody = document.querySelector("#connections tbody");
  const rows = new Map([...tbody.children].map((r) => [r.dataset.connection, r]));
  let previous = null;
  for (const c of snapshot.connections) {
    let row = rows.get(String(c.id));
    if (!row) row = connectionRow(c.id);
    rows.delete(String(c.id));
    if ((previous ? previous.nextSibling : tbody.firstChild) !== row) tbody.insertBefore(row, previous ? previous.nextSibling : tbody.firstChild);
    previous = row;
    const cells = row.children;
    cells[1].innerHTML = `<span class="tag ${c.transport}">${c.transport}</span>` + (c.subscriptions.includes(STATS_TOPIC) ? ' <span class="sys">admin</span>' : "");
    cells[2].textContent = c.remote; cells[2].title = c.remote;
    cells[3].textContent = c.subscriptions.length ? c.subscriptions.join(", ") : "—"; cells[3].title = c.subscriptions.join("\n");
    cells[4].textContent = fmtBytes(c.queued_bytes); cells[4].className = "n" + (c.queued_bytes > 1048576 ? " warn" : "");
    cells[5].textContent = fmtInt(c.gaps); cells[5].className = "n" + (c.gaps > 0 ? " bad" : " muted");
    cells[6].textContent = fmtAge(snapshot.ts / 1e6 - c.connected_at / 1e6); cells[6].title = new Date(c.connected_at / 1000).toLocaleString();
    row.dataset.source = source;
  }
  for (const stale of rows.values()) stale.remove();
  $("connEmpty").style.display = snapshot.connections.length ? "none" : "block";
  const total = snapshot.totals ? snapshot.totals.connections : snapshot.connections.length;
  $("connNote").textContent = total > snapshot.connections.length ? `the ${snapshot.connections.length} oldest of ${fmtInt(total)}` : fmtInt(total) + " open";
}

$("filter").addEventListener("input", () => { if (state.last) renderTopics(state.last.snapshot, state.last.source); });
$("tokenForm").addEventListener("submit", (event) => {
  event.preventDefault(); token = $("tokenInput").value.trim(); sessionStorage.setItem("switchboard.token", token);
  state.needToken = false; $("authPrompt").classList.remove("shown");
  $("topicsEmpty").textContent = "No topics yet."; $("connEmpty").textContent = "No connections.";
  $("tokenForm").classList.remove("shown"); loadOnce(); if (state.ws) state.ws.close();
});
loadOnce();
connect();
