// Frame decoding without a broker: a scripted WebSocket sends v1 frames, zstd frames and v1.1
// delta frames (made with the zstd tool against the previous body as a raw-content prefix).
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtempSync, writeFileSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Client, decodeBody } from "../switchboard.js";
import { until, record } from "./helpers.js";

let dir;
before(() => (dir = mkdtempSync(join(tmpdir(), "sb-frames-"))));
after(() => rmSync(dir, { recursive: true, force: true }));

/** A frame body: u16 T · topic · u64 first seq · u32 count · events. */
function body(topic, firstSeq, payloads) {
  const t = Buffer.from(topic);
  const parts = [Buffer.alloc(2), t, Buffer.alloc(12)];
  parts[0].writeUInt16BE(t.length);
  parts[2].writeBigUInt64BE(BigInt(firstSeq));
  parts[2].writeUInt32BE(payloads.length, 8);
  payloads.forEach((p, i) => {
    const h = Buffer.alloc(12);
    h.writeBigInt64BE(1763771234567890n + BigInt(i));
    h.writeUInt32BE(Buffer.byteLength(p), 8);
    parts.push(h, Buffer.from(p));
  });
  return Buffer.concat(parts);
}

function zstd(data, args = []) {
  const input = join(dir, "in");
  writeFileSync(input, data);
  execFileSync("zstd", ["-q", "-f", "-3", ...args, input, "-o", input + ".zst"]);
  return readFileSync(input + ".zst");
}

/** A WebSocket the test drives: records what the client sent, delivers what the test pushes. */
class ScriptedWebSocket {
  static last = null;
  constructor(url, protocols) {
    this.url = url;
    this.protocol = Array.isArray(protocols) ? protocols[0] : protocols.protocols[0];
    this.sent = [];
    ScriptedWebSocket.last = this;
    setTimeout(() => this.onopen?.(), 0);
  }
  send(text) {
    this.sent.push(JSON.parse(text));
  }
  close() {}
  push(data) {
    this.onmessage?.({ data: typeof data === "string" ? data : new Uint8Array(data).buffer });
  }
}

test("decodeBody reads every field", () => {
  const { topic, events } = decodeBody(new Uint8Array(body("a.b", 2 ** 40, ["x", "", "yz"])));
  assert.equal(topic, "a.b");
  assert.deepEqual(events.map((e) => [e.seq, e.ts, e.text()]), [
    [2 ** 40, 1763771234567890, "x"],
    [2 ** 40 + 1, 1763771234567891, ""],
    [2 ** 40 + 2, 1763771234567892, "yz"],
  ]);
  assert.throws(() => decodeBody(new Uint8Array(body("a", 1, ["x"])).subarray(0, 20)), /truncated/);
});

test("plain, zstd and delta frames of a delta subscription, as contract v1.1 lays them out", async (t) => {
  ScriptedWebSocket.last = null;
  const c = new Client("http://127.0.0.1:1", { WebSocket: ScriptedWebSocket, compression: "zstd", pingTimeout: 60000 });
  t.after(() => c.close());
  const sub = c.subscribe("dash.board", { delta: true });
  const log = record(sub);
  c.connect();
  await until(() => ScriptedWebSocket.last?.sent.length === 1);
  const ws = ScriptedWebSocket.last;
  assert.deepEqual(ws.sent[0], { op: "subscribe", topic: "dash.board", delta: true, id: 1 });
  ws.push(JSON.stringify({ type: "subscribed", topic: "dash.board", epoch: "E1", seq: 0, reset: false, delta: true, sid: 7, id: 1 }));
  const payload = (i) => JSON.stringify({ cells: Array.from({ length: 30 }, (_, k) => (k === i ? i : k * 3)) });
  // 1: a plain frame (flags 0), the first after subscribed.
  const b1 = body("dash.board", 1, [payload(1)]);
  ws.push(Buffer.concat([Buffer.from([0]), b1]));
  // 2: a delta frame against b1.
  const prefix1 = join(dir, "p1");
  writeFileSync(prefix1, b1);
  const b2 = body("dash.board", 2, [payload(2)]);
  const d2 = zstd(b2, ["-D", prefix1]);
  ws.push(Buffer.concat([Buffer.from([3, 0, 7]), d2]));
  // 3: an ordinary zstd frame (flags 1), which still becomes the next prefix.
  const b3 = body("dash.board", 3, [payload(3), payload(4)]);
  ws.push(Buffer.concat([Buffer.from([1]), zstd(b3)]));
  // 4: a delta frame against b3.
  const prefix3 = join(dir, "p3");
  writeFileSync(prefix3, b3);
  const b5 = body("dash.board", 5, [payload(5)]);
  ws.push(Buffer.concat([Buffer.from([3, 0, 7]), zstd(b5, ["-D", prefix3, "--no-check"])]));
  await until(() => log.events().length === 5);
  assert.deepEqual(log.events().map((e) => e.text), [1, 2, 3, 4, 5].map(payload));
  assert.ok(d2.length < b2.length / 3, "the delta really used its prefix");
  assert.deepEqual(sub.position, { epoch: "E1", seq: 5 });
  c.close();
});

