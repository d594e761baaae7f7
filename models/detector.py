"""Detector: scaling + one or more Autoencoders + conformal calibration, in scikit-learn manners."""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any, Self

import numpy as np
import torch

from models import scoring, serialization
from models.autoencoder import Autoencoder, LayerInfo
from models.calibration import Calibration
from models.config import DetectorConfig
from models.errors import InvalidInput
from models.preprocessing import Scaler
from models.split import Split, split_rows
from models.trainer import EVAL_CHUNK, EpochCallback, EpochRecord, choose_device, train
from models.validation import as_rows, check_width


class Detector:
    """Fit on normal-looking rows; then embed, reconstruct, score, and flag with p-values."""

    def __init__(self, config: DetectorConfig | None = None) -> None:
        self.config = config or DetectorConfig()

    # -- fitting -----------------------------------------------------------------------------

    def fit(
        self,
        x: object,
        columns: Sequence[str] | None = None,
        callback: EpochCallback | None = None,
    ) -> Self:
        """Train on `x` (rows × features); hold out calibration and validation rows."""
        started = time.perf_counter()
        rows = as_rows(x, columns=columns)
        self.columns_ = _column_names(columns, rows.shape[1])
        self.n_features_in_ = rows.shape[1]
        self.config_ = self.config.resolved(rows.shape[1], rows.shape[0])
        split = split_rows(rows.shape[0], self.config_, seed=self.config_.training.seed)
        self.scaler_ = Scaler.fit(rows[split.fit], self.config_.preprocessing.scaling)
        self.device_ = choose_device(self.config_.training.device)
        z = torch.from_numpy(self.scaler_.transform(rows)).to(self.device_)
        self.members_ = self._build_members()
        result = train(self.members_, z[split.train], z[split.val], self.config_.training, callback)
        self._set_fit_state(result.history, result.best_epoch, result.stopped)
        self._fit_scoring(z, split)
        self.fit_seconds_ = time.perf_counter() - started
        return self

    def _build_members(self) -> list[Autoencoder]:
        nets = []
        for i in range(self.config_.architecture.ensemble_size):
            torch.manual_seed(self.config_.training.seed + i)
            nets.append(
                Autoencoder(self.n_features_in_, self.config_.architecture).to(self.device_)
            )
        return nets

    def _fit_scoring(self, z: torch.Tensor, split: Split) -> None:
        """After training: per-feature score weights, calibration, contamination threshold."""
        self.feature_weights_ = scoring.feature_weights(
            scoring.member_errors(self.members_, z[split.train]), self._scoring
        )
        self.calibration_ = Calibration.from_scores(self._score_scaled(z[split.calibration]))
        self.contamination_threshold_ = self._contamination_threshold(z[split.train])

    def _set_fit_state(self, history: list[EpochRecord], best_epoch: int, stopped: bool) -> None:
        self.history_ = history
        self.best_epoch_ = best_epoch
        self.stopped_ = stopped
        best = history[best_epoch - 1] if 0 < best_epoch <= len(history) else history[-1]
        self.train_loss_, self.val_loss_ = best.train_loss, best.val_loss
        for net in self.members_:
            net.eval()

    def _contamination_threshold(self, z_train: torch.Tensor) -> float | None:
        share = self.config_.calibration.contamination
        if share is None:
            return None
        return float(np.quantile(self._score_scaled(z_train), 1.0 - share))

    def recalibrate(self, x_normal: object) -> Self:
        """Replace the calibration with the scores of new normal rows; the weights stay."""
        self.calibration_ = Calibration.from_scores(self.score(x_normal))
        return self

    # -- inference ---------------------------------------------------------------------------

    def _scaled(self, x: object) -> torch.Tensor:
        rows = as_rows(x, columns=self.columns_)
        check_width(rows, self.n_features_in_)
        return torch.from_numpy(self.scaler_.transform(rows)).to(self.device_)

    @torch.inference_mode()
    def _reconstruct_scaled(self, z: torch.Tensor) -> torch.Tensor:
        parts = []
        for start in range(0, z.shape[0], EVAL_CHUNK):
            zb = z[start : start + EVAL_CHUNK]
            recon = torch.stack([net(zb).reconstruction for net in self.members_]).mean(dim=0)
            parts.append(recon)
        return torch.cat(parts) if parts else torch.empty_like(z)

    def _errors_scaled(self, z: torch.Tensor) -> np.ndarray:
        return (z - self._reconstruct_scaled(z)).cpu().numpy().astype(np.float64)

    @property
    def _scoring(self) -> str:
        return self.config_.calibration.scoring

    def _contributions(self, z: torch.Tensor) -> np.ndarray:
        errors = scoring.member_errors(self.members_, z)
        return scoring.contributions(errors, self.feature_weights_, self._scoring)

    def _score_scaled(self, z: torch.Tensor) -> np.ndarray:
        scores: np.ndarray = self._contributions(z).sum(axis=1)
        return scores

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
        return self.scaler_.inverse(self._reconstruct_scaled(self._scaled(x)).cpu().numpy())

    def feature_errors(self, x: object) -> np.ndarray:
        """Signed per-feature reconstruction error (input − reconstruction), in scaled units."""
        return self._errors_scaled(self._scaled(x))

    def score(self, x: object) -> np.ndarray:
        """Anomaly score from the reconstruction error (see `calibration.scoring`); higher = odder."""
        return self._score_scaled(self._scaled(x))

    def p_values(self, x: object) -> np.ndarray:
        """Conformal p-value of each row against the calibration rows."""
        return self.calibration_.p_values(self.score(x))

    def threshold(self, alpha: float | None = None) -> float:
        """The score above which a row is flagged at `alpha` (default: the configured alpha)."""
        return self.calibration_.threshold(self._alpha(alpha))

    def predict(self, x: object, alpha: float | None = None) -> np.ndarray:
        """True for rows flagged as anomalies: `p <= alpha`, or over the contamination threshold."""
        if alpha is None and self.contamination_threshold_ is not None:
            return self.score(x) > self.contamination_threshold_
        return self.p_values(x) <= self._alpha(alpha)

    def explain(self, x: object, k: int) -> list[list[dict[str, Any]]]:
        """Per row, the `k` features with the largest share of the score: feature, error, share."""
        z = self._scaled(x)
        errors = self._errors_scaled(z)
        parts = self._contributions(z)
        shares = parts / np.maximum(parts.sum(axis=1, keepdims=True), 1e-300)
        top = np.argsort(-shares, axis=1, kind="stable")[:, :k]
        return [
            [
                {
                    "feature": self.columns_[j],
                    "error": float(errors[i, j]),
                    "share": float(shares[i, j]),
                }
                for j in row
            ]
            for i, row in enumerate(top)
        ]

    def layers(self) -> list[LayerInfo]:
        """The hidden layers of the (first) Autoencoder, indexable by `embed(layer=…)`."""
        return self.members_[0].layers()

    def _alpha(self, alpha: float | None) -> float:
        value = self.config_.calibration.alpha if alpha is None else alpha
        if not 0.0 < value < 1.0:
            raise InvalidInput(f"alpha: must lie in (0, 1); got {value}")
        return value

    # -- checkpoints -------------------------------------------------------------------------

    def to_bytes(self) -> bytes:
        """A safetensors checkpoint with the JSON document; no pickle."""
        return serialization.to_bytes(self)

    @classmethod
    def from_bytes(cls, data: bytes, device: str = "cpu") -> Detector:
        """Load a checkpoint written by `to_bytes`; raise CheckpointError when it is not intact."""
        return serialization.from_bytes(cls, data, device=device)


def _column_names(columns: Sequence[str] | None, n: int) -> list[str]:
    if columns is None:
        return [f"f{i}" for i in range(n)]
    names = [str(c) for c in columns]
    if len(names) != n:
        raise InvalidInput(f"{len(names)} column names for {n} columns")
    return names
