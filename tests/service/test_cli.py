"""The `hourglass` command: db upgrade, keys, local train, and serve's protected mode."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from service.cli import app
from tests.service.conftest import empty_database, normal_rows

runner = CliRunner()


@pytest.fixture(scope="module")
def cli_env(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    with empty_database("sqlite", tmp_path_factory) as url:
        return {"HOURGLASS_DATABASE_URL": url, "HOURGLASS_TORCH_THREADS": "1"}


def test_db_upgrade_then_keys_lifecycle(cli_env: dict[str, str]) -> None:
    assert runner.invoke(app, ["db", "upgrade"], env=cli_env).exit_code == 0
    created = runner.invoke(
        app, ["keys", "create", "--scope", "infer", "--name", "ci"], env=cli_env
    )
    assert created.exit_code == 0 and "key=hg_" in created.output
    key_id = created.output.split("id=")[1].split()[0]
    listed = runner.invoke(app, ["keys", "list"], env=cli_env).output
    assert "infer" in listed and "active" in listed and "key=" not in listed
    assert runner.invoke(app, ["keys", "revoke", key_id], env=cli_env).exit_code == 0
    assert "revoked" in runner.invoke(app, ["keys", "list"], env=cli_env).output
    assert runner.invoke(app, ["keys", "revoke", key_id], env=cli_env).exit_code == 1
    bad = runner.invoke(app, ["keys", "create", "--scope", "root"], env=cli_env)
    assert bad.exit_code != 0


def test_train_file_registers_a_version(cli_env: dict[str, str], tmp_path: Path) -> None:
    runner.invoke(app, ["db", "upgrade"], env=cli_env)
    path = tmp_path / "sensors.csv"
    x = normal_rows(120, 4)
    np.savetxt(path, x, delimiter=",", header="a,b,c,d", comments="")
    result = runner.invoke(app, ["train", str(path), "--epochs", "3"], env=cli_env)
    assert result.exit_code == 0, result.output
    assert "epoch 3" in result.output and "succeeded: sensors v1" in result.output


def test_serve_refuses_a_public_bind_without_keys(tmp_path: Path) -> None:
    env = {"HOURGLASS_DATABASE_URL": f"sqlite:///{tmp_path / 'h.db'}"}
    runner.invoke(app, ["db", "upgrade"], env=env)
    result = runner.invoke(app, ["serve", "--host", "0.0.0.0"], env=env)
    assert result.exit_code == 2 and "refusing" in result.output


def test_train_on_a_bad_file_names_the_cell(cli_env: dict[str, str], tmp_path: Path) -> None:
    runner.invoke(app, ["db", "upgrade"], env=cli_env)
    path = tmp_path / "bad.csv"
    path.write_text("a,b\n1,2\n3,x\n")
    result = runner.invoke(app, ["train", str(path)], env=cli_env)
    assert result.exit_code == 2 and "row 1, column 'b'" in result.output
