/**
 * Switchboard client for browsers and Node >= 20: one ES module, no dependencies, no build step.
 *
 * It subscribes over one WebSocket (falling back to SSE, then long-poll), keeps `(epoch, seq)`
 * per subscription, resumes after every reconnect with `since` + `epoch` (or `positions=` on
 * the HTTP transports), and tells the application about every hole (`gap`) and restart
 * (`reset`) instead of hiding it. The wire format is the broker's contract (v1 and v1.1).
 *
 * Liveness: the broker pings every --ping-interval, but a browser's WebSocket never shows
 * pings to scripts (nor does Node's). So after `pingTimeout` ms without any message the
 * client sends a harmless request the broker must answer (an `unsubscribe` of a topic it does
 * not hold, with an `id`); no answer within `pingTimeout / 2` (at least 1 s) means the
 * connection is dead, and the client reconnects. SSE is dead after `pingTimeout` plus the
 * broker's 15 s comment interval of silence; long-poll requests time out on their own.
 *
 * @module switchboard
 */
import { decompress } from "./zstd.js";

const ZSTD_PROTOCOL = "switchboard.v1.zstd";
const PLAIN_PROTOCOL = "switchboard.v1";
/** A frame body larger than this is never a delta prefix (contract v1.1). */
const MAX_PREFIX = 1024 * 1024;
/** Frames decompress to at most this many bytes (the broker's window is at most 8 MiB). */
const MAX_FRAME_BYTES = 64 * 1024 * 1024;
/** The topic used by the liveness probe: valid, and never subscribed by this client. */
const LIVENESS_TOPIC = "switchboard-client-liveness";
const SSE_COMMENT_INTERVAL = 15000;
/** The epoch sent in `positions=` for a topic that had none yet: URL-safe, and never a broker's. */
const NO_EPOCH = "-";

const isNode = !!(/** @type {any} */ (globalThis).process?.versions?.node);
const textEncoder = new TextEncoder();
const textDecoder = new TextDecoder();

/** An error the broker answered (HTTP status and the contract's error code), or a client failure. */
export class SwitchboardError extends Error {
  /**
   * @param {string} code the contract's snake_case code, or a client code
   * @param {string} message
   * @param {{ status?: number, index?: number, closeCode?: number, cause?: unknown }} [details]
   */
  constructor(code, message, details = {}) {
    super(message, details.cause === undefined ? undefined : { cause: details.cause });
    this.name = "SwitchboardError";
    /** The contract's error code, e.g. `unauthorized`. */
    this.code = code;
    /** HTTP status, when the error came as an HTTP answer. */
    this.status = details.status;
    /** The first bad entry of a batch, when the broker said. */
    this.index = details.index;
    /** The WebSocket close code, when a close caused it. */
    this.closeCode = details.closeCode;
  }
}

/** A minimal event emitter: `on`, `off`, `once`. A listener that throws does not break the client. */
class Emitter {
  constructor() {
    /** @type {Map<string, Set<Function>>} */
    this._listeners = new Map();
  }

  /**
   * Adds a listener; returns a function that removes it.
   * @param {string} name
   * @param {Function} fn
   */
  on(name, fn) {
    if (!this._listeners.has(name)) this._listeners.set(name, new Set());
    this._listeners.get(name)?.add(fn);
    return () => this.off(name, fn);
  }

  /**
   * Removes a listener.
   * @param {string} name
   * @param {Function} fn
   */
  off(name, fn) {
    this._listeners.get(name)?.delete(fn);
  }

  /**
   * Adds a listener called at most once.
   * @param {string} name
   * @param {Function} fn
   */
  once(name, fn) {
    const off = this.on(name, (/** @type {any[]} */ ...args) => {
      off();
      fn(...args);
    });
    return off;
  }

  /**
   * @param {string} name
   * @param {...any} args
   */
  _emit(name, ...args) {
    const set = this._listeners.get(name);
    if (!set) return;
    for (const fn of [...set]) {
      try {
        fn(...args);
      } catch (error) {
        // The application's bug must not stop delivery; surface it where it will be seen.
        queueMicrotask(() => {
          throw error;
        });
      }
    }
  }
}

/** One event of a topic, as the application receives it. */
export class SwitchboardEvent {
  /**
   * @param {string} topic
   * @param {number} seq
   * @param {number} ts microseconds since the Unix epoch
   * @param {Uint8Array} data the payload bytes
   * @param {string} [type] the payload's Content-Type, when the transport carries it (SSE, poll)
   */
  constructor(topic, seq, ts, data, type) {
    this.topic = topic;
    this.seq = seq;
    this.ts = ts;
    this.data = data;
    this.type = type;
  }

  /** The payload as UTF-8 text. */
  text() {
    return textDecoder.decode(this.data);
  }

  /** The payload parsed as JSON. */
  json() {
    return JSON.parse(this.text());
  }
}

/**
 * One topic's subscription. Events reach `on("event")` exactly once and in order; holes reach
 * `on("gap")`, epoch changes `on("reset")`, an operator's deletion `on("deleted")`.
 */
export class Subscription extends Emitter {
  /**
   * @param {Client} client
   * @param {string} topic
   * @param {{ since?: number, epoch?: string, last?: number, delta?: boolean }} options
   */
  constructor(client, topic, options) {
    super();
    this.client = client;
    this.topic = topic;
    /** Whether zstd delta frames were asked for (used only on zstd WebSocket connections). */
    this.delta = !!options.delta;
    /**
     * Where the application is: the epoch and the seq of the last event (or gap end) it was
     * told about. `seq` is null until the broker said where the topic is.
     * @type {{ epoch: string | null, seq: number | null }}
     */
    this.position = { epoch: options.epoch ?? null, seq: options.since ?? null };
    /** @type {number | null} the `last` still to ask for, until the first subscribe answers */
    this._last = options.last ?? null;
    /** "pending" until the broker confirms, "active", or "ended". */
    this.status = "pending";
    /** @type {number | null} this subscription's sid on the current connection (deltas) */
    this._sid = null;
    /** @type {Uint8Array | null} the last frame body, the prefix of the next delta frame */
    this._prefix = null;
    /** Set when a transport had to start live without resuming: the next event tells what was missed. */
    this._uncertain = false;
    /**
     * @type {number | null} after an HTTP anchor for `last`: a first gap up to here is only the
     * part of the `last` events that is no longer buffered, which `last` never reports
     */
    this._quietGapTo = null;
  }

  /** Ends the subscription; no callback fires for it afterwards. */
  unsubscribe() {
    if (this.status === "ended") return;
    this.status = "ended";
    this.client._unsubscribe(this);
  }

  /** What to ask for at (re)subscribe: `since`+`epoch` when a position is held, else `last`, else live. */
  _start() {
    if (this.position.seq !== null) {
      return this.position.epoch ? { since: this.position.seq, epoch: this.position.epoch } : { since: this.position.seq };
    }
    if (this._last !== null) return { last: this._last };
    return {};
  }

