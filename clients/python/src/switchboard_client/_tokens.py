"""Credentials: a static token, or a provider called at connect and before a JWT expires."""

from __future__ import annotations

import base64
import binascii
import inspect
import json
import time
from collections.abc import Awaitable, Callable

TokenProvider = Callable[[], "str | None | Awaitable[str | None]"]
"""A callable (plain or async) that returns a fresh token, or None for no credentials."""


def jwt_expiry(token: str) -> float | None:
    """The ``exp`` claim of a JWT (seconds since the Unix epoch), or None when the token is
    not a JWT or has no ``exp``. The signature is not checked: that is the broker's job."""
    parts = token.split(".")
    if len(parts) != 3:
        return None
    payload = parts[1] + "=" * (-len(parts[1]) % 4)
    try:
        claims = json.loads(base64.urlsafe_b64decode(payload))
    except (ValueError, binascii.Error):
        return None
    exp = claims.get("exp") if isinstance(claims, dict) else None
    if isinstance(exp, (int, float)) and not isinstance(exp, bool):
        return float(exp)
    return None


def refresh_margin(issued: float, expires: float) -> float:
    """How long before ``expires`` to fetch the next token: a tenth of its lifetime,
    between 1 and 30 seconds."""
    return min(30.0, max(1.0, (expires - issued) / 10.0))


class TokenSource:
    """Hands out the current token, asking the provider again when it is about to expire."""

    def __init__(self, token: str | None, provider: TokenProvider | None) -> None:
        if token is not None and provider is not None:
            raise ValueError("give token or token_provider, not both")
        self._static = token
        self._provider = provider
        self._current: str | None = token
        self._refresh_at: float | None = None  # wall clock
        self.calls = 0

    @property
    def dynamic(self) -> bool:
        """True when tokens come from a provider."""
        return self._provider is not None

    @property
    def refresh_at(self) -> float | None:
        """Wall-clock time (seconds since the Unix epoch) at which the current token should be
        replaced, or None when it does not expire or is static."""
        return self._refresh_at

    async def fresh(self) -> str | None:
        """Ask the provider for a new token (the static token when there is no provider)."""
        if self._provider is None:
            return self._static
        self.calls += 1
        result = self._provider()
        if inspect.isawaitable(result):
            result = await result
        if result is not None and not isinstance(result, str):
            raise TypeError("token_provider must return a str or None")
        self._current = result
        exp = jwt_expiry(result) if result else None
        now = time.time()
        self._refresh_at = None if exp is None else exp - refresh_margin(now, exp)
        return result

    async def current(self) -> str | None:
        """The token to use now: the cached one unless it is due for refresh."""
        if self._provider is None:
            return self._static
        if self._current is None or (self._refresh_at is not None and time.time() >= self._refresh_at):
            return await self.fresh()
        return self._current
