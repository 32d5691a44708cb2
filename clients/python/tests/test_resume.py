"""Reconnection and resume against a real broker, through a TCP proxy that cuts the
connection under the client."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import AsyncIterator, Iterator

import pytest

from conftest import Broker, Proxy, start_broker, stop_broker
from helpers import seqs, take
from switchboard_client import Client, ConnectionState, Deleted, Event, Gap, Item, Reset

ADMIN = "admin-secret-for-tests"
_names = itertools.count()


def topic(prefix: str) -> str:
    return f"py.{prefix}.{next(_names)}"


@pytest.fixture(scope="module")
def broker() -> Iterator[Broker]:
    """A broker with an admin token (so deleting topics takes credentials, as in
    production) and a 1 s ping interval (so silence detection can be tested quickly)."""
    b = start_broker("--ping-interval", "1", admin_token=ADMIN)
    yield b
    stop_broker(b)


@pytest.fixture
async def proxy(broker: Broker) -> AsyncIterator[Proxy]:
    p = Proxy(broker.port)
    await p.start()
    yield p
    await p.close()


def fast_client(url: str, **kw: object) -> Client:
    return Client(url, token=ADMIN, min_reconnect_delay=0.02, max_reconnect_delay=0.2, **kw)  # type: ignore[arg-type]


async def wait_state(client: Client, state: ConnectionState, timeout: float = 10.0) -> None:
    async def wait() -> None:
        async for s in client.states():
            if s is state:
                return

    await asyncio.wait_for(wait(), timeout)


async def test_twenty_forced_disconnects_lose_nothing(broker: Broker, proxy: Proxy) -> None:
    """An application that counts events sees every one exactly once, in order, across 20
    connections cut while events stream. Half the cuts reset the TCP connection at the
    proxy (both ends see it die with no close frame, as when a NAT or load balancer drops
    the flow); half abort the client's own socket (its network went away). Neither is a
    polite close, so the client must notice, reconnect and resume by itself."""
    t = topic("churn")
    url = await proxy.start()
    connects = 0

    def count(s: ConnectionState) -> None:
        nonlocal connects
        connects += s is ConnectionState.CONNECTED

    async with fast_client(url, on_state=count) as sub_client, Client(broker.url, token=ADMIN) as publisher:
        sub = await sub_client.subscribe(t)
        received: list[Item] = []

        async def consume() -> None:
            async for item in sub:
                received.append(item)

        async def cut() -> None:
            for i in range(20):
                await wait_state(sub_client, ConnectionState.CONNECTED)
                await asyncio.sleep(0.1)
                if i % 2 == 0:
                    assert proxy.drop() >= 1
                else:
                    ws = sub_client._ws
                    assert ws is not None
                    ws.transport.abort()
                await wait_state(sub_client, ConnectionState.DISCONNECTED)

        consumer = asyncio.create_task(consume())
        cutter = asyncio.create_task(cut())
        published = 0
        while not cutter.done() or published < 200:  # events stream during every cut
            await publisher.publish_batch([(t, b"%d" % i) for i in range(published + 1, published + 6)])
            published += 5
            await asyncio.sleep(0.01)
        await cutter
        await wait_state(sub_client, ConnectionState.CONNECTED)  # the 21st connection
        await publisher.publish_batch([(t, b"%d" % (published + 1))])
        published += 1
        for _ in range(200):
            if seqs(received[-1:]) == [published]:
                break
            await asyncio.sleep(0.05)
        consumer.cancel()
        assert not [i for i in received if not isinstance(i, Event)]  # no gap, no reset
        assert seqs(received) == list(range(1, published + 1))
        assert [int(i.data) for i in received if isinstance(i, Event)] == list(range(1, published + 1))
        assert connects >= 21
        assert published > 200


async def test_gap_when_events_were_evicted_while_disconnected(broker: Broker, proxy: Proxy) -> None:
    t = topic("gapresume")
    url = await proxy.start()
    async with fast_client(url) as client, Client(broker.url, token=ADMIN) as publisher:
        assert broker.request("PUT", f"/v1/admin/topics/{t}/config", {"capacity": 5})[0] == 200
        sub = await client.subscribe(t)
        await publisher.publish_batch([(t, b"a")] * 3)
        assert seqs(await take(sub, 3)) == [1, 2, 3]
        proxy.refuse = True
        proxy.drop()
        await wait_state(client, ConnectionState.DISCONNECTED)
        await publisher.publish_batch([(t, b"b")] * 20)  # seq 4..23; the ring keeps 19..23
        proxy.refuse = False
        items = await take(sub, 6, timeout=10)
        assert items[0] == Gap(t, 4, 18)
        assert seqs(items) == [19, 20, 21, 22, 23]


async def test_reset_after_topic_deleted_while_disconnected(broker: Broker, proxy: Proxy) -> None:
    t = topic("resetresume")
    url = await proxy.start()
    async with fast_client(url) as client, Client(broker.url, token=ADMIN) as publisher:
        sub = await client.subscribe(t)
        first = await publisher.publish(t, b"old-1")
        await publisher.publish(t, b"old-2")
        assert seqs(await take(sub, 2)) == [1, 2]
        proxy.refuse = True
        proxy.drop()
        await wait_state(client, ConnectionState.DISCONNECTED)
        status, _ = broker.request("DELETE", f"/v1/admin/topics/{t}")
        assert status == 204
        new = await publisher.publish(t, b"new-1")
        assert new.seq == 1 and new.epoch != first.epoch
        proxy.refuse = False
        items = await take(sub, 2, timeout=10)
        assert items[0] == Reset(t, new.epoch)
        assert items[1] == Event(t, 1, new.ts, b"new-1")
        assert sub.position == (new.epoch, 1)


async def test_deleted_while_connected_then_reset_on_old_epoch(broker: Broker) -> None:
    t = topic("deleted")
    async with fast_client(broker.url) as client:
        sub = await client.subscribe(t)
        old = await client.publish(t, b"x")
        await take(sub, 1)
        assert broker.request("DELETE", f"/v1/admin/topics/{t}")[0] == 204
        assert await take(sub, 1) == [Deleted(t)]
        assert [i async for i in sub] == []  # the subscription ended
        new = await client.publish(t, b"y")
        again = await client.subscribe(t, since=old.seq, epoch=old.epoch)  # a stale epoch
        items = await take(sub=again, count=2)
        assert items == [Reset(t, new.epoch), Event(t, 1, new.ts, b"y")]


async def test_wrong_epoch_replays_current_buffer(broker: Broker) -> None:
    t = topic("wrongepoch")
    async with fast_client(broker.url) as client:
        rs = await client.publish_batch([(t, b"%d" % i) for i in range(1, 6)])
        sub = await client.subscribe(t, since=3, epoch="not-the-epoch")
        items = await take(sub, 6)
        assert items[0] == Reset(t, rs[0].epoch)
        assert seqs(items) == [1, 2, 3, 4, 5]


async def test_silent_connection_is_detected_and_resumed(broker: Broker, proxy: Proxy) -> None:
    """The broker pings every second; the client sends no pings of its own here, so only
    the silence timeout on the broker's pings can notice that the connection died."""
    t = topic("silent")
    url = await proxy.start()
    async with fast_client(url, ping_interval=None, ping_timeout=2.5) as client, Client(broker.url, token=ADMIN) as publisher:
        sub = await client.subscribe(t)
        await asyncio.sleep(3.5)  # idle but alive: the broker's pings keep it open
        assert client.state is ConnectionState.CONNECTED and proxy.connections == 1
        proxy.freeze()  # the peer vanishes without a FIN or RST
        await publisher.publish(t, b"during")
        await wait_state(client, ConnectionState.DISCONNECTED, timeout=6)
        items = await take(sub, 1, timeout=10)
        assert items == [Event(t, 1, items[0].ts, b"during")]  # type: ignore[union-attr]
        assert proxy.connections == 2


