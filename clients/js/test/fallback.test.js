// SSE and long-poll: on their own, and as fallbacks when WebSocket is blocked, resuming from
// the position held on WebSocket (contract v1.1 positions=) and then following the cursor.
import { test, after } from "node:test";
import assert from "node:assert/strict";
import { Client } from "../switchboard.js";
import { startBroker, startProxy, api, ADMIN, sleep, until, topicName, record, debug, supportsPositions } from "./helpers.js";

const broker = await startBroker(["--admin-token", ADMIN]);
const positionsTodo = (await supportsPositions(broker.url)) ? false : "needs broker v1.1 positions= on /v1/poll and /v1/sse (this broker ignores it or answers 400)";
const publisher = new Client(broker.url, { token: ADMIN });
const clients = [];
const proxies = [];

function client(options, url) {
  const c = new Client(url, { token: ADMIN, minReconnectDelay: 50, maxReconnectDelay: 300, pollTimeout: 2, ...options });
  debug(c);
  clients.push(c);
  return c;
}

after(async () => {
  for (const c of clients) c.close();
  for (const p of proxies) await p.close();
  await broker.stop();
});

for (const transport of ["sse", "poll"]) {
  test(`${transport}: subscribe, receive, and resume with the cursor after a cut`, async () => {
    const proxy = await startProxy(broker.url);
    proxies.push(proxy);
    const topics = [topicName(transport), topicName(transport)];
    const c = client({ transports: [transport] }, proxy.url);
    const logs = topics.map((t) => record(c.subscribe(t)));
    c.connect();
    await until(() => c.state === "connected");
    await sleep(200);
    let n = 0;
    for (; n < 5; n++) for (const t of topics) await publisher.publish(t, `e${n + 1}`);
    await until(() => logs.every((l) => l.events().length === 5));
    for (let cut = 0; cut < 3; cut++) {
      proxy.drop();
      for (const t of topics) await publisher.publish(t, `e${n + 1}`);
      n++;
      await sleep(150);
    }
    await until(() => logs.every((l) => l.events().length === n), 10000);
    for (const log of logs) assert.deepEqual(log.events().map((e) => e.seq), Array.from({ length: n }, (_, i) => i + 1));
    assert.equal(logs[0].events()[0].text, "e1");
  });

  test(`${transport}: last gives the newest buffered events, then live, with no gap`, { todo: positionsTodo }, async () => {
    const [full, short] = [topicName("l"), topicName("l")];
    await api(broker.url, "PUT", `/v1/admin/topics/${short}/config`, { capacity: 2 });
    for (let i = 1; i <= 5; i++) for (const t of [full, short]) await publisher.publish(t, `e${i}`);
    const c = client({ transports: [transport] }, broker.url);
    const logs = [full, short].map((t) => record(c.subscribe(t, { last: 3 })));
    c.connect();
    await until(() => logs[0].length >= 3 && logs[1].length >= 2);
    for (const t of [full, short]) await publisher.publish(t, "e6");
    await until(() => logs[0].length >= 4 && logs[1].length >= 3);
    await sleep(100);
    assert.deepEqual(logs[0].map((x) => x.text ?? x), ["e3", "e4", "e5", "e6"]);
    // Only two are buffered: last: 3 gets those two, as on WebSocket, and no gap for the third.
    assert.deepEqual(logs[1].map((x) => x.text ?? x), ["e4", "e5", "e6"]);
  });

  test(`${transport}: fallback from a blocked WebSocket resumes from the held position`, { todo: positionsTodo }, async () => {
    const proxy = await startProxy(broker.url);
    proxies.push(proxy);
    const topic = topicName("f");
    const c = client({ transports: ["websocket", transport] }, proxy.url);
    const fallbacks = [];
    c.on("fallback", (f) => fallbacks.push(f.transport));
    const log = record(c.subscribe(topic));
    c.connect();
    await until(() => c.state === "connected" && c.subscriptions.get(topic).status === "active");
    assert.equal(c.transport, "websocket");
    for (let i = 1; i <= 3; i++) await publisher.publish(topic, `e${i}`);
    await until(() => log.events().length === 3);
    proxy.state.blockWebSocket = true;
    proxy.drop();
    for (let i = 4; i <= 6; i++) await publisher.publish(topic, `e${i}`);
    await until(() => c.transport === transport && c.state === "connected", 10000, `fallback to ${transport}`);
    const wait = positionsTodo ? 3000 : 10000; // a known todo need not wait out the full time
    for (let i = 7; i <= 8; i++) await publisher.publish(topic, `e${i}`);
    await until(() => log.events().length >= 8, wait);
    await sleep(200);
    assert.deepEqual(fallbacks, [transport]);
    assert.deepEqual(log.map((x) => x.seq), [1, 2, 3, 4, 5, 6, 7, 8], "no loss, no repeat, no gap");
  });
}

