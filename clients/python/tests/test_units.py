"""Backoff and token handling, without a broker."""

from __future__ import annotations

import base64
import json
import random
import time

import pytest

from switchboard_client import Backoff, Client
from switchboard_client._tokens import TokenSource, jwt_expiry


def test_backoff_full_jitter_within_bounds() -> None:
    b = Backoff(0.5, 8.0, random.Random(1))
    caps = [0.5, 1, 2, 4, 8, 8, 8]
    for cap in caps:
        d = b.next_delay()
        assert 0.5 <= d <= cap
    samples = [Backoff(0.5, 8.0, random.Random(i)) for i in range(200)]
    for s in samples:
        for _ in range(5):
            s.next_delay()
    spread = [s.next_delay() for s in samples]
    assert min(spread) < 2 and max(spread) > 6  # jittered over the whole range
    b.reset()
    assert b.next_delay() == 0.5
    with pytest.raises(ValueError):
        Backoff(2, 1)


def _jwt(claims: dict[str, object]) -> str:
    def enc(obj: object) -> str:
        return base64.urlsafe_b64encode(json.dumps(obj).encode()).rstrip(b"=").decode()

    return f"{enc({'alg': 'HS256'})}.{enc(claims)}.sig"


def test_jwt_expiry() -> None:
    assert jwt_expiry(_jwt({"exp": 1234})) == 1234
    assert jwt_expiry(_jwt({"sub": "x"})) is None
    assert jwt_expiry("static-token") is None
    assert jwt_expiry("a.!!!.c") is None


async def test_token_source_refreshes_before_exp() -> None:
    calls = 0

    async def provider() -> str:
        nonlocal calls
        calls += 1
        return _jwt({"exp": time.time() + 100})

    src = TokenSource(None, provider)
    first = await src.current()
    assert calls == 1 and await src.current() == first
    assert src.refresh_at is not None and 0 < (time.time() + 100) - src.refresh_at <= 30
    src._refresh_at = time.time() - 1  # due
    await src.current()
    assert calls == 2
    sync = TokenSource(None, lambda: "plain")
    assert await sync.current() == "plain" and sync.refresh_at is None
    with pytest.raises(ValueError):
        TokenSource("a", lambda: "b")


def test_client_urls() -> None:
    c = Client("http://127.0.0.1:8080/")
    assert c._ws_url == "ws://127.0.0.1:8080/v1/ws" and c.url == "http://127.0.0.1:8080"
    assert Client("https://h/prefix")._ws_url == "wss://h/prefix/v1/ws"
    with pytest.raises(ValueError):
        Client("ws://127.0.0.1:8080")
    with pytest.raises(ValueError):
        Client("http://h", compression="gzip")
