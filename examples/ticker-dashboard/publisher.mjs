#!/usr/bin/env node
// Feeds the ticker dashboard: a random walk of prices, one batch (every symbol) per tick.
//   node publisher.mjs [--broker http://127.0.0.1:8080] [--token T] [--interval 250] [--symbols AAPL,MSFT,GOOG,AMZN]
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { Client } from "../../clients/js/switchboard.js";

const START = { AAPL: 187.5, MSFT: 411.2, GOOG: 164.8, AMZN: 178.3 };

/**
 * Publishes `{symbol, price}` to `stocks.<SYMBOL>` every `interval` ms until `stop()`.
 * @param {{ broker: string, token?: string, symbols?: string[], interval?: number }} options
 */
export function startPublisher({ broker, token, symbols = Object.keys(START), interval = 250 }) {
  const client = new Client(broker, { token });
  const prices = new Map(symbols.map((s) => [s, START[s] ?? 100]));
  /** Events published per symbol (what the dashboard must show as its update count). */
  const counts = new Map(symbols.map((s) => [s, 0]));
  let stopped = false;
  let failures = 0;
  const loop = (async () => {
    while (!stopped) {
      const batch = symbols.map((symbol) => {
        const price = Math.max(1, prices.get(symbol) * (1 + (Math.random() - 0.5) * 0.004));
        prices.set(symbol, price);
        return { topic: `stocks.${symbol}`, data: { symbol, price: Math.round(price * 100) / 100 }, json: true };
      });
      try {
        await client.publishBatch(batch);
        for (const s of symbols) counts.set(s, counts.get(s) + 1);
      } catch (error) {
        if (failures++ % 20 === 0) console.error(`publish failed: ${error.message}`);
      }
      await new Promise((r) => setTimeout(r, interval));
    }
  })();
  return {
    counts,
    /** Stops after the publish in flight; resolves when it is done. */
    async stop() {
      stopped = true;
      await loop;
    },
  };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const { values } = parseArgs({
    options: { broker: { type: "string", default: "http://127.0.0.1:8080" }, token: { type: "string" }, interval: { type: "string", default: "250" }, symbols: { type: "string" } },
  });
  const publisher = startPublisher({ broker: values.broker, token: values.token, interval: Number(values.interval), symbols: values.symbols?.split(",") });
  console.log(`publishing to ${values.broker} every ${values.interval} ms; Ctrl-C stops`);
  process.on("SIGINT", async () => {
    await publisher.stop();
    console.log("published", Object.fromEntries(publisher.counts));
    process.exit(0);
  });
}
