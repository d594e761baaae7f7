"""Layer statistics (models/introspect.py) against brute-force numpy, and on nets made dead or
saturated on purpose."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
import torch

from models import ArchitectureConfig, Autoencoder, Detector
from models.introspect import epoch_statistics, layer_statistics
from tests.models.conftest import low_rank_rows, small_config


def _net(activation: str = "relu", variant: str = "plain", **arch: Any) -> Autoencoder:
    torch.manual_seed(0)
    config = ArchitectureConfig(
        hidden_layers=(64, 32),
        code_size=8,
        activation=activation,
        dropout=0.0,
        normalization="none",
        variant=variant,
        **arch,
    )
    return Autoencoder(20, config).double().eval()


def _rows(n: int = 2_000, d: int = 20) -> torch.Tensor:
    return torch.from_numpy(np.random.default_rng(1).normal(size=(n, d)))


@pytest.mark.parametrize("k", [1, 5, 17])
def test_units_made_dead_on_purpose_are_reported_exactly(k: int) -> None:
    net = _net()
    with torch.no_grad():
        net.encoder[0][0].bias[:k] = -1e3  # no row reaches 0 through weights of ~0.2
    stats = layer_statistics(net, _rows(), source="test")["layers"]
    assert stats[0]["dead_units"] == k and stats[0]["dead"] == list(range(k))
    assert epoch_statistics(net, _rows(1_024))["layers"][0]["dead_share"] == k / 64


def test_a_saturated_tanh_layer_reports_saturation() -> None:
    net = _net("tanh")
    with torch.no_grad():
        net.encoder[1][0].weight.mul_(1e4)  # pre-activations of thousands: |tanh| = 1
    stats = layer_statistics(net, _rows(), source="test")["layers"]
    assert stats[1]["saturation"] >= 0.99
    assert stats[0]["saturation"] < 0.5  # the untouched layer is not
    assert epoch_statistics(net, _rows(1_024))["layers"][1]["saturation"] >= 0.99


def _brute_unit(a: np.ndarray, activation: str) -> dict[str, Any]:
    n, width = a.shape
    out: dict[str, Any] = {
        "mean": [sum(a[:, j]) / n for j in range(width)],
        "std": [np.sqrt(sum((a[:, j] - a[:, j].mean()) ** 2) / n) for j in range(width)],
    }
    if activation in ("relu", "gelu", "silu", "elu", "leaky_relu"):
        rate = [sum(1 for i in range(n) if a[i, j] > 0) / n for j in range(width)]
        out["fire_rate"] = rate
        out["dead_units"] = sum(1 for r in rate if r == 0)
        out["active_per_row"] = sum(sum(1 for v in a[i] if v > 0) for i in range(n)) / n
    if activation in ("tanh", "sigmoid"):
        hit = np.abs(a) > 0.99 if activation == "tanh" else (a < 0.01) | (a > 0.99)
        out["saturation"] = hit.sum() / hit.size
        out["saturated_share"] = [hit[:, j].sum() / n for j in range(width)]
    return out


def _brute_code(code: np.ndarray, log_var: np.ndarray | None) -> dict[str, Any]:
    cov = np.cov(code, rowvar=False, bias=True)
    eig = np.linalg.eigvalsh(cov)
    corr = np.corrcoef(code, rowvar=False)
    width = code.shape[1]
    out: dict[str, Any] = {
        "variance": [np.var(code[:, j]) for j in range(width)],
        "variance_share": [np.var(code[:, j]) / np.var(code, axis=0).sum() for j in range(width)],
        "effective_dimension": eig.sum() ** 2 / (eig**2).sum(),
        "max_abs_correlation": max(
            abs(corr[i, j]) for i in range(width) for j in range(width) if i != j
        ),
    }
    if log_var is not None:
        kl = [
            np.mean(0.5 * (code[:, j] ** 2 + np.exp(log_var[:, j]) - 1 - log_var[:, j]))
            for j in range(width)
        ]
        out["kl_per_dimension"] = kl
        out["active_units"] = sum(1 for v in kl if v > 0.01)
    return out


@pytest.mark.parametrize(
    ("activation", "variant"),
    [("relu", "plain"), ("tanh", "plain"), ("sigmoid", "plain"), ("gelu", "variational")],
)
def test_every_statistic_equals_a_brute_force_numpy_recomputation(
    activation: str, variant: str
) -> None:
    net, x = _net(activation, variant), _rows(500)
    found = layer_statistics(net, x, source="test")["layers"]
    assert [s["index"] for s in found] == [info.index for info in net.layers()]
    for info, stats in zip(net.layers(), found, strict=True):
        with torch.no_grad():
            a = net.hidden(x, info.index).numpy()  # another path than the hooks
        expected = _brute_unit(a, info.activation)
        if info.name == "code":
            log_var = net.encode(x)[1]
            expected |= _brute_code(a, None if log_var is None else log_var.detach().numpy())
        for key, value in expected.items():
            np.testing.assert_allclose(stats[key], value, rtol=1e-9, atol=1e-12, err_msg=key)
        assert stats["width"] == a.shape[1] and stats["activation"] == info.activation


def test_a_fitted_detector_keeps_its_statistics_and_reports_every_epoch() -> None:
    x = low_rank_rows(1_500)
    seen: list[tuple[int, dict[str, Any]]] = []
    detector = Detector(small_config(epochs=3)).fit(
        x, on_layers=lambda epoch, stats: seen.append((epoch, stats))
    )
    assert [epoch for epoch, _ in seen] == [1, 2, 3]
    assert len(seen[0][1]["code_variance"]) == 3
    stats = detector.layer_stats_
    assert stats is not None and stats["source"] == "validation"
    assert stats["rows"] == detector.config_.split_sizes(1_500)[1]  # every validation row
    assert [layer["width"] for layer in stats["layers"]] == [16, 3, 16]
    again = Detector.from_bytes(detector.to_bytes())
    assert again.layer_stats_ == stats
    np.testing.assert_array_equal(again.reference_rows_, detector.reference_rows_)
    np.testing.assert_array_equal(again.train_mean_, detector.train_mean_)
    assert detector.reference_rows_.shape == (150, 8)  # every calibration row (10 %)
    rows = {tuple(row) for row in x.astype(np.float64)}
    assert all(tuple(row) in rows for row in detector.reference_rows_)  # as given, unscaled
