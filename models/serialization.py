"""Fitted state ⇄ checkpoint bytes: member weights, scaler and calibration as tensors, the rest JSON."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from models import checkpoint
from models.autoencoder import Autoencoder
from models.calibration import Calibration
from models.config import DetectorConfig
from models.errors import CheckpointError
from models.fitted import Fitted
from models.preprocessing import Scaler
from models.trainer import EpochRecord


def to_bytes(fitted: Fitted) -> bytes:
    """Serialise a fitted Detector's state."""
    tensors: dict[str, torch.Tensor] = {
        "scaler.center": torch.from_numpy(fitted.scaler.center),
        "scaler.scale": torch.from_numpy(fitted.scaler.scale),
        "calibration.scores": torch.from_numpy(fitted.calibration.scores),
        "scoring.weights": torch.from_numpy(fitted.feature_weights),
    }
    if fitted.scoring_masks is not None:
        tensors["scoring.masks"] = torch.from_numpy(fitted.scoring_masks.astype(np.uint8))
    if fitted.train_mean is not None:
        tensors["introspect.train_mean"] = torch.from_numpy(fitted.train_mean.astype(np.float64))
    if fitted.reference_rows is not None:
        tensors["introspect.rows"] = torch.from_numpy(
            np.ascontiguousarray(fitted.reference_rows, dtype=np.float64)
        )
    for i, net in enumerate(fitted.members):
        tensors.update({f"members.{i}.{k}": v for k, v in net.state_dict().items()})
    return checkpoint.dump(tensors, _document(fitted))


def _document(fitted: Fitted) -> dict[str, Any]:
    return {
        "config": fitted.config.to_dict(),
        "columns": fitted.columns,
        "n_features": len(fitted.columns),
        "contamination_threshold": fitted.contamination_threshold,
        "calibration": {"excluded": fitted.calibration.excluded},
        "fit": {
            "best_epoch": fitted.best_epoch,
            "stopped": fitted.stopped,
            "seconds": fitted.fit_seconds,
            "history": [[r.epoch, r.train_loss, r.val_loss, r.seconds] for r in fitted.history],
        },
        "versions": checkpoint.library_versions(),
        "layer_stats": fitted.layer_stats,
        "geometry": fitted.geometry,
    }


def from_bytes(data: bytes, *, device: torch.device) -> Fitted:
    """The fitted state in checkpoint bytes, its tensors on `device`."""
    tensors, doc = checkpoint.load(data)
    try:
        return _restore(tensors, doc, device)
    except (KeyError, TypeError, ValueError, RuntimeError, IndexError) as exc:
        raise CheckpointError(f"checkpoint does not describe a valid Detector: {exc}") from exc


def _restore(tensors: dict[str, torch.Tensor], doc: dict[str, Any], device: torch.device) -> Fitted:
    if "scoring.weights" not in tensors:  # written before scoring existed: plain MSE
        doc["config"]["calibration"].setdefault("scoring", "mse")
    if "calibration" not in doc:  # written before the fence: every held-out row calibrates
        doc["config"]["calibration"].setdefault("fence", None)
    config = DetectorConfig.from_dict(doc["config"])
    n_features = int(doc["n_features"])
    columns = [str(c) for c in doc["columns"]]
    if len(columns) != n_features:
        raise ValueError(f"{len(columns)} column names for {n_features} features")
    n_members = config.architecture.ensemble_size
    weights = tensors.get("scoring.weights", torch.ones(n_members, n_features))
    feature_weights = weights.numpy().astype(np.float64)
    if feature_weights.shape != (n_members, n_features):
        raise ValueError(f"scoring.weights: shape {feature_weights.shape}")
    threshold = doc["contamination_threshold"]
    fit = doc["fit"]
    return Fitted(
        config=config,
        columns=columns,
        scaler=Scaler(
            center=tensors["scaler.center"].numpy(), scale=tensors["scaler.scale"].numpy()
        ),
        members=[_member(tensors, i, n_features, config, device) for i in range(n_members)],
        feature_weights=feature_weights,
        calibration=Calibration(
            scores=tensors["calibration.scores"].numpy().astype(np.float64),
            excluded=int(doc.get("calibration", {}).get("excluded", 0)),
        ),
        contamination_threshold=None if threshold is None else float(threshold),
        history=[
            EpochRecord(int(e), float(t), None if v is None else float(v), float(s))
            for e, t, v, s in fit["history"]
        ],
        best_epoch=int(fit["best_epoch"]),
        stopped=bool(fit["stopped"]),
        fit_seconds=float(fit["seconds"]),
        device=device,
        scoring_masks=_masks(tensors, n_features, config),
        layer_stats=doc.get("layer_stats"),  # absent before issue 14
        train_mean=_optional(tensors, "introspect.train_mean", (n_features,)),
        reference_rows=_optional(tensors, "introspect.rows", (None, n_features)),
        geometry=doc.get("geometry"),
    )


def _optional(
    tensors: dict[str, torch.Tensor], key: str, shape: tuple[int | None, ...]
) -> np.ndarray | None:
    """An optional tensor of a known shape (None stands for any length), as numpy."""
    found = tensors.get(key)
    if found is None:
        return None
    array = found.numpy()
    if array.ndim != len(shape) or any(
        s not in (None, n) for s, n in zip(shape, array.shape, strict=True)
    ):
        raise ValueError(f"{key}: shape {array.shape}")
    return array


def _masks(
    tensors: dict[str, torch.Tensor], n_features: int, config: DetectorConfig
) -> np.ndarray | None:
    """The masked scoring's hidden-cell masks, which that scoring cannot be without."""
    saved = tensors.get("scoring.masks")
    if saved is None:
        if config.calibration.scoring == "masked":
            raise ValueError("scoring.masks: missing for the masked scoring")
        return None
    masks = saved.numpy().astype(bool)
    if masks.ndim != 2 or masks.shape[1] != n_features or not masks.any(axis=0).all():
        raise ValueError(f"scoring.masks: shape {masks.shape}, or a column never hidden")
    return masks


CALIBRATION_KIND = "hourglass-calibration"


def calibration_to_bytes(calibration: Calibration) -> bytes:
    """A calibration on its own (a recalibrated version shares its weights with another)."""
    tensors = {"calibration.scores": torch.from_numpy(calibration.scores)}
    document = {"n": calibration.n, "versions": checkpoint.library_versions()}
    return checkpoint.dump(tensors, document, kind=CALIBRATION_KIND)


def calibration_from_bytes(data: bytes) -> Calibration:
    """The calibration in bytes written by `calibration_to_bytes`."""
    tensors, _ = checkpoint.load(data, kind=CALIBRATION_KIND)
    try:
        return Calibration.from_scores(tensors["calibration.scores"].numpy())
    except (KeyError, ValueError) as exc:
        raise CheckpointError(f"not a calibration: {exc}") from exc


def _member(
    tensors: dict[str, torch.Tensor],
    i: int,
    n_features: int,
    config: DetectorConfig,
    device: torch.device,
) -> Autoencoder:
    prefix = f"members.{i}."
    state = {k[len(prefix) :]: v for k, v in tensors.items() if k.startswith(prefix)}
    net = Autoencoder(n_features, config.architecture)
    net.load_state_dict(state, strict=True)
    return net.to(device).eval()