test("a gap, a repeated event and an unreadable frame are never hidden", async (t) => {
  ScriptedWebSocket.last = null;
  const c = new Client("http://127.0.0.1:1", { WebSocket: ScriptedWebSocket, compression: "zstd", pingTimeout: 60000, minReconnectDelay: 10 });
  t.after(() => c.close());
  const sub = c.subscribe("t");
  const log = record(sub);
  const errors = [];
  c.on("error", (e) => errors.push(e));
  c.connect();
  await until(() => ScriptedWebSocket.last?.sent.length === 1);
  const ws = ScriptedWebSocket.last;
  ws.push(JSON.stringify({ type: "subscribed", topic: "t", epoch: "E", seq: 10, reset: false, id: 1 }));
  ws.push(Buffer.concat([Buffer.from([0]), body("t", 11, ["a"])]));
  ws.push(JSON.stringify({ type: "gap", topic: "t", from: 12, to: 14 }));
  ws.push(Buffer.concat([Buffer.from([0]), body("t", 15, ["b"])]));
  ws.push(Buffer.concat([Buffer.from([0]), body("t", 15, ["b again"])]));
  ws.push(Buffer.concat([Buffer.from([0]), body("t", 18, ["c"])]));
  assert.deepEqual(log, [
    { kind: "event", seq: 11, text: "a" },
    { kind: "gap", from: 12, to: 14 },
    { kind: "event", seq: 15, text: "b" },
    { kind: "gap", from: 16, to: 17 },
    { kind: "event", seq: 18, text: "c" },
  ]);
  assert.match(errors[0].message, /repeats/);
  // A delta frame with no prefix cannot be read: the client reconnects and resumes from 18.
  ws.push(Buffer.from([3, 0, 9, 1, 2, 3]));
  assert.equal(errors[1].code, "protocol_error");
  await until(() => ScriptedWebSocket.last !== ws && ScriptedWebSocket.last.sent.length === 1);
  assert.deepEqual(ScriptedWebSocket.last.sent[0], { op: "subscribe", topic: "t", since: 18, epoch: "E", id: 1 });
  c.close();
});

test("unsubscribe and subscribe again: the old request's answer and frames are not the new subscription's", async (t) => {
  ScriptedWebSocket.last = null;
  const c = new Client("http://127.0.0.1:1", { WebSocket: ScriptedWebSocket, compression: "zstd", pingTimeout: 60000 });
  t.after(() => c.close());
  c.subscribe("t");
  c.connect();
  await until(() => ScriptedWebSocket.last?.sent.length === 1);
  const ws = ScriptedWebSocket.last;
  c.subscriptions.get("t").unsubscribe();
  const again = c.subscribe("t");
  const log = record(again);
  assert.deepEqual(ws.sent.map((m) => [m.op, m.id]), [["subscribe", 1], ["unsubscribe", 2], ["subscribe", 3]]);
  ws.push(JSON.stringify({ type: "subscribed", topic: "t", epoch: "E", seq: 4, reset: false, id: 1 }));
  ws.push(Buffer.concat([Buffer.from([0]), body("t", 5, ["old"])]));
  ws.push(JSON.stringify({ type: "unsubscribed", topic: "t", id: 2 }));
  ws.push(JSON.stringify({ type: "subscribed", topic: "t", epoch: "E", seq: 5, reset: false, id: 3 }));
  ws.push(Buffer.concat([Buffer.from([0]), body("t", 6, ["new"])]));
  assert.deepEqual(log, [{ kind: "event", seq: 6, text: "new" }]);
  assert.deepEqual(again.position, { epoch: "E", seq: 6 });
});

test("a reset control message (v1.1, the Redis engine lost the topic) starts the new epoch", async (t) => {
  ScriptedWebSocket.last = null;
  const c = new Client("http://127.0.0.1:1", { WebSocket: ScriptedWebSocket, compression: "none", pingTimeout: 60000 });
  t.after(() => c.close());
  const sub = c.subscribe("t", { since: 2, epoch: "E1" });
  const log = record(sub);
  c.connect();
  await until(() => ScriptedWebSocket.last?.sent.length === 1);
  const ws = ScriptedWebSocket.last;
  assert.deepEqual(ws.sent[0], { op: "subscribe", topic: "t", since: 2, epoch: "E1", id: 1 });
  ws.push(JSON.stringify({ type: "subscribed", topic: "t", epoch: "E1", seq: 3, reset: false, id: 1 }));
  ws.push(Buffer.concat([Buffer.from([0]), body("t", 3, ["x"])]));
  ws.push(JSON.stringify({ type: "reset", topic: "t", epoch: "E2" }));
  ws.push(Buffer.concat([Buffer.from([0]), body("t", 1, ["y"])]));
  assert.deepEqual(log, [
    { kind: "event", seq: 3, text: "x" },
    { kind: "reset", epoch: "E2" },
    { kind: "event", seq: 1, text: "y" },
  ]);
  assert.deepEqual(sub.position, { epoch: "E2", seq: 1 });
});

test("a broker that refuses the delta field gets the subscription again without it", async (t) => {
  ScriptedWebSocket.last = null;
  const c = new Client("http://127.0.0.1:1", { WebSocket: ScriptedWebSocket, compression: "zstd", pingTimeout: 60000 });
  t.after(() => c.close());
  const errors = [];
  c.on("error", (e) => errors.push(e.code));
  const sub = c.subscribe("t", { delta: true });
  const log = record(sub);
  c.connect();
  await until(() => ScriptedWebSocket.last?.sent.length === 1);
  const ws = ScriptedWebSocket.last;
  ws.push(JSON.stringify({ type: "error", code: "invalid_request", message: "Unknown field \"delta\".", id: 1 }));
  assert.deepEqual(ws.sent[1], { op: "subscribe", topic: "t", id: 2 });
  ws.push(JSON.stringify({ type: "subscribed", topic: "t", epoch: "E", seq: 0, reset: false, id: 2 }));
  ws.push(Buffer.concat([Buffer.from([0]), body("t", 1, ["x"])]));
  assert.deepEqual(log, [{ kind: "event", seq: 1, text: "x" }]);
  assert.deepEqual(errors, ["delta_unavailable"]);
});
