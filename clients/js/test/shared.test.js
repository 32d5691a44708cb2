// The cases of test/shared/cases.js in Node; test/browser/run.mjs runs the same ones in headless
// Chromium. One broker, one cutting proxy in front of it.
import { test, after } from "node:test";
import { startBroker, startProxy, ADMIN } from "./helpers.js";
import { cases, runAll } from "./shared/cases.js";

const broker = await startBroker(["--admin-token", ADMIN]);
const proxy = await startProxy(broker.url);
/** @type {import("./shared/cases.js").Env} */
const env = {
  url: proxy.url,
  direct: broker.url,
  token: ADMIN,
  drop: async () => proxy.drop(),
  blockWebSocket: async (on) => {
    proxy.state.blockWebSocket = on;
  },
};

after(async () => {
  await proxy.close();
  await broker.stop();
});

for (const [name] of cases) {
  test(name, async () => {
    const [result] = await runAll(env, { filter: name });
    if (!result.ok) throw new Error(result.error);
  });
}
