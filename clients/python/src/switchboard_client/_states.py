"""Connection state, followed by callbacks and async iterators."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable

from ._types import ConnectionState, SwitchboardError

log = logging.getLogger("switchboard_client")

StateCallback = Callable[[ConnectionState], None]


class StateHub:
    """Holds the current state and tells every follower of each change."""

    def __init__(self) -> None:
        self.state = ConnectionState.DISCONNECTED
        self.error: SwitchboardError | None = None
        self._callbacks: list[StateCallback] = []
        self._queues: list[asyncio.Queue[ConnectionState]] = []

    def add_callback(self, callback: StateCallback) -> Callable[[], None]:
        self._callbacks.append(callback)
        return lambda: self._callbacks.remove(callback) if callback in self._callbacks else None

    def set(self, state: ConnectionState) -> None:
        if state is self.state:
            return
        self.state = state
        for queue in self._queues:
            queue.put_nowait(state)
        for callback in list(self._callbacks):
            try:
                callback(state)
            except Exception:  # an application bug must not stop the connection loop
                log.exception("state callback failed")

    async def follow(self) -> AsyncIterator[ConnectionState]:
        queue: asyncio.Queue[ConnectionState] = asyncio.Queue()
        queue.put_nowait(self.state)
        self._queues.append(queue)
        try:
            while True:
                state = await queue.get()
                yield state
                if state is ConnectionState.CLOSED:
                    if self.error is not None:
                        raise self.error
                    return
        finally:
            self._queues.remove(queue)
