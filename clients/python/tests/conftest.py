"""Fixtures: a real broker process per test module, a TCP proxy that can cut connections
under the client, and small HTTP helpers for the admin API."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import os
import re
import shutil
import subprocess
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[3]
LISTENING = re.compile(r"switchboard listening on (http://\S+)")


def broker_binary() -> str:
    """The broker to test against: $SWITCHBOARD_BIN, /work/bin/switchboard, the package's
    own build, or `switchboard` on PATH."""
    candidates = [
        os.environ.get("SWITCHBOARD_BIN", ""),
        "/work/bin/switchboard",
        str(REPO / ".build" / "debug" / "switchboard"),
        str(REPO / ".build" / "release" / "switchboard"),
        shutil.which("switchboard") or "",
    ]
    for c in candidates:
        if c and os.access(c, os.X_OK):
            return c
    pytest.fail("no broker binary: set SWITCHBOARD_BIN or build `switchboard` (swift build)")


@dataclass
class Broker:
    url: str
    proc: subprocess.Popen[bytes]
    args: list[str]
    admin_token: str | None = None
    log: list[str] = field(default_factory=list)

    @property
    def port(self) -> int:
        return int(self.url.rsplit(":", 1)[1])

    def request(self, method: str, path: str, body: Any = None, token: str | None = None) -> tuple[int, Any]:
        """A plain HTTP call (admin API), answering (status, parsed JSON or None)."""
        data = json.dumps(body).encode() if body is not None else None
        headers = {"Content-Type": "application/json"} if data is not None else {}
        token = token or self.admin_token
        if token:
            headers["Authorization"] = f"Bearer {token}"
        req = urllib.request.Request(self.url + path, data=data, headers=headers, method=method)
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
        try:
            with opener.open(req, timeout=10) as resp:
                raw = resp.read()
                return resp.status, json.loads(raw) if raw else None
        except urllib.error.HTTPError as exc:
            raw = exc.read()
            return exc.code, json.loads(raw) if raw else None


def start_broker(*args: str, admin_token: str | None = None, port: int = 0) -> Broker:
    argv = [broker_binary(), "--port", str(port), *args]
    if admin_token:
        argv += ["--admin-token", admin_token]
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert proc.stdout is not None and proc.stderr is not None
    stderr_lines: list[str] = []
    err = proc.stderr

    def drain() -> None:
        for raw in err:
            stderr_lines.append(raw.decode(errors="replace"))

    threading.Thread(target=drain, daemon=True).start()
    deadline = time.monotonic() + 30
    line = b""
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            break
        m = LISTENING.search(line.decode())
        if m:
            return Broker(m.group(1), proc, argv, admin_token, stderr_lines)
    proc.kill()
    raise RuntimeError(f"broker did not start: {line!r} {''.join(stderr_lines[-20:])}")


def stop_broker(b: Broker) -> None:
    b.proc.terminate()
    try:
        b.proc.wait(10)
    except subprocess.TimeoutExpired:
        b.proc.kill()
        b.proc.wait()


@pytest.fixture(scope="module")
def broker() -> Iterator[Broker]:
    """An open broker (no credentials) for the module."""
    b = start_broker()
    yield b
    stop_broker(b)


def make_jwt(secret: str, claims: dict[str, Any]) -> str:
    """An HS256 JWT, built by hand (no JWT library needed)."""

    def enc(raw: bytes) -> str:
        return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()

    head = enc(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
    body = enc(json.dumps(claims).encode())
    sig = hmac.new(secret.encode(), f"{head}.{body}".encode(), hashlib.sha256).digest()
    return f"{head}.{body}.{enc(sig)}"


class Proxy:
    """A TCP proxy between the client and the broker, to cut connections the way a network
    does: `drop()` resets both sides at once (no close frame, like a NAT or load balancer
    losing the flow), `freeze()` stops forwarding on open connections (a dead peer that
    never answers), `refuse` turns new connections away (the broker unreachable)."""

    def __init__(self, target_port: int) -> None:
        self.target_port = target_port
        self.refuse = False
        self.connections = 0
        self._pairs: list[tuple[asyncio.StreamWriter, asyncio.StreamWriter, dict[str, bool]]] = []
        self._server: asyncio.Server | None = None

    async def start(self) -> str:
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
        port = self._server.sockets[0].getsockname()[1]
        return f"http://127.0.0.1:{port}"

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if self.refuse:
            writer.transport.abort()
            return
        try:
            up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self.target_port)
        except OSError:
            writer.transport.abort()
            return
        self.connections += 1
        flags = {"frozen": False}
        self._pairs.append((writer, up_writer, flags))

        async def pump(src: asyncio.StreamReader, dst: asyncio.StreamWriter) -> None:
            try:
                while True:
                    data = await src.read(65536)
                    if not data:
                        break
                    if flags["frozen"]:
                        continue  # swallowed: the peer never hears of it
                    dst.write(data)
                    await dst.drain()
            except (OSError, asyncio.CancelledError):
                pass
            finally:
                if not flags["frozen"]:
                    dst.transport.abort()

        await asyncio.gather(pump(reader, up_writer), pump(up_reader, writer))

    def drop(self) -> int:
        """Reset every open connection on both sides; returns how many."""
        pairs, self._pairs = self._pairs, []
        for a, b, _ in pairs:
            a.transport.abort()
            b.transport.abort()
        return len(pairs)

    def freeze(self) -> None:
        """Stop forwarding on the open connections, leaving them open."""
        for _, _, flags in self._pairs:
            flags["frozen"] = True

    async def close(self) -> None:
        self.drop()
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
