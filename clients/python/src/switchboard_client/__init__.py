"""asyncio client for Switchboard, a live-data pub/sub broker.

One WebSocket connection carries every subscription; the client reconnects with
exponential backoff and full jitter and resumes each subscription from its ``(epoch,
seq)``, so the application receives every event exactly once, in order, and is told of
every hole (:class:`Gap`) and every new epoch (:class:`Reset`)::

    async with Client("http://127.0.0.1:8080") as client:
        sub = await client.subscribe("stocks.AAPL", last=10)
        async for item in sub:
            if isinstance(item, Event):
                print(item.seq, item.text())
"""

from ._backoff import Backoff
from ._client import Client
from ._subscription import Subscription
from ._types import (
    BrokerError,
    ClientClosed,
    ClosedByBroker,
    ConnectionState,
    Deleted,
    Event,
    FrameError,
    Gap,
    Item,
    PublishReceipt,
    Reset,
    SwitchboardError,
    Unauthorized,
)

__all__ = [
    "Backoff",
    "BrokerError",
    "Client",
    "ClientClosed",
    "ClosedByBroker",
    "ConnectionState",
    "Deleted",
    "Event",
    "FrameError",
    "Gap",
    "Item",
    "PublishReceipt",
    "Reset",
    "Subscription",
    "SwitchboardError",
    "Unauthorized",
]

__version__ = "0.1.0"