  /**
   * The broker confirmed the subscription.
   * @param {string} epoch
   * @param {number} seq the topic's newest seq now
   * @param {boolean} reset
   */
  _onSubscribed(epoch, seq, reset) {
    this.status = "active";
    this._prefix = null;
    if (reset) {
      this.position = { epoch, seq: 0 };
      this._emit("reset", { topic: this.topic, epoch });
    } else if (this.position.seq !== null) {
      this.position = { epoch, seq: this.position.seq };
    } else if (this._last !== null) {
      this.position = { epoch, seq: Math.max(0, seq - this._last) };
    } else {
      this.position = { epoch, seq };
    }
    this._last = null;
    this._quietGapTo = null;
  }

  /**
   * Fixes where an HTTP stream starts (SSE and poll say nothing like `subscribed`): the topic's
   * epoch and newest seq as its history answered them before the stream was asked for.
   * @param {{ epoch: string | null, seq: number }} head epoch null: the topic does not exist yet
   */
  _anchor(head) {
    if (this.position.seq === null) {
      const base = this._last !== null ? Math.max(0, head.seq - this._last) : head.seq;
      this._quietGapTo = this._last !== null ? head.seq : null;
      this.position = { epoch: head.epoch, seq: base };
      this._last = null;
    } else if (this.position.epoch === null) {
      this.position = { epoch: head.epoch, seq: this.position.seq };
    }
  }

  /** @param {SwitchboardEvent} event */
  _onEvent(event) {
    if (this.status === "ended") return;
    this._quietGapTo = null;
    const held = this.position.seq;
    if (this._uncertain) {
      this._uncertain = false;
      if (held !== null && event.seq <= held) {
        // The topic restarted while we could not resume: say so rather than drop or repeat.
        this.position = { epoch: null, seq: 0 };
        this._emit("reset", { topic: this.topic, epoch: null });
      }
    }
    const seq = this.position.seq;
    if (seq !== null && event.seq <= seq) {
      this.client._protocolError(`${this.topic}: event ${event.seq} repeats (already at ${seq}); not delivered twice`);
      return;
    }
    if (seq !== null && event.seq > seq + 1) {
      // The broker never skips silently; if it ever does, the application still hears of it.
      this._emit("gap", { topic: this.topic, from: seq + 1, to: event.seq - 1, synthetic: true });
    }
    this.position = { epoch: this.position.epoch, seq: event.seq };
    this._emit("event", event);
  }

  /**
   * @param {number} from
   * @param {number} to
   */
  _onGap(from, to) {
    if (this.status === "ended") return;
    this._prefix = null;
    this._uncertain = false;
    const seq = this.position.seq;
    this.position = { epoch: this.position.epoch, seq: seq === null ? to : Math.max(seq, to) };
    const start = this._quietGapTo === null ? from : Math.max(from, this._quietGapTo + 1);
    this._quietGapTo = null;
    if (start <= to) this._emit("gap", { topic: this.topic, from: start, to });
  }

  /** @param {string | null} epoch */
  _onReset(epoch) {
    if (this.status === "ended") return;
    this._prefix = null;
    this._uncertain = false;
    this._quietGapTo = null;
    // Held nothing of any epoch (the topic did not exist when the stream was anchored): the
    // broker's reset only names the epoch the topic now has; there is nothing to reload.
    const news = !(this.position.seq === 0 && this.position.epoch === null);
    this.position = { epoch, seq: 0 };
    if (news) this._emit("reset", { topic: this.topic, epoch });
  }

  /** An operator deleted the topic: the subscription ends. */
  _onDeleted() {
    if (this.status === "ended") return;
    this.status = "ended";
    this.client._forget(this);
    this._emit("deleted", { topic: this.topic });
  }

  /** @param {SwitchboardError} error */
  _onError(error) {
    this._emit("error", error);
  }
}

/**
 * @typedef {object} ClientOptions
 * @property {string} [token] a static token (JWT or static broker token)
 * @property {() => string | Promise<string>} [tokenProvider] called at every connect, and before a JWT's `exp`
 * @property {Array<"websocket" | "sse" | "poll">} [transports] tried in this order (default all three)
 * @property {any} [WebSocket] a WebSocket constructor (default: the global one)
 * @property {number} [minReconnectDelay] ms, default 500
 * @property {number} [maxReconnectDelay] ms, default 20000
 * @property {number} [pingTimeout] ms of silence before a liveness check, default 30000
 * @property {number} [connectTimeout] ms a WebSocket may take to open, default 10000
 * @property {"zstd" | "none"} [compression] default "zstd" in Node, "none" in browsers
 * @property {number} [pollTimeout] seconds a long-poll waits, default 25
 * @property {typeof fetch} [fetch] default: the global fetch
 */

/**
 * A connection to a Switchboard broker: subscriptions over one transport, and publishing.
 * States (`on("state", (state, info) => …)`): disconnected, connecting, connected, closed.
 */
export class Client extends Emitter {
  /**
   * @param {string} url the broker's `http://host:port` (or https)
   * @param {ClientOptions} [options]
   */
  constructor(url, options = {}) {
    super();
    this.url = url.replace(/\/+$/, "");
    this.options = {
      transports: ["websocket", "sse", "poll"],
      minReconnectDelay: 500,
      maxReconnectDelay: 20000,
      pingTimeout: 30000,
      connectTimeout: 10000,
      compression: isNode ? "zstd" : "none",
      pollTimeout: 25,
      ...options,
    };
    /** @type {"disconnected" | "connecting" | "connected" | "closed"} */
    this.state = "disconnected";
    /** The transport in use or being tried ("websocket", "sse", "poll"), or null. */
    this.transport = null;
    /** @type {string | null} the WebSocket subprotocol the broker chose (`switchboard.v1.zstd` or `switchboard.v1`) */
    this.protocol = null;
    /**
     * The WebSocket extensions the broker accepted, as the platform reports them (a browser's
     * native `permessage-deflate` on a plain connection), or "".
     */
    this.extensions = "";
    /** @type {Map<string, Subscription>} */
    this.subscriptions = new Map();
    /** @type {string | null} */
    this._token = options.token ?? null;
    this._transportIndex = 0;
    this._attempt = 0;
    this._wsFailures = 0;
    /** @type {any} the running transport's connection object */
    this._conn = null;
    /** @type {ReturnType<typeof setTimeout> | null} */
    this._reconnectTimer = null;
    /** @type {ReturnType<typeof setTimeout> | null} */
    this._refreshTimer = null;
    this._generation = 0;
    /** @type {{ topics: string, cursor: string } | null} where SSE or poll stopped, to resume there */
    this._httpCursor = null;
  }

