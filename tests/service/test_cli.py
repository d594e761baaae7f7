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
    assert "succeeded: sensors v1" in result.output and "3 epochs in" in result.output
    assert "hourglass predict sensors@1 ROWS.csv --anomalies" in result.output


def test_train_takes_a_run_config_file(cli_env: dict[str, str], tmp_path: Path) -> None:
    runner.invoke(app, ["db", "upgrade"], env=cli_env)
    path = tmp_path / "rows.npy"
    np.save(path, normal_rows(120, 4))
    config = tmp_path / "run.json"
    config.write_text(
        '{"model_name": "configured", "architecture": {"hidden_layers": [8], "code_size": 2},'
        ' "training": {"epochs": 2}, "calibration": {"alpha": 0.1}}'
    )
    result = runner.invoke(app, ["train", str(path), "--config", str(config)], env=cli_env)
    assert result.exit_code == 0, result.output
    assert "succeeded: configured v1" in result.output and "at alpha 0.1, 2 epochs" in result.output
    lines = result.output.splitlines()
    assert len(lines) < 10  # a bar and a summary, not a line per epoch


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("{", "Expecting property name"),
        ('{"dataset_id": 3}', "without dataset_id"),
        (
            '{"training": {"epochs": 0}}',
            "training.epochs: Input should be greater than or equal to 1",
        ),
        ('{"training": {"nope": 1}}', "training.nope: Extra inputs are not permitted"),
    ],
)
def test_a_bad_config_file_is_one_line(
    cli_env: dict[str, str], tmp_path: Path, text: str, message: str
) -> None:
    path = tmp_path / "rows.npy"
    np.save(path, normal_rows(20, 4))
    config = tmp_path / "run.json"
    config.write_text(text)
    result = runner.invoke(app, ["train", str(path), "--config", str(config)], env=cli_env)
    assert result.exit_code == 2 and message in result.output
    assert len(result.output.strip().splitlines()) == 1 and "Traceback" not in result.output


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
