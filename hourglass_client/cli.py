"""`hourglass runs|models|predict`: commands that talk to a running server through the client.

`--url` / HOURGLASS_URL and `--key` / HOURGLASS_API_KEY say which server and which key. An
expected failure (a refused request, an unreadable file, no server) is one line on stderr and a
non-zero exit status, never a traceback: 1 for what the server said, 2 for what the command
was given.
"""

from __future__ import annotations

import csv
import io
import json
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

import numpy as np
import typer

from hourglass_client.answers import Run
from hourglass_client.bodies import to_npy
from hourglass_client.client import Client
from hourglass_client.errors import HourglassError

runs_app = typer.Typer(help="Runs on a server: list, show, watch, cancel.", no_args_is_help=True)
models_app = typer.Typer(help="Models on a server: list, show.", no_args_is_help=True)

Url = Annotated[
    str | None, typer.Option("--url", envvar="HOURGLASS_URL", help="The server (HOURGLASS_URL).")
]
Key = Annotated[
    str | None,
    typer.Option("--key", envvar="HOURGLASS_API_KEY", help="API key (HOURGLASS_API_KEY)."),
]


def _say(text: str) -> None:
    typer.echo(text)


@contextmanager
def connected(url: str | None, key: str | None) -> Iterator[Client]:
    """A client; a refusal or a failure to connect ends the command with one line, status 1."""
    try:
        with Client(url, key=key) as client:
            yield client
    except HourglassError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(code=1) from None


def given(check: Callable[[], Any], what: str) -> Any:
    """Read what the command was given; a bad file is one line, status 2."""
    try:
        return check()
    except (OSError, ValueError, KeyError) as exc:
        typer.echo(f"error: {what}: {exc}", err=True)
        raise typer.Exit(code=2) from None


def run_line(run: Run) -> str:
    """One run in a line: id, status, model, epochs, best loss, worker."""
    progress = f"{run.progress['epoch']}/{run.progress['epochs']}"
    model = run.model_name + (f" v{run.model_version}" if run.model_version else "")
    loss = run.metrics.get("val_loss") or run.metrics.get("train_loss")
    best = "" if loss is None else f"{loss:.4g}"
    return (
        f"{run.id:>6}  {run.status:<10} {model:<24} {progress:>11}  {best:>9}  {run.worker or ''}"
    )


def summary(
    run_id: int,
    status: str,
    *,
    model: str,
    version: int | None,
    epoch: int,
    config: dict[str, Any],
    metrics: dict[str, Any] | None,
    error: str | None,
) -> str:
    """How a finished run ended, and how to call the version it registered."""
    if status != "succeeded":
        return f"run {run_id} {status}: {error or ''}".rstrip()
    ref, found = f"{model}@{version}", metrics or {}
    alpha = config.get("calibration", {}).get("alpha")
    return (
        f"run {run_id} succeeded: {model} v{version}, threshold {found.get('threshold')} at "
        f"alpha {alpha}, {epoch} epochs in {found.get('seconds') or 0:.1f} s\n"
        f"call it: hourglass predict {ref} ROWS.csv --anomalies   "
        f"(POST /v1/models/{ref}/anomalies)"
    )


def run_summary(run: Run) -> str:
    """`summary` of a run the server answered with."""
    return summary(
        run.id,
        run.status,
        model=run.model_name,
        version=run.model_version,
        epoch=run.progress["epoch"],
        config=run.config,
        metrics=run.metrics,
        error=run.error,
    )


@runs_app.command("list")
def runs_list(
    url: Url = None,
    key: Key = None,
    status: Annotated[
        str | None, typer.Option(help="queued|running|succeeded|failed|cancelled")
    ] = None,
    model: Annotated[str | None, typer.Option(help="Only this model's runs.")] = None,
    limit: Annotated[int, typer.Option(min=1, max=500)] = 20,
) -> None:
    """The newest runs."""
    with connected(url, key) as client:
        page = client.list_runs(status=status, model_name=model, limit=limit)
    _say(f"{'run':>6}  {'status':<10} {'model':<24} {'epoch':>11}  {'best loss':>9}  worker")
    for run in page.items:
        _say(run_line(run))
    _say(f"{len(page.items)} of {page.total} runs")


@runs_app.command("show")
def runs_show(run_id: int, url: Url = None, key: Key = None) -> None:
    """One run: status, progress, metrics, error and the resolved config."""
    with connected(url, key) as client:
        run = client.get_run(run_id)
    _say(run_line(run))
    for name in ("created_at", "started_at", "finished_at", "error"):
        if getattr(run, name):
            _say(f"{name}: {getattr(run, name)}")
    _say(f"metrics: {json.dumps(run.metrics)}")
    _say(f"config: {json.dumps(run.config, indent=2)}")


@runs_app.command("watch")
def runs_watch(run_id: int, url: Url = None, key: Key = None) -> None:
    """A live progress bar of the run's epochs until it ends; exit 0 if it succeeded."""
    with connected(url, key) as client:
        run = client.wait(run_id, progress=True)
    _say(run_summary(run))
    raise typer.Exit(code=0 if run.status == "succeeded" else 1)