  /** Starts connecting (and keeps reconnecting until `close()` or a refusal). */
  connect() {
    if (this.state === "connecting" || this.state === "connected") return;
    this._generation++;
    this._transportIndex = 0;
    this._attempt = 0;
    this._wsFailures = 0;
    this._open();
  }

  /** Closes the connection for good: no reconnect; subscriptions stay, for a later `connect()`. */
  close() {
    this._stop("closed", { reason: "closed by the application" });
  }

  /**
   * Subscribes to a topic. Subscribing before `connect()` is fine; one subscription per topic.
   * @param {string} topic
   * @param {{ since?: number, epoch?: string, last?: number, delta?: boolean }} [options]
   * @returns {Subscription}
   */
  subscribe(topic, options = {}) {
    if (options.since !== undefined && options.last !== undefined) throw new TypeError("give since or last, not both");
    const existing = this.subscriptions.get(topic);
    if (existing && existing.status !== "ended") throw new SwitchboardError("already_subscribed", `already subscribed to ${topic}`);
    const sub = new Subscription(this, topic, options);
    this.subscriptions.set(topic, sub);
    if (this.state === "connected") this._conn?.subscribe(sub);
    return sub;
  }

  /**
   * Publishes one event; returns the broker's receipt `{topic, seq, epoch, ts, duplicate?}`.
   * A string is sent as text/plain, a Uint8Array as application/octet-stream, anything else as JSON.
   * @param {string} topic
   * @param {Uint8Array | ArrayBuffer | string | any} data
   * @param {{ contentType?: string, idempotencyKey?: string }} [options]
   */
  async publish(topic, data, options = {}) {
    const { body, type } = encodeBody(data);
    /** @type {Record<string, string>} */
    const headers = { "Content-Type": options.contentType ?? type };
    if (options.idempotencyKey !== undefined) headers["Idempotency-Key"] = options.idempotencyKey;
    return this._request("POST", `/v1/topics/${encodeURIComponent(topic)}`, headers, body);
  }

  /**
   * Publishes several events at once, all or nothing; returns the receipts in order.
   * Each entry is `{topic, data, contentType?}` (data as for `publish`), or the contract's
   * own `{topic, data_b64, type?}` / `{topic, data}` JSON form when `json: true` is set.
   * @param {Array<{ topic: string, data?: any, contentType?: string, json?: boolean, data_b64?: string, type?: string }>} events
   * @returns {Promise<Array<{ topic: string, seq: number, epoch: string, ts: number }>>}
   */
  async publishBatch(events) {
    const entries = events.map((e) => {
      if (e.data_b64 !== undefined) return { topic: e.topic, data_b64: e.data_b64, ...(e.type ? { type: e.type } : {}) };
      if (e.json) return { topic: e.topic, data: e.data };
      const { body, type } = encodeBody(e.data);
      return { topic: e.topic, data_b64: toBase64(body), type: e.contentType ?? type };
    });
    const answer = await this._request("POST", "/v1/publish", { "Content-Type": "application/json" }, textEncoder.encode(JSON.stringify({ events: entries })));
    return answer.results;
  }

  // MARK: connection management

  /**
   * @param {"disconnected" | "connecting" | "connected" | "closed"} state
   * @param {object} [info]
   */
  _setState(state, info = {}) {
    if (this.state === state) return;
    const previous = this.state;
    this.state = state;
    this._emit("state", state, { previous, transport: this.transport, ...info });
  }

  /** Opens the current transport. */
  async _open() {
    const generation = this._generation;
    this._clearTimers();
    this._setState("connecting");
    let token;
    try {
      token = await this._currentToken();
    } catch (error) {
      if (generation !== this._generation) return;
      this._emit("error", new SwitchboardError("token_provider_failed", `the token provider failed: ${error}`, { cause: error }));
      this._scheduleReconnect();
      return;
    }
    if (generation !== this._generation) return;
    const name = this.options.transports[this._transportIndex] ?? "websocket";
    this.transport = name;
    const Transport = name === "websocket" ? WebSocketTransport : name === "sse" ? SSETransport : PollTransport;
    this._conn = new Transport(this, token, generation);
    this._conn.start();
  }

  /** The token to use now: the provider's (fresh at each connect) or the static one. */
  async _currentToken() {
    if (this.options.tokenProvider) {
      this._token = await this.options.tokenProvider();
      this._scheduleRefresh(this._token);
    }
    return this._token;
  }

  /**
   * Before a JWT expires, fetch a new token and reconnect with it (the broker closes a
   * WebSocket whose token expired with 1008, which would stop the client).
   * @param {string | null} token
   */
  _scheduleRefresh(token) {
    const exp = jwtExpiry(token);
    if (exp === null) return;
    const left = exp * 1000 - Date.now();
    const margin = Math.min(60000, Math.max(1000, left / 10));
    if (this._refreshTimer) clearTimeout(this._refreshTimer);
    this._refreshTimer = setTimeout(() => {
      this._refreshTimer = null;
      if (this.state === "connected" || this.state === "connecting") this._reconnectNow("token refresh");
      // At least a second apart, so a provider that hands out nearly expired tokens cannot spin.
    }, Math.max(1000, left - margin));
  }

  /**
   * Drops the current connection and opens a new one at once (resuming every subscription).
   * @param {string} reason
   */
  _reconnectNow(reason) {
    this._generation++;
    this._conn?.stop(reason);
    this._conn = null;
    this._open();
  }

  /**
   * The transport connected.
   * @param {any} conn
   */
  _connected(conn) {
    if (conn !== this._conn) return;
    this._attempt = 0;
    this._wsFailures = 0;
    this._setState("connected");
  }

  /**
   * The transport ended. `fatal` stops reconnecting; `fallback` moves to the next transport.
   * @param {any} conn
   * @param {{ error?: SwitchboardError, fatal?: boolean, fallback?: boolean, code?: number, reason?: string }} info
   */
  _lost(conn, info) {
    if (conn !== this._conn) return;
    this._conn = null;
    for (const sub of this.subscriptions.values()) sub._sid = null;
    if (info.error) this._emit("error", info.error);
    if (info.fatal) {
      this._stop("closed", { code: info.code, reason: info.reason, error: info.error });
      return;
    }
    if (info.fallback && this._transportIndex + 1 < this.options.transports.length) {
      this._transportIndex++;
      this._attempt = 0;
      this._emit("fallback", { transport: this.options.transports[this._transportIndex], error: info.error });
      this._open();
      return;
    }
    // A fallback transport that fails goes back to the first one: the network may have changed.
    if (!info.fallback && this._transportIndex > 0 && this.state === "connected") this._transportIndex = 0;
    this._setState("connecting", { code: info.code, reason: info.reason });
    this._scheduleReconnect();
  }

