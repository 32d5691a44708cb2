// The client's tests that run unchanged in Node (test/shared.test.js) and in headless Chromium
// (test/browser/index.html, driven by test/browser/run.mjs): only the client, fetch and the
// environment the runner gives. Each case takes that environment and throws on failure.
import { Client, SwitchboardError } from "../../switchboard.js";

/**
 * @typedef {object} Env
 * @property {string} url the broker through a TCP proxy that can cut connections
 * @property {string} direct the broker itself (the publisher and admin calls use it)
 * @property {string} token the broker's admin token
 * @property {() => Promise<void>} drop cuts every connection through the proxy, as a network failure does
 * @property {(on: boolean) => Promise<void>} blockWebSocket makes the proxy refuse WebSocket upgrades (plain HTTP still passes)
 * @property {boolean} [deflate] the platform's WebSocket offers permessage-deflate (browsers do)
 */

/** @typedef {{ kind: string, seq?: number, text?: string, from?: number, to?: number, epoch?: string | null }} Entry */

export const sleep = (/** @type {number} */ ms) => new Promise((r) => setTimeout(r, ms));

/**
 * Waits until `check()` is truthy; throws after `ms`, saying what it waited for.
 * @param {() => any} check
 * @param {number} [ms]
 * @param {string | (() => string)} [what]
 */
