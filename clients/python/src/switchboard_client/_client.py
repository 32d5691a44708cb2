"""The client: one WebSocket connection carrying every subscription, reconnected and
resumed for ever (until closed), and the HTTP publish helpers."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import logging
import time
import urllib.parse
from collections.abc import AsyncIterator, Callable, Sequence
from types import TracebackType
from typing import Any

from websockets.exceptions import ConnectionClosed, InvalidHandshake

from ._backoff import Backoff
from ._frames import FrameDecoder
from ._http import BatchEntry, publish_many, publish_one
from ._states import StateCallback, StateHub
from ._subscription import Subscription
from ._tokens import TokenProvider, TokenSource
from ._transport import PROTOCOL_ZSTD, Connection, Stop, open_websocket
from ._types import (
    BrokerError,
    ClientClosed,
    ClosedByBroker,
    ConnectionState,
    FrameError,
    PublishReceipt,
    SwitchboardError,
)

log = logging.getLogger("switchboard_client")

_CLOSE_STOP = 1008  # credentials expired, or closed by an operator


class Client:
    """A Switchboard client.

    ``url`` is the broker's ``http://host:port`` (``https://`` for TLS; a path prefix is
    kept). Give a static ``token`` or a ``token_provider``: a callable, plain or async,
    returning a token; it is called at every connection and again before a JWT's ``exp``
    (the client then reconnects with the new token and resumes, losing nothing).

    ``compression``: ``"zstd"`` (subprotocol ``switchboard.v1.zstd``, the default),
    ``"deflate"`` (``switchboard.v1`` with permessage-deflate) or None (``switchboard.v1``).
    Reconnection waits a random time between ``min_reconnect_delay`` and
    ``min(max_reconnect_delay, min_reconnect_delay * 2**attempt)`` seconds. The client pings
    the broker every ``ping_interval`` seconds, and drops a connection on which nothing
    (not even the broker's own pings) arrived for ``ping_timeout`` seconds, or whose ping
    went unanswered that long.

    Use it as ``async with Client(...) as client:``; subscribe with :meth:`subscribe`,
    publish with :meth:`publish` and :meth:`publish_batch`.
    """

    def __init__(
        self,
        url: str,
        token: str | None = None,
        token_provider: TokenProvider | None = None,
        *,
        compression: str | None = "zstd",
        min_reconnect_delay: float = 0.5,
        max_reconnect_delay: float = 30.0,
        ping_interval: float | None = 20.0,
        ping_timeout: float = 45.0,
        open_timeout: float = 10.0,
        request_timeout: float = 30.0,
        max_frame_size: int = 64 << 20,
        on_state: StateCallback | None = None,
    ) -> None:
        parsed = urllib.parse.urlsplit(url)
        if parsed.scheme not in ("http", "https") or not parsed.netloc:
            raise ValueError("url must be the broker's http://host:port")
        if compression not in ("zstd", "deflate", None):
            raise ValueError('compression must be "zstd", "deflate" or None')
        base = parsed.path.rstrip("/")
        self.url = f"{parsed.scheme}://{parsed.netloc}{base}"
        ws_scheme = "wss" if parsed.scheme == "https" else "ws"
        self._ws_url = f"{ws_scheme}://{parsed.netloc}{base}/v1/ws"
        self.compression = compression
        self._tokens = TokenSource(token, token_provider)
        self._backoff = Backoff(min_reconnect_delay, max_reconnect_delay)
        self._ping_interval = ping_interval
        self._ping_timeout = ping_timeout
        self._open_timeout = open_timeout
        self._request_timeout = request_timeout
        self._max_frame_size = max_frame_size
        self._decoder = FrameDecoder(max_frame_size)

        self._states = StateHub()
        if on_state is not None:
            self._states.add_callback(on_state)

        self._subs: dict[str, Subscription] = {}
        self._requests: dict[int, tuple[str, Any]] = {}
        self._ids = itertools.count(1)
        self._ws: Connection | None = None
        self._gen = 0
        self._task: asyncio.Task[None] | None = None
        self._closing = False
        self._wake: asyncio.Event | None = None
        self._first_attempt: asyncio.Future[None] | None = None
        self._reconnect_now = False
        self._background: set[asyncio.Task[None]] = set()

    # -- state ----------------------------------------------------------------------------

    @property
    def state(self) -> ConnectionState:
        """The connection's current state."""
        return self._states.state

    @property
    def error(self) -> SwitchboardError | None:
        """Why the client stopped for good (401, close 1008, …), or None."""
        return self._states.error

    @property
    def subprotocol(self) -> str | None:
        """The subprotocol of the current connection, or None when not connected."""
        return self._ws.subprotocol if self._ws is not None else None

    def on_state_change(self, callback: StateCallback) -> Callable[[], None]:
        """Call ``callback(state)`` on every state change; returns a function that stops it."""
        return self._states.add_callback(callback)

    def states(self) -> AsyncIterator[ConnectionState]:
        """Iterate over states: the current one, then each change. Ends after CLOSED, or
        raises the error that closed the client for good."""
        return self._states.follow()

    def _set_state(self, state: ConnectionState) -> None:
        self._states.set(state)

    # -- lifecycle ------------------------------------------------------------------------

    async def __aenter__(self) -> Client:
        await self.connect()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    async def connect(self) -> None:
        """Start connecting. Returns once connected, or once the first attempt failed in a
        way worth retrying (the client goes on trying in the background); raises when the
        broker refused for good (for example :class:`Unauthorized`)."""
        self._check_open()
        self._start()
        assert self._first_attempt is not None
        await asyncio.shield(self._first_attempt)

    async def close(self) -> None:
        """Close the connection (code 1000) and end every subscription's iteration. The
        client does not reconnect and cannot be used again."""
        if self._states.state is ConnectionState.CLOSED:
            return
        self._closing = True
        if self._wake is not None:
            self._wake.set()
        ws = self._ws
        if ws is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(ws.close(1000, "client closed"), 5.0)
        task = self._task
        if task is not None and ws is None:
            task.cancel()  # connecting or waiting to reconnect: nothing to finish
        if task is not None and task is not asyncio.current_task():
            try:
                await asyncio.wait_for(asyncio.shield(task), 5.0)
            except (asyncio.TimeoutError, Exception):
                task.cancel()
                with contextlib.suppress(BaseException):
                    await task
        self._finish(None)

    async def wait_closed(self) -> None:
        """Wait until the client is closed; raise the error if it was refused for good."""
        while self._states.state is not ConnectionState.CLOSED:
            async for _ in self.states():
                pass
        if self._states.error is not None:
            raise self._states.error

    def _check_open(self) -> None:
        if self._states.error is not None:
            raise self._states.error
        if self._closing or self._states.state is ConnectionState.CLOSED:
            raise ClientClosed("the client is closed")

    def _start(self) -> None:
        if self._task is None:
            loop = asyncio.get_running_loop()
            self._wake = asyncio.Event()
            self._first_attempt = loop.create_future()
            self._task = loop.create_task(self._run(), name="switchboard-client")

    def _first_attempt_done(self, error: BaseException | None = None) -> None:
        fut = self._first_attempt
        if fut is not None and not fut.done():
            if error is None:
                fut.set_result(None)
            else:
                fut.set_exception(error)
                fut.exception()  # retrieved here: connect() may never have been awaited

    def _finish(self, error: SwitchboardError | None) -> None:
        """Final state: end subscriptions (with ``error`` if any), CLOSED."""
        if error is not None and self._states.error is None:
            self._states.error = error
        self._closing = True
        for sub in list(self._subs.values()):
            sub._end(error)
        self._subs.clear()
        for kind, target in self._requests.values():
            if kind == "unsubscribe" and isinstance(target, asyncio.Future) and not target.done():
                target.set_result(None)
        self._requests.clear()
        self._first_attempt_done(error or ClientClosed("the client was closed"))
        self._set_state(ConnectionState.CLOSED)

    # -- the connection loop --------------------------------------------------------------

    async def _run(self) -> None:
        try:
            while not self._closing:
                self._set_state(ConnectionState.CONNECTING)
                try:
                    ws = await self._open()
                except Stop as stop:
                    self._finish(stop.error)
                    return
                except (OSError, InvalidHandshake, asyncio.TimeoutError, SwitchboardError) as exc:
                    log.info("connecting to %s failed: %s", self._ws_url, exc)
                    self._first_attempt_done()
                else:
                    if self._closing:
                        await ws.close()
                        break
                    self._backoff.reset()
                    try:
                        await self._serve(ws)
                    except Stop as stop:
                        self._finish(stop.error)
                        return
                if self._closing:
                    break
                self._set_state(ConnectionState.DISCONNECTED)
                if self._reconnect_now:
                    self._reconnect_now = False
                    continue
                await self._pause(self._backoff.next_delay())
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # a bug: do not hang the application's iterators
            log.exception("connection loop failed")
            self._finish(SwitchboardError(f"connection loop failed: {exc!r}"))
            return
        self._finish(None)

    async def _pause(self, delay: float) -> None:
        assert self._wake is not None
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(self._wake.wait(), delay)

    async def _open(self) -> Connection:
        try:
            token = await self._tokens.fresh()
        except Exception as exc:
            raise SwitchboardError(f"token_provider failed: {exc!r}") from exc
        return await open_websocket(
            self._ws_url,
            token,
            self.compression,
            ping_interval=self._ping_interval,
            ping_timeout=self._ping_timeout,
            open_timeout=self._open_timeout,
            max_message=self._max_frame_size + 64,
        )

    async def _serve(self, ws: Connection) -> None:
        self._gen += 1
        gen = self._gen
        self._ws = ws
        self._set_state(ConnectionState.CONNECTED)
        self._first_attempt_done()
        watchdog = asyncio.create_task(self._watchdog(ws))
        refresher = asyncio.create_task(self._token_timer(ws)) if self._tokens.refresh_at else None
        try:
            for sub in list(self._subs.values()):
                await self._send_subscribe(sub, gen)
            async for message in ws:
                if isinstance(message, str):
                    self._on_text(message, gen)
                    continue
                try:
                    self._on_binary(message, gen)
                except FrameError as exc:
                    # Nothing of this frame was delivered: reconnecting resumes from the
                    # last event delivered, so its events come again.
                    log.warning("undecodable frame, reconnecting: %s", exc)
                    await ws.close(1002, "undecodable frame")
                    self._reconnect_now = True
        except ConnectionClosed:
            pass
        finally:
            watchdog.cancel()
            if refresher is not None:
                refresher.cancel()
            self._ws = None
            for sub in self._subs.values():
                sub._connection_lost()
            for op_id, (kind, target) in list(self._requests.items()):
                if kind == "unsubscribe" and isinstance(target, asyncio.Future) and not target.done():
                    target.set_result(None)
                del self._requests[op_id]
        rcvd = ws.protocol.close_rcvd
        if not self._closing and rcvd is not None and rcvd.code == _CLOSE_STOP:
            raise Stop(ClosedByBroker(f"closed by the broker: {rcvd.code} {rcvd.reason}".strip(), close_code=rcvd.code))
        log.info("connection closed (%s)", rcvd.code if rcvd else "no close frame")

    async def _watchdog(self, ws: Connection) -> None:
        """Drop the connection when the broker went silent for ``ping_timeout`` seconds."""
        period = max(0.05, min(1.0, self._ping_timeout / 4))
        while True:
            await asyncio.sleep(period)
            if ws.loop.time() - ws.last_rx > self._ping_timeout:
                log.warning("nothing from the broker for %.1f s: dropping the connection", self._ping_timeout)
                ws.transport.abort()
                return

    async def _token_timer(self, ws: Connection) -> None:
        """Before the token expires, reconnect with a fresh one (resuming every subscription)."""
        at = self._tokens.refresh_at
        if at is None:
            return
        await asyncio.sleep(max(0.0, at - time.time()))
        log.info("token about to expire: reconnecting with a fresh one")
        self._reconnect_now = True
        await ws.close(1000, "token refresh")

    async def _send(self, op: dict[str, Any]) -> None:
        ws = self._ws
        if ws is None:
            return
        with contextlib.suppress(ConnectionClosed):
            await ws.send(json.dumps(op, separators=(",", ":")))

    async def _send_subscribe(self, sub: Subscription, gen: int) -> None:
        if sub._sent_gen == gen or sub.closed or self._subs.get(sub.topic) is not sub:
            return
        sub._sent_gen = gen
        op_id = next(self._ids)
        self._requests[op_id] = ("subscribe", sub)
        delta_ok = self._ws is not None and self._ws.subprotocol == PROTOCOL_ZSTD
        await self._send(sub._request(op_id, delta_ok))

    # -- messages from the broker ---------------------------------------------------------

    def _active(self, topic: Any, gen: int) -> Subscription | None:
        sub = self._subs.get(topic) if isinstance(topic, str) else None
        return sub if sub is not None and sub._active_gen == gen else None

    def _on_text(self, text: str, gen: int) -> None:
        try:
            msg = json.loads(text)
        except ValueError:
            log.warning("control message is not JSON: %.200r", text)
            return
        if not isinstance(msg, dict):
            return
        kind = msg.get("type")
        op_id = msg.get("id")
        request = self._requests.pop(op_id, None) if isinstance(op_id, int) else None
        if kind == "subscribed":
            sub = request[1] if request and request[0] == "subscribe" else self._subs.get(msg.get("topic"))  # type: ignore[arg-type]
            if isinstance(sub, Subscription) and self._subs.get(sub.topic) is sub:
                sub._on_subscribed(msg, gen)
        elif kind == "unsubscribed":
            if request and isinstance(request[1], asyncio.Future) and not request[1].done():
                request[1].set_result(None)
        elif kind == "gap":
            sub = self._active(msg.get("topic"), gen)
            if sub is not None:
                sub._on_gap(int(msg["from"]), int(msg["to"]))
        elif kind == "reset":
            sub = self._active(msg.get("topic"), gen)
            if sub is not None:
                sub._on_reset(str(msg.get("epoch", "")))
        elif kind == "deleted":
            sub = self._subs.get(msg.get("topic"))  # type: ignore[arg-type]
            if sub is not None:
                del self._subs[sub.topic]
                sub._on_deleted()
        elif kind == "error":
            error = BrokerError(str(msg.get("code", "error")), str(msg.get("message", "")))
            if request is None:
                log.warning("broker error: %s", error)
            elif request[0] == "subscribe":
                failed: Subscription = request[1]
                if error.code == "invalid_request" and failed.delta and not failed._delta_refused:
                    # A broker without v1.1 deltas: ask again for ordinary frames.
                    log.info("broker refused delta frames for %r: subscribing without", failed.topic)
                    failed._delta_refused = True
                    if self._subs.get(failed.topic) is failed and self._ws is not None:
                        failed._sent_gen = -1
                        task = asyncio.get_running_loop().create_task(self._send_subscribe(failed, gen))
                        self._background.add(task)
                        task.add_done_callback(self._background.discard)
                    return
                if self._subs.get(failed.topic) is failed:
                    del self._subs[failed.topic]
                failed._end(error)
            elif isinstance(request[1], asyncio.Future) and not request[1].done():
                request[1].set_result(None)  # not_subscribed: it is gone either way
        else:
            log.debug("ignoring control message %.200r", text)

    def _on_binary(self, data: bytes, gen: int) -> None:
        def prefix_for(sid: int) -> bytes | None:
            for sub in self._subs.values():
                if sub.sid == sid and sub._active_gen == gen:
                    return sub.prefix
            return None

        frame = self._decoder.decode(data, prefix_for)
        sub = self._active(frame.topic, gen)
        if sub is None:
            return  # unsubscribed meanwhile
        sub._on_frame(frame)

    # -- subscriptions --------------------------------------------------------------------

    async def subscribe(
        self,
        topic: str,
        since: int | None = None,
        epoch: str | None = None,
        last: int | None = None,
        delta: bool = False,
    ) -> Subscription:
        """Subscribe to ``topic`` and return once the broker confirmed it.

        Without ``since`` or ``last``: live events only. ``since=S`` (with the ``epoch`` it
        belongs to): every buffered event after seq ``S``, then live; a stale epoch yields a
        :class:`Reset` first. ``last=N``: the N newest buffered events, then live.
        ``delta=True`` asks for zstd delta frames (zstd connections only). Raises
        :class:`BrokerError` when the broker refuses (``invalid_topic``, ``forbidden``, …).
        One subscription per topic per client.
        """
        self._check_open()
        if since is not None and last is not None:
            raise ValueError("give since or last, not both")
        if (since is not None and since < 0) or (last is not None and last < 0):
            raise ValueError("since and last must not be negative")
        if topic in self._subs:
            raise ValueError(f"already subscribed to {topic!r}")
        self._start()
        sub = Subscription(self, topic, since, epoch, last, delta)
        self._subs[topic] = sub
        if self._ws is not None:
            await self._send_subscribe(sub, self._gen)
        try:
            await asyncio.shield(sub._ack)
        except asyncio.CancelledError:
            await self._unsubscribe(sub)
            raise
        return sub

    async def _unsubscribe(self, sub: Subscription) -> None:
        if sub.closed:
            return
        # Sent on this connection (confirmed or not yet): the broker must be told.
        was_active = self._subs.get(sub.topic) is sub and sub._sent_gen == self._gen and self._ws is not None
        if self._subs.get(sub.topic) is sub:
            del self._subs[sub.topic]
        if was_active:
            op_id = next(self._ids)
            done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
            self._requests[op_id] = ("unsubscribe", done)
            await self._send({"op": "unsubscribe", "topic": sub.topic, "id": op_id})
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(done, 5.0)
            self._requests.pop(op_id, None)
        sub._end(None)

    # -- publishing -----------------------------------------------------------------------

    async def publish(
        self,
        topic: str,
        data: bytes,
        content_type: str = "application/octet-stream",
        idempotency_key: str | None = None,
    ) -> PublishReceipt:
        """Publish one event (``POST /v1/topics/{topic}``) and return its receipt.

        With ``idempotency_key``, a repeat while the first event is still buffered
        publishes nothing and returns the first event's receipt with ``duplicate=True``.
        Raises :class:`BrokerError` for an error answer (:class:`Unauthorized` for 401).
        """
        if isinstance(data, str):
            data = data.encode("utf-8")
        token = await self._tokens.current()
        return await publish_one(self.url, token, topic, data, content_type, idempotency_key, self._request_timeout)

    async def publish_batch(self, events: Sequence[BatchEntry]) -> list[PublishReceipt]:
        """Publish several events at once, all or nothing (``POST /v1/publish``).

        Each entry is ``(topic, data_bytes)``, ``(topic, data_bytes, content_type)``, or a
        mapping in the contract's form (``{"topic": …, "data": <JSON value>}`` or
        ``{"topic": …, "data_b64": …, "type": …}``). Returns the receipts in request order.
        """
        token = await self._tokens.current()
        return await publish_many(self.url, token, events, self._request_timeout)
