"""Subscribing, replay, publishing, compression and closing against a real broker."""

from __future__ import annotations

import asyncio
import itertools
import json

import pytest

from conftest import Broker
from helpers import nothing_more, seqs, take
from switchboard_client import (
    BrokerError,
    Client,
    ClientClosed,
    ConnectionState,
    Event,
    Gap,
    PublishReceipt,
)

_names = itertools.count()


def topic(prefix: str = "t") -> str:
    """A fresh topic name per test."""
    return f"py.{prefix}.{next(_names)}"


async def test_subscribe_and_receive(broker: Broker) -> None:
    t = topic("recv")
    async with Client(broker.url) as client:
        assert client.state is ConnectionState.CONNECTED
        sub = await client.subscribe(t)
        assert sub.position[1] == 0 and sub.position[0]
        r1 = await client.publish(t, b"hello", content_type="text/plain")
        r2 = await client.publish(t, b'{"n": 2}', content_type="application/json")
        items = await take(sub, 2)
        assert items[0] == Event(t, 1, r1.ts, b"hello")
        assert isinstance(items[1], Event) and items[1].json() == {"n": 2} and items[1].ts == r2.ts
        assert items[0].text() == "hello"
        assert sub.position == (r2.epoch, 2)


async def test_multi_topic_one_connection(broker: Broker) -> None:
    names = [topic("multi") for _ in range(3)]
    async with Client(broker.url) as client:
        subs = [await client.subscribe(n) for n in names]
        batch = [(names[i % 3], f"{i}".encode()) for i in range(30)]
        receipts = await client.publish_batch(batch)
        assert [r.topic for r in receipts] == [b[0] for b in batch]
        for n, sub in zip(names, subs):
            items = await take(sub, 10)
            assert all(isinstance(i, Event) and i.topic == n for i in items)
            assert seqs(items) == list(range(1, 11))
            assert [int(i.data) for i in items if isinstance(i, Event)] == [i for i in range(30) if names[i % 3] == n]
        status, conns = broker.request("GET", "/v1/admin/connections")
        assert status == 200
        mine = [c for c in conns["connections"] if c["transport"] == "ws" and set(names) <= set(c["subscriptions"])]
        assert len(mine) == 1  # one WebSocket connection carries all three


async def test_replay_since_and_last(broker: Broker) -> None:
    t = topic("replay")
    async with Client(broker.url) as client:
        receipts = await client.publish_batch([(t, b"e%d" % i) for i in range(1, 11)])
        epoch = receipts[0].epoch
        since = await client.subscribe(t, since=4, epoch=epoch)
        items = await take(since, 6)
        assert seqs(items) == list(range(5, 11)) and items[0].data == b"e5"  # type: ignore[union-attr]
        await since.unsubscribe()

        last = await client.subscribe(t, last=3)
        assert seqs(await take(last, 3)) == [8, 9, 10]
        await client.publish(t, b"e11")
        assert seqs(await take(last, 1)) == [11]
        assert last.position == (epoch, 11)
        assert await nothing_more(last)


async def test_unsubscribe_ends_iteration_and_resubscribe(broker: Broker) -> None:
    t = topic("unsub")
    async with Client(broker.url) as client:
        sub = await client.subscribe(t)
        await client.publish(t, b"1")
        await take(sub, 1)
        await sub.unsubscribe()
        await client.publish(t, b"2")
        assert [i async for i in sub] == []  # iteration ends, event 2 is not delivered
        again = await client.subscribe(t, since=1)
        assert seqs(await take(again, 1)) == [2]


async def test_subscribe_errors(broker: Broker) -> None:
    async with Client(broker.url) as client:
        with pytest.raises(BrokerError) as err:
            await client.subscribe("bad..topic")
        assert err.value.code == "invalid_topic"
        with pytest.raises(ValueError):
            await client.subscribe("a", since=1, last=2)
        ok = await client.subscribe(topic("err"))  # the connection is still usable
        assert ok.position[1] == 0


async def test_zstd_frames_from_the_broker(broker: Broker) -> None:
    t = topic("zstd")
    payload = json.dumps({"symbol": "AAPL", "bids": [[100 + i, 5] for i in range(40)]}).encode()
    async with Client(broker.url) as client:
        assert client.subprotocol == "switchboard.v1.zstd"
        sub = await client.subscribe(t)
        await client.publish_batch([(t, payload, "application/json")] * 20)
        items = await take(sub, 20)
        assert seqs(items) == list(range(1, 21))
        assert all(i.data == payload for i in items if isinstance(i, Event))
        assert client._decoder.zstd_frames >= 1  # the broker compressed, and we decoded


async def test_plain_protocol_without_compression(broker: Broker) -> None:
    t = topic("plain")
    async with Client(broker.url, compression=None) as client:
        assert client.subprotocol == "switchboard.v1"
        sub = await client.subscribe(t)
        await client.publish(t, b"x" * 500)
        assert (await take(sub, 1))[0].data == b"x" * 500  # type: ignore[union-attr]
        assert client._decoder.zstd_frames == 0


