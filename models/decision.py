"""The decision rule: which rows a Detector flags, by which rule, and what it cannot promise.

Two rules (DESIGN.md "Anomaly semantics"): `alpha` flags rows whose conformal p-value is at most
alpha; `contamination` flags the expected share of the training rows, by a threshold on their
scores. An alpha given with the request wins; otherwise a configured contamination does; otherwise
the configured alpha. Where the calibration rows are too few for alpha to be reachable, the answer
says so in `warnings` instead of flagging nothing in silence.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

import numpy as np

from models.calibration import Calibration, smallest_alpha
from models.errors import InvalidInput


class Rule(StrEnum):
    """Which rule flagged a batch's rows."""

    ALPHA = "alpha"  # p-value <= alpha
    CONTAMINATION = "contamination"  # score over the training rows' contamination quantile


@dataclass(frozen=True)
class Assessment:
    """Scores, p-values and flags of a batch, the rule that flagged and its threshold."""

    scores: np.ndarray
    p_values: np.ndarray
    is_anomaly: np.ndarray
    rule: Rule
    alpha: float  # the alpha of the p-values (also reported under the contamination rule)
    threshold: float  # rows scoring above it are flagged; +inf when nothing can be
    explanations: list[list[dict[str, Any]]] | None = None
    warnings: list[str] = field(default_factory=list)


def check_alpha(alpha: float) -> float:
    """`alpha`, or InvalidInput when it is not in (0, 1)."""
    if isinstance(alpha, bool) or not 0.0 < alpha < 1.0:
        raise InvalidInput(f"alpha: must lie in (0, 1); got {alpha}")
    return float(alpha)


def decide(
    scores: np.ndarray,
    calibration: Calibration,
    *,
    alpha: float | None,
    default_alpha: float,
    contamination_threshold: float | None,
) -> Assessment:
    """Apply the rule to scores computed once: p-values, flags, threshold and warnings.

    The warning of an unreachable alpha comes with either rule: the answer reports that alpha
    and p-values that cannot reach it."""
    p_values = calibration.p_values(scores)
    level = check_alpha(default_alpha if alpha is None else alpha)
    threshold = calibration.threshold(level)
    warnings = unreachable_alpha(calibration.n, level) if math.isinf(threshold) else []
    if alpha is None and contamination_threshold is not None:
        flags, rule = scores > contamination_threshold, Rule.CONTAMINATION
        threshold = contamination_threshold
    else:
        flags, rule = p_values <= level, Rule.ALPHA
    return Assessment(scores, p_values, flags, rule, level, threshold, warnings=warnings)


def unreachable_alpha(n_calibration: int, alpha: float) -> list[str]:
    """The warning an answer carries when no p-value can reach `alpha`."""
    low = smallest_alpha(n_calibration)
    return [
        f"alpha {alpha:g} cannot be reached with {n_calibration} calibration rows: the smallest "
        f"p-value is {low:.4g}, so no p-value is at most alpha; use alpha >= {low:.4g}, or "
        "recalibrate on more normal rows"
    ]
