"""The few HTTP calls the client makes (publishing), on the standard library only."""

from __future__ import annotations

import asyncio
import json
import urllib.error
import urllib.request
from typing import Any

from ._types import BrokerError, Unauthorized

# No proxy from the environment: the broker's URL is used as given.
_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def _error_from(status: int, body: bytes) -> BrokerError:
    code, message, index = "http_error", f"HTTP {status}", None
    try:
        err = json.loads(body)["error"]
        code = str(err.get("code", code))
        message = str(err.get("message", message))
        raw_index = err.get("index")
        index = raw_index if isinstance(raw_index, int) else None
    except (ValueError, KeyError, TypeError, AttributeError):
        pass
    cls = Unauthorized if status == 401 else BrokerError
    return cls(code, message, status=status, index=index)


def _request(method: str, url: str, body: bytes | None, headers: dict[str, str], timeout: float) -> tuple[int, bytes]:
    req = urllib.request.Request(url, data=body, headers=headers, method=method)
    try:
        with _OPENER.open(req, timeout=timeout) as resp:
            return int(resp.status), bytes(resp.read())
    except urllib.error.HTTPError as exc:
        return int(exc.code), bytes(exc.read())


async def request_json(
    method: str,
    url: str,
    body: bytes | None,
    headers: dict[str, str],
    timeout: float,
) -> Any:
    """Send one request in a worker thread; return the parsed JSON answer, or raise
    :class:`BrokerError` (``Unauthorized`` for 401) for an error status."""
    status, data = await asyncio.to_thread(_request, method, url, body, headers, timeout)
    if status >= 400:
        raise _error_from(status, data)
    if not data:
        return None
    return json.loads(data)
