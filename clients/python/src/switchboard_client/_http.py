"""The HTTP calls the client makes (publishing), on the standard library only."""

from __future__ import annotations

import asyncio
import base64
import json
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Mapping, Sequence
from typing import Any

from ._types import BrokerError, PublishReceipt, Unauthorized

BatchEntry = tuple[str, bytes] | tuple[str, bytes, str] | Mapping[str, Any]
"""One event of a batch: ``(topic, data)``, ``(topic, data, content_type)``, or a mapping
in the contract's form."""

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


def _receipt(answer: Any) -> PublishReceipt:
    return PublishReceipt(
        topic=str(answer["topic"]),
        seq=int(answer["seq"]),
        epoch=str(answer["epoch"]),
        ts=int(answer["ts"]),
        duplicate=bool(answer.get("duplicate", False)),
    )


def _headers(content_type: str, token: str | None) -> dict[str, str]:
    headers = {"Content-Type": content_type}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    return headers


async def publish_one(
    base_url: str,
    token: str | None,
    topic: str,
    data: bytes,
    content_type: str,
    idempotency_key: str | None,
    timeout: float,
) -> PublishReceipt:
    """``POST /v1/topics/{topic}`` with the payload as the body."""
    headers = _headers(content_type, token)
    if idempotency_key is not None:
        headers["Idempotency-Key"] = idempotency_key
    url = f"{base_url}/v1/topics/{urllib.parse.quote(topic, safe='')}"
    return _receipt(await request_json("POST", url, bytes(data), headers, timeout))


async def publish_many(base_url: str, token: str | None, events: Sequence[BatchEntry], timeout: float) -> list[PublishReceipt]:
    """``POST /v1/publish``: tuples become ``data_b64`` entries, mappings go as they are."""
    entries: list[Any] = []
    for entry in events:
        if isinstance(entry, tuple):
            item: dict[str, Any] = {"topic": entry[0], "data_b64": base64.b64encode(bytes(entry[1])).decode("ascii")}
            if len(entry) == 3:
                item["type"] = entry[2]
            entries.append(item)
        else:
            entries.append(dict(entry))
    body = json.dumps({"events": entries}, separators=(",", ":")).encode("utf-8")
    answer = await request_json("POST", f"{base_url}/v1/publish", body, _headers("application/json", token), timeout)
    return [_receipt(result) for result in answer["results"]]
