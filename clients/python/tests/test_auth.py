"""Credentials: token provider and refresh, refusal (401), and close 1008."""

from __future__ import annotations

import asyncio
import itertools
import time
from collections.abc import Iterator

import pytest

from conftest import Broker, make_jwt, start_broker, stop_broker
from helpers import seqs, take, take_events_until
from switchboard_client import (
    BrokerError,
    Client,
    ClosedByBroker,
    ConnectionState,
    Event,
    Unauthorized,
)

SECRET = "jwt-secret-for-the-python-client-tests"
ADMIN = "admin-token-for-the-python-client-tests"
ALL = {"publish": ["*"], "subscribe": ["*"], "admin": False}
_names = itertools.count()


def topic(prefix: str) -> str:
    return f"py.{prefix}.{next(_names)}"


@pytest.fixture(scope="module")
def broker() -> Iterator[Broker]:
    b = start_broker("--jwt-secret", SECRET, admin_token=ADMIN)
    yield b
    stop_broker(b)


def token(ttl: float | None = 60, grants: dict[str, object] = ALL) -> str:
    claims: dict[str, object] = {"sub": "py-test", "switchboard": grants}
    if ttl is not None:
        claims["exp"] = int(time.time() + ttl)
    return make_jwt(SECRET, claims)


async def test_static_jwt_subscribes_and_publishes(broker: Broker) -> None:
    t = topic("static")
    async with Client(broker.url, token=token()) as client:
        sub = await client.subscribe(t)
        r = await client.publish(t, b"hi")
        assert (await take(sub, 1))[0] == Event(t, 1, r.ts, b"hi")


async def test_publish_without_credentials_is_unauthorized(broker: Broker) -> None:
    client = Client(broker.url)
    with pytest.raises(Unauthorized) as err:
        await client.publish(topic("anon"), b"x")
    assert err.value.status == 401


async def test_forbidden_topic(broker: Broker) -> None:
    t = topic("forbidden")
    narrow = token(grants={"publish": ["other.*"], "subscribe": ["other.*"]})
    async with Client(broker.url, token=narrow) as client:
        with pytest.raises(BrokerError) as err:
            await client.subscribe(t)
        assert err.value.code == "forbidden"
        with pytest.raises(BrokerError) as err:
            await client.publish(t, b"x")
        assert err.value.status == 403


async def test_token_provider_refreshes_before_expiry(broker: Broker) -> None:
    """Tokens live 3 s; the provider (async here) is asked at connect and again before each
    exp, the client reconnects with the new token and resumes: no 1008, nothing lost."""
    t = topic("provider")
    calls = 0

    async def provider() -> str:
        nonlocal calls
        calls += 1
        return token(ttl=3)

    async with Client(broker.url, token_provider=provider, min_reconnect_delay=0.05) as client, Client(
        broker.url, token=ADMIN
    ) as publisher:
        sub = await client.subscribe(t)
        for i in range(1, 61):
            await publisher.publish(t, b"%d" % i)
            await asyncio.sleep(0.1)
        items = await take_events_until(sub, 60, timeout=15)
        assert seqs(items) == list(range(1, 61))
        assert all(isinstance(i, Event) for i in items)
        assert calls >= 3  # connect + at least two refreshes in ~6 s
        assert client.state is ConnectionState.CONNECTED and client.error is None


async def test_sync_token_provider_and_publish(broker: Broker) -> None:
    t = topic("sync")
    async with Client(broker.url, token_provider=lambda: token(ttl=600)) as client:
        sub = await client.subscribe(t)
        await client.publish(t, b"via provider")
        assert seqs(await take(sub, 1)) == [1]


async def test_refused_token_stops_and_raises(broker: Broker) -> None:
    calls = 0

    def bad() -> str:
        nonlocal calls
        calls += 1
        return make_jwt("not-the-secret", {"switchboard": ALL})

    states: list[ConnectionState] = []
    client = Client(broker.url, token_provider=bad, min_reconnect_delay=0.01, on_state=states.append)
    with pytest.raises(Unauthorized) as err:
        async with client:
            pass
    assert err.value.status == 401 and err.value.code == "unauthorized"
    await asyncio.sleep(0.5)
    assert calls == 1  # never tried again
    assert client.state is ConnectionState.CLOSED and isinstance(client.error, Unauthorized)
    assert states == [ConnectionState.CONNECTING, ConnectionState.CLOSED]
    with pytest.raises(Unauthorized):
        await client.subscribe("a")
    with pytest.raises(Unauthorized):
        async for _ in client.states():
            pass


async def test_no_token_at_all_is_refused(broker: Broker) -> None:
    with pytest.raises(Unauthorized):
        async with Client(broker.url):
            pass


async def test_expired_static_token_closes_with_1008_and_raises(broker: Broker) -> None:
    t = topic("expiry")
    client = Client(broker.url, token=token(ttl=2), min_reconnect_delay=0.01)
    async with client:
        sub = await client.subscribe(t)
        with pytest.raises(ClosedByBroker) as err:
            async for _ in sub:
                pass
        assert err.value.close_code == 1008
        assert client.state is ConnectionState.CLOSED


async def test_connection_closed_by_operator_is_final(broker: Broker) -> None:
    t = topic("kicked")
    async with Client(broker.url, token=token(), min_reconnect_delay=0.01) as client:
        sub = await client.subscribe(t)
        status, conns = broker.request("GET", "/v1/admin/connections")
        mine = [c["id"] for c in conns["connections"] if t in c["subscriptions"]]
        assert status == 200 and len(mine) == 1
        assert broker.request("DELETE", f"/v1/admin/connections/{mine[0]}")[0] == 204
        with pytest.raises(ClosedByBroker) as err:
            await asyncio.wait_for(sub.__anext__(), 10)
        assert err.value.close_code == 1008
        await asyncio.sleep(0.3)
        assert client.state is ConnectionState.CLOSED
        _, conns = broker.request("GET", "/v1/admin/connections")
        assert not [c for c in conns["connections"] if t in c["subscriptions"]]