  /** Waits a backoff delay, then opens the transport again. */
  _scheduleReconnect() {
    const { minReconnectDelay, maxReconnectDelay } = this.options;
    // Exponential backoff with full jitter: uniform in [0, min(max, min * 2^attempt)].
    const ceiling = Math.min(maxReconnectDelay, minReconnectDelay * 2 ** Math.min(this._attempt, 30));
    const delay = Math.max(minReconnectDelay / 10, Math.random() * ceiling);
    this._attempt++;
    const generation = this._generation;
    this._reconnectTimer = setTimeout(() => {
      this._reconnectTimer = null;
      if (generation === this._generation) this._open();
    }, delay);
  }

  /**
   * @param {"closed" | "disconnected"} state
   * @param {object} info
   */
  _stop(state, info) {
    this._generation++;
    this._clearTimers();
    if (this._refreshTimer) clearTimeout(this._refreshTimer);
    this._refreshTimer = null;
    const conn = this._conn;
    this._conn = null;
    conn?.stop("closed");
    for (const sub of this.subscriptions.values()) {
      sub._sid = null;
      if (sub.status === "active") sub.status = "pending";
    }
    this._setState(state, info);
  }

  /** Cancels a pending reconnect. */
  _clearTimers() {
    if (this._reconnectTimer) clearTimeout(this._reconnectTimer);
    this._reconnectTimer = null;
  }

  /** @param {Subscription} sub */
  _unsubscribe(sub) {
    this._forget(sub);
    if (this.state === "connected") this._conn?.unsubscribe(sub);
  }

  /** @param {Subscription} sub */
  _forget(sub) {
    if (this.subscriptions.get(sub.topic) === sub) this.subscriptions.delete(sub.topic);
  }

  /**
   * Something the broker sent breaks the contract: tell the application, never hide it.
   * @param {string} message
   */
  _protocolError(message) {
    this._emit("error", new SwitchboardError("protocol_error", message));
  }

  /** Subscriptions that a transport should hold. */
  _activeSubscriptions() {
    return [...this.subscriptions.values()].filter((s) => s.status !== "ended");
  }

  /**
   * An HTTP request with the bearer token; answers the parsed JSON, throws SwitchboardError.
   * @param {string} method
   * @param {string} path
   * @param {Record<string, string>} headers
   * @param {Uint8Array} [body]
   */
  async _request(method, path, headers, body) {
    const token = this.options.tokenProvider && !this._token ? await this._currentToken() : this._token;
    if (token) headers = { ...headers, Authorization: `Bearer ${token}` };
    const fetchFn = this.options.fetch ?? fetch;
    const response = await fetchFn(this.url + path, { method, headers, body });
    const text = await response.text();
    if (!response.ok) throw errorFromAnswer(response.status, text);
    return text ? JSON.parse(text) : null;
  }

  /**
   * The headers and query token for a subscribing request: `?token=` in browsers (they cannot
   * set headers on WebSocket or EventSource), `Authorization` in Node.
   * @param {string | null} token
   * @returns {{ headers: Record<string, string>, query: string }}
   */
  _credentials(token) {
    if (!token) return { headers: {}, query: "" };
    if (isNode) return { headers: { Authorization: `Bearer ${token}` }, query: "" };
    return { headers: {}, query: `token=${encodeURIComponent(token)}` };
  }

  /**
   * Why a subscribing request failed, asked over plain HTTP (a WebSocket failure has no status):
   * the answer to a non-upgrade `GET /v1/ws` runs the same checks as the upgrade.
   * @param {string | null} token
   * @returns {Promise<SwitchboardError | null>} null when the broker could not be reached
   */
  async _probe(token) {
    const { headers, query } = this._credentials(token);
    const abort = new AbortController();
    const timer = setTimeout(() => abort.abort(), 5000);
    try {
      const fetchFn = this.options.fetch ?? fetch;
      const response = await fetchFn(`${this.url}/v1/ws${query ? "?" + query : ""}`, { headers, signal: abort.signal });
      return errorFromAnswer(response.status, await response.text());
    } catch {
      return null;
    } finally {
      clearTimeout(timer);
    }
  }
}

// MARK: WebSocket

/** The WebSocket transport: one connection, every subscription, binary frames. */
class WebSocketTransport {
  /**
   * @param {Client} client
   * @param {string | null} token
   * @param {number} generation
   */
  constructor(client, token, generation) {
    this.client = client;
    this.token = token;
    this.generation = generation;
    /** @type {any} */
    this.ws = null;
    this.opened = false;
    this.stopped = false;
    this.nextId = 1;
    /** @type {Map<number, Subscription>} subscribe requests not answered yet, by id (errors name no topic) */
    this.pending = new Map();
    /** @type {Map<number, Subscription>} subscriptions by delta sid */
    this.bySid = new Map();
    /** @type {ReturnType<typeof setTimeout> | null} */
    this.idleTimer = null;
  }

  /** Opens the WebSocket with the subprotocols and credentials for this platform. */
  start() {
    const { client } = this;
    const WS = client.options.WebSocket ?? globalThis.WebSocket;
    if (!WS) {
      client._lost(this, { error: new SwitchboardError("no_websocket", "no WebSocket constructor (pass one, or run Node with --experimental-websocket)"), fallback: true });
      return;
    }
    const { headers, query } = client._credentials(this.token);
    const url = client.url.replace(/^http/, "ws") + "/v1/ws" + (query ? "?" + query : "");
    const protocols = client.options.compression === "zstd" ? [ZSTD_PROTOCOL, PLAIN_PROTOCOL] : [PLAIN_PROTOCOL];
    try {
      if (isNode && WS === globalThis.WebSocket) {
        // Node's WebSocket (undici) takes headers, and a dispatcher: see freshDispatcher.
        this.dispatcher = freshDispatcher();
        this.ws = new WS(url, { protocols, headers, ...(this.dispatcher ? { dispatcher: this.dispatcher } : {}) });
      } else if (isNode && Object.keys(headers).length) {
        this.ws = new WS(url, protocols, { headers }); // the `ws` package's signature
      } else {
        this.ws = new WS(url, protocols);
      }
    } catch (error) {
      client._lost(this, { error: new SwitchboardError("connect_failed", String(error), { cause: error }), fallback: true });
      return;
    }
    const ws = this.ws;
    ws.binaryType = "arraybuffer";
    ws.onopen = () => this.onOpen();
    ws.onmessage = (/** @type {MessageEvent} */ m) => this.onMessage(m.data);
    ws.onclose = (/** @type {CloseEvent} */ e) => this.onClose(e.code, e.reason);
    // undici reports a refused handshake with an error and no close event: treat it as the close.
    ws.onerror = () => {
      if (!this.opened) this.onClose(1006, "");
    };
    this.connectTimer = setTimeout(() => {
      if (!this.opened && !this.stopped) {
        this.detach();
        this.onClose(1006, "connect timeout");
      }
    }, client.options.connectTimeout);
  }

