"""Column scaling fitted on training rows and stored with the Detector."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

_IQR_PER_SIGMA = 1.349  # the interquartile range of a normal distribution, in σ
_MAX_SHRINK = 3.0  # robust_bounded: a column's scale is at least std / 3


@dataclass(frozen=True)
class Scaler:
    """`scaled = (x - center) / scale`, per column; `scale` is never 0."""

    center: np.ndarray
    scale: np.ndarray

    @classmethod
    def fit(cls, x: np.ndarray, method: str) -> Scaler:
        """Fit `method` (standard, robust, robust_bounded, minmax, none) on the rows of `x`."""
        x64 = x.astype(np.float64)
        if method == "standard":
            center, scale = x64.mean(axis=0), x64.std(axis=0)
        elif method == "robust":
            q25, center, q75 = np.percentile(x64, [25, 50, 75], axis=0)
            scale = np.where(q75 - q25 > 0, q75 - q25, x64.std(axis=0))
        elif method == "robust_bounded":
            # Median and a normal-consistent IQR (IQR / 1.349 = σ for normal data), so heavy tails
            # do not shrink the bulk; but never below a third of the standard deviation, so a
            # spiky column (tiny IQR, wide tail) is not blown up into the dominant feature.
            q25, center, q75 = np.percentile(x64, [25, 50, 75], axis=0)
            scale = np.maximum((q75 - q25) / _IQR_PER_SIGMA, x64.std(axis=0) / _MAX_SHRINK)
        elif method == "minmax":
            center, scale = x64.min(axis=0), np.ptp(x64, axis=0)
        elif method == "none":
            center, scale = np.zeros(x.shape[1]), np.ones(x.shape[1])
        else:
            raise ValueError(f"unknown scaling {method!r}")
        # A constant column carries no information: leave it centred, never divide by zero.
        scale = np.where(np.isfinite(scale) & (scale > 1e-12), scale, 1.0)
        return cls(center=center.astype(np.float32), scale=scale.astype(np.float32))

    def transform(self, x: np.ndarray) -> np.ndarray:
        """Original units → scaled units."""
        scaled: np.ndarray = ((x - self.center) / self.scale).astype(np.float32)
        return scaled

    def inverse(self, z: np.ndarray) -> np.ndarray:
        """Scaled units → original units."""
        original: np.ndarray = (z * self.scale + self.center).astype(np.float32)
        return original
