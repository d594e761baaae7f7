"""Sweeps: Optuna searches a space of run configs, ask-and-tell, one ordinary run per trial.

A coordinator *step* (`step`) does all the deciding, and nothing else: it rebuilds the Optuna
study from the trial rows (so a coordinator that was killed resumes from them), tells it what the
finished trials scored, asks for new trials while fewer than `parallel` are in flight, and writes
each as a queued run with its `trial_number`. The pair (sweep_id, trial_number) is unique, so two
steps can never create the same trial. Trials train wherever runs train; ASHA prunes a trial
from the same per-epoch callback that honours cancel (`pruned`); the trial's worker scores it
(`score_trial`). When every trial has ended, the step registers the best trial's checkpoint as a
version of `model_name`. The embedded executor steps every active sweep from its polling loop;
on PostgreSQL a procrastinate job steps a sweep and defers itself again.
"""

from __future__ import annotations

import copy
import logging
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
from sqlalchemy.orm import Session

from models import Detector, DetectorConfig
from models.selection import asha_promotes, average_precision, is_rung, knee, roc_auc
from service.domain.datasets import get_dataset, load_dataset_array
from service.domain.projection import calibration_rows, sample_of
from service.domain.queue import JobQueue
from service.domain.registry import register_version
from service.domain.runs import RunLimits, resolve_config
from service.errors import BadConfig, RunFinished, SweepNotFound, Unavailable
from service.store import blobs
from service.store import runs as runs_store
from service.store import sweeps as store
from service.store.tables import FINISHED, Run, RunStatus, Sweep

if TYPE_CHECKING:
    import optuna

logger = logging.getLogger(__name__)
UnitOfWork = Callable[[], AbstractContextManager[Session]]
MAXIMISED = frozenset({"roc_auc", "average_precision"})
LABELLED = MAXIMISED
SWEEP_VALIDATION = 0.1  # validation share of a trial whose base config sets none: its objective


class SweepsUnavailable(Unavailable):
    """Optuna (the `sweep` extra) is not installed on this server."""


@dataclass(frozen=True)
class SweepRequest:
    """What a client asked for (validated by the API schema; checked against the data here)."""

    dataset_id: int
    model_name: str
    base: dict[str, Any]
    space: dict[str, dict[str, Any]]
    trials: int
    objective: dict[str, Any]
    pruning: str
    parallel: int
    seed: int


def _optuna() -> Any:
    try:
        import optuna
    except ImportError as exc:  # the `sweep` extra
        raise SweepsUnavailable("sweeps need Optuna: install hourglass[sweep]") from exc
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    return optuna


