"""Server-Sent Events for `GET /v1/runs/{id}/epochs/stream`.

Each epoch is an `epoch` event whose `id:` is the epoch number, so a client that reconnects
(EventSource does so by itself) sends `Last-Event-ID` and gets the epochs after it, none twice.
A connection stays open at most OPEN_SECONDS: a server that is stopping waits for no stream, and
the client's reconnect resumes where it was. `end` closes the stream for good.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import asdict

import orjson

from service.domain.feeds import End, EpochEvent, EpochFeed, Event, Restart, Watcher

EVENT_STREAM = "text/event-stream"
HEADERS = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}  # no proxy buffering
RETRY_MS = 500
KEEPALIVE_SECONDS = 10.0
OPEN_SECONDS = 30.0


def encode(event: Event) -> bytes:
    """One event in the text/event-stream format."""
    data = orjson.dumps(asdict(event))
    if isinstance(event, EpochEvent):
        return b"id: %d\nevent: epoch\ndata: %s\n\n" % (event.epoch, data)
    name = b"end" if isinstance(event, End) else b"restart"
    if isinstance(event, Restart):
        return b"id: 0\nevent: %s\ndata: %s\n\n" % (name, data)  # a reconnect starts at 1
    return b"event: %s\ndata: %s\n\n" % (name, data)


async def event_stream(watcher: Watcher, feed: EpochFeed) -> AsyncIterator[bytes]:
    """The watcher's events until `end`, a keep-alive comment when nothing happens."""
    try:
        yield b"retry: %d\n\n" % RETRY_MS
        clock = asyncio.get_running_loop()
        closes = clock.time() + OPEN_SECONDS
        while (left := closes - clock.time()) > 0:
            event = await watcher.next(min(KEEPALIVE_SECONDS, left))
            if event is None:
                yield b": keep-alive\n\n"
                continue
            yield encode(event)
            if isinstance(event, End):
                return
    finally:
        feed.forget(watcher)
