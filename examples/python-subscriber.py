#!/usr/bin/env python3
"""Subscribe to topics, print every event, and resume where the last run stopped.

    pip install ./clients/python
    python examples/python-subscriber.py http://127.0.0.1:8080 stocks.AAPL stocks.MSFT

Positions are kept in ./subscriber-positions.json: run it, stop it with Ctrl-C (or SIGTERM), publish a
few events, run it again, and it prints exactly the events it missed (or says which ones it
can no longer get). A token comes from $SWITCHBOARD_TOKEN when the broker needs one.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
from pathlib import Path
from typing import Any

from switchboard_client import Client, Deleted, Event, Gap, Reset, Subscription

POSITIONS = Path("subscriber-positions.json")


def load_positions() -> dict[str, list[object]]:
    try:
        data = json.loads(POSITIONS.read_text())
        return data if isinstance(data, dict) else {}
    except (OSError, ValueError):
        return {}


def save_positions(subs: list[Subscription]) -> None:
    POSITIONS.write_text(json.dumps({s.topic: list(s.position) for s in subs}))


async def follow(sub: Subscription, subs: list[Subscription]) -> None:
    async for item in sub:
        if isinstance(item, Event):
            print(f"{item.topic} #{item.seq} ts={item.ts}: {item.data[:200]!r}")
        elif isinstance(item, Gap):
            print(f"{item.topic}: events {item.from_seq}-{item.to_seq} are lost")
        elif isinstance(item, Reset):
            print(f"{item.topic}: new epoch {item.epoch}; earlier events are void")
        elif isinstance(item, Deleted):
            print(f"{item.topic}: deleted by an operator")
        save_positions(subs)


async def main(url: str, topics: list[str]) -> None:
    positions = load_positions()
    client = Client(url, token=os.environ.get("SWITCHBOARD_TOKEN"))
    client.on_state_change(lambda state: print(f"[connection {state.value}]", file=sys.stderr))
    stop = asyncio.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        asyncio.get_running_loop().add_signal_handler(sig, stop.set)
    async with client:
        subs: list[Subscription] = []
        for topic in topics:
            epoch, seq = positions.get(topic, [None, None])
            if isinstance(seq, int):
                sub = await client.subscribe(topic, since=seq, epoch=epoch if isinstance(epoch, str) else None)
            else:
                sub = await client.subscribe(topic, last=5)
            subs.append(sub)
        followers = asyncio.ensure_future(asyncio.gather(*(follow(sub, subs) for sub in subs)))
        stopper = asyncio.ensure_future(stop.wait())
        waiters: set[asyncio.Future[Any]] = {followers, stopper}
        await asyncio.wait(waiters, return_when=asyncio.FIRST_COMPLETED)
        stopper.cancel()
    # Leaving `async with` closed the client, which ends every subscription's iteration;
    # a client refused for good (401, close 1008) raises its reason here instead.
    await followers
    print("[stopped; positions saved]", file=sys.stderr)


if __name__ == "__main__":
    if len(sys.argv) < 3:
        sys.exit(f"usage: {sys.argv[0]} http://HOST:PORT TOPIC [TOPIC ...]")
    asyncio.run(main(sys.argv[1], sys.argv[2:]))
