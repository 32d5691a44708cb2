"""The client's delta path over a real WebSocket, against a small stand-in broker that
speaks contract v1.1's zstd deltas (the real broker may not have them yet): delta frames
made with zstandard and a raw-content prefix, a gap, a reconnect that resumes with
since+epoch and asks for deltas again, and a broker that refuses "delta" (v1 strictness)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

import pytest
import zstandard
from websockets.asyncio.server import ServerConnection, serve
from websockets.typing import Subprotocol

from helpers import seqs, take
from switchboard_client import Client, Event, Gap
from switchboard_client._frames import encode_body, encode_delta

TOPIC = "fake.prices"


def payload(seq: int) -> bytes:
    return json.dumps({"symbol": "AAPL", "seq": seq, "bids": [[100, 5]] * 8}).encode()


class FakeBroker:
    def __init__(self, refuse_delta: bool = False) -> None:
        self.refuse_delta = refuse_delta
        self.ops: list[dict[str, Any]] = []
        self.connections = 0
        self.url = ""

    async def handler(self, ws: ServerConnection) -> None:
        self.connections += 1
        cctx = zstandard.ZstdCompressor()
        op = json.loads(await ws.recv())
        self.ops.append(op)
        if self.refuse_delta and "delta" in op:
            await ws.send(json.dumps({"type": "error", "code": "invalid_request", "message": "unknown field delta", "id": op["id"]}))
            op = json.loads(await ws.recv())
            self.ops.append(op)
        delta = bool(op.get("delta"))
        since = op.get("since", 0)
        await ws.send(
            json.dumps({"type": "subscribed", "topic": TOPIC, "epoch": "E1", "seq": since, "reset": False, "id": op["id"], **({"delta": True, "sid": 9} if delta else {})})
        )
        prev: bytes | None = None
        first = since + 1
        for seq in range(first, first + 12):
            body = encode_body(TOPIC, seq, [(1000 + seq, payload(seq))])
            if seq == first + 6:
                await ws.send(json.dumps({"type": "gap", "topic": TOPIC, "from": seq, "to": seq}))
                prev = None  # the first frame after a gap never has bit 1
                continue
            if delta and prev is not None and seq % 3 != 0:
                await ws.send(encode_delta(9, body, prev))
            elif seq % 2:
                await ws.send(b"\x01" + cctx.compress(body))
            else:
                await ws.send(b"\x00" + body)
            prev = body
        if self.connections == 1:
            ws.transport.abort()  # cut mid-stream: the client must resume from seq first + 11
        else:
            await ws.wait_closed()


@pytest.fixture
async def fake() -> AsyncIterator[FakeBroker]:
    broker = FakeBroker()
    async with serve(broker.handler, "127.0.0.1", 0, subprotocols=[Subprotocol("switchboard.v1.zstd")]) as server:
        port = next(iter(server.sockets)).getsockname()[1]
        broker.url = f"http://127.0.0.1:{port}"
        yield broker


async def test_delta_frames_over_a_websocket_and_resume(fake: FakeBroker) -> None:
    async with Client(fake.url, min_reconnect_delay=0.01) as client:
        sub = await client.subscribe(TOPIC, delta=True)
        assert sub.delta_active and sub.sid == 9
        items = await take(sub, 12 + 12)  # 11 events + 1 gap, on each of two connections
        assert client._decoder.delta_frames >= 10
        assert seqs(items) == [s for s in range(1, 25) if s not in (7, 19)]
        assert [i for i in items if isinstance(i, Gap)] == [Gap(TOPIC, 7, 7), Gap(TOPIC, 19, 19)]
        assert all(i.data == payload(i.seq) for i in items if isinstance(i, Event))
        assert fake.ops[1] == {"op": "subscribe", "topic": TOPIC, "id": fake.ops[1]["id"], "since": 12, "epoch": "E1", "delta": True}


async def test_broker_without_delta_gets_a_plain_subscription(fake: FakeBroker) -> None:
    fake.refuse_delta = True
    async with Client(fake.url, min_reconnect_delay=0.01) as client:
        sub = await client.subscribe(TOPIC, delta=True)
        assert not sub.delta_active
        items = await take(sub, 12)
        assert seqs(items) == [s for s in range(1, 13) if s != 7]
        assert client._decoder.delta_frames == 0
        assert "delta" in fake.ops[0] and "delta" not in fake.ops[1]
        assert await asyncio.wait_for(sub.__anext__(), 5)  # resumed on the next connection too
