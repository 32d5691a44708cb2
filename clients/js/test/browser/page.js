// Runs the shared cases in this page against the broker named by the driver's /config.json; the
// driver (run.mjs) reads window.__results. Connections are cut through the driver's proxy by
// asking the driver (/control/*), as the page itself cannot reach into the network.
import { runAll } from "../shared/cases.js";

const config = await (await fetch("/config.json")).json();
/** @param {string} path */
const control = async (path) => {
  const r = await fetch(`/control/${path}`, { method: "POST" });
  if (!r.ok) throw new Error(`control ${path}: HTTP ${r.status}`);
};
/** @type {import("../shared/cases.js").Env} */
const env = {
  url: config.proxy,
  direct: config.broker,
  token: config.token,
  drop: () => control("drop"),
  blockWebSocket: (on) => control(on ? "block-websocket" : "allow-websocket"),
  deflate: config.deflate,
};
const list = /** @type {HTMLElement} */ (document.getElementById("results"));
const status = /** @type {HTMLElement} */ (document.getElementById("status"));
const filter = new URLSearchParams(location.search).get("filter") ?? undefined;
const results = await runAll(env, {
  filter,
  report(r) {
    const li = document.createElement("li");
    li.className = r.ok ? "pass" : "fail";
    li.textContent = `${r.name} (${r.ms} ms)`;
    if (r.error) {
      const pre = document.createElement("pre");
      pre.textContent = r.error;
      li.append(pre);
    }
    list.append(li);
    console.log(`${r.ok ? "ok" : "FAILED"} ${r.name} (${r.ms} ms)${r.error ? "\n" + r.error : ""}`);
  },
});
const failed = results.filter((r) => !r.ok).length;
status.textContent = failed ? `${failed} of ${results.length} failed` : `all ${results.length} passed`;
/** @type {any} */ (window).__results = { done: true, results, userAgent: navigator.userAgent };
