"""The `hourglass` command: serve, worker, db upgrade, keys, train (local); and, through
hourglass_client, runs, models and predict against a running server."""

from __future__ import annotations

import json
import logging
import os
import sys
from functools import partial
from pathlib import Path
from typing import Annotated, Any

import torch
import typer
import uvicorn
from pydantic import ValidationError
from sqlalchemy.exc import SQLAlchemyError

from hourglass_client.cli import models_app, predict, runs_app, summary
from hourglass_client.progress import EpochBar
from service.api.schemas.runs import RunCreate
from service.config import Settings
from service.domain import datasets, runs
from service.domain import keys as key_domain
from service.domain.queue import NoQueue
from service.domain.runs import RunLimits
from service.domain.startup import prepare_to_serve
from service.domain.training import Outcome
from service.errors import ServiceError
from service.jobs.spec import TrainerSpec
from service.jobs.training import train_here
from service.jobs.worker import worker_main
from service.logs import configure_logging
from service.store.db import SessionFactory, make_engine, make_session_factory, transaction
from service.store.migrate import upgrade

logger = logging.getLogger("hourglass")
app = typer.Typer(help="Hourglass: train and host bottleneck autoencoders.", no_args_is_help=True)
db_app = typer.Typer(help="Database schema (Alembic).", no_args_is_help=True)
keys_app = typer.Typer(help="API keys.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(keys_app, name="keys")
app.add_typer(runs_app, name="runs")  # these talk to a running server (hourglass_client)
app.add_typer(models_app, name="models")
app.command("predict")(predict)
WORKER_HEALTHCHECK_SECONDS = 60


def _settings() -> Settings:
    settings = Settings()
    configure_logging(settings.log_level, settings.log_format)
    return settings


def _echo(text: str) -> None:
    typer.echo(text)


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="Bind address (HOURGLASS_HOST).")] = None,
    port: Annotated[int | None, typer.Option(help="Port (HOURGLASS_PORT).")] = None,
    workers: Annotated[
        int | None,
        typer.Option(min=1, max=64, help="Serving processes (HOURGLASS_SERVE_WORKERS)."),
    ] = None,
) -> None:
    """Serve the HTTP API with the embedded training executor.

    With `--workers N`, N processes answer requests (each with its own caches and inference
    threads); one of them runs the training jobs.
    """
    settings = _settings()
    settings = settings.model_copy(
        update={
            "host": host or settings.host,
            "port": port or settings.port,
            "serve_workers": workers or settings.serve_workers,
        }
    )
    _preflight(settings)
    os.environ["HOURGLASS_HOST"], os.environ["HOURGLASS_PORT"] = settings.host, str(settings.port)
    os.environ["HOURGLASS_SERVE_WORKERS"] = str(settings.serve_workers)
    uvicorn.run(
        "service.main:app_from_env",
        factory=True,
        host=settings.host,
        port=settings.port,
        access_log=False,
        log_config=None,
        timeout_graceful_shutdown=30,
        # a serving process imports torch before it answers the supervisor's health check:
        # seconds on a busy machine, past uvicorn's default 5 s
        timeout_worker_healthcheck=WORKER_HEALTHCHECK_SECONDS,
        workers=settings.serve_workers if settings.serve_workers > 1 else None,
    )


def _preflight(settings: Settings) -> None:
    """The app's start-up checks before binding, so a refusal is a message and exit status 2."""
    engine = make_engine(settings.database_url)
    try:
        prepare_to_serve(
            engine, make_session_factory(engine), api_keys=settings.api_keys, host=settings.host
        )
    except (ServiceError, SQLAlchemyError) as exc:
        _echo(f"refusing to serve: {exc}")
        raise typer.Exit(code=2) from exc
    finally:
        engine.dispose()


@db_app.command("upgrade")
def db_upgrade(revision: str = "head") -> None:
    """Create or migrate the schema to `revision` (default: the newest)."""
    settings = _settings()
    engine = make_engine(settings.database_url, answer_seconds=None)  # migrations may be long
    upgrade(engine, revision)
    engine.dispose()
    _echo(f"database at {revision}")


@keys_app.command("create")
def keys_create(
    scope: Annotated[str, typer.Option(help="admin | train | infer")] = "admin",
    name: Annotated[str, typer.Option(help="A label for the key.")] = "cli",
) -> None:
    """Create a key and print it once (only its hash is stored)."""
    if scope not in key_domain.SCOPES:
        _echo(f"scope must be one of {', '.join(key_domain.SCOPES)}")
        raise typer.Exit(code=2)
    factory = make_session_factory(make_engine(_settings().database_url))
    with transaction(factory) as session:
        key = key_domain.create_key(session, name=name, scope=scope)
    _echo(f"id={key.id} scope={key.scope} key={key.token}")


