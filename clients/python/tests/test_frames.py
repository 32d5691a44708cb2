"""Frame decoding without a broker: v1 frames, zstd, and v1.1 delta frames made here with
zstandard and a raw-content dictionary, as the contract describes them."""

from __future__ import annotations

import asyncio
import struct

import pytest
import zstandard

from switchboard_client import Client, Event, FrameError, Gap
from switchboard_client._frames import (
    FLAG_DELTA,
    FLAG_ZSTD,
    MAX_PREFIX_BYTES,
    FrameDecoder,
    encode_body,
    encode_delta,
    parse_body,
)
from switchboard_client._subscription import Subscription


def test_plain_frame_by_hand() -> None:
    # Built byte by byte from the contract, not with encode_body, so both are checked.
    topic = "stocks.AAPL".encode()
    raw = (
        b"\x00"
        + struct.pack(">H", len(topic))
        + topic
        + struct.pack(">QI", 41, 2)
        + struct.pack(">qI", 1763771234567890, 3)
        + b"abc"
        + struct.pack(">qI", -1, 0)
    )
    frame = FrameDecoder().decode(raw)
    assert frame.topic == "stocks.AAPL"
    assert frame.events == [(41, 1763771234567890, b"abc"), (42, -1, b"")]
    assert raw[1:] == encode_body("stocks.AAPL", 41, [(1763771234567890, b"abc"), (-1, b"")])


def test_zstd_frame() -> None:
    body = encode_body("a", 1, [(i, bytes([i]) * 100) for i in range(5)])
    frame = FrameDecoder().decode(bytes([FLAG_ZSTD]) + zstandard.ZstdCompressor(level=3).compress(body))
    assert [e[0] for e in frame.events] == [1, 2, 3, 4, 5]
    assert frame.events[4][2] == b"\x04" * 100


def test_zstd_frame_without_content_size_is_bounded() -> None:
    body = encode_body("a", 1, [(0, b"x" * 5000)])
    cctx = zstandard.ZstdCompressor(write_content_size=False)
    compressed = cctx.compress(body)
    assert zstandard.frame_content_size(compressed) == -1
    assert FrameDecoder().decode(b"\x01" + compressed).events[0][2] == b"x" * 5000
    with pytest.raises(FrameError):
        FrameDecoder(max_body_size=4000).decode(b"\x01" + compressed)


def test_declared_size_over_bound_is_refused() -> None:
    body = encode_body("a", 1, [(0, b"x" * 5000)])
    with pytest.raises(FrameError, match="declares"):
        FrameDecoder(max_body_size=1000).decode(b"\x01" + zstandard.ZstdCompressor().compress(body))


@pytest.mark.parametrize(
    "raw",
    [
        b"",
        b"\x04" + encode_body("a", 1, [(0, b"")]),  # unknown flag bit
        b"\x00\x00",  # truncated
        b"\x00" + encode_body("a", 1, [(0, b"abc")])[:-1],  # payload cut short
        b"\x00" + encode_body("a", 1, [(0, b"abc")]) + b"!",  # stray byte
        b"\x00" + struct.pack(">H", 1) + b"a" + struct.pack(">QI", 1, 0),  # count 0
        b"\x01not zstd at all",
        bytes([FLAG_DELTA]) + b"\x00\x01",  # delta without zstd bit
    ],
)
def test_malformed_frames_raise(raw: bytes) -> None:
    with pytest.raises(FrameError):
        FrameDecoder().decode(raw, lambda sid: b"prefix")


def test_delta_chain() -> None:
    decoder = FrameDecoder()
    prev = encode_body("prices", 1, [(10, b'{"sym":"AAPL","price":100.25,"vol":1200}')])
    first = decoder.decode(b"\x00" + prev)
    prefixes = {7: first.body}
    for seq in range(2, 30):
        body = encode_body("prices", seq, [(10 + seq, b'{"sym":"AAPL","price":%d.25,"vol":1200}' % (100 + seq))])
        delta = encode_delta(7, body, prefixes[7])
        assert delta[0] == FLAG_ZSTD | FLAG_DELTA and struct.unpack(">H", delta[1:3]) == (7,)
        frame = decoder.decode(delta, prefixes.get)
        assert frame.sid == 7 and frame.body == body
        assert frame.events == [(seq, 10 + seq, b'{"sym":"AAPL","price":%d.25,"vol":1200}' % (100 + seq))]
        prefixes[7] = frame.body


