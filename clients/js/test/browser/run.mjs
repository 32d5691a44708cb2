// The client's shared test cases in headless Chromium against a real broker:
//   node --experimental-websocket test/browser/run.mjs [filter]
// Serves clients/js over HTTP (the page's origin, allowed by the broker's --allowed-origins),
// starts the broker (SWITCHBOARD_BIN) and a cutting proxy in front of it, loads
// test/browser/index.html, and fails unless every case passed. DEBUG_BROWSER=1 prints the page's
// console as it runs.
import { createServer } from "node:http";
import { readFile } from "node:fs/promises";
import { resolve, join, extname, sep } from "node:path";
import { fileURLToPath } from "node:url";
import { startBroker, startProxy, supportsDeflate, ADMIN } from "../helpers.js";
import { launch } from "./chromium.mjs";

const ROOT = resolve(fileURLToPath(import.meta.url), "../../..");
const TYPES = { ".html": "text/html; charset=utf-8", ".js": "text/javascript; charset=utf-8", ".mjs": "text/javascript; charset=utf-8", ".json": "application/json", ".css": "text/css", ".png": "image/png" };

/**
 * A static file server for `root`, with extra routes answered first.
 * @param {string} root
 * @param {(req: import("node:http").IncomingMessage, res: import("node:http").ServerResponse) => boolean | Promise<boolean>} [routes] true when answered
 */
export async function serveStatic(root, routes = () => false) {
  const server = createServer(async (req, res) => {
    try {
      if (await routes(req, res)) return;
      const path = decodeURIComponent(new URL(req.url ?? "/", "http://x").pathname);
      const file = resolve(join(root, path.endsWith("/") ? path + "index.html" : path));
      if (file !== root && !file.startsWith(root + sep)) throw Object.assign(new Error("outside"), { code: "ENOENT" });
      const body = await readFile(file);
      res.writeHead(200, { "Content-Type": TYPES[extname(file)] ?? "application/octet-stream", "Cache-Control": "no-store" });
      res.end(body);
    } catch (error) {
      res.writeHead(/** @type {any} */ (error).code === "ENOENT" || /** @type {any} */ (error).code === "EISDIR" ? 404 : 500, { "Content-Type": "text/plain" });
      res.end(String(error));
    }
  });
  await new Promise((r) => server.listen(0, "127.0.0.1", () => r(undefined)));
  const address = /** @type {import("node:net").AddressInfo} */ (server.address());
  return { url: `http://127.0.0.1:${address.port}`, close: () => new Promise((r) => server.close(r)) };
}

async function main() {
  const started = Date.now();
  const filter = process.argv[2];
  /** @type {{ drop: () => void, state: { blockWebSocket: boolean }, url: string, close: () => Promise<unknown> } | null} */
  let proxy = null;
  let config = {};
  const site = await serveStatic(ROOT, (req, res) => {
    const path = new URL(req.url ?? "/", "http://x").pathname;
    if (path === "/config.json") {
      res.writeHead(200, { "Content-Type": "application/json", "Cache-Control": "no-store" });
      res.end(JSON.stringify(config));
      return true;
    }
    if (path.startsWith("/control/") && proxy) {
      const what = path.slice("/control/".length);
      if (what === "drop") proxy.drop();
      else if (what === "block-websocket") proxy.state.blockWebSocket = true;
      else if (what === "allow-websocket") proxy.state.blockWebSocket = false;
      else return false;
      res.writeHead(204);
      res.end();
      return true;
    }
    return false;
  });
  const broker = await startBroker(["--admin-token", ADMIN, "--allowed-origins", site.url]);
  proxy = await startProxy(broker.url);
  // Chromium offers permessage-deflate on every WebSocket; a broker without contract v1.1's
  // deflate answers without it, and the plain-protocol case then checks only the payloads.
  const deflate = await supportsDeflate(broker.url);
  if (!deflate) console.log("# note: this broker does not accept permessage-deflate (contract v1.1): not checked");
  config = { broker: broker.url, proxy: proxy.url, token: ADMIN, deflate };
  const lines = [];
  const browser = await launch({ log: (line) => (process.env.DEBUG_BROWSER ? console.log(line) : lines.push(line)) });
  let failed = 0;
  try {
    await browser.goto(`${site.url}/test/browser/index.html${filter ? `?filter=${encodeURIComponent(filter)}` : ""}`);
    const outcome = await browser.waitFor("window.__results", 90000, "the cases to finish");
    console.log(`# ${outcome.userAgent}`);
    for (const r of outcome.results) {
      console.log(`${r.ok ? "✔" : "✖"} ${r.name} (${r.ms} ms)`);
      if (!r.ok) {
        failed++;
        console.log(r.error.replace(/^/gm, "    "));
      }
    }
    if (outcome.results.length === 0) {
      console.log("✖ no case ran");
      failed++;
    }
    console.log(`browser: ${outcome.results.filter((/** @type {any} */ r) => r.ok).length} passed, ${failed} failed, in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  } catch (error) {
    failed++;
    console.log(`✖ ${error instanceof Error ? error.message : error}`);
    if (lines.length) console.log("the page's console:\n" + lines.join("\n"));
  } finally {
    await browser.close();
    await proxy.close();
    await broker.stop();
    await site.close();
  }
  process.exitCode = failed ? 1 : 0;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) await main();