async def test_subscribe_while_the_broker_is_unreachable(proxy: Proxy) -> None:
    """connect() returns after a first failed attempt; subscribe() waits for the broker and
    the client keeps retrying with backoff until it can reach it."""
    t = topic("unreachable")
    url = await proxy.start()
    proxy.refuse = True
    seen: list[ConnectionState] = []
    async with fast_client(url, on_state=seen.append) as client:
        assert client.state is not ConnectionState.CONNECTED
        pending = asyncio.create_task(client.subscribe(t))
        await asyncio.sleep(0.5)
        assert not pending.done() and seen.count(ConnectionState.CONNECTING) >= 3
        proxy.refuse = False
        sub = await asyncio.wait_for(pending, 5)
        await client.publish(t, b"finally")
        assert seqs(await take(sub, 1)) == [1]


async def test_broker_restart_is_a_reset(broker: Broker) -> None:
    """A broker that shuts down closes with 1001 (not final: the client reconnects); the
    restarted broker has new epochs, so the resumed subscription gets a Reset first."""
    t = topic("restart")
    own = start_broker(admin_token=ADMIN)
    try:
        async with fast_client(own.url) as client:
            sub = await client.subscribe(t)
            before = await client.publish(t, b"before")
            assert seqs(await take(sub, 1)) == [1]
            own.proc.terminate()  # SIGTERM: drain, WebSocket close 1001
            await wait_state(client, ConnectionState.DISCONNECTED)
            assert own.proc.wait(15) == 0
            own = start_broker(admin_token=ADMIN, port=own.port)
            await wait_state(client, ConnectionState.CONNECTED)
            after = await client.publish(t, b"after")
            assert after.epoch != before.epoch and after.seq == 1
            items = await take(sub, 2)
            assert items == [Reset(t, after.epoch), Event(t, 1, after.ts, b"after")]
    finally:
        stop_broker(own)