@runs_app.command("cancel")
def runs_cancel(run_id: int, url: Url = None, key: Key = None) -> None:
    """Cancel a queued run, or stop a running one after its current epoch."""
    with connected(url, key) as client:
        run = client.cancel_run(run_id)
    _say(f"run {run.id}: cancel requested ({run.status})")


@models_app.command("list")
def models_list(url: Url = None, key: Key = None) -> None:
    """Every model with its latest version and aliases."""
    with connected(url, key) as client:
        models = client.list_models()
    for model in models:
        aliases = ", ".join(f"{a}→v{v}" for a, v in model.aliases.items())
        _say(f"{model.name:<24} v{model.latest_version or '-':<5} {aliases}")


@models_app.command("show")
def models_show(name: str, url: Url = None, key: Key = None) -> None:
    """A model's versions and aliases."""
    with connected(url, key) as client:
        model = client.get_model(name)
    _say(f"{model.name}: aliases {json.dumps(model.aliases)}")
    for v in model.versions:
        threshold = v.metrics.get("threshold")
        _say(
            f"  v{v.version}  run {v.run_id}  code {v.code_size}  threshold {threshold}  {v.created_at}"
        )


def read_rows(path: Path) -> Any:
    """Rows from a `.npy` array or a CSV file (with a header: matched to the model's columns by
    name; without one: in the model's column order)."""
    if path.suffix.lower() == ".npy":
        return np.load(path, allow_pickle=False)
    if path.suffix.lower() != ".csv":
        raise ValueError("give a .csv or .npy file")
    lines = list(csv.reader(io.StringIO(path.read_text())))
    if not lines:
        raise ValueError("the file is empty")
    header, body = (lines[0], lines[1:]) if not _numbers(lines[0]) else (None, lines)
    x = np.array([[float(cell) for cell in row] for row in body if row], dtype=np.float64)
    if header is None:
        return x
    import pyarrow as pa

    return pa.table({name.strip(): x[:, i] for i, name in enumerate(header)})


def _numbers(cells: list[str]) -> bool:
    try:
        [float(cell) for cell in cells]
    except ValueError:
        return False
    return True


def write_answer(columns: dict[str, np.ndarray], out: Path | None) -> None:
    """The answer as CSV (stdout, or `out`), or as `.npy` (one array per answer column: a
    structured array when there are several)."""
    if out is not None and out.suffix.lower() == ".npy":
        out.write_bytes(to_npy(_structured(columns)))
        return
    flat = {name: a.reshape(len(a), -1) for name, a in columns.items()}
    header = [
        f"{n}_{j}" if a.shape[1] > 1 else n for n, a in flat.items() for j in range(a.shape[1])
    ]
    table = np.hstack([a.astype(np.float64) for a in flat.values()])
    stream = out.open("w", newline="") if out is not None else sys.stdout
    writer = csv.writer(stream)
    writer.writerow(header)
    writer.writerows(table.tolist())
    if out is not None:
        stream.close()


def _structured(columns: dict[str, np.ndarray]) -> np.ndarray:
    if len(columns) == 1:
        return next(iter(columns.values()))
    n = len(next(iter(columns.values())))
    out = np.empty(n, dtype=[(k, v.dtype, v.shape[1:]) for k, v in columns.items()])
    for name, values in columns.items():
        out[name] = values
    return out


def predict(
    ref: Annotated[str, typer.Argument(help="name, name@3 or name@alias")],
    file: Annotated[
        Path, typer.Argument(help="Rows: .csv (a header matches columns by name) or .npy")
    ],
    anomalies: Annotated[
        bool, typer.Option("--anomalies", help="Scores, p-values, flags (default).")
    ] = False,
    embed: Annotated[bool, typer.Option("--embed", help="Each row's code.")] = False,
    reconstruct: Annotated[
        bool, typer.Option("--reconstruct", help="Rows rebuilt, and errors.")
    ] = False,
    alpha: Annotated[float | None, typer.Option(help="Flag p <= alpha (--anomalies).")] = None,
    out: Annotated[
        Path | None, typer.Option(help="Write FILE.csv or FILE.npy (default: CSV on stdout).")
    ] = None,
    url: Url = None,
    key: Key = None,
) -> None:
    """Send rows to a model: anomalies (default), codes or reconstructions."""
    if embed + reconstruct + anomalies > 1:
        typer.echo("error: give one of --anomalies, --embed, --reconstruct", err=True)
        raise typer.Exit(code=2)
    if out is not None and out.suffix.lower() not in (".csv", ".npy"):
        typer.echo("error: --out must end in .csv or .npy", err=True)
        raise typer.Exit(code=2)
    rows = given(lambda: read_rows(file), str(file))
    with connected(url, key) as client:
        if embed:
            columns = {"code": client.embed(ref, rows)}
        elif reconstruct:
            found = client.reconstruct(ref, rows)
            columns = {"reconstruction": found.reconstructions, "error": found.errors}
        else:
            flagged = client.anomalies(ref, rows, alpha=alpha)
            columns = {
                "score": flagged.scores,
                "p_value": flagged.p_values,
                "is_anomaly": flagged.is_anomaly,
            }
    given(lambda: write_answer(columns, out), str(out or "stdout"))