  /** Forgets the socket without waiting for its close handshake. */
  detach() {
    const ws = this.ws;
    if (!ws) return;
    ws.onopen = ws.onmessage = ws.onclose = ws.onerror = null;
    try {
      ws.close(1000);
    } catch {
      // not open yet, or already closing
    }
  }

  /** @param {string} reason */
  stop(reason) {
    if (this.stopped) return;
    this.stopped = true;
    this.clearIdle();
    if (this.connectTimer) clearTimeout(this.connectTimer);
    const ws = this.ws;
    if (!ws) return;
    ws.onopen = ws.onmessage = ws.onclose = ws.onerror = null;
    try {
      ws.close(1000, reason.slice(0, 100));
    } catch {
      // already closing
    }
    this.dispatcher?.close().catch(() => {});
  }

  /** Connected: (re)subscribes every subscription from where it stands. */
  onOpen() {
    if (this.stopped) return;
    this.opened = true;
    if (this.connectTimer) clearTimeout(this.connectTimer);
    this.client._httpCursor = null; // positions move on here: a later fallback starts from them
    this.zstd = this.ws.protocol === ZSTD_PROTOCOL;
    this.client.protocol = this.ws.protocol || null;
    this.client.extensions = this.ws.extensions || "";
    this.client._connected(this);
    for (const sub of this.client._activeSubscriptions()) this.subscribe(sub);
    this.armIdle();
  }

  /** @param {Subscription} sub */
  subscribe(sub) {
    sub.status = "pending";
    sub._sid = null;
    sub._prefix = null;
    /** @type {Record<string, any>} */
    const op = { op: "subscribe", topic: sub.topic, ...sub._start(), id: this.nextId++ };
    this.pending.set(op.id, sub);
    if (sub.delta && this.zstd) op.delta = true;
    this.send(op);
  }

  /** @param {Subscription} sub */
  unsubscribe(sub) {
    if (sub._sid !== null) this.bySid.delete(sub._sid);
    this.send({ op: "unsubscribe", topic: sub.topic, id: this.nextId++ });
  }

  /** @param {object} message */
  send(message) {
    try {
      this.ws.send(JSON.stringify(message));
    } catch {
      // The close handler reconnects.
    }
  }

  /** Starts the liveness clock: silence for pingTimeout sends a check, no answer means dead. */
  armIdle() {
    this.clearIdle();
    const timeout = this.client.options.pingTimeout;
    this.idleTimer = setTimeout(() => {
      if (this.stopped) return;
      this.send({ op: "unsubscribe", topic: LIVENESS_TOPIC, id: `liveness-${this.nextId++}` });
      this.idleTimer = setTimeout(() => this.dead(), Math.max(1000, timeout / 2));
    }, timeout);
  }

  /** Stops the liveness clock. */
  clearIdle() {
    if (this.idleTimer) clearTimeout(this.idleTimer);
    this.idleTimer = null;
  }

  /** No answer to the liveness check: give the socket up without waiting for its close. */
  dead() {
    if (this.stopped) return;
    this.stop("no answer to the liveness check");
    this.client._lost(this, { code: 1006, reason: "the connection stopped answering" });
  }

  /**
   * @param {number} code
   * @param {string} reason
   */
  async onClose(code, reason) {
    if (this.stopped) return;
    this.stopped = true;
    this.clearIdle();
    if (this.connectTimer) clearTimeout(this.connectTimer);
    if (!this.opened) this.dispatcher?.close().catch(() => {});
    const { client } = this;
    if (!this.opened) {
      // An upgrade refused or never reached: ask over HTTP why (a WebSocket error has no status).
      const refusal = await client._probe(this.token);
      if (this.generation !== client._generation) return;
      if (refusal && (refusal.status === 401 || refusal.status === 403)) {
        client._lost(this, { error: refusal, fatal: true, code: refusal.status, reason: refusal.message });
        return;
      }
      const reachable = refusal !== null && refusal.status !== 503 && refusal.status !== 429;
      if (reachable) client._wsFailures++;
      // Twice refused while the broker answers HTTP: something between blocks WebSocket.
      const fallback = reachable && client._wsFailures >= 2;
      client._lost(this, { error: refusal ?? undefined, fallback, code, reason: reason || "could not connect" });
      return;
    }
    if (code === 1008) {
      const error = new SwitchboardError("unauthorized", `the broker closed the connection (1008): ${reason || "credentials expired or closed by an operator"}`, { closeCode: code });
      client._lost(this, { error, fatal: true, code, reason });
      return;
    }
    client._lost(this, { code, reason });
  }

  /** @param {string | ArrayBuffer} data */
  onMessage(data) {
    if (this.stopped) return;
    this.armIdle();
    try {
      if (typeof data === "string") this.onControl(JSON.parse(data));
      else this.onFrame(new Uint8Array(data));
    } catch (error) {
      // A frame we cannot read: reconnect and resume rather than deliver something wrong.
      const e = new SwitchboardError("protocol_error", `unreadable message: ${error instanceof Error ? error.message : error}`, { cause: error });
      this.stop("unreadable message");
      this.client._lost(this, { error: e, code: 1002, reason: e.message });
    }
  }

  /** @param {any} m */
  onControl(m) {
    const sub = typeof m.topic === "string" ? this.client.subscriptions.get(m.topic) : undefined;
    const requested = typeof m.id === "number" ? this.pending.get(m.id) : undefined;
    if (m.type === "subscribed" || m.type === "error") this.pending.delete(m.id);
    switch (m.type) {
      case "subscribed":
        // Answers only the request it names: after unsubscribe and subscribe again on one topic,
        // the old request's answer is not the new subscription's.
        if (!sub || sub.status === "ended" || (typeof m.id === "number" && requested !== sub)) return;
        sub._onSubscribed(m.epoch, m.seq, !!m.reset);
        if (m.delta === true && typeof m.sid === "number") {
          sub._sid = m.sid;
          this.bySid.set(m.sid, sub);
        }
        return;
      case "gap":
        if (sub?.status === "active") sub._onGap(m.from, m.to);
        return;
      case "reset":
        if (sub?.status === "active") sub._onReset(m.epoch);
        return;
      case "deleted":
        if (sub?._sid != null) this.bySid.delete(sub._sid);
        sub?._onDeleted();
        return;
      case "error": {
        if (typeof m.id === "string" && m.id.startsWith("liveness-")) return;
        const error = new SwitchboardError(m.code, m.message);
        const failed = requested;
        if (failed && failed.status === "pending" && failed.delta && m.code === "invalid_request" && /delta/.test(m.message ?? "")) {
          // A broker without deltas (strict about fields) refuses the field: deltas are only an
          // optimisation, so subscribe again without them rather than lose the subscription.
          failed.delta = false;
          this.client._emit("error", new SwitchboardError("delta_unavailable", `no zstd deltas for ${failed.topic}: ${m.message}`));
          this.subscribe(failed);
          return;
        }
        if (failed && failed.status === "pending" && m.code !== "already_subscribed") {
          // The broker refused this subscription (forbidden, invalid_topic, limit_reached, …): it ends.
          failed.status = "ended";
          this.client._forget(failed);
          failed._onError(error);
        }
        this.client._emit("error", error);
        return;
      }
      default:
        return; // unsubscribed, and types a later broker may add
    }
  }

