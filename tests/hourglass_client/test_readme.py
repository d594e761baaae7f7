"""The README's Python client example runs as written against a live server."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

from tests.faults.conftest import Server
from tests.hourglass_client.conftest import KEY

README = (Path(__file__).parents[2] / "README.md").read_text()


def _example() -> str:
    part = README.split("## Python client", 1)[1]
    found = re.search(r"```python\n(.*?)```", part, re.S)
    assert found is not None
    return found.group(1)


def test_the_readme_example_runs(server: Server) -> None:
    code = _example()
    assert len(code.strip().splitlines()) <= 10
    done = subprocess.run(
        [sys.executable, "-c", code],
        env={
            "PATH": "/usr/bin:/bin",
            "HOURGLASS_URL": str(server.client.base_url),
            "HOURGLASS_API_KEY": KEY,
            "HOURGLASS_TORCH_THREADS": "1",
        },
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    last = done.stdout.strip().splitlines()[-1]
    assert last.startswith("1 [") and "'feature':" in last
