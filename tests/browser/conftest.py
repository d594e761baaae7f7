"""Browser tests: pytest-playwright driving Debian's Chromium (its executable, no browser
download), against a live `hourglass serve`. Any request that leaves loopback, and any console
error, fails a test; pytest-playwright writes a screenshot of every failed test
(`--screenshot=only-on-failure`, set in pyproject.toml).

Without /usr/bin/chromium the tests skip, and fail under CI=true.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlparse

import pytest
from playwright.sync_api import ConsoleMessage, Page, Route

from tests.faults.conftest import Server, rows, server_env, serving

CHROMIUM = "/usr/bin/chromium"
KEY = "k" * 43  # the live server's admin key
CONFIG = {
    "architecture": {"hidden_layers": [16], "code_size": 3, "dropout": 0.0},
    "training": {"epochs": 12, "batch_size": 64, "validation_fraction": 0.1},
    "calibration": {"fraction": 0.2, "alpha": 0.05},
}
LOOPBACK = {"127.0.0.1", "localhost", "::1", "[::1]"}
FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args: dict[str, Any]) -> dict[str, Any]:
    """pytest-playwright's launch, with Debian's Chromium and the flags of a closed network."""
    if not shutil.which(CHROMIUM):
        if os.environ.get("CI") == "true":
            pytest.fail(f"{CHROMIUM} is required when CI=true (Debian package chromium)")
        pytest.skip(f"{CHROMIUM} is not installed")
    return {**browser_type_launch_args, "executable_path": CHROMIUM, "args": FLAGS}


class Guard:
    """What a page tried that a test forbids: requests off loopback, console errors."""

    def __init__(self) -> None:
        self.outside: list[str] = []
        self.errors: list[str] = []
        self.allowed: set[str] = set()  # URLs a test expects to be blocked (and their errors)

    def route(self, route: Route) -> None:
        host = urlparse(route.request.url).hostname or ""
        if route.request.url.startswith(("data:", "blob:")) or host in LOOPBACK:
            route.continue_()
            return
        self.outside.append(route.request.url)
        route.abort()

    def console(self, message: ConsoleMessage) -> None:
        if message.type == "error" and message.location.get("url") not in self.allowed:
            self.errors.append(f"{message.text} ({message.location.get('url')})")

    def check(self) -> None:
        outside = [url for url in self.outside if url not in self.allowed]
        assert not outside, f"requests left loopback: {outside[:5]}"
        assert not self.errors, f"console errors: {self.errors[:5]}"


@pytest.fixture
def guard(page: Page) -> Guard:
    """Watch the test's page: every request is routed through it, every console error kept."""
    watching = Guard()
    page.context.route("**/*", watching.route)
    page.on("console", watching.console)
    page.on("pageerror", lambda error: watching.errors.append(str(error)))
    return watching


@pytest.fixture(scope="session")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """One live keyed `hourglass serve` for the whole browser suite (starting one costs seconds
    of the suite's 90), which trained the model `sensors` v1 with the embedded executor."""
    logs = tmp_path_factory.mktemp("browser")
    env = server_env(f"sqlite:///{logs / 'h.db'}", api_keys=f"admin:{KEY}")
    with serving(env, logs, token=KEY) as live:
        dataset = live.upload(rows(300, 6, seed=3))
        run = live.post_run(dataset, "sensors", CONFIG)
        done = live.wait_run(run["id"], lambda r: r["status"] not in ("queued", "running"), 120)
        assert done["status"] == "succeeded", done
        yield live
