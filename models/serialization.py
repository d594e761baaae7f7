"""Detector ⇄ checkpoint bytes: member weights, scaler and calibration as tensors, the rest JSON."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, TypeVar

import numpy as np
import torch

from models import checkpoint
from models.autoencoder import Autoencoder
from models.calibration import Calibration
from models.config import DetectorConfig
from models.errors import CheckpointError
from models.preprocessing import Scaler
from models.trainer import EpochRecord

if TYPE_CHECKING:
    from models.detector import Detector

D = TypeVar("D", bound="Detector")


def to_bytes(det: Detector) -> bytes:
    """Serialise a fitted Detector."""
    tensors: dict[str, torch.Tensor] = {
        "scaler.center": torch.from_numpy(det.scaler_.center),
        "scaler.scale": torch.from_numpy(det.scaler_.scale),
        "calibration.scores": torch.from_numpy(det.calibration_.scores),
        "scoring.weights": torch.from_numpy(det.feature_weights_),
    }
    for i, net in enumerate(det.members_):
        tensors.update({f"members.{i}.{k}": v for k, v in net.state_dict().items()})
    return checkpoint.dump(tensors, _document(det))


def _document(det: Detector) -> dict[str, Any]:
    return {
        "config": det.config_.to_dict(),
        "columns": det.columns_,
        "n_features": det.n_features_in_,
        "contamination_threshold": det.contamination_threshold_,
        "fit": {
            "best_epoch": det.best_epoch_,
            "stopped": det.stopped_,
            "seconds": det.fit_seconds_,
            "history": [[r.epoch, r.train_loss, r.val_loss, r.seconds] for r in det.history_],
        },
        "versions": checkpoint.library_versions(),
    }


def from_bytes(cls: type[D], data: bytes, *, device: str = "cpu") -> D:
    """Rebuild a Detector of class `cls` from checkpoint bytes on `device`."""
    tensors, doc = checkpoint.load(data)
    try:
        det = _restore(cls, tensors, doc, torch.device(device))
    except (KeyError, TypeError, ValueError, RuntimeError, IndexError) as exc:
        raise CheckpointError(f"checkpoint does not describe a valid Detector: {exc}") from exc
    return det


def _restore(
    cls: type[D], tensors: dict[str, torch.Tensor], doc: dict[str, Any], device: torch.device
) -> D:
    if "scoring.weights" not in tensors:  # written before scoring existed: plain MSE
        doc["config"]["calibration"].setdefault("scoring", "mse")
    config = DetectorConfig.from_dict(doc["config"])
    det = cls(config)
    det.config_ = config
    det.columns_ = [str(c) for c in doc["columns"]]
    det.n_features_in_ = int(doc["n_features"])
    det.device_ = device
    det.scaler_ = Scaler(
        center=tensors["scaler.center"].numpy(), scale=tensors["scaler.scale"].numpy()
    )
    det.calibration_ = Calibration(scores=tensors["calibration.scores"].numpy().astype(np.float64))
    threshold = doc["contamination_threshold"]
    det.contamination_threshold_ = None if threshold is None else float(threshold)
    det.members_ = [
        _member(tensors, i, det.n_features_in_, config, device)
        for i in range(config.architecture.ensemble_size)
    ]
    n_members = config.architecture.ensemble_size
    weights = tensors.get("scoring.weights", torch.ones(n_members, det.n_features_in_))
    det.feature_weights_ = weights.numpy().astype(np.float64)
    if det.feature_weights_.shape != (n_members, det.n_features_in_):
        raise ValueError(f"scoring.weights: shape {det.feature_weights_.shape}")
    fit = doc["fit"]
    history = [
        EpochRecord(int(e), float(t), None if v is None else float(v), float(s))
        for e, t, v, s in fit["history"]
    ]
    det._set_fit_state(history, int(fit["best_epoch"]), bool(fit["stopped"]))
    det.fit_seconds_ = float(fit["seconds"])
    return det


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