def distributions(space: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """Optuna distributions of the space: {"int": [lo, hi]}, {"float": [lo, hi]} (either with
    "log"), or {"choice": [...]}."""
    optuna = _optuna()
    out: dict[str, Any] = {}
    for name, spec in space.items():
        log = bool(spec.get("log", False))
        if "int" in spec:
            out[name] = optuna.distributions.IntDistribution(*spec["int"], log=log)
        elif "float" in spec:
            out[name] = optuna.distributions.FloatDistribution(*spec["float"], log=log)
        else:
            out[name] = optuna.distributions.CategoricalDistribution(spec["choice"])
    return out


def trial_config(base: dict[str, Any], params: dict[str, Any]) -> dict[str, Any]:
    """The base config with each "section.field" of `params` set; a validation split of 10 %
    when the base sets none (the objectives and ASHA read the validation loss)."""
    config = copy.deepcopy(base)
    for name, value in params.items():
        section, field = name.split(".", 1)
        config.setdefault(section, {})[field] = value
    training = config.setdefault("training", {})
    training.setdefault("validation_fraction", SWEEP_VALIDATION)
    return config


def _refuse(field: str, message: str) -> BadConfig:
    msg = f"{field}: {message}"
    return BadConfig(msg, errors=[{"loc": ["body", *field.split(".")], "msg": msg}])


def check_request(session: Session, request: SweepRequest, limits: RunLimits) -> None:
    """Refuse at submit (naming the field) what no trial could train or score."""
    dataset = get_dataset(session, request.dataset_id)
    for name, spec in request.space.items():
        if name.split(".", 1)[0] not in (
            "architecture",
            "preprocessing",
            "training",
            "calibration",
        ):
            raise _refuse(f"space.{name}", "must name a config field as section.field")
        ends = spec.get("choice") or spec.get("int") or spec.get("float") or []
        for value in ends:
            try:
                resolve_config(
                    trial_config(request.base, {name: value}),
                    n_features=dataset.n_features,
                    n_rows=dataset.n_rows,
                    limits=limits,
                )
            except BadConfig as exc:
                raise _refuse(f"space.{name}", f"{value!r} is refused: {exc}") from exc
    distributions(request.space)
    metric = request.objective["metric"]
    labels = request.objective.get("labels")
    if (metric in LABELLED) != (labels is not None):
        raise _refuse("objective.labels", f"{metric} needs labels; val_loss objectives take none")
    if labels is not None:
        _check_labels(session, request, labels, list(dataset.columns))


def _check_labels(
    session: Session, request: SweepRequest, labels: dict[str, Any], columns: list[str]
) -> None:
    if labels["dataset_id"] == request.dataset_id:
        raise _refuse(
            "objective.labels.dataset_id", "must not be the training dataset (its rows train)"
        )
    x, names = load_dataset_array(session, labels["dataset_id"])
    if labels["column"] not in names:
        raise _refuse("objective.labels.column", f"{labels['column']!r} is not a column")
    missing = [c for c in columns if c not in names]
    if missing:
        raise _refuse("objective.labels.dataset_id", f"lacks the training column {missing[0]!r}")
    y = x[:, names.index(labels["column"])] != 0
    for half in _halves(len(y), request.seed):
        if y[half].all() or not y[half].any():
            raise _refuse(
                "objective.labels.column", "each half of the rows needs both labels (0 and not 0)"
            )


def _halves(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """The labelled rows that choose (the objective) and those held out (reported)."""
    order = np.random.default_rng(seed).permutation(n)
    return np.sort(order[: n // 2]), np.sort(order[n // 2 :])


def create_sweep(
    session: Session, request: SweepRequest, *, queue: JobQueue, limits: RunLimits
) -> Sweep:
    """Check, write a queued sweep and hand its coordinator to the job queue."""
    check_request(session, request, limits)
    body = {
        "base": request.base,
        "space": request.space,
        "objective": request.objective,
        "pruning": request.pruning,
        "parallel": request.parallel,
        "seed": request.seed,
        "max_parameters": limits.max_parameters,  # every trial is held to the submit's limit
    }
    sweep = store.add_sweep(
        session,
        dataset_id=request.dataset_id,
        model_name=request.model_name,
        request=body,
        trials=request.trials,
    )
    queue.enqueue_sweep(session, sweep.id)
    return sweep


# -- the coordinator ---------------------------------------------------------------------------


def active_sweeps(unit: UnitOfWork) -> list[int]:
    """The sweeps a coordinator still has to step."""
    with unit() as session:
        return store.active_sweep_ids(session)


def step(unit: UnitOfWork, sweep_id: int, queue: JobQueue) -> bool:
    """One coordinator step; False once the sweep has ended (nothing left to coordinate)."""
    with unit() as session:
        sweep = store.get_sweep(session, sweep_id)
        if sweep is None or sweep.status in FINISHED:
            return False
        store.start_sweep(session, sweep_id)
        trials = store.trial_runs(session, sweep_id)
        if sweep.cancel_requested:
            return _cancel(session, sweep, trials)
        _ask(session, sweep, trials, queue)
        if len(trials) >= sweep.trials and all(t.status in FINISHED for t in trials):
            _finish(session, sweep, trials)
            return False
        return True


def _ask(session: Session, sweep: Sweep, trials: list[Run], queue: JobQueue) -> None:
    request = sweep.request
    limits = RunLimits(int(request["max_parameters"]))
    in_flight = sum(1 for t in trials if t.status not in FINISHED)
    if in_flight >= request["parallel"] or len(trials) >= sweep.trials:
        return
    study = _study(sweep, trials)
    space = distributions(request["space"])
    dataset = get_dataset(session, sweep.dataset_id)
    while in_flight < request["parallel"] and len(trials) < sweep.trials:
        asked = study.ask(space)
        wanted = trial_config(request["base"], asked.params)
        try:
            config = resolve_config(
                wanted, n_features=dataset.n_features, n_rows=dataset.n_rows, limits=limits
            )
            refused = None
        except BadConfig as exc:  # a combination over the size limit: the trial fails
            config, refused = DetectorConfig.from_dict(wanted).to_dict(), str(exc)
            config["training"]["epochs"] = 0
        run = store.add_trial_run(
            session, sweep=sweep, number=len(trials), config=config, params=asked.params
        )
        if run is None:  # another step made this trial: the next step reads it
            return
        if refused is not None:
            runs_store.finish_run(session, run.id, status=RunStatus.FAILED, error=refused)
        else:
            queue.enqueue(session, run.id, needs_cuda=config["training"]["device"] == "cuda")
        trials.append(run)
        in_flight += 1
        logger.info("trial queued", extra={"run_id": run.id, "action": f"sweep {sweep.id}"})


def _study(sweep: Sweep, trials: list[Run]) -> optuna.Study:
    """The study as the trial rows tell it, sampler seeded by the sweep's seed and its size."""
    lib = _optuna()
    request = sweep.request
    direction = "maximize" if request["objective"]["metric"] in MAXIMISED else "minimize"
    sampler = lib.samplers.TPESampler(seed=request["seed"] + len(trials), constant_liar=True)
    study: optuna.Study = lib.create_study(direction=direction, sampler=sampler)
    space = distributions(request["space"])
    state = lib.trial.TrialState
    for run in trials:
        record = run.trial or {}
        kwargs: dict[str, Any] = {"params": record.get("params", {}), "distributions": space}
        if record.get("objective") is not None:
            kwargs |= {"value": record["objective"], "state": state.COMPLETE}
        elif record.get("pruned_at_epoch") is not None:
            kwargs |= {"state": state.PRUNED}
        elif run.status in FINISHED:
            kwargs |= {"state": state.FAIL}
        else:
            kwargs |= {"state": state.RUNNING}
        study.add_trial(lib.trial.create_trial(**kwargs))
    return study


def _cancel(session: Session, sweep: Sweep, trials: list[Run]) -> bool:
    for run in trials:
        if run.status not in FINISHED:
            runs_store.request_cancel(session, run.id)
            runs_store.cancel_if_queued(session, run.id)
    session.flush()
    if any(run.status == RunStatus.RUNNING for run in store.trial_runs(session, sweep.id)):
        return True  # their workers stop them at the end of the epoch
    store.finish_sweep(session, sweep.id, status=RunStatus.CANCELLED, error="cancelled")
    return False


def best_trial(sweep: Sweep, trials: list[Run]) -> Run | None:
    """The trial the objective chooses among those that completed."""
    done = [t for t in trials if (t.trial or {}).get("objective") is not None]
    if not done:
        return None
    metric = sweep.request["objective"]["metric"]
    values = [float((t.trial or {})["objective"]) for t in done]
    if metric == "val_loss_knee":
        return done[knee(values, [_size(t) for t in done])]
    pick = int(np.argmax(values)) if metric in MAXIMISED else int(np.argmin(values))
    return done[pick]


def _size(run: Run) -> int:
    """Trainable parameters of a trial's net, as it was built ("auto" sizes resolved)."""
    return int((run.trial or {}).get("parameters", 0))


def _finish(session: Session, sweep: Sweep, trials: list[Run]) -> None:
    best = best_trial(sweep, trials)
    if best is None or best.checkpoint_blob_id is None:
        store.finish_sweep(session, sweep.id, status=RunStatus.FAILED, error="no trial completed")
        return
    checkpoint = blobs.read_blob(session, best.checkpoint_blob_id)
    detector = Detector.from_bytes(checkpoint)
    x, _ = load_dataset_array(session, sweep.dataset_id)
    version = register_version(
        session,
        sweep.model_name,
        run_id=best.id,
        detector=detector,
        checkpoint=checkpoint,
        sample=sample_of(calibration_rows(x, detector.config_)),  # as a run's own version
    )
    runs_store.finish_run(
        session, best.id, status=RunStatus.SUCCEEDED, model_version=version.version
    )
    record = best.trial or {}
    chosen = {
        "trial_number": best.trial_number,
        "run_id": best.id,
        "params": record.get("params"),
        "objective": record.get("objective"),
        "holdout": record.get("holdout"),
    }
    for run in trials:  # the other trials' checkpoints are not kept
        if run.id != best.id and run.checkpoint_blob_id is not None:
            kept, run.checkpoint_blob_id = run.checkpoint_blob_id, None
            session.flush()
            blobs.delete_blob_if_unused(session, kept)
    store.finish_sweep(
        session,
        sweep.id,
        status=RunStatus.SUCCEEDED,
        best=chosen,
        model_version=version.version,
    )
    logger.info("sweep succeeded", extra={"action": f"sweep {sweep.id}"})


# -- in the trial's worker -------------------------------------------------------------------


def pruned(session: Session, run: Run, epoch: int, val_loss: float | None) -> bool:
    """ASHA, from the per-epoch callback: at a rung, stop a trial outside the best 1/η. A trial
    at its last epoch has finished: there is nothing left to save by stopping it."""
    last = epoch >= run.epochs > 0
    if run.sweep_id is None or val_loss is None or last or not is_rung(epoch):
        return False
    sweep = store.get_sweep(session, run.sweep_id)
    if sweep is None or sweep.request.get("pruning") != "asha":
        return False
    if asha_promotes(val_loss, store.losses_at(session, run.sweep_id, epoch)):
        return False
    store.record_trial(session, run.id, {"pruned_at_epoch": epoch}, checkpoint_blob_id=None)
    return True


def score_trial(session: Session, run: Run, detector: Detector, checkpoint: bytes) -> None:
    """A finished trial's objective (and held-out score), and its checkpoint until the end."""
    sweep = store.get_sweep(session, run.sweep_id or 0)
    if sweep is None:
        return
    objective = sweep.request["objective"]
    value: float | None = detector.val_loss_
    holdout = None
    if objective["metric"] in LABELLED:
        value, holdout = _labelled(session, sweep, objective, detector)
    blob = blobs.write_blob(session, [checkpoint])
    outcome = {
        "objective": None if value is None else float(value),
        "holdout": holdout,
        "parameters": detector.config_.architecture.parameter_count(len(detector.columns_)),
    }
    store.record_trial(session, run.id, outcome, checkpoint_blob_id=blob.id)


def _labelled(
    session: Session, sweep: Sweep, objective: dict[str, Any], detector: Detector
) -> tuple[float, float]:
    labels = objective["labels"]
    x, names = load_dataset_array(session, labels["dataset_id"])
    y = x[:, names.index(labels["column"])] != 0
    rows = x[:, [names.index(c) for c in detector.columns_]]
    metric = roc_auc if objective["metric"] == "roc_auc" else average_precision
    scores = detector.score(rows)
    choose, hold = _halves(len(y), sweep.request["seed"])
    return metric(y[choose], scores[choose]), metric(y[hold], scores[hold])


# -- reading and cancelling --------------------------------------------------------------------


def get_sweep(session: Session, sweep_id: int) -> Sweep:
    """The sweep, or SweepNotFound."""
    sweep = store.get_sweep(session, sweep_id)
    if sweep is None:
        raise SweepNotFound(f"sweep {sweep_id} does not exist")
    return sweep


def cancel_sweep(session: Session, sweep_id: int, queue: JobQueue) -> Sweep:
    """Flag the sweep; its coordinator cancels the trials in flight and ends it."""
    sweep = get_sweep(session, sweep_id)
    if sweep.status in FINISHED:
        raise RunFinished(f"sweep {sweep_id} has already finished ({sweep.status})")
    store.request_sweep_cancel(session, sweep_id)
    queue.enqueue_sweep(session, sweep_id)
    session.refresh(sweep)
    return sweep