  /** @param {Uint8Array} frame */
  onFrame(frame) {
    if (frame.length < 1) throw new Error("empty binary frame");
    const flags = frame[0];
    let body;
    /** @type {Subscription | undefined} */
    let deltaSub;
    if (flags === 3) {
      if (frame.length < 3) throw new Error("truncated delta frame");
      const sid = (frame[1] << 8) | frame[2];
      deltaSub = this.bySid.get(sid);
      if (!deltaSub) throw new Error(`delta frame for unknown sid ${sid}`);
      if (!deltaSub._prefix) throw new Error(`delta frame for ${deltaSub.topic} with no previous frame`);
      body = decompress(frame.subarray(3), { prefix: deltaSub._prefix, maxOutputSize: MAX_FRAME_BYTES });
    } else if (flags === 1) {
      body = decompress(frame.subarray(1), { maxOutputSize: MAX_FRAME_BYTES });
    } else if (flags === 0) {
      body = frame.subarray(1);
    } else {
      throw new Error(`unknown frame flags ${flags}`);
    }
    const { topic, events } = decodeBody(body);
    const sub = this.client.subscriptions.get(topic);
    if (deltaSub && deltaSub !== sub) throw new Error(`delta frame for ${deltaSub.topic} holds ${topic}`);
    // Frames of an unsubscribed topic, or of an earlier subscription to it, can still be in flight.
    if (!sub || sub.status !== "active") return;
    if (sub._sid !== null) sub._prefix = body.length <= MAX_PREFIX ? body.slice() : null;
    for (const event of events) sub._onEvent(event);
  }
}

/**
 * A dispatcher of its own for one WebSocket handshake in Node, or undefined.
 *
 * undici sends a WebSocket handshake over an idle keep-alive connection of `fetch`'s pool when
 * one exists, and the broker refuses an upgrade on a connection that already carried a request
 * (400 `upgrade_required`, "on a new connection"). A process that publishes and subscribes
 * would then fail to connect, so each handshake gets a fresh agent (undici's own class, taken
 * from the global dispatcher: Node does not export it). Before any fetch there is no pool.
 */
function freshDispatcher() {
  const global = /** @type {any} */ (globalThis)[Symbol.for("undici.globalDispatcher.1")];
  if (!global || typeof global.constructor !== "function") return undefined;
  try {
    return new global.constructor();
  } catch {
    return undefined;
  }
}

/**
 * Reads a frame body: `u16 T · topic · u64 first seq · u32 count · count × (i64 ts · u32 L · L bytes)`.
 * @param {Uint8Array} body
 * @returns {{ topic: string, events: SwitchboardEvent[] }}
 */
export function decodeBody(body) {
  const view = new DataView(body.buffer, body.byteOffset, body.byteLength);
  let p = 0;
  const need = (/** @type {number} */ n) => {
    if (p + n > body.length) throw new Error("truncated frame body");
  };
  need(2);
  const t = view.getUint16(0);
  p = 2;
  need(t + 12);
  const topic = textDecoder.decode(body.subarray(p, p + t));
  p += t;
  const first = view.getUint32(p) * 4294967296 + view.getUint32(p + 4);
  const count = view.getUint32(p + 8);
  p += 12;
  if (count < 1) throw new Error("frame with no event");
  const events = [];
  for (let i = 0; i < count; i++) {
    need(12);
    const ts = view.getInt32(p) * 4294967296 + view.getUint32(p + 4);
    const length = view.getUint32(p + 8);
    p += 12;
    need(length);
    events.push(new SwitchboardEvent(topic, first + i, ts, body.slice(p, p + length)));
    p += length;
  }
  if (p !== body.length) throw new Error("bytes after the last event of a frame");
  return { topic, events };
}

// MARK: SSE and long-poll

/**
 * What the HTTP transports share: the query for the held positions, and applying one JSON event.
 */
class HTTPTransport {
  /**
   * @param {Client} client
   * @param {string | null} token
   * @param {number} generation
   */
  constructor(client, token, generation) {
    this.client = client;
    this.token = token;
    this.generation = generation;
    this.stopped = false;
    this.abort = new AbortController();
    /** @type {string[]} */
    this.topics = [];
  }

  /**
   * The SSE/poll cursor for the current topic list, kept by the client across reconnects; a
   * cursor only covers the topics it was made for, so another list starts over with positions.
   */
  get cursor() {
    const held = this.client._httpCursor;
    return held && held.topics === this.topics.join(",") ? held.cursor : null;
  }

  set cursor(value) {
    this.client._httpCursor = value ? { topics: this.topics.join(","), cursor: value } : null;
  }

  /** @param {string} reason */
  stop(reason) {
    if (this.stopped) return;
    this.stopped = true;
    this.abort.abort(new Error(reason));
  }

  /** A topic added: start over with positions (a cursor only covers its own topics). */
  subscribe() {
    this.restart();
  }

  /** A topic removed: start over without it. */
  unsubscribe() {
    this.restart();
  }

  /** Aborts the running request and starts over with the current topics. */
  restart() {
    if (this.stopped) return;
    this.cursor = null;
    this.abort.abort(new Error("topics changed"));
    this.abort = new AbortController();
    this.onRestart();
  }

  onRestart() {}

  /**
   * Before a stream starts without a cursor, gives every subscription a known `(epoch, seq)`
   * from its topic's history, so the stream resumes from positions and nothing is started live.
   *
   * Live on SSE and poll is not a safe start: SSE and poll events carry no epoch, so a
   * subscription that started live never learns it and could not give a position when the
   * topic list changes (the cursor only covers its own topics); and the broker fixes a live
   * start when it first reads, after it answered the SSE request, so an event published just
   * after the client saw the stream open could fall before that start and never arrive.
   * @param {AbortController} abort the run's controller
   * @returns {Promise<boolean>} false when the transport restarted or stopped meanwhile
   */
  async anchor(abort) {
    const subs = this.client._activeSubscriptions();
    this.topics = subs.map((s) => s.topic);
    if (this.cursor) return true;
    const loose = subs.filter((s) => s.position.seq === null || s.position.epoch === null);
    const heads = await Promise.all(loose.map((s) => this.head(s.topic)));
    if (abort !== this.abort || this.stopped) return false;
    loose.forEach((s, i) => s._anchor(heads[i]));
    return true;
  }

