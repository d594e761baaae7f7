"""Periodic: a function called every few seconds in a daemon thread, until it is stopped."""

from __future__ import annotations

import threading
import time

from service.periodic import Periodic


def _until(condition: object, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():  # type: ignore[operator]
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.005)


def test_tick_is_called_again_and_again_until_stop() -> None:
    calls: list[float] = []
    periodic = Periodic(lambda: calls.append(time.monotonic()), seconds=0.01, name="test-tick")
    periodic.start()
    _until(lambda: len(calls) >= 3)
    periodic.stop()
    assert periodic.stopping
    stopped_at = len(calls)
    time.sleep(0.05)
    assert len(calls) == stopped_at


def test_a_tick_that_returns_true_is_the_last() -> None:
    calls: list[int] = []

    def tick() -> bool:
        calls.append(1)
        return len(calls) == 2

    periodic = Periodic(tick, seconds=0.01, name="test-last")
    periodic.start()
    _until(lambda: not any(t.name == "test-last" for t in threading.enumerate()))
    assert len(calls) == 2
    assert not periodic.stopping


def test_the_first_tick_waits_its_interval_and_stop_needs_no_start() -> None:
    calls: list[int] = []
    periodic = Periodic(lambda: calls.append(1), seconds=60, name="test-slow")
    periodic.start()
    periodic.stop(timeout=5)
    assert calls == []
    Periodic(lambda: None, seconds=1, name="never-started").stop()
