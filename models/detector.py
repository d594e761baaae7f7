"""Detector: scaling + one or more Autoencoders + conformal calibration, in scikit-learn manners."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Any, Self

import numpy as np
import torch

from models import introspect, masking, scoring, serialization
from models.autoencoder import Autoencoder, LayerInfo
from models.calibration import Calibration, rows_to_reach
from models.config import DetectorConfig
from models.decision import Assessment, decide
from models.errors import InvalidInput
from models.fitted import Fitted, FittedAttributes
from models.geometry import resolve as resolve_geometry
from models.preprocessing import Scaler
from models.split import Split, split_rows
from models.trainer import EpochCallback, Trainer, TrainResult, choose_device, train
from models.validation import as_rows, check_width

LayerCallback = Callable[[int, dict[str, Any]], None]
"""`(epoch, statistics) -> None`: the per-epoch layer statistics (models/introspect.py), handed
over just before the epoch callback of the same epoch."""
REFERENCE_ROWS = 1_024  # calibration rows kept with the model (unit examples, CKA)
REFERENCE_CELLS = 1 << 18  # … and at most this many values (2 MiB of float64)


@dataclass(frozen=True)
class Prepared:
    """What `Detector.prepare` derives from the rows before training; `finish` completes it."""

    config: DetectorConfig  # resolved for the data
    columns: list[str]
    scaler: Scaler
    device: torch.device
    split: Split
    z: torch.Tensor  # every row, scaled, on the device
    members: list[Autoencoder]
    started: float
    geometry: dict[str, Any] | None = None  # how "auto" sizes were resolved
    rows: np.ndarray | None = None  # every row as given (original units)

    @property
    def train_rows(self) -> torch.Tensor:
        return self.z[self.split.train]

    @property
    def val_rows(self) -> torch.Tensor:
        return self.z[self.split.val]


class Detector(FittedAttributes):
    """Fit on normal-looking rows; then embed, reconstruct, score, and flag with p-values."""

    def __init__(self, config: DetectorConfig | None = None) -> None:
        self.config = config or DetectorConfig()

    # -- fitting -----------------------------------------------------------------------------

    def fit(
        self,
        x: object,
        columns: Sequence[str] | None = None,
        callback: EpochCallback | None = None,
        *,
        trainer: Trainer = train,
        device: torch.device | None = None,
        on_layers: LayerCallback | None = None,
    ) -> Self:
        """Train on `x` (rows × features); hold out calibration and validation rows.

        `trainer` trains the members (`models.distributed.train_distributed` for DDP); `device`
        overrides the config's (a rank's own GPU); `on_layers` gets the first member's per-epoch
        layer statistics on a fixed sample of at most 1,024 rows (validation, else training).
        """
        prepared = self.prepare(x, columns, device=device)
        if on_layers is not None:
            callback = _monitored(prepared, callback, on_layers)
        result = trainer(
            prepared.members,
            prepared.train_rows,
            prepared.val_rows,
            prepared.config.training,
            callback,
        )
        return self.finish(prepared, result)

    def prepare(
        self, x: object, columns: Sequence[str] | None = None, *, device: torch.device | None = None
    ) -> Prepared:
        """Check and split the rows, fit the scaler, build the members: everything but training."""
        started = time.perf_counter()
        rows = as_rows(x, columns=columns)
        config = self.config.resolved(rows.shape[1], rows.shape[0])
        split = split_rows(rows.shape[0], config, seed=config.training.seed)
        scaler = Scaler.fit(rows[split.fit], config.preprocessing.scaling)
        device = device or choose_device(config.training.device)
        scaled = scaler.transform(rows)
        arch, geometry = resolve_geometry(
            config.architecture, scaled[split.train], config.training.seed
        )
        config = replace(config, architecture=arch.resolved(rows.shape[1]))
        z = torch.from_numpy(scaled).to(device)
        members = _build_members(rows.shape[1], config, device)
        names = _column_names(columns, rows.shape[1])
        return Prepared(config, names, scaler, device, split, z, members, started, geometry, rows)

    def finish(self, prepared: Prepared, result: TrainResult) -> Self:
        """After training: score weights, calibration (held-out rows, those beyond the fence left
        out) and contamination threshold; fitted."""
        members, z, split = prepared.members, prepared.z, prepared.split
        for net in members:
            net.eval()
        calibration_config = prepared.config.calibration
        masks = masking.scoring_masks(prepared.config, len(prepared.columns))
        train_errors = scoring.member_errors(members, z[split.train], masks)
        weights = scoring.feature_weights(train_errors, calibration_config.scoring)
        share = calibration_config.contamination

        def score(errors: np.ndarray) -> np.ndarray:
            return scoring.scores(errors, weights, calibration_config.scoring)

        self._fitted = Fitted(
            config=prepared.config,
            columns=prepared.columns,
            scaler=prepared.scaler,
            members=members,
            feature_weights=weights,
            calibration=Calibration.held_out(
                score(scoring.member_errors(members, z[split.calibration], masks)),
                fence=calibration_config.fence,
                keep=rows_to_reach(calibration_config.alpha),
            ),
            contamination_threshold=(
                None if share is None else float(np.quantile(score(train_errors), 1.0 - share))
            ),
            history=result.history,
            best_epoch=result.best_epoch,
            stopped=result.stopped,
            fit_seconds=time.perf_counter() - prepared.started,
            device=prepared.device,
            scoring_masks=masks,
            geometry=prepared.geometry,
            **_introspection(prepared),
        )
        return self

    def recalibrate(self, x_normal: object) -> Self:
        """Replace the calibration with the scores of new normal rows; the weights stay."""
        self._fitted = replace(self._state(), calibration=self.calibrated_on(x_normal))
        return self

    def calibrated_on(self, x_normal: object) -> Calibration:
        """A calibration from the scores of new normal rows (this Detector is left as it is)."""
        return Calibration.from_scores(self.score(x_normal))

    def with_calibration(self, calibration: Calibration) -> Detector:
        """A Detector that shares this one's weights and answers with `calibration`."""
        other = Detector(self.config)
        other._fitted = replace(self._state(), calibration=calibration)
        return other

    # -- inference ---------------------------------------------------------------------------

    def scale(self, x: object) -> torch.Tensor:
        """The rows checked and scaled as the nets see them, on the Detector's device."""
        return self._scaled(x)

    def _scaled(self, x: object) -> torch.Tensor:
        rows = as_rows(x, columns=self.columns_)
        check_width(rows, self.n_features_in_)
        return torch.from_numpy(self.scaler_.transform(rows)).to(self.device_)

    def _errors(self, z: torch.Tensor) -> np.ndarray:
        """The members' per-cell errors that scores are made of (masked ones, scoring masked)."""
        return scoring.member_errors(self.members_, z, self.scoring_masks_)

    def _scores(self, errors: np.ndarray) -> np.ndarray:
        return scoring.scores(errors, self.feature_weights_, self.config_.calibration.scoring)

    @torch.inference_mode()
    def embed(self, x: object, layer: int | None = None) -> np.ndarray:
        """The code of each row (the mean, for a variational net), or hidden layer `layer`."""
        z = self._scaled(x)
        net = self.members_[0]
        if layer is None:
            return net.encode(z)[0].cpu().numpy()
        if not 0 <= layer < len(net.layers()):
            raise InvalidInput(f"layer: must lie in [0, {len(net.layers()) - 1}]; got {layer}")
        return net.hidden(z, layer).cpu().numpy()

    def reconstruct(self, x: object) -> np.ndarray:
        """Each row rebuilt by the model, in original units."""
        return self.reconstruct_and_score(x)[0]

    def reconstruct_and_score(self, x: object) -> tuple[np.ndarray, np.ndarray]:
        """Reconstructions in original units and anomaly scores, from one forward pass."""
        z = self._scaled(x)
        recon, errors = scoring.reconstructions(self.members_, z)
        if self.scoring_masks_ is not None:  # the score is made of the hidden cells' errors
            errors = self._errors(z)
        return self.scaler_.inverse(recon.cpu().numpy()), self._scores(errors)

    def feature_errors(self, x: object) -> np.ndarray:
        """Signed per-feature error (input − reconstruction, with each cell hidden under the
        masked scoring), in scaled units: what the score is made of."""
        errors: np.ndarray = self._errors(self._scaled(x)).mean(axis=0)
        return errors

    def score(self, x: object) -> np.ndarray:
        """Anomaly score from the reconstruction error (see `calibration.scoring`); higher = odder."""
        return self._scores(self._errors(self._scaled(x)))

    def p_values(self, x: object) -> np.ndarray:
        """Conformal p-value of each row against the calibration rows."""
        return self.calibration_.p_values(self.score(x))

    def threshold(self, alpha: float | None = None) -> float:
        """The score above which a row is flagged at `alpha` (default: the configured alpha)."""
        return self._decide(np.empty(0), alpha).threshold

    def warnings(self, alpha: float | None = None) -> list[str]:
        """What answers at `alpha` (default: the configured alpha) cannot promise: an alpha the
        calibration rows cannot reach, with the smallest one they can."""
        return self._decide(np.empty(0), alpha).warnings

    def predict(self, x: object, alpha: float | None = None) -> np.ndarray:
        """True for rows flagged as anomalies, by the rule `assess` applies."""
        return self.assess(x, alpha=alpha).is_anomaly

    def assess(self, x: object, *, alpha: float | None = None, explain: int = 0) -> Assessment:
        """Scores, p-values, flags and the rule that flagged, with the top-`explain` features of
        each row, all from one forward pass.

        An `alpha` given here flags `p <= alpha`; without one a configured contamination flags
        scores over its threshold, else the configured alpha does (see models/decision.py).
        """
        errors = self._errors(self._scaled(x))
        parts = scoring.contributions(
            errors, self.feature_weights_, self.config_.calibration.scoring
        )
        found = self._decide(parts.sum(axis=1), alpha)
        if explain <= 0:
            return found
        top = _explanations(self.columns_, errors.mean(axis=0), parts, explain)
        return replace(found, explanations=top)

    def _decide(self, scores: np.ndarray, alpha: float | None) -> Assessment:
        return decide(
            scores,
            self.calibration_,
            alpha=alpha,
            default_alpha=self.config_.calibration.alpha,
            contamination_threshold=self.contamination_threshold_,
        )

    def explain(self, x: object, k: int) -> list[list[dict[str, Any]]]:
        """Per row, the `k` features with the largest share of the score: feature, error, share."""
        return self.assess(x, explain=k).explanations or []

    def layers(self) -> list[LayerInfo]:
        """The hidden layers of the (first) Autoencoder, indexable by `embed(layer=…)`."""
        return self.members_[0].layers()

    # -- checkpoints -------------------------------------------------------------------------

    def to_bytes(self) -> bytes:
        """A safetensors checkpoint with the JSON document; no pickle."""
        return serialization.to_bytes(self._state())

    @classmethod
    def from_bytes(cls, data: bytes, device: str = "cpu") -> Self:
        """Load a checkpoint written by `to_bytes`; raise CheckpointError when it is not intact."""
        fitted = serialization.from_bytes(data, device=torch.device(device))
        detector = cls(fitted.config)
        detector._fitted = fitted
        return detector