@keys_app.command("list")
def keys_list() -> None:
    """List keys (prefix, scope, state); tokens are never shown again."""
    factory = make_session_factory(make_engine(_settings().database_url))
    with transaction(factory) as session:
        for key in key_domain.list_keys(session):
            state = "revoked" if key.revoked_at else "active"
            _echo(f"{key.id}\t{key.prefix}…\t{key.scope}\t{state}\t{key.name}")


@keys_app.command("revoke")
def keys_revoke(key_id: int) -> None:
    """Revoke a key by id."""
    factory = make_session_factory(make_engine(_settings().database_url))
    with transaction(factory) as session:
        found = key_domain.revoke_key(session, key_id)
    if not found:
        _echo(f"no active key {key_id}")
        raise typer.Exit(code=1)
    _echo(f"revoked {key_id}")


@app.command()
def train(
    file: Annotated[
        Path, typer.Argument(exists=True, dir_okay=False, help="CSV, Parquet, .npy, JSON")
    ],
    model_name: Annotated[str, typer.Option("--model-name", help="Register under this name.")] = "",
    config: Annotated[
        Path | None,
        typer.Option(
            "--config",
            exists=True,
            dir_okay=False,
            help="A RunCreate JSON without dataset_id: model_name and the config sections.",
        ),
    ] = None,
    epochs: Annotated[int | None, typer.Option(help="Override training.epochs.")] = None,
) -> None:
    """Train locally without a server: a progress bar of epochs, then a new model version in the
    database and how to call it."""
    settings = _settings()
    name, overrides = _run_config(config, model_name or file.stem, epochs)
    torch.set_num_threads(settings.training_threads(share=1, serving=False))
    engine = make_engine(settings.database_url)
    factory = make_session_factory(engine)
    try:
        run_id, total = _queue_local_run(factory, file, name, overrides, settings.max_parameters)
    except ServiceError as exc:
        _echo(f"{file}: {exc.detail}")
        raise typer.Exit(code=2) from exc
    with EpochBar(total, f"run {run_id}") as bar:

        def show(epoch: int, train_loss: float, val_loss: float | None, _seconds: float) -> None:
            bar.update(epoch, train_loss, val_loss)

        unit = partial(transaction, factory)
        outcome = train_here(unit, run_id, device=settings.device.value, observer=show)
    with transaction(factory) as session:
        done = runs.get_run(session, run_id)
        _echo(
            summary(
                run_id,
                done.status,
                model=done.model_name,
                version=done.model_version,
                epoch=done.epoch,
                config=done.config,
                metrics=done.metrics,
                error=done.error,
            )
        )
    engine.dispose()
    raise typer.Exit(code=0 if outcome == Outcome.SUCCEEDED else 1)


def _run_config(
    path: Path | None, model_name: str, epochs: int | None
) -> tuple[str, dict[str, Any]]:
    """The model name and config sections of a RunCreate JSON file (validated as the API
    validates it), with --epochs laid over; a bad file is one line and exit status 2."""
    try:
        document = json.loads(path.read_text()) if path is not None else {}
        if not isinstance(document, dict) or "dataset_id" in document:
            raise ValueError("must be a JSON object without dataset_id (the FILE is the dataset)")
        document.setdefault("model_name", model_name)
        body = RunCreate.model_validate({"dataset_id": 1, **document})
    except (OSError, ValueError) as exc:
        _echo(f"{path}: {_first_error(exc)}")
        raise typer.Exit(code=2) from None
    sections = body.partial_config()
    if epochs is not None:
        sections["training"] = sections.get("training", {}) | {"epochs": epochs}
    return body.model_name, sections


def _first_error(exc: Exception) -> str:
    if isinstance(exc, ValidationError):
        first = exc.errors()[0]
        return f"{'.'.join(str(p) for p in first['loc'])}: {first['msg']}"
    return str(exc)


def _queue_local_run(
    factory: SessionFactory,
    file: Path,
    model_name: str,
    overrides: dict[str, Any],
    max_parameters: int,
) -> tuple[int, int]:
    with transaction(factory) as session, file.open("rb") as handle:
        dataset = datasets.create_dataset_from_file(session, handle, filename=file.name, name=None)
        request = runs.RunRequest(dataset.id, model_name, overrides)
        run = runs.create_run(
            session,
            request,
            queue=NoQueue(),
            idempotency_key=None,
            limits=RunLimits(max_parameters),
        )
        return run.id, run.epochs


@app.command()
def worker(
    concurrency: Annotated[int, typer.Option(min=1, help="Runs trained at once.")] = 1,
) -> None:
    """Train queued runs from PostgreSQL (procrastinate) until SIGTERM; any number may run."""
    settings = _settings()
    spec = TrainerSpec.from_settings(settings, serving=False, concurrency=concurrency)
    try:
        worker_main(spec)
    except ValueError as exc:  # not a PostgreSQL URL
        _echo(str(exc))
        raise typer.Exit(code=2) from exc


if __name__ == "__main__":  # pragma: no cover
    sys.exit(app())
