"""A daemon thread that calls one function every few seconds until it is stopped."""

from __future__ import annotations

import threading
from collections.abc import Callable


class Periodic:
    """Calls `tick` every `seconds` in a daemon thread, from `start()` until `stop()` or until
    `tick` returns True. `tick` handles its own errors: one that escapes ends the thread."""

    def __init__(self, tick: Callable[[], bool | None], *, seconds: float, name: str) -> None:
        self._tick = tick
        self._seconds = seconds
        self._name = name
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def stopping(self) -> bool:
        """True once `stop()` has been called (whether or not the thread ever started)."""
        return self._stopping.is_set()

    def start(self) -> None:
        """Start calling `tick`, the first time after `seconds`."""
        self._thread = threading.Thread(target=self._run, name=self._name, daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        """Stop calling `tick`; wait up to `timeout` seconds for a call in progress to end."""
        self._stopping.set()
        if self._thread is not None:
            self._thread.join(timeout=timeout)

    def _run(self) -> None:
        while not self._stopping.wait(self._seconds):
            if self._tick():
                return
