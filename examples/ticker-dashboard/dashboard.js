// Live prices from Switchboard with the JS client: one subscription per symbol, a connection
// indicator, and a visible notice whenever the broker says updates were missed (gap) or a
// topic restarted (reset). Query parameters: broker (default http://127.0.0.1:8080), token,
// symbols (default AAPL,MSFT,GOOG,AMZN; topics stocks.<SYMBOL>).
const params = new URLSearchParams(location.search);
const broker = params.get("broker") ?? "http://127.0.0.1:8080";
const token = params.get("token") ?? undefined;
const symbols = (params.get("symbols") ?? "AAPL,MSFT,GOOG,AMZN").split(",").filter(Boolean);

// The client module, as the broker serves it (GET /v1/client.js; from any origin).
const { Client } = await import(`${broker}/v1/client.js`);

const client = new Client(broker, { token });
const rows = new Map();
const tbody = /** @type {HTMLElement} */ (document.querySelector("#prices tbody"));
const notices = /** @type {HTMLElement} */ (document.getElementById("notices"));
const connection = /** @type {HTMLElement} */ (document.getElementById("connection"));
const connectionText = /** @type {HTMLElement} */ (document.getElementById("connection-text"));
const footer = /** @type {HTMLElement} */ (document.getElementById("footer"));
let received = 0;

/**
 * @param {"gap" | "reset" | "error"} kind
 * @param {string} text
 */
function notice(kind, text) {
  const p = document.createElement("p");
  p.className = `notice ${kind}`;
  const time = document.createElement("time");
  time.textContent = new Date().toLocaleTimeString();
  p.append(time, text);
  notices.prepend(p);
  while (notices.children.length > 5) notices.lastElementChild?.remove();
}

for (const symbol of symbols) {
  const tr = document.createElement("tr");
  tr.dataset.symbol = symbol;
  tr.innerHTML = `<td>${symbol}</td><td class="price">—</td><td class="change"></td><td class="updates">0</td><td class="seq"></td>`;
  tbody.append(tr);
  const row = { tr, price: /** @type {number | null} */ (null), updates: 0, flash: /** @type {any} */ (undefined) };
  rows.set(symbol, row);
  const cell = (/** @type {string} */ name) => /** @type {HTMLElement} */ (tr.querySelector(`.${name}`));

  // last: 1 shows the latest price at once; after that every update arrives once, in order,
  // across reconnects: the client resumes from the seq it holds.
  const sub = client.subscribe(`stocks.${symbol}`, { last: 1 });
  sub.on("event", (/** @type {any} */ e) => {
    const { price } = e.json();
    const before = row.price;
    row.price = price;
    row.updates++;
    received++;
    const priceCell = cell("price");
    priceCell.textContent = price.toFixed(2);
    if (before !== null && price !== before) {
      const up = price > before;
      const change = cell("change");
      change.textContent = `${up ? "▲" : "▼"} ${Math.abs(price - before).toFixed(2)}`;
      change.className = `change ${up ? "up" : "down"}`;
      priceCell.classList.remove("flash-up", "flash-down");
      priceCell.classList.add(up ? "flash-up" : "flash-down");
      clearTimeout(row.flash);
      row.flash = setTimeout(() => priceCell.classList.remove("flash-up", "flash-down"), 400);
    }
    cell("updates").textContent = String(row.updates);
    cell("seq").textContent = String(e.seq);
    footer.textContent = `${received} updates received from ${broker}`;
  });
  sub.on("gap", (/** @type {any} */ g) => {
    const n = g.to - g.from + 1;
    notice("gap", `Missed ${n} update${n === 1 ? "" : "s"} of ${symbol} (seq ${g.from}–${g.to}): the broker no longer had them. The price shown is the latest.`);
  });
  sub.on("reset", () => {
    notice("reset", `${symbol} restarted on the broker (a new epoch): prices start again from its first update.`);
  });
  sub.on("deleted", () => notice("error", `${symbol} was deleted by an operator: no more updates.`));
}

client.on("state", (/** @type {string} */ state, /** @type {any} */ info) => {
  connection.className = `connection ${state}`;
  connectionText.textContent =
    state === "connected" ? `live · ${client.transport}` : state === "connecting" ? (info.previous === "connected" ? "reconnecting…" : "connecting…") : state === "closed" ? `closed${info.reason ? `: ${info.reason}` : ""}` : state;
});
client.on("error", (/** @type {any} */ e) => {
  if (e.status === 401 || e.status === 403 || e.closeCode === 1008) notice("error", `The broker refused the connection: ${e.message}`);
});
client.connect();
