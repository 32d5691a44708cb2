#!/usr/bin/env node
// Serves the dashboard (this folder), a page on its own origin; the page loads the client module
// from the broker (GET /v1/client.js). clients/js is also served at /client/, for trying changes
// to the client without rebuilding the broker.
//   node serve.mjs [--port 8000]
import { createServer } from "node:http";
import { readFile } from "node:fs/promises";
import { resolve, join, extname, sep } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";

const HERE = resolve(fileURLToPath(import.meta.url), "..");
const ROOTS = [["/client/", resolve(HERE, "../../clients/js")], ["/", HERE]];
const TYPES = { ".html": "text/html; charset=utf-8", ".js": "text/javascript; charset=utf-8", ".mjs": "text/javascript; charset=utf-8", ".css": "text/css", ".png": "image/png" };

/**
 * Starts the server; port 0 picks a free one.
 * @param {number} [port]
 * @returns {Promise<{ url: string, close: () => Promise<void> }>}
 */
export async function startServer(port = 0) {
  const server = createServer(async (req, res) => {
    const path = decodeURIComponent(new URL(req.url ?? "/", "http://x").pathname);
    const [prefix, root] = ROOTS.find(([p]) => path.startsWith(p)) ?? ROOTS[1];
    const file = resolve(join(root, path.slice(prefix.length) || "index.html"));
    try {
      if (!file.startsWith(root + sep)) throw new Error("outside the served folders");
      const body = await readFile(file);
      res.writeHead(200, { "Content-Type": TYPES[extname(file)] ?? "application/octet-stream", "Cache-Control": "no-cache" });
      res.end(body);
    } catch {
      res.writeHead(404, { "Content-Type": "text/plain" });
      res.end("not found\n");
    }
  });
  await new Promise((r) => server.listen(port, "127.0.0.1", () => r(undefined)));
  const address = /** @type {import("node:net").AddressInfo} */ (server.address());
  return { url: `http://127.0.0.1:${address.port}`, close: () => new Promise((r) => server.close(() => r(undefined))) };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const { values } = parseArgs({ options: { port: { type: "string", default: "8000" } } });
  const { url } = await startServer(Number(values.port));
  console.log(`dashboard at ${url}/ (start the broker with --allowed-origins ${url})`);
}
