// Credentials: a token provider called at connect and before expiry, and refusals that stop.
import { test, after } from "node:test";
import assert from "node:assert/strict";
import { Client, jwtExpiry } from "../switchboard.js";
import { startBroker, ADMIN, jwt, sleep, until, topicName, record } from "./helpers.js";

const SECRET = "a-test-secret-that-is-at-least-32-bytes-long";
const broker = await startBroker(["--admin-token", ADMIN, "--jwt-secret", SECRET]);
const publisher = new Client(broker.url, { token: ADMIN });
const clients = [];

function client(options) {
  const c = new Client(broker.url, { minReconnectDelay: 50, maxReconnectDelay: 300, ...options });
  clients.push(c);
  return c;
}

const grant = (seconds, subscribe = ["auth.*"]) =>
  jwt(SECRET, { sub: "test", exp: Math.floor(Date.now() / 1000) + seconds, switchboard: { subscribe, publish: [], admin: false } });

after(async () => {
  for (const c of clients) c.close();
  await broker.stop();
});

test("jwtExpiry reads exp from a JWT and nothing from other tokens", () => {
  assert.equal(jwtExpiry(jwt(SECRET, { exp: 1234 })), 1234);
  assert.equal(jwtExpiry("static-token"), null);
  assert.equal(jwtExpiry(null), null);
});

test("a token provider is called at connect and again before the token expires", async () => {
  let calls = 0;
  const c = client({ tokenProvider: async () => (calls++, grant(3)) });
  const topic = `auth.${topicName("tp")}`;
  const log = record(c.subscribe(topic));
  c.connect();
  await until(() => c.subscriptions.get(topic).status === "active");
  assert.equal(calls, 1);
  let n = 0;
  const pump = setInterval(() => publisher.publish(topic, `e${++n}`), 100);
  // The token lives 3 s: the client fetches a new one and reconnects before the broker's 1008.
  await until(() => calls >= 2, 6000, "a refresh");
  await sleep(1500);
  clearInterval(pump);
  await sleep(300);
  await until(() => log.events().length === n);
  assert.equal(c.state, "connected");
  assert.deepEqual(log.events().map((e) => e.seq), Array.from({ length: n }, (_, i) => i + 1));
});

test("a refused token (401) stops the client and tells the application", async () => {
  const c = client({ token: "not-a-valid-token" });
  c.subscribe(`auth.${topicName("r")}`);
  const errors = [];
  const states = [];
  c.on("error", (e) => errors.push(e));
  c.on("state", (s) => states.push(s));
  c.connect();
  await until(() => c.state === "closed", 5000);
  assert.equal(errors.at(-1).status, 401);
  assert.equal(errors.at(-1).code, "unauthorized");
  await sleep(500);
  assert.deepEqual(states, ["connecting", "closed"], "no reconnect");
});

test("a token without the subscribe grant gets a forbidden error on that subscription only", async () => {
  const c = client({ token: grant(60) });
  const ok = c.subscribe(`auth.${topicName("ok")}`);
  const no = c.subscribe(`other.${topicName("no")}`);
  const subErrors = [];
  no.on("error", (e) => subErrors.push(e));
  c.connect();
  await until(() => ok.status === "active" && no.status === "ended");
  assert.equal(subErrors[0].code, "forbidden");
  assert.equal(c.state, "connected");
});

test("an expired token closes with 1008 and the client stops", async () => {
  const c = client({ token: grant(2) });
  // A static token: no provider to refresh it, so the broker's 1008 ends the client.
  c.subscribe(`auth.${topicName("e")}`);
  const errors = [];
  c.on("error", (e) => errors.push(e));
  c.connect();
  await until(() => c.state === "connected");
  await until(() => c.state === "closed", 6000);
  assert.equal(errors.at(-1).closeCode, 1008);
});