export async function until(check, ms = 10000, what = "condition") {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await check();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${typeof what === "function" ? what() : what}`);
    await sleep(20);
  }
}

/**
 * @param {any} actual
 * @param {any} expected
 * @param {string} [message]
 */
function same(actual, expected, message = "") {
  const a = JSON.stringify(actual);
  const e = JSON.stringify(expected);
  if (a !== e) throw new Error(`${message ? message + ": " : ""}expected ${e}, got ${a}`);
}

/**
 * @param {any} condition
 * @param {string} message
 */
function ok(condition, message) {
  if (!condition) throw new Error(message);
}

let counter = 0;
const run = Math.random().toString(36).slice(2, 8);
/** @param {string} prefix */
const topicName = (prefix) => `${prefix}.${run}.${counter++}`;

/**
 * Records a subscription's callbacks in order, as the application sees them.
 * @param {import("../../switchboard.js").Subscription} sub
 */
function record(sub) {
  /** @type {Entry[]} */
  const log = [];
  sub.on("event", (/** @type {any} */ e) => log.push({ kind: "event", seq: e.seq, text: e.text() }));
  sub.on("gap", (/** @type {any} */ g) => log.push({ kind: "gap", from: g.from, to: g.to }));
  sub.on("reset", (/** @type {any} */ r) => log.push({ kind: "reset", epoch: r.epoch }));
  sub.on("deleted", () => log.push({ kind: "deleted" }));
  return log;
}

/** @param {Entry[]} log */
const events = (log) => log.filter((x) => x.kind === "event");
/** @param {Entry[]} log the texts of events, other entries as they are */
const shown = (log) => log.map((x) => (x.kind === "event" ? x.text : x));

/**
 * The admin API over fetch.
 * @param {Env} env
 * @param {string} method
 * @param {string} path
 * @param {any} [body]
 */
async function api(env, method, path, body) {
  /** @type {Record<string, string>} */
  const headers = { Authorization: `Bearer ${env.token}` };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  const r = await fetch(env.direct + path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  const text = await r.text();
  return { status: r.status, body: text ? JSON.parse(text) : null };
}

/** A WebSocket that never connects: what a page behind a proxy that drops WebSocket sees. */
class FailingWebSocket {
  /** @param {string} url */
  constructor(url) {
    this.url = url;
    this.protocol = "";
    this.binaryType = "arraybuffer";
    /** @type {any} */ this.onopen = null;
    /** @type {any} */ this.onmessage = null;
    /** @type {any} */ this.onerror = null;
    /** @type {any} */ this.onclose = null;
    setTimeout(() => {
      this.onerror?.({ type: "error" });
      this.onclose?.({ code: 1006, reason: "" });
    }, 5);
  }
  send() {
    throw new Error("not open");
  }
  close() {}
}

/**
 * Every case, by name. Each gets the environment and a `client(options, url = env.direct)`
 * maker whose clients the runner closes afterwards.
 * @type {Array<[string, (env: Env, client: (options?: object, url?: string) => Client) => Promise<void>]>}
 */
export const cases = [
  ["subscribe and receive: text, JSON and bytes, in order, with the position", async (env, client) => {
    const publisher = new Client(env.direct, { token: env.token });
    const c = client();
    const topic = topicName("r");
    const sub = c.subscribe(topic);
    /** @type {any[]} */
    const got = [];
    sub.on("event", (/** @type {any} */ e) => got.push(e));
    c.connect();
    await until(() => sub.status === "active", 10000, "subscribed");
    same(c.transport, "websocket");
    const receipt = await publisher.publish(topic, { price: 1.5 });
    await publisher.publish(topic, "two");
    await publisher.publish(topic, new Uint8Array([0, 1, 2, 255]));
    await until(() => got.length === 3, 10000, "three events");
    same(got[0].json(), { price: 1.5 });
    same(got[1].text(), "two");
    same([...got[2].data], [0, 1, 2, 255]);
    same(got.map((e) => e.seq), [1, 2, 3]);
    ok(got[0].data instanceof Uint8Array, "data is a Uint8Array");
    same(sub.position, { epoch: receipt.epoch, seq: 3 });
  }],

  ["many topics on one connection, and unsubscribe", async (env, client) => {
    const publisher = new Client(env.direct, { token: env.token });
    const c = client();
    const topics = [topicName("m"), topicName("m"), topicName("m")];
    const logs = topics.map((t) => record(c.subscribe(t)));
    c.connect();
    await until(() => [...c.subscriptions.values()].every((s) => s.status === "active"), 10000, "subscribed");
    for (let i = 0; i < 3; i++) for (const t of topics) await publisher.publish(t, `${t}:${i}`);
    await until(() => logs.every((l) => l.length === 3), 10000, "every topic's events");
    logs.forEach((log, k) => same(shown(log), [0, 1, 2].map((i) => `${topics[k]}:${i}`)));
    c.subscriptions.get(topics[0])?.unsubscribe();
    await publisher.publish(topics[0], "after");
    await publisher.publish(topics[1], "after");
    await until(() => logs[1].length === 4, 10000, "the event after unsubscribe");
    await sleep(100);
    same(logs[0].length, 3, "nothing after unsubscribe");
  }],

  ["replay with since + epoch and with last", async (env, client) => {
    const publisher = new Client(env.direct, { token: env.token });
    const topic = topicName("p");
    let epoch = "";
    for (let i = 1; i <= 10; i++) epoch = (await publisher.publish(topic, `e${i}`)).epoch;
    const c = client();
    const since = record(c.subscribe(topic, { since: 6, epoch }));
    const c2 = client();
    const last = record(c2.subscribe(topic, { last: 3 }));
    c.connect();
    c2.connect();
    await until(() => since.length === 4 && last.length === 3, 10000, "the replays");
    same(shown(since), ["e7", "e8", "e9", "e10"]);
    same(shown(last), ["e8", "e9", "e10"]);
    await publisher.publish(topic, "e11");
    await until(() => since.length === 5 && last.length === 4, 10000, "the live event");
    same(shown(last), ["e8", "e9", "e10", "e11"], "no gap, no reset");
  }],

  ["10 forced disconnects during a stream: every event once, in order", async (env, client) => {
    const publisher = new Client(env.direct, { token: env.token });
    const topic = topicName("s");
    const c = client({}, env.url);
    const log = record(c.subscribe(topic));
    let connects = 0;
    c.on("state", (/** @type {string} */ s) => s === "connected" && connects++);
    c.connect();
    await until(() => c.subscriptions.get(topic)?.status === "active", 10000, "subscribed");
    let published = 0;
    let stop = false;
    const pump = (async () => {
      while (!stop) {
        await publisher.publish(topic, `n${++published}`);
        if (published % 5 === 0) await sleep(2);
      }
    })();
    for (let i = 0; i < 10; i++) {
      await sleep(50 + Math.random() * 60);
      const before = connects;
      await env.drop();
      await until(() => connects > before && c.state === "connected", 10000, `reconnect ${i + 1}`);
    }
    stop = true;
    await pump;
    await until(() => log.length >= published, 15000, () => `every event (${log.length} of ${published})`);
    same(log.map((x) => x.seq), Array.from({ length: published }, (_, i) => i + 1), "every seq once, no gap");
    ok(connects >= 11, `reconnected after each cut (${connects} connects)`);
    ok(published > 30, `a real stream (${published} events)`);
  }],

  ["gap: the ring moved on while the client was cut off", async (env, client) => {
    const publisher = new Client(env.direct, { token: env.token });
    const topic = topicName("g");
    await api(env, "PUT", `/v1/admin/topics/${topic}/config`, { capacity: 4 });
    const c = client({ minReconnectDelay: 1200, maxReconnectDelay: 1200 }, env.url);
    const log = record(c.subscribe(topic));
    c.connect();
    await until(() => c.subscriptions.get(topic)?.status === "active", 10000, "subscribed");
    await publisher.publish(topic, "e1");
    await until(() => log.length === 1, 10000, "e1");
    await env.drop();
    for (let i = 2; i <= 12; i++) await publisher.publish(topic, `e${i}`);
    await until(() => log.length === 6, 10000, () => `the gap and four events: ${JSON.stringify(log)}`);
    same(shown(log), ["e1", { kind: "gap", from: 2, to: 8 }, "e9", "e10", "e11", "e12"]);
  }],

  ["reset: the topic was deleted and restarted while the client was away", async (env, client) => {
    const publisher = new Client(env.direct, { token: env.token });
    const topic = topicName("x");
    const c = client();
    const log = record(c.subscribe(topic));
    c.connect();
    await until(() => c.subscriptions.get(topic)?.status === "active", 10000, "subscribed");
    const first = await publisher.publish(topic, "old1");
    await until(() => log.length === 1, 10000, "old1");
    c.close();
    same((await api(env, "DELETE", `/v1/admin/topics/${topic}`)).status, 204);
    const fresh = await publisher.publish(topic, "new1");
    ok(fresh.epoch !== first.epoch, "a new epoch");
    c.connect();
    await until(() => log.length === 3, 10000, () => `reset and new1: ${JSON.stringify(log)}`);
    same(log.slice(1), [{ kind: "reset", epoch: fresh.epoch }, { kind: "event", seq: 1, text: "new1" }]);
  }],

  ["zstd: the broker's compressed frames decode with the module's own decoder", async (env, client) => {
    const publisher = new Client(env.direct, { token: env.token });
    const c = client({ compression: "zstd" });
    const topic = topicName("z");
    const log = record(c.subscribe(topic));
    c.connect();
    await until(() => c.subscriptions.get(topic)?.status === "active", 10000, "subscribed");
    same(c.protocol, "switchboard.v1.zstd");
    const payloads = Array.from({ length: 30 }, (_, i) => JSON.stringify({ symbol: "AAPL", seq: i, price: 100 + i / 8, note: "x".repeat(200 + i) }));
    const before = (await api(env, "GET", "/v1/admin/stats")).body;
    await publisher.publishBatch(payloads.map((p) => ({ topic, data: p, contentType: "application/json" })));
    for (const p of payloads.slice(0, 5)) await publisher.publish(topic, p);
    await until(() => log.length === 35, 10000, "35 events");
    same(shown(log), [...payloads, ...payloads.slice(0, 5)]);
    const after = (await api(env, "GET", "/v1/admin/stats")).body;
    ok(after.bytes_sent_total - before.bytes_sent_total < after.bytes_sent_uncompressed_total - before.bytes_sent_uncompressed_total, "the frames were really compressed");
  }],

  ["plain protocol, with permessage-deflate where the platform offers it: large payloads intact", async (env, client) => {
    const publisher = new Client(env.direct, { token: env.token });
    const c = client({ compression: "none" });
    const topic = topicName("d");
    const log = record(c.subscribe(topic));
    c.connect();
    await until(() => c.subscriptions.get(topic)?.status === "active", 10000, "subscribed");
    same(c.protocol, "switchboard.v1");
    if (env.deflate) ok(/permessage-deflate/.test(c.extensions), `the broker accepted permessage-deflate (extensions: "${c.extensions}")`);
    const payloads = Array.from({ length: 10 }, (_, i) => `{"n":${i},"pad":"${"ab".repeat(3000 + i)}"}`);
    const before = (await api(env, "GET", "/v1/admin/stats")).body;
    for (const p of payloads) await publisher.publish(topic, p, { contentType: "application/json" });
    await until(() => log.length === 10, 10000, "10 events");
    same(shown(log), payloads);
    if (env.deflate) {
      // The broker counts what it put on the wire: deflated frames are a fraction of the events.
      const after = (await api(env, "GET", "/v1/admin/stats")).body;
      const sent = after.bytes_sent_total - before.bytes_sent_total;
      const uncompressed = after.bytes_sent_uncompressed_total - before.bytes_sent_uncompressed_total;
      ok(sent * 4 < uncompressed, `the frames were really deflated (${sent} bytes sent for ${uncompressed})`);
    }
  }],

  ["SSE fallback: WebSocket refused on the way, resumes from the held position", async (env, client) => {
    const publisher = new Client(env.direct, { token: env.token });
    const topic = topicName("fs");
    const c = client({ transports: ["websocket", "sse"] }, env.url);
    /** @type {string[]} */
    const fallbacks = [];
    c.on("fallback", (/** @type {any} */ f) => fallbacks.push(f.transport));
    const log = record(c.subscribe(topic));
    c.connect();
    await until(() => c.subscriptions.get(topic)?.status === "active", 10000, "subscribed");
    same(c.transport, "websocket");
    for (let i = 1; i <= 3; i++) await publisher.publish(topic, `e${i}`);
    await until(() => log.length === 3, 10000, "e1..e3");
    await env.blockWebSocket(true);
    await env.drop();
    for (let i = 4; i <= 6; i++) await publisher.publish(topic, `e${i}`);
    await until(() => c.transport === "sse" && c.state === "connected", 10000, "the fallback to SSE");
    for (let i = 7; i <= 8; i++) await publisher.publish(topic, `e${i}`);
    await until(() => log.length >= 8, 10000, () => `8 entries: ${JSON.stringify(log)}`);
    await sleep(100);
    same(fallbacks, ["sse"]);
    same(shown(log), ["e1", "e2", "e3", "e4", "e5", "e6", "e7", "e8"], "no loss, no repeat, no gap");
  }],

  ["long-poll fallback: a WebSocket that never opens, then a cut, nothing lost", async (env, client) => {
    const publisher = new Client(env.direct, { token: env.token });
    const topic = topicName("fp");
    const c = client({ transports: ["websocket", "poll"], WebSocket: FailingWebSocket, pollTimeout: 2 }, env.url);
    const log = record(c.subscribe(topic));
    c.connect();
    await until(() => c.transport === "poll" && c.subscriptions.get(topic)?.status === "active", 10000, "the fallback to poll");
    for (let i = 1; i <= 3; i++) await publisher.publish(topic, `e${i}`);
    await until(() => log.length === 3, 10000, "e1..e3");
    await env.drop();
    for (let i = 4; i <= 6; i++) await publisher.publish(topic, `e${i}`);
    await until(() => log.length >= 6, 10000, () => `6 entries: ${JSON.stringify(log)}`);
    await sleep(100);
    same(shown(log), ["e1", "e2", "e3", "e4", "e5", "e6"], "no loss, no repeat, no gap");
  }],

  ["SSE: a topic added later restarts the stream without losing the others' events", async (env, client) => {
    const publisher = new Client(env.direct, { token: env.token });
    const [a, b] = [topicName("sa"), topicName("sb")];
    const c = client({ transports: ["sse"] });
    const logA = record(c.subscribe(a));
    c.connect();
    await until(() => c.state === "connected" && c.subscriptions.get(a)?.status === "active", 10000, "connected");
    await publisher.publish(a, "a1");
    await until(() => logA.length === 1, 10000, "a1");
    const subB = c.subscribe(b);
    const logB = record(subB);
    await publisher.publish(a, "a2");
    await until(() => subB.status === "active", 10000, "b subscribed");
    await publisher.publish(b, "b1");
    await publisher.publish(a, "a3");
    await until(() => logA.length === 3 && logB.length === 1, 10000, () => JSON.stringify({ logA, logB }));
    same(shown(logA), ["a1", "a2", "a3"]);
    same(shown(logB), ["b1"]);
  }],

  ["a refused token stops the client and says why", async (env, client) => {
    const c = client({ token: "not-the-token" });
    c.subscribe(topicName("t"));
    /** @type {any[]} */
    const errors = [];
    /** @type {string[]} */
    const states = [];
    c.on("error", (/** @type {any} */ e) => errors.push(e));
    c.on("state", (/** @type {string} */ s) => states.push(s));
    c.connect();
    await until(() => c.state === "closed", 10000, "closed");
    ok(errors.at(-1) instanceof SwitchboardError && errors.at(-1).status === 401, `401 reported (${errors.map((e) => e.message)})`);
    await sleep(300);
    same(states, ["connecting", "closed"], "no reconnect");
  }],
];

/**
 * Runs every case (or those whose name contains `filter`) one after another, each with its own
 * clients, closed afterwards; reports each result as it ends.
 * @param {Env} env
 * @param {{ filter?: string, timeout?: number, report?: (r: { name: string, ok: boolean, ms: number, error?: string }) => void }} [options]
 */
export async function runAll(env, options = {}) {
  const results = [];
  for (const [name, fn] of cases) {
    if (options.filter && !name.includes(options.filter)) continue;
    /** @type {Client[]} */
    const clients = [];
    const client = (/** @type {object} */ opts = {}, url = env.direct) => {
      const c = new Client(url, { token: env.token, minReconnectDelay: 50, maxReconnectDelay: 300, ...opts });
      clients.push(c);
      return c;
    };
    const started = Date.now();
    /** @type {{ name: string, ok: boolean, ms: number, error?: string }} */
    let result;
    try {
      /** @type {ReturnType<typeof setTimeout> | undefined} */
      let timer;
      await Promise.race([
        fn(env, client),
        new Promise((_, reject) => (timer = setTimeout(() => reject(new Error("the case took longer than its time")), options.timeout ?? 30000))),
      ]).finally(() => clearTimeout(timer));
      result = { name, ok: true, ms: Date.now() - started };
    } catch (error) {
      result = { name, ok: false, ms: Date.now() - started, error: error instanceof Error ? (error.stack ?? error.message) : String(error) };
    } finally {
      for (const c of clients) c.close();
      await env.blockWebSocket(false);
    }
    results.push(result);
    options.report?.(result);
  }
  return results;
}
