// Test support: a real broker per test file, a TCP proxy that can cut or freeze connections,
// HS256 tokens, and small waiting helpers.
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { createServer, connect } from "node:net";
import { createHmac } from "node:crypto";

export const BROKER = process.env.SWITCHBOARD_BIN ?? "/work/bin/switchboard";
export const ADMIN = "test-admin-token";

/** Waits for the broker binary (another session builds it): every 30 s, up to 15 minutes. */
export async function waitForBinary() {
  for (let i = 0; i < 30 && !existsSync(BROKER); i++) {
    console.error(`waiting for ${BROKER} ...`);
    await sleep(30000);
  }
  if (!existsSync(BROKER)) throw new Error(`no broker binary at ${BROKER}`);
}

/**
 * Starts the broker on an ephemeral port; resolves once it printed its listening line.
 * @param {string[]} args
 */
export async function startBroker(args = []) {
  await waitForBinary();
  const proc = spawn(BROKER, ["--port", "0", ...args], { stdio: ["ignore", "pipe", "pipe"] });
  let stderr = "";
  proc.stderr.on("data", (d) => {
    if (process.env.DEBUG_BROKER) process.stderr.write(d);
    stderr += d;
    if (stderr.length > 100000) stderr = stderr.slice(-50000);
  });
  const url = await new Promise((resolve, reject) => {
    let out = "";
    const timer = setTimeout(() => reject(new Error(`broker did not start: ${stderr}`)), 20000);
    proc.stdout.on("data", (d) => {
      out += d;
      const m = out.match(/switchboard listening on (http:\/\/\S+)/);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]);
      }
    });
    proc.on("exit", (code) => reject(new Error(`broker exited ${code}: ${stderr}`)));
  });
  return {
    url,
    proc,
    get stderr() {
      return stderr;
    },
    async stop() {
      if (proc.exitCode !== null) return;
      proc.kill("SIGTERM");
      // The kill timer is cleared once the broker exits: left pending it kept every test file's
      // process alive 5 s longer.
      let timer;
      await new Promise((r) => {
        proc.once("exit", r);
        timer = setTimeout(() => proc.kill("SIGKILL"), 5000);
      });
      clearTimeout(timer);
    },
  };
}

/**
 * Calls the broker's HTTP API with the admin token; answers { status, body }.
 * @param {string} url
 * @param {string} method
 * @param {string} path
 * @param {any} [body]
 */
