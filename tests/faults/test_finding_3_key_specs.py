"""Finding 3: a mistyped scope (`Infer:abc`, `inference:abc123`) made an admin key of the whole
string; short tokens and the .env.example placeholder were accepted; removing a token from
HOURGLASS_API_KEYS did not revoke it. Now each of those refuses to start, naming the entry, and
the variable is the whole truth about the keys it created."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from service.cli import app
from service.domain.startup import prepare_to_serve
from service.store.db import make_engine, make_session_factory
from tests.faults.conftest import server_env, serving
from tests.service.conftest import migrate

LONG = "t" * 40
runner = CliRunner()


@pytest.mark.parametrize(
    ("spec", "said"),
    [
        (f"Infer:{LONG}", "entry 1: unknown scope 'Infer'"),
        (f"admin:{LONG},inference:{LONG}", "entry 2: unknown scope 'inference'"),
        ("train:t0k", "entry 1: the token has 3 characters; at least 32"),
        (
            "admin:change-me-to-a-long-random-token",
            "entry 1: the token is the example's placeholder",
        ),
        ("short-bare-token", "entry 1: the token has 16 characters"),
    ],
)
def test_finding_3_a_bad_key_entry_refuses_to_start(tmp_path: Path, spec: str, said: str) -> None:
    env = {"HOURGLASS_DATABASE_URL": f"sqlite:///{tmp_path / 'h.db'}", "HOURGLASS_API_KEYS": spec}
    assert runner.invoke(app, ["db", "upgrade"], env=env).exit_code == 0
    result = runner.invoke(app, ["serve", "--port", "1"], env=env)
    assert result.exit_code == 2 and said in result.output, result.output
    assert LONG not in result.output  # tokens are never printed


def _keys(env: dict[str, str]) -> list[str]:
    """`hourglass keys list`: one `prefix scope state` line per key."""
    listed = runner.invoke(app, ["keys", "list"], env=env).output.strip().split("\n")
    return [" ".join(line.split("\t")[1:4]) for line in listed]


def test_finding_3_keys_removed_from_the_variable_are_revoked(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    logs = tmp_path_factory.mktemp("removed")
    url = migrate(f"sqlite:///{logs / 'h.db'}")
    kept, dropped = "a" * 40, "b" * 40
    first = server_env(url, api_keys=f"admin:{kept},infer:{dropped}")
    engine = make_engine(url)  # what `hourglass serve` checks before it binds, in this process
    prepare_to_serve(
        engine, make_session_factory(engine), api_keys=first["HOURGLASS_API_KEYS"], host="127.0.0.1"
    )
    engine.dispose()
    assert _keys(first) == ["aaaaaaaa… admin active", "bbbbbbbb… infer active"]
    second = server_env(url, api_keys=f"admin:{kept}")
    with serving(second, logs, token=kept) as server:
        assert server.client.get("/v1/models").status_code == 200
        auth = {"Authorization": f"Bearer {dropped}"}
        assert server.client.get("/v1/models", headers=auth).status_code == 401
    assert _keys(second)[1] == "bbbbbbbb… infer revoked"
