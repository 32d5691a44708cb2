// Headless Chromium driven over the DevTools protocol with Node's own WebSocket (run Node with
// --experimental-websocket): open a page, read values out of it, take screenshots. No packages.
import { spawn, execFileSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

/** The Chromium binary, or null when none is installed. */
export function findChromium() {
  for (const name of [process.env.CHROMIUM, "chromium", "chromium-browser", "google-chrome"]) {
    if (!name) continue;
    try {
      execFileSync("sh", ["-c", `command -v "${name}"`], { stdio: "ignore" });
      return name;
    } catch {
      // not this one
    }
  }
  return null;
}

/**
 * Starts headless Chromium and attaches to a fresh tab.
 * @param {{ width?: number, height?: number, log?: (line: string) => void }} [options]
 */
export async function launch(options = {}) {
  if (typeof WebSocket !== "function") throw new Error("run Node with --experimental-websocket (the DevTools connection is a WebSocket)");
  const binary = findChromium();
  if (!binary) throw new Error("no chromium found (apt-get install -y chromium)");
  const profile = mkdtempSync(join(tmpdir(), "jsb-chromium-"));
  const proc = spawn(binary, [
    "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
    "--no-default-browser-check", "--disable-extensions", "--disable-background-networking",
    "--remote-debugging-port=0", `--user-data-dir=${profile}`, "about:blank",
  ], { stdio: ["ignore", "ignore", "pipe"] });
  let stderr = "";
  const endpoint = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`chromium did not start: ${stderr.slice(-2000)}`)), 30000);
    proc.stderr.on("data", (d) => {
      stderr += d;
      const m = stderr.match(/DevTools listening on (ws:\/\/\S+)/);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]);
      }
    });
    proc.on("exit", (code) => reject(new Error(`chromium exited ${code}: ${stderr.slice(-2000)}`)));
  });
  const ws = new WebSocket(endpoint);
  await new Promise((resolve, reject) => {
    ws.onopen = resolve;
    ws.onerror = () => reject(new Error("could not reach chromium's DevTools endpoint"));
  });
  let nextId = 1;
  /** @type {Map<number, { resolve: Function, reject: Function }>} */
  const calls = new Map();
  /** @type {Set<(m: any) => void>} */
  const listeners = new Set();
  ws.onmessage = (m) => {
    const msg = JSON.parse(String(m.data));
    if (msg.id && calls.has(msg.id)) {
      const { resolve, reject } = calls.get(msg.id);
      calls.delete(msg.id);
      if (msg.error) reject(new Error(`${msg.error.message} ${msg.error.data ?? ""}`));
      else resolve(msg.result);
    } else {
      for (const fn of listeners) fn(msg);
    }
  };
  /** @param {string} method @param {object} [params] @param {string} [sessionId] */
  const send = (method, params = {}, sessionId) =>
    new Promise((resolve, reject) => {
      const id = nextId++;
      calls.set(id, { resolve, reject });
      ws.send(JSON.stringify({ id, method, params, ...(sessionId ? { sessionId } : {}) }));
    });

  const { targetId } = await send("Target.createTarget", { url: "about:blank" });
  const { sessionId } = await send("Target.attachToTarget", { targetId, flatten: true });
  const page = (/** @type {string} */ method, /** @type {object} */ params = {}) => send(method, params, sessionId);
  const log = options.log ?? (() => {});
  listeners.add((msg) => {
    if (msg.sessionId !== sessionId) return;
    if (msg.method === "Runtime.consoleAPICalled") {
      log(`[page ${msg.params.type}] ${msg.params.args.map((a) => a.value ?? a.description ?? "").join(" ")}`);
    } else if (msg.method === "Runtime.exceptionThrown") {
      const d = msg.params.exceptionDetails;
      log(`[page exception] ${d.exception?.description ?? d.text}`);
    } else if (msg.method === "Log.entryAdded") {
      log(`[page ${msg.params.entry.level}] ${msg.params.entry.text} ${msg.params.entry.url ?? ""}`);
    }
  });
  await page("Runtime.enable");
  await page("Page.enable");
  await page("Log.enable");
  await page("Emulation.setDeviceMetricsOverride", { width: options.width ?? 1100, height: options.height ?? 700, deviceScaleFactor: 1, mobile: false });

  return {
    /** @param {string} url */
    async goto(url) {
      await page("Page.navigate", { url });
    },
    /**
     * The value of an expression in the page (awaited when it is a promise).
     * @param {string} expression
     */
    async evaluate(expression) {
      const r = await page("Runtime.evaluate", { expression, awaitPromise: true, returnByValue: true });
      if (r.exceptionDetails) throw new Error(`in the page: ${r.exceptionDetails.exception?.description ?? r.exceptionDetails.text}`);
      return r.result.value;
    },
    /**
     * Waits until an expression is truthy in the page; answers its value.
     * @param {string} expression
     * @param {number} [ms]
     * @param {string} [what]
     */
    async waitFor(expression, ms = 10000, what = expression) {
      const deadline = Date.now() + ms;
      for (;;) {
        const v = await this.evaluate(expression).catch(() => undefined);
        if (v) return v;
        if (Date.now() > deadline) throw new Error(`timed out waiting in the page for ${what}`);
        await new Promise((r) => setTimeout(r, 50));
      }
    },
    /** A PNG of the page as it is now. */
    async screenshot() {
      const { data } = await page("Page.captureScreenshot", { format: "png" });
      return Buffer.from(data, "base64");
    },
    async close() {
      try {
        await send("Browser.close");
      } catch {
        // already gone
      }
      ws.close();
      await Promise.race([new Promise((r) => proc.once("exit", r)), new Promise((r) => setTimeout(r, 3000))]);
      if (proc.exitCode === null) proc.kill("SIGKILL");
      // Chromium's helper processes may hold the pipe a while longer: do not wait for them.
      proc.stderr.destroy();
      rmSync(profile, { recursive: true, force: true });
    },
  };
}
