"""An unfitted Detector says so, on every learned attribute and every method that needs one."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest

from models import Detector
from models.errors import NotFitted

X = np.zeros((2, 3))
CALLS: list[Callable[[Detector], object]] = [
    lambda d: d.score(X),
    lambda d: d.embed(X),
    lambda d: d.reconstruct(X),
    lambda d: d.p_values(X),
    lambda d: d.predict(X),
    lambda d: d.assess(X),
    lambda d: d.explain(X, 2),
    lambda d: d.threshold(),
    lambda d: d.layers(),
    lambda d: d.to_bytes(),
    lambda d: d.recalibrate(X),
    lambda d: d.columns_,
    lambda d: d.val_loss_,
]


@pytest.mark.parametrize("call", CALLS)
def test_an_unfitted_detector_raises_not_fitted(call: Callable[[Detector], object]) -> None:
    det = Detector()
    assert not det.is_fitted
    with pytest.raises(NotFitted, match="not fitted yet"):
        call(det)


def test_not_fitted_is_what_scikit_learn_callers_catch() -> None:
    assert issubclass(NotFitted, ValueError) and issubclass(NotFitted, AttributeError)