test("fallback on any broker: every seq reaches the application as an event or inside a gap", async () => {
  // Where a broker cannot resume from positions (v1 ignores positions=), the stream starts live:
  // the first event after the hole shows what was missed, and the client says so as a gap.
  const proxy = await startProxy(broker.url);
  proxies.push(proxy);
  const topic = topicName("h");
  const c = client({ transports: ["websocket", "poll"] }, proxy.url);
  const log = record(c.subscribe(topic));
  c.connect();
  await until(() => c.state === "connected" && c.subscriptions.get(topic).status === "active");
  await publisher.publish(topic, "e1");
  await until(() => log.events().length === 1);
  proxy.state.blockWebSocket = true;
  proxy.drop();
  for (let i = 2; i <= 4; i++) await publisher.publish(topic, `e${i}`);
  await until(() => c.transport === "poll" && c.state === "connected", 10000, "fallback to poll");
  await sleep(300);
  for (let i = 5; i <= 6; i++) await publisher.publish(topic, `e${i}`);
  await until(() => log.some((x) => x.seq === 6), 10000);
  const covered = [];
  for (const x of log) {
    if (x.kind === "event") covered.push(x.seq);
    if (x.kind === "gap") for (let s = x.from; s <= x.to; s++) covered.push(s);
  }
  assert.deepEqual(covered, [1, 2, 3, 4, 5, 6]);
});

// SSE and poll events carry no epoch, and a cursor covers only its own topics: when the list
// changes, the client starts over from positions it anchored on the topics' history before the
// first stream (an SSE stream's live start is fixed by the broker after it answers, and a
// position without an epoch cannot be given). It once started the others live here and lost
// what was published during the restart; under load that was about 1 run in 10.
for (const transport of ["sse", "poll"]) {
  test(`${transport}: a topic added restarts the stream without losing the others' events`, { todo: positionsTodo }, async () => {
    const a = topicName("sa");
    const b = topicName("sb");
    const proxy = await startProxy(broker.url);
    proxies.push(proxy);
    const c = client({ transports: [transport] }, proxy.url);
    const logA = record(c.subscribe(a));
    c.connect();
    await until(() => c.state === "connected" && c.subscriptions.get(a).status === "active");
    await publisher.publish(a, "a1");
    await until(() => logA.events().length === 1);
    // The restarted stream's requests reach the broker after a2, which is published directly.
    proxy.state.delay = 150;
    const subB = c.subscribe(b);
    const logB = record(subB);
    await publisher.publish(a, "a2");
    await until(() => subB.status === "active");
    await publisher.publish(b, "b1");
    await publisher.publish(a, "a3");
    await until(() => logA.length === 3 && logB.length === 1, 10000, () => JSON.stringify({ logA, logB }));
    await sleep(100);
    assert.deepEqual(logA.map((x) => x.text ?? x), ["a1", "a2", "a3"], "no loss, no repeat, no gap");
    assert.deepEqual(logB.map((x) => x.text ?? x), ["b1"]);
  });
}
