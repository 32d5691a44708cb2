// The JavaScript example in the README's "Clients" section runs as written against a real broker
// (only the URL, the token and the import path are swapped), and prints the event it published.
import { test, after } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import * as module from "../switchboard.js";
import { startBroker, ADMIN, until } from "./helpers.js";

const broker = await startBroker(["--admin-token", ADMIN]);
after(() => broker.stop());

test("the README's ten-line JavaScript example subscribes, publishes and prints the event", async () => {
  const readme = readFileSync(fileURLToPath(new URL("../../../README.md", import.meta.url)), "utf8");
  const section = readme.slice(readme.indexOf("## Clients"));
  const code = section.match(/```js\n([\s\S]*?)```/)?.[1];
  assert.ok(code, "a js block in the Clients section");
  const lines = code.trim().split("\n");
  assert.ok(lines.length <= 10, `ten lines at most (${lines.length})`);
  const imports = lines.filter((l) => l.startsWith("import "));
  assert.deepEqual(imports, ['import { Client } from "./clients/js/switchboard.js";']);
  const body = lines
    .filter((l) => !l.startsWith("import "))
    .join("\n")
    .replace('"http://127.0.0.1:8080"', JSON.stringify(broker.url))
    .replace('"…"', JSON.stringify(ADMIN));
  const printed = [];
  const console = { log: (...a) => printed.push(["log", ...a]), warn: (...a) => printed.push(["warn", ...a]) };
  const AsyncFunction = Object.getPrototypeOf(async () => {}).constructor;
  const client = await new AsyncFunction("Client", "console", `${body}\nreturn client;`)(module.Client, console);
  try {
    await until(() => printed.length >= 1, 10000, "the example to print the event");
    assert.deepEqual(printed, [["log", 1, { price: 187.5 }]]);
  } finally {
    client.close();
  }
});
