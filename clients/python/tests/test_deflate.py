"""permessage-deflate (contract v1.1, "Compression that browsers decode") seen by an
independent decoder: a raw `websockets` connection, which offers the extension by default,
inflates the broker's frames with zlib; none of our own decoding code is in the way."""

from __future__ import annotations

import json
import urllib.request
from typing import Any

from websockets.asyncio.client import connect
from websockets.frames import Frame
from websockets.typing import Subprotocol

from conftest import Broker
from switchboard_client._frames import FrameDecoder

ANSWER = "permessage-deflate; server_no_context_takeover; client_no_context_takeover"


def publish(broker: Broker, topic: str, payload: bytes) -> None:
    request = urllib.request.Request(
        f"{broker.url}/v1/topics/{topic}",
        data=payload,
        method="POST",
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=10) as answer:
        assert answer.status == 200


async def test_websockets_negotiates_deflate_and_decodes_the_frames(broker: Broker) -> None:
    topic = "py.deflate.raw"
    url = broker.url.replace("http", "ws", 1) + "/v1/ws"
    # `compression="deflate"` is websockets' default: the offer Python clients send.
    async with connect(url, subprotocols=[Subprotocol("switchboard.v1")], proxy=None) as ws:
        assert ws.response is not None
        assert ws.response.headers.get("Sec-WebSocket-Extensions") == ANSWER

        # Watch the frames on their way through the extension: RSV1 as on the wire.
        (extension,) = ws.protocol.extensions
        received_rsv1: list[tuple[bool, int]] = []
        sent_rsv1: list[bool] = []
        decode, encode = extension.decode, extension.encode

        def watch_decode(frame: Frame, *, max_size: int | None = None) -> Frame:
            received_rsv1.append((frame.rsv1, len(frame.data)))
            return decode(frame, max_size=max_size)

        def watch_encode(frame: Frame) -> Frame:
            encoded = encode(frame)
            sent_rsv1.append(encoded.rsv1)
            return encoded

        setattr(extension, "decode", watch_decode)
        setattr(extension, "encode", watch_encode)

        # websockets compresses every message it sends: the broker must inflate the subscribe.
        await ws.send(json.dumps({"op": "subscribe", "topic": topic, "id": "s"}))
        assert sent_rsv1 == [True]
        subscribed: dict[str, Any] = json.loads(await ws.recv())
        assert subscribed.get("type") == "subscribed" and subscribed.get("topic") == topic, subscribed

        event = json.dumps({"symbol": "ACME", "bid": 101.25, "ask": 101.27, "note": "x" * 80}).encode()
        assert len(event) >= 64
        publish(broker, topic, event)
        received_rsv1.clear()
        message = await ws.recv()
        assert isinstance(message, bytes)
        # Arrived compressed, and smaller than the frame it inflates to.
        assert len(received_rsv1) == 1
        rsv1, wire_size = received_rsv1[0]
        assert rsv1, "the event frame was not sent with RSV1"
        assert wire_size < len(message)
        # Inflated, it is the contract's binary frame.
        frame = FrameDecoder().decode(message)
        assert frame.topic == topic
        assert [(seq, payload) for seq, _, payload in frame.events] == [(1, event)]