def test_delta_with_wrong_or_missing_prefix_fails() -> None:
    a = encode_body("t", 1, [(0, b"a" * 300)])
    b = encode_body("t", 2, [(0, b"a" * 299 + b"b")])
    delta = encode_delta(3, b, a)
    with pytest.raises(FrameError, match="without a previous frame"):
        FrameDecoder().decode(delta, lambda sid: None)
    # The wrong prefix either fails to decompress or decompresses to garbage that does not
    # parse; it must never yield silently wrong events with the right shape.
    with pytest.raises(FrameError):
        frame = FrameDecoder().decode(delta, lambda sid: b"\x00" * len(a))
        assert parse_body(frame.body) == frame


async def _delta_subscription() -> tuple[Client, Subscription]:
    client = Client("http://127.0.0.1:1")
    sub = Subscription(client, "prices", since=0, epoch=None, last=None, delta=True)
    client._subs["prices"] = sub
    sub._request(1, delta_allowed=True)
    sub._on_subscribed({"type": "subscribed", "topic": "prices", "epoch": "e1", "seq": 0, "delta": True, "sid": 5}, client._gen)
    return client, sub


def _drain(sub: Subscription) -> list[object]:
    items: list[object] = []
    while not sub._queue.empty():
        items.append(sub._queue.get_nowait())
    return items


async def test_delta_frames_through_a_subscription() -> None:
    """The client keeps the last body per delta subscription, whatever that frame's flags,
    and decodes the next delta against it (contract v1.1, last section)."""
    client, sub = await _delta_subscription()
    gen = client._gen
    cctx = zstandard.ZstdCompressor()
    bodies = [encode_body("prices", s, [(s, b"price %d " % s * 20)]) for s in range(1, 7)]
    client._on_binary(b"\x01" + cctx.compress(bodies[0]), gen)  # first: never a delta
    client._on_binary(encode_delta(5, bodies[1], bodies[0]), gen)
    client._on_binary(b"\x00" + bodies[2], gen)  # an uncompressed frame still becomes the prefix
    client._on_binary(encode_delta(5, bodies[3], bodies[2]), gen)
    client._on_text('{"type":"gap","topic":"prices","from":5,"to":5}', gen)
    client._on_binary(b"\x01" + cctx.compress(bodies[5]), gen)  # after a gap: bit 1 clear
    items = _drain(sub)
    assert [i.seq for i in items if isinstance(i, Event)] == [1, 2, 3, 4, 6]
    assert Gap("prices", 5, 5) in items
    assert sub.position == ("e1", 6)
    assert sub.prefix == bodies[5]


async def test_body_over_one_mib_is_never_a_prefix() -> None:
    client, sub = await _delta_subscription()
    big = encode_body("prices", 1, [(0, b"z" * (MAX_PREFIX_BYTES + 10))])
    client._on_binary(b"\x01" + zstandard.ZstdCompressor().compress(big), client._gen)
    assert sub.prefix is None
    nxt = encode_body("prices", 2, [(0, b"z" * 100)])
    with pytest.raises(FrameError):
        client._on_binary(encode_delta(5, nxt, big), client._gen)
    client._on_binary(b"\x00" + nxt, client._gen)
    assert [i.seq for i in _drain(sub) if isinstance(i, Event)] == [1, 2]


async def test_duplicate_events_are_dropped() -> None:
    client, sub = await _delta_subscription()
    gen = client._gen
    client._on_binary(b"\x00" + encode_body("prices", 1, [(0, b"a"), (0, b"b")]), gen)
    client._on_binary(b"\x00" + encode_body("prices", 2, [(0, b"b"), (0, b"c")]), gen)
    assert [(i.seq, i.data) for i in _drain(sub) if isinstance(i, Event)] == [(1, b"a"), (2, b"b"), (3, b"c")]


def test_event_helpers() -> None:
    e = Event("t", 1, 2, b'{"a": [1, 2]}')
    assert e.json() == {"a": [1, 2]} and e.text() == '{"a": [1, 2]}'


def test_asyncio_available() -> None:
    assert asyncio.iscoroutinefunction(Client.publish)


def test_window_over_8_mib_is_refused() -> None:
    body = encode_body("a", 1, [(0, b"w" * 1000)])
    params = zstandard.ZstdCompressionParameters.from_level(3, window_log=24, write_content_size=False)
    cobj = zstandard.ZstdCompressor(compression_params=params).compressobj()  # size unknown: the window stays 16 MiB
    compressed = cobj.compress(body) + cobj.flush()
    assert zstandard.get_frame_parameters(compressed).window_size == 16 << 20
    with pytest.raises(FrameError):
        FrameDecoder().decode(b"\x01" + compressed)