  /**
   * A topic's epoch (null when the topic does not exist) and newest seq, asking its history
   * for nothing after the largest seq.
   * @param {string} topic
   * @returns {Promise<{ epoch: string | null, seq: number }>}
   */
  async head(topic) {
    const { query } = this.client._credentials(this.token);
    const url = `${this.client.url}/v1/topics/${encodeURIComponent(topic)}/events?since=${Number.MAX_SAFE_INTEGER}&limit=1${query ? "&" + query : ""}`;
    const answer = await (await this.get(url)).json();
    return { epoch: typeof answer.epoch === "string" && answer.epoch ? answer.epoch : null, seq: Number(answer.seq) || 0 };
  }

  /**
   * The query string that starts or resumes the stream: the cursor, else `positions=` (contract
   * v1.1) for the subscriptions, which `anchor()` gave a position.
   * @param {boolean} usePositions false on a broker that refused `positions=`
   */
  query(usePositions) {
    const subs = this.client._activeSubscriptions();
    this.topics = subs.map((s) => s.topic);
    const parts = [`topics=${this.topics.map(encodeURIComponent).join(",")}`];
    if (this.cursor) {
      parts.push(`cursor=${encodeURIComponent(this.cursor)}`);
    } else {
      const held = subs.filter((s) => s.position.seq !== null);
      // A v1 broker ignores positions= and starts live: the first event then shows what the
      // start missed (a gap) or that the topic restarted (a reset), instead of passing unseen.
      for (const s of held) s._uncertain = true;
      if (usePositions && held.length) {
        // A topic that did not exist has no epoch yet: any epoch that is not its own makes the
        // broker replay the epoch it gets from its first event, with a reset the client keeps quiet.
        const triple = (/** @type {Subscription} */ s) => `${s.topic}:${s.position.epoch ?? NO_EPOCH}:${s.position.seq}`;
        parts.push("positions=" + held.map(triple).map(encodeURIComponent).join(","));
      }
    }
    const { query } = this.client._credentials(this.token);
    if (query) parts.push(query);
    return parts.join("&");
  }

  /** @param {any} e a JSON event object */
  deliver(e) {
    const sub = this.client.subscriptions.get(e.topic);
    if (!sub || sub.status === "ended") return;
    sub.status = "active";
    sub._last = null;
    let data;
    if (e.data_b64 !== undefined) data = fromBase64(e.data_b64);
    else if (typeof e.data === "string" && !/json/i.test(e.type ?? "")) data = textEncoder.encode(e.data);
    // A JSON payload comes parsed; its bytes are re-serialised (the same value, maybe not the same spacing).
    else data = textEncoder.encode(JSON.stringify(e.data));
    sub._onEvent(new SwitchboardEvent(e.topic, e.seq, e.ts, data, e.type));
  }

  /** @param {{ topic: string, from: number, to: number }} g */
  gap(g) {
    this.client.subscriptions.get(g.topic)?._onGap(g.from, g.to);
  }

  /** @param {{ topic: string, epoch: string }} r */
  reset(r) {
    this.client.subscriptions.get(r.topic)?._onReset(r.epoch);
  }

  /** @param {{ topic: string }} d */
  deleted(d) {
    this.client.subscriptions.get(d.topic)?._onDeleted();
  }

  /**
   * Handles a failed request: 401/403 stop, a refused `positions=` retries without it.
   * @param {unknown} error
   */
  failed(error) {
    if (this.stopped) return;
    this.stopped = true;
    if (error instanceof SwitchboardError && (error.status === 401 || error.status === 403)) {
      this.client._lost(this, { error, fatal: true, code: error.status, reason: error.message });
      return;
    }
    const e = error instanceof SwitchboardError ? error : new SwitchboardError("connection_failed", String(error), { cause: error });
    this.client._lost(this, { error: e, reason: e.message });
  }

  /**
   * Fetches with the credentials; throws SwitchboardError on an error answer.
   * @param {string} url
   * @param {Record<string, string>} [extra]
   */
  async get(url, extra = {}) {
    const { headers } = this.client._credentials(this.token);
    const fetchFn = this.client.options.fetch ?? fetch;
    const abort = this.abort;
    // A request whose answer does not start in time (a dead connection) is given up and retried.
    const wait = this.client.options.connectTimeout + (this instanceof PollTransport ? this.client.options.pollTimeout * 1000 : 0);
    const timer = setTimeout(() => abort.abort(new Error("no answer in time")), wait);
    try {
      const response = await fetchFn(url, { headers: { ...headers, ...extra }, signal: abort.signal });
      if (!response.ok) throw errorFromAnswer(response.status, await response.text());
      return response;
    } finally {
      clearTimeout(timer);
    }
  }
}

/**
 * Whether an error answer is a broker refusing `positions=` (a v1 broker does not know it).
 * @param {unknown} error
 */
function positionsRefused(error) {
  return error instanceof SwitchboardError && error.status === 400 && /position/i.test(error.message + error.code);
}

/** Server-sent events over fetch streaming (so headers can be set), parsed here. */
class SSETransport extends HTTPTransport {
  constructor(/** @type {Client} */ client, /** @type {string | null} */ token, /** @type {number} */ generation) {
    super(client, token, generation);
    this.usePositions = true;
    /** @type {ReturnType<typeof setTimeout> | null} */
    this.idleTimer = null;
  }

  /** Opens the stream. */
  start() {
    this.run();
  }

  /** Topics changed: opens a new stream. */
  onRestart() {
    this.run();
  }

  /** @param {string} reason */
  stop(reason) {
    if (this.idleTimer) clearTimeout(this.idleTimer);
    super.stop(reason);
  }

  /**
   * A failed stream's idle clock goes with it (left running, it would keep a Node process alive
   * for pingTimeout + 15 s after the client closed).
   * @param {unknown} error
   */
  failed(error) {
    if (this.idleTimer) clearTimeout(this.idleTimer);
    this.idleTimer = null;
    super.failed(error);
  }

  /** A stream silent for pingTimeout plus the broker's comment interval is given up. */
  armIdle() {
    if (this.idleTimer) clearTimeout(this.idleTimer);
    const abort = this.abort;
    this.idleTimer = setTimeout(() => abort.abort(new Error("no data or comment from the SSE stream")), this.client.options.pingTimeout + SSE_COMMENT_INTERVAL);
  }