def _monitored(
    prepared: Prepared, callback: EpochCallback | None, on_layers: LayerCallback
) -> EpochCallback:
    """The epoch callback, preceded by the first member's layer statistics on a fixed sample."""
    seed = prepared.config.training.seed
    rows, _ = introspect.statistics_rows(
        prepared.val_rows, prepared.train_rows, limit=introspect.EPOCH_ROWS, seed=seed
    )
    net = prepared.members[0]

    def on_epoch(epoch: int, train_loss: float, val_loss: float | None, seconds: float) -> bool:
        on_layers(epoch, introspect.epoch_statistics(net, rows))
        return bool(callback(epoch, train_loss, val_loss, seconds)) if callback else False

    return on_epoch


def _introspection(prepared: Prepared) -> dict[str, Any]:
    """What a fitted Detector keeps to show its hidden layers: the end-of-training statistics,
    the training mean (the attributions' baseline) and a bounded sample of calibration rows."""
    seed = prepared.config.training.seed
    rows, source = introspect.statistics_rows(
        prepared.val_rows, prepared.train_rows, limit=introspect.FINAL_ROWS, seed=seed
    )
    calibration = prepared.split.calibration
    limit = min(REFERENCE_ROWS, max(1, REFERENCE_CELLS // len(prepared.columns)))
    kept = calibration[introspect.sample_rows(calibration.size, limit, seed)]
    original = prepared.rows
    if original is None:  # prepared without its rows: rebuilt from the scaled ones
        original = prepared.scaler.inverse(prepared.z[torch.from_numpy(kept)].cpu().numpy())
    else:
        original = original[kept]
    return {
        "layer_stats": introspect.layer_statistics(prepared.members[0], rows, source=source),
        "train_mean": prepared.train_rows.double().mean(dim=0).cpu().numpy(),
        "reference_rows": np.asarray(original, dtype=np.float64),
    }


def _build_members(
    n_features: int, config: DetectorConfig, device: torch.device
) -> list[Autoencoder]:
    nets = []
    for i in range(config.architecture.ensemble_size):
        torch.manual_seed(config.training.seed + i)
        nets.append(Autoencoder(n_features, config.architecture).to(device))
    return nets


def _explanations(
    columns: list[str], errors: np.ndarray, parts: np.ndarray, k: int
) -> list[list[dict[str, Any]]]:
    """Per row, the `k` features with the largest share of the score."""
    shares = parts / np.maximum(parts.sum(axis=1, keepdims=True), 1e-300)
    top = np.argsort(-shares, axis=1, kind="stable")[:, :k]
    return [
        [
            {"feature": columns[j], "error": float(errors[i, j]), "share": float(shares[i, j])}
            for j in row
        ]
        for i, row in enumerate(top)
    ]


def _column_names(columns: Sequence[str] | None, n: int) -> list[str]:
    if columns is None:
        return [f"f{i}" for i in range(n)]
    names = [str(c) for c in columns]
    if len(names) != n:
        raise InvalidInput(f"{len(names)} column names for {n} columns")
    return names