async def test_permessage_deflate_if_the_broker_has_it(broker: Broker) -> None:
    t = topic("deflate")
    async with Client(broker.url, compression="deflate") as client:
        assert client._ws is not None
        ext = client._ws.response.headers.get("Sec-WebSocket-Extensions") if client._ws.response else None
        sub = await client.subscribe(t)
        await client.publish(t, b"y" * 2000)
        assert (await take(sub, 1))[0].data == b"y" * 2000  # type: ignore[union-attr]
        if not ext:
            pytest.skip("broker lacks contract v1.1 permessage-deflate (no Sec-WebSocket-Extensions answer)")
        assert "permessage-deflate" in ext


async def test_delta_frames_from_the_broker(broker: Broker) -> None:
    t = topic("delta")
    async with Client(broker.url) as client:
        sub = await client.subscribe(t, delta=True)
        if not sub.delta_active:
            # The client fell back to ordinary frames; check that path still works.
            await client.publish(t, b"z" * 100)
            assert seqs(await take(sub, 1)) == [1]
            pytest.skip("broker lacks contract v1.1 zstd deltas (subscribed without \"delta\":true)")
        for i in range(30):
            await client.publish(t, json.dumps({"symbol": "AAPL", "price": 100 + i, "pad": "p" * 200}).encode())
        items = await take(sub, 30)
        assert seqs(items) == list(range(1, 31))
        assert client._decoder.delta_frames >= 1


async def test_publish_helpers(broker: Broker) -> None:
    t = topic("pub")
    async with Client(broker.url) as client:
        r = await client.publish(t, b"one", idempotency_key="key-1")
        assert isinstance(r, PublishReceipt) and r.topic == t and r.seq == 1 and not r.duplicate and r.epoch and r.ts > 0
        again = await client.publish(t, b"one", idempotency_key="key-1")
        assert again.duplicate and (again.seq, again.epoch, again.ts) == (r.seq, r.epoch, r.ts)
        other = await client.publish(t, b"two", idempotency_key="key-2")
        assert other.seq == 2 and not other.duplicate
        with pytest.raises(BrokerError) as err:
            await client.publish(t, b"x", idempotency_key="bad key!")
        assert err.value.status == 400 and err.value.code == "invalid_idempotency_key"

        rs = await client.publish_batch([(t, b"\x00\x01", "application/x-raw"), {"topic": t, "data": {"a": 1}}])
        assert [x.seq for x in rs] == [3, 4]
        status, history = broker.request("GET", f"/v1/topics/{t}/events?since=2")
        assert status == 200
        assert [e["seq"] for e in history["events"]] == [3, 4]
        assert history["events"][0]["type"] == "application/x-raw" and history["events"][1]["data"] == {"a": 1}

        with pytest.raises(BrokerError) as err:
            await client.publish_batch([(t, b"ok"), (t + "..bad", b"no")])
        assert err.value.status == 400 and err.value.index == 1
        with pytest.raises(BrokerError) as err:
            await client.publish_batch([])
        assert err.value.code == "invalid_batch"


async def test_states_and_graceful_close(broker: Broker) -> None:
    t = topic("close")
    seen: list[ConnectionState] = []
    client = Client(broker.url, on_state=seen.append)
    iterated: list[ConnectionState] = []

    async def follow() -> None:
        async for s in client.states():
            iterated.append(s)

    follower = asyncio.create_task(follow())
    await asyncio.sleep(0)
    await client.connect()
    sub = await client.subscribe(t)
    await client.publish(t, b"last words")
    assert seqs(await take(sub, 1)) == [1]
    await client.close()
    assert [i async for i in sub] == []  # iteration just ends
    await asyncio.wait_for(follower, 5)
    assert seen == [ConnectionState.CONNECTING, ConnectionState.CONNECTED, ConnectionState.CLOSED]
    assert iterated == [ConnectionState.DISCONNECTED, *seen]
    assert client.error is None
    with pytest.raises(ClientClosed):
        await client.subscribe(t)
    await client.close()  # idempotent
    # The broker saw a clean close: the connection is gone from its list.
    for _ in range(50):
        _, conns = broker.request("GET", "/v1/admin/connections")
        if not any(t in c["subscriptions"] for c in conns["connections"]):
            break
        await asyncio.sleep(0.05)
    else:
        raise AssertionError("broker still lists the closed connection")


async def test_gap_from_small_ring(broker: Broker) -> None:
    t = topic("gap")
    status, _ = broker.request("PUT", f"/v1/admin/topics/{t}/config", {"capacity": 5})
    assert status == 200
    async with Client(broker.url) as client:
        rs = await client.publish_batch([(t, b"%d" % i) for i in range(1, 21)])
        sub = await client.subscribe(t, since=2, epoch=rs[0].epoch)
        items = await take(sub, 6)
        assert items[0] == Gap(t, 3, 15)
        assert seqs(items) == [16, 17, 18, 19, 20]
        assert sub.position == (rs[0].epoch, 20)
