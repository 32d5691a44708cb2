"""Exponential backoff with full jitter."""

from __future__ import annotations

import random


class Backoff:
    """Delays between reconnection attempts.

    Attempt ``n`` (from 0) waits a uniformly random time between ``minimum`` and
    ``min(maximum, minimum * 2**n)`` ("full jitter", so that many clients cut off at once
    do not come back at once); :meth:`reset` starts again at ``n = 0`` once a connection
    worked.
    """

    def __init__(self, minimum: float, maximum: float, rng: random.Random | None = None) -> None:
        if minimum < 0 or maximum < minimum:
            raise ValueError("reconnect delays need 0 <= min_reconnect_delay <= max_reconnect_delay")
        self.minimum = minimum
        self.maximum = maximum
        self.attempt = 0
        self._rng = rng or random.Random()

    def next_delay(self) -> float:
        """The delay before the next attempt; each call counts one attempt."""
        cap = min(self.maximum, self.minimum * (2 ** min(self.attempt, 62)))
        self.attempt += 1
        return self._rng.uniform(self.minimum, cap)

    def reset(self) -> None:
        """Start again from the shortest delay."""
        self.attempt = 0
