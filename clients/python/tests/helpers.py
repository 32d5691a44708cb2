"""Shared helpers for the tests that run against a broker."""

from __future__ import annotations

import asyncio
import time

from switchboard_client import Event, Item, Subscription


async def take(sub: Subscription, count: int, timeout: float = 10.0) -> list[Item]:
    """The next `count` items of `sub` (events, gaps, resets), or fail after `timeout`."""
    items: list[Item] = []
    deadline = time.monotonic() + timeout
    while len(items) < count:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise AssertionError(f"timed out after {len(items)} of {count} items: {items[-3:]}")
        items.append(await asyncio.wait_for(sub.__anext__(), remaining))
    return items


async def take_events_until(sub: Subscription, last_seq: int, timeout: float = 15.0) -> list[Item]:
    """Items until an event with seq `last_seq` arrives."""
    items: list[Item] = []
    deadline = time.monotonic() + timeout
    while True:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise AssertionError(f"timed out waiting for seq {last_seq}; last items {items[-3:]}")
        item = await asyncio.wait_for(sub.__anext__(), remaining)
        items.append(item)
        if isinstance(item, Event) and item.seq >= last_seq:
            return items


async def nothing_more(sub: Subscription, wait: float = 0.3) -> bool:
    """True when no item arrives within `wait` seconds."""
    try:
        await asyncio.wait_for(sub.__anext__(), wait)
    except asyncio.TimeoutError:
        return True
    return False


def seqs(items: list[Item]) -> list[int]:
    return [i.seq for i in items if isinstance(i, Event)]
