"""The items a subscription yields, publish receipts, connection states and errors."""

from __future__ import annotations

import enum
import json as _json
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Event:
    """One event of a topic, exactly as the broker stored it.

    ``seq`` is the topic's sequence number (1, 2, 3, … within one epoch), ``ts`` the
    broker's receive time in microseconds since the Unix epoch, ``data`` the payload bytes.
    """

    topic: str
    seq: int
    ts: int
    data: bytes

    def text(self, encoding: str = "utf-8") -> str:
        """The payload decoded as text (UTF-8 unless told otherwise)."""
        return self.data.decode(encoding)

    def json(self) -> Any:
        """The payload parsed as JSON."""
        return _json.loads(self.data)


@dataclass(frozen=True)
class Gap:
    """Events ``from_seq`` to ``to_seq`` (inclusive) of ``topic`` will never arrive.

    The broker evicted them before they could be replayed, or dropped them because the
    client read too slowly. It comes before the first event after the hole.
    """

    topic: str
    from_seq: int
    to_seq: int


@dataclass(frozen=True)
class Reset:
    """The topic's sequence restarted in a new ``epoch``.

    What the application built from earlier events of this topic may be stale: the events
    that follow are the new epoch's buffer from its start (with a :class:`Gap` first if it
    no longer begins at 1), then live events.
    """

    topic: str
    epoch: str


@dataclass(frozen=True)
class Deleted:
    """An operator deleted the topic. The subscription ends after this item."""

    topic: str


Item = Event | Gap | Reset | Deleted
"""What iterating a :class:`~switchboard_client.Subscription` yields."""


@dataclass(frozen=True)
class PublishReceipt:
    """The broker's answer to a publish: where the event went.

    ``duplicate`` is true when an ``Idempotency-Key`` matched an event still buffered:
    nothing new was published and the fields describe that first event.
    """

    topic: str
    seq: int
    epoch: str
    ts: int
    duplicate: bool = False


class ConnectionState(str, enum.Enum):
    """The state of a client's WebSocket connection."""

    DISCONNECTED = "disconnected"
    """Not connected; a connection attempt will follow (after a backoff delay)."""
    CONNECTING = "connecting"
    """A connection attempt is in progress."""
    CONNECTED = "connected"
    """Connected; subscriptions are (re)established on this connection."""
    CLOSED = "closed"
    """Final: closed by the application, or refused for good (see ``Client.error``)."""


class SwitchboardError(Exception):
    """Base class of every error this library raises."""


class BrokerError(SwitchboardError):
    """The broker answered with an error (an HTTP error or a WebSocket ``error`` message).

    ``status`` is the HTTP status (None for a WebSocket ``error`` message), ``code`` the
    contract's snake_case code, ``index`` the failing entry of a batch when given.
    """

    def __init__(
        self,
        code: str,
        message: str,
        status: int | None = None,
        index: int | None = None,
    ) -> None:
        super().__init__(f"{code}: {message}" if status is None else f"HTTP {status} {code}: {message}")
        self.code = code
        self.message = message
        self.status = status
        self.index = index


class Unauthorized(BrokerError):
    """The broker refused the credentials (HTTP 401). The client does not reconnect."""


class ClosedByBroker(SwitchboardError):
    """The broker closed the connection with code 1008 (credentials expired, or closed by
    an operator). The client does not reconnect. (An upgrade refused for good raises
    :class:`Unauthorized` or :class:`BrokerError` with the HTTP status instead.)"""

    def __init__(self, message: str, close_code: int) -> None:
        super().__init__(message)
        self.close_code = close_code


class ClientClosed(SwitchboardError):
    """The client was closed by the application; it cannot be used any more."""


class FrameError(SwitchboardError):
    """A binary frame from the broker could not be decoded."""
