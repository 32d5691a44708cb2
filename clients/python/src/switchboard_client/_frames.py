"""Decoding the broker's binary event frames (contract v1, and v1.1 zstd deltas).

A v1 frame::

    u8 flags · u16 T · T bytes topic (UTF-8) · u64 first seq · u32 count N
    N × (i64 ts · u32 L · L bytes payload)

Bit 0 of ``flags`` means everything after the flags byte is one zstd frame that
decompresses to the rest (the "body"). A v1.1 delta frame has bits 0 and 1 set and is
``u8 flags · u16 sid · one zstd frame`` compressed against a raw-content prefix: the
previous frame body of subscription ``sid``. Integers are big-endian.
"""

from __future__ import annotations

import io
import struct
from collections.abc import Callable
from dataclasses import dataclass

import zstandard

from ._types import FrameError

FLAG_ZSTD = 0x01
FLAG_DELTA = 0x02
KNOWN_FLAGS = FLAG_ZSTD | FLAG_DELTA

#: A body larger than this is never used as a delta prefix (contract v1.1).
MAX_PREFIX_BYTES = 1 << 20
#: The broker's zstd frames use a window of at most 8 MiB (contract v1); a delta frame's
#: window may also span its prefix. Larger windows are refused rather than allocated.
MAX_WINDOW_BYTES = 8 << 20
MAX_DELTA_WINDOW_BYTES = MAX_WINDOW_BYTES + MAX_PREFIX_BYTES

_U16 = struct.Struct(">H")
_HEAD = struct.Struct(">QI")  # first seq, count
_EVENT = struct.Struct(">qI")  # ts, payload length


@dataclass(frozen=True)
class Frame:
    """A decoded frame: ``events`` are ``(seq, ts, payload)`` in order; ``body`` is the
    frame body (what a delta subscription keeps as its next prefix); ``sid`` is set for a
    delta frame."""

    topic: str
    first_seq: int
    events: list[tuple[int, int, bytes]]
    body: bytes
    sid: int | None = None


def parse_body(body: bytes) -> Frame:
    """Parse a (decompressed) frame body into its topic and events."""
    view = memoryview(body)
    try:
        (tlen,) = _U16.unpack_from(view, 0)
        pos = 2
        if pos + tlen > len(view):
            raise FrameError("topic runs past the end of the frame")
        topic = bytes(view[pos : pos + tlen]).decode("utf-8")
        pos += tlen
        first_seq, count = _HEAD.unpack_from(view, pos)
        pos += _HEAD.size
        if count < 1:
            raise FrameError("frame holds no event")
        events: list[tuple[int, int, bytes]] = []
        for i in range(count):
            ts, plen = _EVENT.unpack_from(view, pos)
            pos += _EVENT.size
            end = pos + plen
            if end > len(view):
                raise FrameError("payload runs past the end of the frame")
            events.append((first_seq + i, ts, bytes(view[pos:end])))
            pos = end
    except struct.error as exc:
        raise FrameError(f"truncated frame: {exc}") from None
    except UnicodeDecodeError:
        raise FrameError("topic is not UTF-8") from None
    if pos != len(view):
        raise FrameError(f"{len(view) - pos} stray bytes after the last event")
    return Frame(topic, first_seq, events, body)


class FrameDecoder:
    """Turns binary WebSocket messages into :class:`Frame` objects.

    Decompressed output is bounded by ``max_body_size``: a zstd frame that declares (or
    produces) more is rejected before it is inflated.
    """

    def __init__(self, max_body_size: int = 64 << 20) -> None:
        self.max_body_size = max_body_size
        self._plain = zstandard.ZstdDecompressor(max_window_size=MAX_WINDOW_BYTES)
        #: Frames decoded so far: all, those with bit 0 (zstd), those with bit 1 (delta).
        self.frames = 0
        self.zstd_frames = 0
        self.delta_frames = 0

    def decode(self, data: bytes, prefix_for_sid: Callable[[int], bytes | None] | None = None) -> Frame:
        """Decode one binary message. ``prefix_for_sid`` gives a delta subscription's
        previous frame body (None when it has none)."""
        if not data:
            raise FrameError("empty binary message")
        flags = data[0]
        if flags & ~KNOWN_FLAGS:
            raise FrameError(f"unknown flag bits 0x{flags:02x}")
        self.frames += 1
        if flags & FLAG_ZSTD:
            self.zstd_frames += 1
        if flags & FLAG_DELTA:
            self.delta_frames += 1
        if flags & FLAG_DELTA:
            if not flags & FLAG_ZSTD or len(data) < 3:
                raise FrameError("delta frame without a zstd frame")
            (sid,) = _U16.unpack_from(data, 1)
            prefix = prefix_for_sid(sid) if prefix_for_sid is not None else None
            if prefix is None:
                raise FrameError(f"delta frame for subscription {sid} without a previous frame")
            body = self._inflate(memoryview(data)[3:], prefix)
            frame = parse_body(body)
            return Frame(frame.topic, frame.first_seq, frame.events, body, sid)
        if flags & FLAG_ZSTD:
            return parse_body(self._inflate(memoryview(data)[1:], None))
        return parse_body(bytes(memoryview(data)[1:]))

    def _inflate(self, compressed: memoryview, prefix: bytes | None) -> bytes:
        limit = self.max_body_size
        try:
            declared = zstandard.frame_content_size(compressed)
        except zstandard.ZstdError as exc:
            raise FrameError(f"not a zstd frame: {exc}") from None
        if declared > limit:
            raise FrameError(f"zstd frame declares {declared} bytes, over the {limit}-byte bound")
        if prefix is None:
            dctx = self._plain
        else:
            dictionary = zstandard.ZstdCompressionDict(prefix, dict_type=zstandard.DICT_TYPE_RAWCONTENT)
            dctx = zstandard.ZstdDecompressor(dict_data=dictionary, max_window_size=MAX_DELTA_WINDOW_BYTES)
        try:
            if declared >= 0:
                out = dctx.decompress(compressed)
            else:  # no content size in the header: read at most limit + 1 bytes
                with dctx.stream_reader(io.BytesIO(compressed), read_across_frames=False) as reader:
                    out = reader.read(limit + 1)
                if len(out) > limit:
                    raise FrameError(f"zstd frame inflates past the {limit}-byte bound")
        except zstandard.ZstdError as exc:
            raise FrameError(f"zstd frame does not decompress: {exc}") from None
        return out


def encode_body(topic: str, first_seq: int, events: list[tuple[int, bytes]]) -> bytes:
    """Build a frame body (without the flags byte): the broker's encoding, for tests and tools."""
    t = topic.encode("utf-8")
    parts = [_U16.pack(len(t)), t, _HEAD.pack(first_seq, len(events))]
    for ts, payload in events:
        parts.append(_EVENT.pack(ts, len(payload)))
        parts.append(payload)
    return b"".join(parts)


def encode_delta(sid: int, body: bytes, prefix: bytes, level: int = 3) -> bytes:
    """Build a delta frame: ``body`` compressed against the raw-content prefix ``prefix``."""
    dictionary = zstandard.ZstdCompressionDict(prefix, dict_type=zstandard.DICT_TYPE_RAWCONTENT)
    cctx = zstandard.ZstdCompressor(level=level, dict_data=dictionary, write_content_size=True)
    return bytes([FLAG_ZSTD | FLAG_DELTA]) + _U16.pack(sid) + cctx.compress(body)
