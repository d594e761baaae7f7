"""The epoch stream (`text/event-stream`) read line by line: epochs, a restart, the end."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from hourglass_client.answers import Epoch, from_json

STREAM_HEADERS = {"Accept": "text/event-stream"}


@dataclass(frozen=True)
class Restarted:
    """The run was retried from the start: its epochs begin again at 1."""

    attempt: int


@dataclass(frozen=True)
class Ended:
    """The run finished; `status` is its final status."""

    status: str


Event = Epoch | Restarted | Ended


class Reader:
    """Reads the stream line by line; `feed` returns an event when a blank line ends one.
    Comments, `retry:` and `id:` are skipped (each epoch event carries its number)."""

    def __init__(self) -> None:
        self._name, self._data = "message", list[str]()

    def feed(self, line: str) -> Event | None:
        if line:
            field, _, value = line.partition(":")
            if field == "event":
                self._name = value.strip()
            elif field == "data":
                self._data.append(value.removeprefix(" "))
            return None
        found = _event(self._name, json.loads("\n".join(self._data))) if self._data else None
        self._name, self._data = "message", []
        return found


def parse(lines: Iterable[str]) -> Iterator[Event]:
    """Events from the stream's lines."""
    reader = Reader()
    for line in lines:
        event = reader.feed(line)
        if event is not None:
            yield event


def _event(name: str, data: dict[str, object]) -> Event | None:
    if name == "epoch":
        return from_json(Epoch, data)
    if name == "restart":
        return Restarted(int(str(data["attempt"])))
    if name == "end":
        return Ended(str(data["status"]))
    return None


def resume_headers(after: int) -> dict[str, str]:
    """Headers of a (re)connection that wants the epochs after `after`."""
    return STREAM_HEADERS | ({"Last-Event-ID": str(after)} if after else {})
