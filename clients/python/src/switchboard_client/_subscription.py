"""One subscription: its position ``(epoch, seq)`` and the items waiting for the app."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any

from ._frames import MAX_PREFIX_BYTES, Frame
from ._types import Deleted, Event, Gap, Item, Reset

if TYPE_CHECKING:
    from ._client import Client


class _End:
    """Queued after the last item: iteration stops, or raises ``error``."""

    def __init__(self, error: BaseException | None) -> None:
        self.error = error


class Subscription:
    """A subscription to one topic, kept across reconnections.

    Iterate it (``async for item in sub``) to receive :class:`Event`, :class:`Gap`,
    :class:`Reset` and :class:`Deleted` items in stream order. Each event is delivered
    exactly once and in seq order; a hole is always announced by a ``Gap`` and a new epoch
    by a ``Reset``. Iteration stops after :meth:`unsubscribe`, after ``Deleted``, or when the
    client is closed by the application; it raises the error when the client was refused
    for good (for example :class:`~switchboard_client.Unauthorized`).
    """

    def __init__(
        self,
        client: Client,
        topic: str,
        since: int | None,
        epoch: str | None,
        last: int | None,
        delta: bool,
    ) -> None:
        self._client = client
        self.topic = topic
        self.delta = delta
        self._since = since
        self._last = last
        self._epoch: str | None = epoch
        self._seq: int | None = since
        self._queue: asyncio.Queue[Item | _End] = asyncio.Queue()
        self._ack: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._confirmed = False  # the broker confirmed it once: the position is known
        self._ended = False
        self._sent_gen = -1  # connection generation the subscribe op went out on
        self._active_gen = -1  # connection generation the broker confirmed it on
        self._requested_since: int | None = None
        self._requested_last: int | None = None
        self._delta_refused = False  # the broker answered invalid_request to "delta": true
        self.sid: int | None = None
        self.prefix: bytes | None = None

    # -- public ---------------------------------------------------------------------------

    @property
    def position(self) -> tuple[str | None, int | None]:
        """``(epoch, seq)``: the epoch and the seq of the last event (or gap end) delivered
        to this subscription. Keep it to resume later with ``since=seq, epoch=epoch``.
        ``seq`` is None only for a live subscription the broker has not confirmed yet."""
        return (self._epoch, self._seq)

    @property
    def delta_active(self) -> bool:
        """True while the broker sends this subscription zstd delta frames (it said
        ``"delta":true`` in ``subscribed``)."""
        return self.sid is not None

    @property
    def closed(self) -> bool:
        """True once the subscription ended (unsubscribed, deleted, or client closed)."""
        return self._ended

    async def unsubscribe(self) -> None:
        """End this subscription: the broker stops sending its events, and iteration stops
        once the items already received have been read."""
        await self._client._unsubscribe(self)

    def __aiter__(self) -> AsyncIterator[Item]:
        return self

    async def __anext__(self) -> Item:
        item = await self._queue.get()
        if isinstance(item, _End):
            self._queue.put_nowait(item)  # later calls end the same way
            if item.error is not None:
                raise item.error
            raise StopAsyncIteration
        return item

    def __repr__(self) -> str:
        return f"<Subscription {self.topic!r} position={self.position}>"

    # -- used by the client ---------------------------------------------------------------

    def _request(self, op_id: int, delta_allowed: bool) -> dict[str, Any]:
        """The subscribe op for the next (re)connection: resume from the position once
        known, else what the application asked for."""
        op: dict[str, Any] = {"op": "subscribe", "topic": self.topic, "id": op_id}
        self._requested_since = None
        self._requested_last = None
        if self._seq is not None:
            op["since"] = self._seq
            self._requested_since = self._seq
            if self._epoch is not None:
                op["epoch"] = self._epoch
        elif self._last is not None:
            op["last"] = self._last
            self._requested_last = self._last
        if self.delta and delta_allowed and not self._delta_refused:
            op["delta"] = True
        return op

    def _on_subscribed(self, msg: dict[str, Any], gen: int) -> None:
        epoch = str(msg.get("epoch", ""))
        newest = int(msg.get("seq", 0))
        if msg.get("reset"):
            self._queue.put_nowait(Reset(self.topic, epoch))
            self._seq = 0  # the new epoch's buffer is replayed from its start
        elif self._requested_since is not None:
            self._seq = self._requested_since
        elif self._requested_last is not None:
            # The N newest come next; if the connection drops before they do, resuming
            # from here asks for exactly them again (or a gap for those evicted meanwhile).
            self._seq = max(0, newest - self._requested_last)
        else:
            self._seq = newest  # live: events after the newest one now
        self._epoch = epoch
        sid = msg.get("sid")
        self.sid = sid if isinstance(sid, int) and msg.get("delta") else None
        self.prefix = None
        self._active_gen = gen
        self._confirmed = True
        if not self._ack.done():
            self._ack.set_result(None)

    def _on_frame(self, frame: Frame) -> None:
        for seq, ts, payload in frame.events:
            if self._seq is not None and seq <= self._seq:
                continue  # already delivered: never twice
            self._queue.put_nowait(Event(self.topic, seq, ts, payload))
            self._seq = seq
        if self.sid is not None:
            self.prefix = frame.body if len(frame.body) <= MAX_PREFIX_BYTES else None

    def _on_gap(self, first: int, last: int) -> None:
        if self._seq is not None:
            if last <= self._seq:
                return  # nothing the application has not seen
            first = max(first, self._seq + 1)
        self._queue.put_nowait(Gap(self.topic, first, last))
        self._seq = last

    def _on_reset(self, epoch: str) -> None:
        self._queue.put_nowait(Reset(self.topic, epoch))
        self._epoch = epoch
        self._seq = 0
        self.prefix = None

    def _on_deleted(self) -> None:
        self._queue.put_nowait(Deleted(self.topic))
        self._end(None)

    def _connection_lost(self) -> None:
        self._active_gen = -1
        self.sid = None
        self.prefix = None

    def _end(self, error: BaseException | None) -> None:
        if self._ended:
            return
        self._ended = True
        self._active_gen = -1
        if not self._ack.done():
            from ._types import ClientClosed

            self._ack.set_exception(error or ClientClosed("the subscription ended before the broker confirmed it"))
            self._ack.exception()  # mark retrieved: subscribe() may be gone already
        self._queue.put_nowait(_End(error))