  /** Runs one stream: request, then parse until it ends, fails or is restarted. */
  async run() {
    const abort = this.abort;
    if (this.client._activeSubscriptions().length === 0) {
      this.client._connected(this);
      return;
    }
    try {
      if (!(await this.anchor(abort))) return;
      let response;
      try {
        response = await this.get(`${this.client.url}/v1/sse?${this.query(this.usePositions)}`, { Accept: "text/event-stream" });
      } catch (error) {
        if (!positionsRefused(error) || !this.usePositions) throw error;
        this.usePositions = false;
        response = await this.get(`${this.client.url}/v1/sse?${this.query(false)}`, { Accept: "text/event-stream" });
      }
      if (abort !== this.abort) return;
      this.client._connected(this);
      for (const s of this.client._activeSubscriptions()) if (s.status === "pending") s.status = "active";
      this.armIdle();
      await this.read(/** @type {ReadableStream<Uint8Array>} */ (response.body), abort);
      if (abort === this.abort) throw new SwitchboardError("stream_ended", "the SSE stream ended");
    } catch (error) {
      if (abort !== this.abort || this.stopped) return; // restarted or stopped on purpose
      this.failed(abort.signal.aborted ? new SwitchboardError("timeout", String(abort.signal.reason?.message ?? "aborted")) : error);
    }
  }

  /**
   * @param {ReadableStream<Uint8Array>} body
   * @param {AbortController} abort
   */
  async read(body, abort) {
    const reader = body.getReader();
    const decoder = new TextDecoder();
    let buffer = "";
    let event = "message";
    let data = [];
    let id = null;
    for (;;) {
      const { value, done } = await reader.read();
      if (done || abort !== this.abort) return;
      this.armIdle();
      buffer += decoder.decode(value, { stream: true });
      let nl;
      while ((nl = buffer.search(/\r\n|\r|\n/)) >= 0) {
        const line = buffer.slice(0, nl);
        buffer = buffer.slice(nl + (buffer[nl] === "\r" && buffer[nl + 1] === "\n" ? 2 : 1));
        if (line === "") {
          if (data.length) this.dispatch(event, data.join("\n"), id);
          event = "message";
          data = [];
          id = null;
          continue;
        }
        if (line.startsWith(":")) continue;
        const colon = line.indexOf(":");
        const field = colon < 0 ? line : line.slice(0, colon);
        let value = colon < 0 ? "" : line.slice(colon + 1);
        if (value.startsWith(" ")) value = value.slice(1);
        if (field === "event") event = value;
        else if (field === "data") data.push(value);
        else if (field === "id") id = value;
      }
    }
  }

  /**
   * @param {string} event
   * @param {string} data
   * @param {string | null} id
   */
  dispatch(event, data, id) {
    const m = JSON.parse(data);
    if (event === "message") this.deliver(m);
    else if (event === "gap") this.gap(m);
    else if (event === "reset") this.reset(m);
    else if (event === "deleted") this.deleted(m);
    else if (event === "error") this.client._emit("error", new SwitchboardError(m.code ?? "stream_error", m.message ?? "the SSE stream reported an error"));
    if (id) this.cursor = id;
  }
}

/** Long-poll: `GET /v1/poll` in a loop, following the cursor. */
class PollTransport extends HTTPTransport {
  constructor(/** @type {Client} */ client, /** @type {string | null} */ token, /** @type {number} */ generation) {
    super(client, token, generation);
    this.usePositions = true;
    this.running = false;
  }

  /** Starts polling. */
  start() {
    this.loop();
  }

  /** Topics changed: polls again at once. */
  onRestart() {
    this.loop();
  }

  /** Polls until stopped or restarted, following the cursor. */
  async loop() {
    const abort = this.abort;
    let first = true;
    while (!this.stopped && abort === this.abort) {
      if (this.client._activeSubscriptions().length === 0) {
        this.client._connected(this);
        return;
      }
      const timeout = first ? 0 : this.client.options.pollTimeout;
      try {
        if (!(await this.anchor(abort))) return;
        let response;
        try {
          response = await this.get(`${this.client.url}/v1/poll?${this.query(this.usePositions)}&timeout=${timeout}`);
        } catch (error) {
          if (!positionsRefused(error) || !this.usePositions) throw error;
          this.usePositions = false;
          response = await this.get(`${this.client.url}/v1/poll?${this.query(false)}&timeout=${timeout}`);
        }
        const answer = await response.json();
        if (abort !== this.abort) return;
        if (first) {
          this.client._connected(this);
          for (const s of this.client._activeSubscriptions()) if (s.status === "pending") s.status = "active";
          first = false;
        }
        this.apply(answer);
        this.cursor = answer.cursor;
      } catch (error) {
        if (abort !== this.abort || this.stopped) return;
        this.failed(error);
        return;
      }
    }
  }

  /**
   * Applies one answer in stream order: per topic, its reset first, then gaps and events by seq
   * (a gap comes before the first event after the hole).
   * @param {{ events?: any[], gaps?: any[], resets?: any[] }} answer
   */
  apply(answer) {
    for (const r of answer.resets ?? []) this.reset(r);
    const gaps = [...(answer.gaps ?? [])];
    for (const e of answer.events ?? []) {
      for (let i = 0; i < gaps.length; i++) {
        if (gaps[i].topic === e.topic && gaps[i].to < e.seq) {
          this.gap(gaps[i]);
          gaps.splice(i--, 1);
        }
      }
      this.deliver(e);
    }
    for (const g of gaps) this.gap(g);
  }
}

// MARK: helpers

/**
 * The `exp` (seconds) of a JWT, or null when the token is not a readable JWT.
 * @param {string | null} token
 */
export function jwtExpiry(token) {
  if (!token) return null;
  const parts = token.split(".");
  if (parts.length !== 3) return null;
  try {
    const payload = JSON.parse(textDecoder.decode(fromBase64(parts[1].replace(/-/g, "+").replace(/_/g, "/"))));
    return typeof payload.exp === "number" ? payload.exp : null;
  } catch {
    return null;
  }
}

/**
 * @param {number} status
 * @param {string} text the answer's body
 */
function errorFromAnswer(status, text) {
  try {
    const e = JSON.parse(text).error;
    if (e && typeof e.code === "string") return new SwitchboardError(e.code, e.message ?? e.code, { status, index: e.index });
  } catch {
    // not the contract's JSON: fall through
  }
  return new SwitchboardError(status === 401 ? "unauthorized" : `http_${status}`, `HTTP ${status}`, { status });
}

/**
 * @param {any} data
 * @returns {{ body: Uint8Array, type: string }}
 */
function encodeBody(data) {
  if (data instanceof Uint8Array) return { body: data, type: "application/octet-stream" };
  if (data instanceof ArrayBuffer) return { body: new Uint8Array(data), type: "application/octet-stream" };
  if (typeof data === "string") return { body: textEncoder.encode(data), type: "text/plain; charset=utf-8" };
  return { body: textEncoder.encode(JSON.stringify(data)), type: "application/json" };
}

/** @param {Uint8Array} bytes */
function toBase64(bytes) {
  let s = "";
  for (let i = 0; i < bytes.length; i += 0x8000) s += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(s);
}

/** @param {string} text */
function fromBase64(text) {
  const padded = text + "===".slice((text.length + 3) % 4);
  const s = atob(padded);
  const out = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) out[i] = s.charCodeAt(i);
  return out;
}
