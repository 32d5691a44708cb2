"""Opening the WebSocket: subprotocols, credentials, and what a refused upgrade means."""

from __future__ import annotations

from typing import Any

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import InvalidStatus
from websockets.frames import Frame as WsFrame
from websockets.protocol import Event as WsEvent
from websockets.typing import Subprotocol

from ._http import _error_from
from ._types import SwitchboardError

PROTOCOL_ZSTD = Subprotocol("switchboard.v1.zstd")
PROTOCOL_PLAIN = Subprotocol("switchboard.v1")
# Upgrade answers that retrying cannot change: stop, and tell the application.
FATAL_STATUSES = frozenset({400, 401, 403, 404})


class Connection(ClientConnection):
    """websockets' connection, stamping the time of every frame received (data, ping,
    pong or close), so the client can tell a connection that went silent."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.last_rx = self.loop.time()

    def process_event(self, event: WsEvent) -> None:
        if isinstance(event, WsFrame):
            self.last_rx = self.loop.time()
        super().process_event(event)


class Stop(Exception):
    """Raised inside the connection loop: do not reconnect; ``error`` goes to the app."""

    def __init__(self, error: SwitchboardError) -> None:
        super().__init__(str(error))
        self.error = error


async def open_websocket(
    url: str,
    token: str | None,
    compression: str | None,
    *,
    ping_interval: float | None,
    ping_timeout: float,
    open_timeout: float,
    max_message: int,
) -> Connection:
    """Upgrade to a Switchboard WebSocket. ``compression="zstd"`` offers
    ``switchboard.v1.zstd`` then ``switchboard.v1``; otherwise only ``switchboard.v1``
    (with permessage-deflate for ``"deflate"``). Raises :class:`Stop` for an answer that
    retrying cannot change (400, 401, 403, 404), a :class:`BrokerError` for others."""
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    protocols = [PROTOCOL_ZSTD, PROTOCOL_PLAIN] if compression == "zstd" else [PROTOCOL_PLAIN]
    try:
        ws = await connect(
            url,
            subprotocols=protocols,
            additional_headers=headers,
            compression="deflate" if compression == "deflate" else None,
            ping_interval=ping_interval,
            ping_timeout=ping_timeout,
            open_timeout=open_timeout,
            close_timeout=5,
            max_size=max_message,
            max_queue=64,
            proxy=None,  # the broker's URL as given, never an environment proxy
            create_connection=Connection,
        )
    except InvalidStatus as exc:
        status = exc.response.status_code
        error = _error_from(status, bytes(exc.response.body or b""))
        if status in FATAL_STATUSES:
            raise Stop(error) from exc
        raise error from exc
    assert isinstance(ws, Connection)
    return ws
