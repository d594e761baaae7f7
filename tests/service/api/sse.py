"""A small reader of text/event-stream answers for the tests (the spec's field rules only)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx


@dataclass(frozen=True)
class Sse:
    event: str
    id: str | None
    data: dict[str, Any]


def events(response: httpx.Response) -> Iterator[Sse]:
    """The events of a streamed answer, as they arrive (comments and `retry:` skipped)."""
    name, last_id, data = "message", None, []
    for line in response.iter_lines():
        if not line:
            if data:
                yield Sse(name, last_id, json.loads("\n".join(data)))
            name, data = "message", []
            continue
        field, _, value = line.partition(":")
        value = value.removeprefix(" ")
        if field == "event":
            name = value
        elif field == "id":
            last_id = value
        elif field == "data":
            data.append(value)
