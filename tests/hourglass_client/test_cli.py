"""`hourglass runs|models|predict` against a live server: through typer's CliRunner and as a
real subprocess; expected failures are one line and a non-zero status, never a traceback."""

from __future__ import annotations

import logging
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from typer.testing import CliRunner

from service.cli import app
from tests.faults.conftest import HOURGLASS, Server
from tests.hourglass_client.conftest import KEY, rows_of

runner = CliRunner()


@pytest.fixture(autouse=True)
def no_stale_log_handlers() -> Iterator[None]:
    """Other CliRunner tests in this process ran commands that configure logging on the root
    logger with the stderr CliRunner had swapped in (closed since); httpx's INFO lines would
    then print "Logging error" into these commands' output. A real process starts clean."""
    saved = logging.root.handlers[:]
    logging.root.handlers = []
    yield
    logging.root.handlers = saved


@pytest.fixture
def env(server: Server, trained: dict[str, Any]) -> dict[str, str]:
    return {"HOURGLASS_URL": str(server.client.base_url), "HOURGLASS_API_KEY": KEY}


@pytest.fixture
def rows_csv(tmp_path: Path) -> Path:
    path = tmp_path / "rows.csv"
    x = rows_of(4, seed=7)[:, ::-1]  # columns in another order: the header matches them by name
    np.savetxt(path, x, delimiter=",", header="e,d,c,b,a", comments="")
    return path


def test_runs_list_show_and_watch(env: dict[str, str], trained: dict[str, Any]) -> None:
    run_id = str(trained["run"].id)
    listed = runner.invoke(app, ["runs", "list"], env=env)
    assert listed.exit_code == 0 and f"{run_id}  succeeded" in listed.output
    shown = runner.invoke(app, ["runs", "show", run_id], env=env)
    assert '"epochs": 5' in shown.output and "clients v1" in shown.output
    watched = runner.invoke(app, ["runs", "watch", run_id], env=env)
    assert watched.exit_code == 0
    assert (
        "succeeded: clients v1" in watched.output
        and "hourglass predict clients@1" in watched.output
    )


def test_models_list_and_show(env: dict[str, str]) -> None:
    assert "clients" in runner.invoke(app, ["models", "list"], env=env).output
    shown = runner.invoke(app, ["models", "show", "clients"], env=env)
    assert shown.exit_code == 0 and "v1  run" in shown.output


def test_predict_writes_csv_and_npy(
    env: dict[str, str], server: Server, rows_csv: Path, tmp_path: Path
) -> None:
    x = rows_of(4, seed=7)
    expected = server.client.post("/v1/models/clients/anomalies", json={"instances": x.tolist()})
    printed = runner.invoke(app, ["predict", "clients", str(rows_csv)], env=env)
    assert printed.exit_code == 0, printed.output
    lines = printed.output.strip().splitlines()
    assert lines[0] == "score,p_value,is_anomaly" and len(lines) == 5
    scores = [float(line.split(",")[0]) for line in lines[1:]]
    assert np.allclose(scores, expected.json()["scores"])
    out = tmp_path / "codes.npy"
    embedded = runner.invoke(
        app, ["predict", "clients", str(rows_csv), "--embed", "--out", str(out)], env=env
    )
    assert embedded.exit_code == 0 and np.load(out).shape == (4, 3)
    rebuilt = tmp_path / "rebuilt.csv"
    runner.invoke(
        app, ["predict", "clients", str(rows_csv), "--reconstruct", "--out", str(rebuilt)], env=env
    )
    assert rebuilt.read_text().splitlines()[0].startswith("reconstruction_0,")


def test_expected_failures_are_one_line(
    env: dict[str, str], rows_csv: Path, tmp_path: Path
) -> None:
    missing = runner.invoke(app, ["predict", "nope", str(rows_csv)], env=env)
    assert missing.exit_code == 1 and missing.output.strip() == (
        "error: 404 ModelNotFound: model 'nope' does not exist"
    )
    bad = tmp_path / "bad.csv"
    bad.write_text("a,b\n1,x\n")
    unreadable = runner.invoke(app, ["predict", "clients", str(bad)], env=env)
    assert unreadable.exit_code == 2 and "could not convert" in unreadable.output
    assert "Traceback" not in unreadable.output + missing.output
    wrong_key = runner.invoke(app, ["models", "list", "--key", "z" * 43], env=env)
    assert wrong_key.exit_code == 1 and "401" in wrong_key.output


def test_predict_as_a_real_process(env: dict[str, str], rows_csv: Path) -> None:
    done = subprocess.run(
        [HOURGLASS, "predict", "clients@1", str(rows_csv), "--anomalies", "--alpha", "0.2"],
        env={"PATH": "/usr/bin:/bin", **env},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[0] == "score,p_value,is_anomaly"
    refused = subprocess.run(
        [HOURGLASS, "runs", "show", "999999"],
        env={"PATH": "/usr/bin:/bin", **env},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert refused.returncode == 1 and "Traceback" not in refused.stderr
    assert refused.stderr.strip() == "error: 404 RunNotFound: run 999999 does not exist"
