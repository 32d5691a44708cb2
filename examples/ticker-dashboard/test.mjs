// The ticker dashboard in headless Chromium against a real broker (SWITCHBOARD_BIN), checked by
// what its user sees: prices update, the indicator shows a cut connection and its return, no
// update is lost across cuts (each row's update count equals what was published), and a gap
// shows a notice with the exact range.
//   node --experimental-websocket examples/ticker-dashboard/test.mjs
// SCREENSHOT=docs/images/ticker-dashboard.png keeps a picture of the page at the end.
import { writeFileSync } from "node:fs";
import { startBroker, startProxy, api, ADMIN } from "../../clients/js/test/helpers.js";
import { launch } from "../../clients/js/test/browser/chromium.mjs";
import { startServer } from "./serve.mjs";
import { startPublisher } from "./publisher.mjs";

const SYMBOLS = ["AAPL", "MSFT", "GOOG", "AMZN"];
const started = Date.now();
const site = await startServer(0);
const broker = await startBroker(["--admin-token", ADMIN, "--allowed-origins", site.url]);
const proxy = await startProxy(broker.url); // the page reaches the broker through it: cuts are real network failures
const pageLog = [];
const browser = await launch({ width: 820, height: 520, log: (l) => (process.env.DEBUG_BROWSER ? console.log(l) : pageLog.push(l)) });
let publisher = null;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** What the page shows: rows, the indicator, the notices. */
const view = () =>
  browser.evaluate(`({
    rows: Object.fromEntries([...document.querySelectorAll("#prices tbody tr")].map((tr) => [tr.dataset.symbol, {
      price: tr.querySelector(".price").textContent,
      updates: Number(tr.querySelector(".updates").textContent),
      seq: Number(tr.querySelector(".seq").textContent),
    }])),
    connection: document.getElementById("connection-text").textContent,
    seen: window.__connectionTexts ?? [],
    notices: [...document.querySelectorAll("#notices .notice")].map((p) => p.textContent),
  })`);

/** @param {(v: any) => boolean} check @param {string} what */
async function until(check, what, ms = 15000) {
  const deadline = Date.now() + ms;
  let v;
  for (;;) {
    v = await view();
    if (check(v)) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}; the page shows ${JSON.stringify(v)}`);
    await sleep(50);
  }
}

let failed = false;
try {
  await browser.goto(`${site.url}/?broker=${encodeURIComponent(proxy.url)}&token=${ADMIN}`);
  await browser.waitFor(`document.getElementById("connection-text")?.textContent.startsWith("live")`, 15000, "the indicator to show live");
  // Every text the indicator shows, as a user watching it would see them.
  await browser.evaluate(`(() => {
    const el = document.getElementById("connection-text");
    window.__connectionTexts = [el.textContent];
    new MutationObserver(() => window.__connectionTexts.push(el.textContent)).observe(el, { childList: true, characterData: true, subtree: true });
  })()`);
  // The broker holds the page's four subscriptions before anything is published.
  for (let t = Date.now(); ; await sleep(50)) {
    const { body } = await api(broker.url, "GET", "/v1/admin/connections");
    if (body.connections.some((c) => SYMBOLS.every((s) => c.subscriptions.includes(`stocks.${s}`)))) break;
    if (Date.now() - t > 10000) throw new Error("the page did not subscribe to the four symbols");
  }

  publisher = startPublisher({ broker: broker.url, token: ADMIN, symbols: SYMBOLS, interval: 30 });
  const first = await until((v) => SYMBOLS.every((s) => v.rows[s].updates >= 3), "prices for every symbol");
  await until((v) => SYMBOLS.some((s) => v.rows[s].price !== first.rows[s].price), "a price to change");
  console.log("✔ prices show and update");

  for (let cut = 1; cut <= 3; cut++) {
    const before = (await view()).seen.length;
    proxy.drop();
    await until((v) => v.seen.slice(before).includes("reconnecting…") && v.connection.startsWith("live"), `the return after cut ${cut}`);
    await sleep(150);
  }
  await publisher.stop();
  const counts = Object.fromEntries(publisher.counts);
  const after = await until((v) => SYMBOLS.every((s) => v.rows[s].updates === counts[s]), `every update published (${JSON.stringify(counts)})`, 10000);
  for (const s of SYMBOLS) if (after.rows[s].seq !== counts[s]) throw new Error(`${s}: last seq ${after.rows[s].seq}, published ${counts[s]}`);
  if (after.notices.length) throw new Error(`notices after cuts that lost nothing: ${after.notices}`);
  console.log(`✔ 3 cuts shown as reconnecting…, then live; every update arrived (${JSON.stringify(counts)}), no notice`);

  // An outage longer than the ring: AAPL keeps 3 events, 10 are published while the page is cut off.
  await api(broker.url, "PUT", "/v1/admin/topics/stocks.AAPL/config", { capacity: 3 });
  proxy.state.refuse = true;
  proxy.drop();
  await until((v) => !v.connection.startsWith("live"), "the indicator to leave live");
  const base = counts.AAPL;
  for (let i = 1; i <= 10; i++) await api(broker.url, "POST", "/v1/topics/stocks.AAPL", { symbol: "AAPL", price: 190 + i / 10 });
  proxy.state.refuse = false;
  const gap = await until((v) => v.connection.startsWith("live") && v.rows.AAPL.seq === base + 10, "the return after the outage");
  const expected = `Missed 7 updates of AAPL (seq ${base + 1}–${base + 7})`;
  if (!gap.notices.some((n) => n.includes(expected))) throw new Error(`no notice "${expected}": ${JSON.stringify(gap.notices)}`);
  if (gap.rows.AAPL.updates !== base + 3 || gap.rows.AAPL.price !== "191.00") throw new Error(`AAPL shows ${JSON.stringify(gap.rows.AAPL)}`);
  console.log(`✔ a gap shows "${expected}…", and the latest price`);

  if (process.env.SCREENSHOT) {
    await sleep(700); // let the last flash fade
    writeFileSync(process.env.SCREENSHOT, await browser.screenshot());
    console.log(`screenshot: ${process.env.SCREENSHOT}`);
  }
} catch (error) {
  failed = true;
  console.log(`✖ ticker dashboard: ${error instanceof Error ? error.message : error}`);
  if (pageLog.length) console.log("the page's console:\n" + pageLog.join("\n"));
} finally {
  await publisher?.stop();
  await browser.close();
  await proxy.close();
  await broker.stop();
  await site.close();
}
console.log(`ticker dashboard: ${failed ? "FAILED" : "passed"} in ${((Date.now() - started) / 1000).toFixed(1)} s`);
process.exitCode = failed ? 1 : 0;