export async function api(url, method, path, body, token = ADMIN) {
  const headers = { Authorization: `Bearer ${token}` };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  const r = await fetch(url + path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  const text = await r.text();
  let json = null;
  try {
    json = text ? JSON.parse(text) : null;
  } catch {
    json = text;
  }
  return { status: r.status, body: json };
}

/** An HS256 JWT for the broker's --jwt-secret. */
export function jwt(secret, claims) {
  const b64 = (o) => Buffer.from(JSON.stringify(o)).toString("base64url");
  const head = b64({ alg: "HS256", typ: "JWT" });
  const body = b64(claims);
  const sig = createHmac("sha256", secret).update(`${head}.${body}`).digest("base64url");
  return `${head}.${body}.${sig}`;
}

/**
 * A TCP proxy in front of the broker: `drop()` cuts every open connection (as a network
 * failure does: no close frame), `freeze()` stops forwarding on open connections without
 * closing them (a dead peer), `blockWebSocket` refuses upgrade requests (a proxy that does not
 * pass WebSocket) while plain HTTP still goes through, `delay` holds what the client sends for
 * that many ms (a slow network: requests reach the broker after others sent directly), and
 * `refuse` closes every new connection at once (the broker unreachable, for an outage).
 * @param {string} target the broker's http://host:port
 */
export async function startProxy(target) {
  const { hostname, port } = new URL(target);
  const sockets = new Set();
  const state = { blockWebSocket: false, connections: 0, delay: 0, refuse: false };
  const server = createServer((client) => {
    if (state.refuse) {
      client.destroy();
      return;
    }
    state.connections++;
    const upstream = connect(Number(port), hostname);
    const pair = { client, upstream, frozen: false };
    sockets.add(pair);
    let first = true;
    client.on("data", (d) => {
      if (first) {
        first = false;
        if (state.blockWebSocket && /^upgrade:\s*websocket/im.test(d.toString("latin1"))) {
          client.end("HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
          upstream.destroy();
          return;
        }
      }
      if (state.delay > 0) setTimeout(() => pair.frozen || upstream.destroyed || upstream.write(d), state.delay);
      else if (!pair.frozen) upstream.write(d);
    });
    upstream.on("data", (d) => {
      if (!pair.frozen) client.write(d);
    });
    const end = () => {
      sockets.delete(pair);
      client.destroy();
      upstream.destroy();
    };
    client.on("close", end);
    upstream.on("close", end);
    client.on("error", end);
    upstream.on("error", end);
  });
  await new Promise((r) => server.listen(0, "127.0.0.1", r));
  return {
    url: `http://127.0.0.1:${server.address().port}`,
    state,
    /** Cuts every open connection at once. */
    drop() {
      for (const p of sockets) {
        p.client.destroy();
        p.upstream.destroy();
      }
      sockets.clear();
    },
    /** Stops forwarding on every open connection, leaving them open. */
    freeze() {
      for (const p of sockets) p.frozen = true;
    },
    close() {
      this.drop();
      return new Promise((r) => server.close(r));
    },
  };
}

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Waits until `check()` is truthy, polling every 20 ms; throws after `ms`. */
export async function until(check, ms = 10000, what = "condition") {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await check();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${typeof what === "function" ? what() : what}`);
    await sleep(20);
  }
}

/** With DEBUG_CLIENT set, prints a client's states and errors (DEBUG_BROKER prints the broker's log). */
export function debug(c) {
  if (!process.env.DEBUG_CLIENT) return;
  c.on("state", (s, i) => console.log("state", s, JSON.stringify(i)));
  c.on("error", (e) => console.log("error", e.code, e.message, e.status ?? ""));
}

/** A unique topic name per test. */
let topicCounter = 0;
export function topicName(prefix = "t") {
  return `${prefix}.${process.pid}.${Date.now().toString(36)}.${topicCounter++}`;
}

/**
 * Records a subscription's callbacks in order, as an application would see them.
 * @param {import("../switchboard.js").Subscription} sub
 */
export function record(sub) {
  const log = [];
  sub.on("event", (e) => log.push({ kind: "event", seq: e.seq, text: e.text() }));
  sub.on("gap", (g) => log.push({ kind: "gap", from: g.from, to: g.to }));
  sub.on("reset", (r) => log.push({ kind: "reset", epoch: r.epoch }));
  sub.on("deleted", () => log.push({ kind: "deleted" }));
  Object.defineProperty(log, "events", { value: () => log.filter((x) => x.kind === "event") });
  return log;
}

/**
 * Whether the broker honours `positions=` on poll (contract v1.1): a v1 broker answers 400, or
 * ignores the parameter and starts live, so the check looks for the event after the position.
 */
export async function supportsPositions(url) {
  const t = topicName("probe");
  await api(url, "POST", `/v1/topics/${t}`, "one");
  const { epoch } = (await api(url, "POST", `/v1/topics/${t}`, "two")).body;
  const r = await api(url, "GET", `/v1/poll?topics=${t}&positions=${t}:${epoch}:1&timeout=0`);
  return r.status === 200 && r.body.events?.length === 1 && r.body.events[0].seq === 2;
}

/** Whether the broker answers `delta:true` with a sid on a zstd connection (contract v1.1). */
export async function supportsDelta(url) {
  const ws = new WebSocket(url.replace("http", "ws") + "/v1/ws", { protocols: ["switchboard.v1.zstd"], headers: { Authorization: `Bearer ${ADMIN}` } });
  try {
    return await new Promise((resolve) => {
      const timer = setTimeout(() => resolve(false), 3000);
      ws.onopen = () => ws.send(JSON.stringify({ op: "subscribe", topic: topicName("probe"), delta: true, id: 1 }));
      ws.onmessage = (m) => {
        clearTimeout(timer);
        const j = typeof m.data === "string" ? JSON.parse(m.data) : {};
        resolve(j.type === "subscribed" && j.delta === true && typeof j.sid === "number");
      };
      ws.onerror = () => resolve(false);
    });
  } finally {
    ws.close();
  }
}

/**
 * Whether the broker accepts permessage-deflate on a plain WebSocket (contract v1.1): a raw
 * upgrade that offers it, and the answer's Sec-WebSocket-Extensions.
 * @param {string} url
 */
export async function supportsDeflate(url) {
  const { hostname, port } = new URL(url);
  return new Promise((resolve) => {
    const socket = connect(Number(port), hostname);
    let head = "";
    const done = (v) => {
      socket.destroy();
      resolve(v);
    };
    socket.setTimeout(3000, () => done(false));
    socket.on("error", () => done(false));
    socket.on("connect", () =>
      socket.write(
        `GET /v1/ws HTTP/1.1\r\nHost: ${hostname}:${port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
          `Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: switchboard.v1\r\n` +
          `Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\nAuthorization: Bearer ${ADMIN}\r\n\r\n`,
      ),
    );
    socket.on("data", (d) => {
      head += d.toString("latin1");
      const end = head.indexOf("\r\n\r\n");
      if (end >= 0) done(/^HTTP\/1\.1 101/.test(head) && /^sec-websocket-extensions:.*permessage-deflate/im.test(head.slice(0, end)));
    });
  });
}
