"""What drives a code unit or the anomaly score, and what a code unit does.

Attributions of a target `f` (one unit of a hidden layer, or the anomaly score) to each input
feature, in float64 copies of the members:

- **Integrated Gradients** (Sundararajan et al. 2017): (x − x₀) · ∫₀¹ ∇f(x₀ + α(x − x₀)) dα, the
  integral by 32-point Gauss–Legendre quadrature (Captum's default rule); completeness says the
  attributions add up to f(x) − f(x₀), and the gap is returned with them.
- **gradient × input**: (x − x₀) · ∇f(x), the one-point version.

Both are computed on scaled rows; per feature they are the same in original units (the scale
cancels). The baseline x₀ is the training mean for a unit, and the row's own reconstruction for
the score (what the row "should" have been). `traverse` decodes codes in which one unit moves;
`unit_examples` ranks the calibration rows kept with the model by one unit; `linear_cka`
compares two representations of the same rows.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import torch

from models.autoencoder import Autoencoder
from models.detector import Detector
from models.errors import InvalidInput

STEPS = 32
Target = Callable[[torch.Tensor], torch.Tensor]
"""(rows, features) scaled, float64 → (rows,): the quantity attributed."""


@dataclass(frozen=True)
class Attribution:
    """Per row and feature the attributions; per row f(x), f(x₀) and |Σ attributions − Δf|."""

    attributions: np.ndarray
    values: np.ndarray
    baseline_values: np.ndarray
    completeness_gap: np.ndarray


def double(nets: Sequence[Autoencoder]) -> list[Autoencoder]:
    """Float64 copies in eval mode: attributions are sums of many small gradients."""
    return [copy.deepcopy(net).double().eval() for net in nets]


def unit_target(net: Autoencoder, layer: int, unit: int) -> Target:
    """Unit `unit` of hidden layer `layer` (see `Autoencoder.layers`)."""
    widths = [info.width for info in net.layers()]
    if not 0 <= layer < len(widths):
        raise InvalidInput(f"layer: must lie in [0, {len(widths) - 1}]; got {layer}")
    if not 0 <= unit < widths[layer]:
        raise InvalidInput(f"unit: layer {layer} has units 0–{widths[layer] - 1}; got {unit}")
    return lambda z: net.hidden(z, layer)[:, unit]


def score_target(
    members: Sequence[Autoencoder], weights: np.ndarray, masks: np.ndarray | None, scoring: str
) -> Target:
    """The anomaly score of models/scoring.py as a differentiable function of the scaled row."""
    w = torch.from_numpy(np.asarray(weights, dtype=np.float64))

    def score(z: torch.Tensor) -> torch.Tensor:
        n_features = z.shape[1]
        if masks is None:
            rebuilt = torch.stack([net(z).reconstruction for net in members])
            if scoring == "mse":
                err = z - rebuilt.mean(dim=0)
                return (err**2 * w.mean(dim=0)).sum(dim=1) / n_features
            per_member = ((z - rebuilt) ** 2 * w[:, None, :]).sum(dim=2) / n_features
            return per_member.mean(dim=0)
        return _masked_score(members, z, w, torch.from_numpy(masks))

    return score


def _masked_score(
    members: Sequence[Autoencoder], z: torch.Tensor, w: torch.Tensor, masks: torch.Tensor
) -> torch.Tensor:
    """models/masking.py's score: each cell's squared error while hidden, averaged over the
    masks that hide it, weighted per feature, averaged over the members."""
    hidden = masks.to(z.dtype)
    times = hidden.sum(dim=0).clamp(min=1)
    n_masks, (n_rows, n_features) = masks.shape[0], z.shape
    masked = (z.unsqueeze(0) * (1 - hidden).unsqueeze(1)).reshape(-1, n_features)
    scores = []
    for m, net in enumerate(members):
        recon = net(masked).reconstruction.reshape(n_masks, n_rows, n_features)
        cell = (((z.unsqueeze(0) - recon) ** 2) * hidden.unsqueeze(1)).sum(dim=0) / times
        scores.append((cell * w[m]).sum(dim=1) / n_features)
    return torch.stack(scores).mean(dim=0)


def gauss_legendre(steps: int) -> tuple[np.ndarray, np.ndarray]:
    """Points α in (0, 1) and their weights (Captum's `gausslegendre` rule)."""
    nodes, weights = np.polynomial.legendre.leggauss(steps)
    return 0.5 * (nodes + 1.0), 0.5 * weights


def _gradients(f: Target, points: torch.Tensor) -> torch.Tensor:
    points = points.detach().requires_grad_(True)
    with torch.enable_grad():
        (grad,) = torch.autograd.grad(f(points).sum(), points)
    return grad


def integrated_gradients(
    f: Target, x: torch.Tensor, baseline: torch.Tensor, steps: int = STEPS
) -> Attribution:
    """IG of `f` at the rows `x` (float64, scaled) from `baseline` (same shape)."""
    alphas, weights = gauss_legendre(steps)
    delta = x - baseline
    path = baseline.unsqueeze(0) + torch.from_numpy(alphas)[:, None, None] * delta.unsqueeze(0)
    grads = _gradients(f, path.reshape(-1, x.shape[1])).reshape(steps, *x.shape)
    mean_grad = (grads * torch.from_numpy(weights)[:, None, None]).sum(dim=0)
    return _attribution(f, x, baseline, delta * mean_grad)


def gradient_x_input(f: Target, x: torch.Tensor, baseline: torch.Tensor) -> Attribution:
    """(x − x₀) · ∇f(x) at the rows `x` (float64, scaled)."""
    return _attribution(f, x, baseline, (x - baseline) * _gradients(f, x))


def _attribution(
    f: Target, x: torch.Tensor, baseline: torch.Tensor, attributions: torch.Tensor
) -> Attribution:
    with torch.no_grad():
        values, base = f(x), f(baseline)
    gap = (attributions.sum(dim=1) - (values - base)).abs()
    return Attribution(
        attributions=attributions.detach().numpy(),
        values=values.numpy(),
        baseline_values=base.numpy(),
        completeness_gap=gap.detach().numpy(),
    )


def linear_cka(a: np.ndarray, b: np.ndarray) -> float:
    """Linear CKA of two representations of the same rows (Kornblith et al. 2019), in [0, 1]:
    ‖Bᵀ A‖²_F / (‖Aᵀ A‖_F ‖Bᵀ B‖_F) of the centred matrices, float64."""
    if a.shape[0] != b.shape[0]:
        raise InvalidInput(f"CKA needs the same rows: {a.shape[0]} and {b.shape[0]}")
    x = a.astype(np.float64) - a.mean(axis=0, dtype=np.float64)
    y = b.astype(np.float64) - b.mean(axis=0, dtype=np.float64)
    cross = float(np.linalg.norm(y.T @ x) ** 2)
    norms = float(np.linalg.norm(x.T @ x) * np.linalg.norm(y.T @ y))
    return cross / norms if norms > 0 else 0.0


def ranked(values: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Indices of the `k` largest values (largest first) and of the `k` smallest (smallest first);
    ties keep the row order."""
    order = np.argsort(-values, kind="stable")
    k = min(k, values.size)
    return order[:k], np.argsort(values, kind="stable")[:k]


# -- on a fitted Detector -------------------------------------------------------------------


def attribute(
    detector: Detector,
    x: object,
    *,
    unit: tuple[int, int] | None = None,
    method: str = "integrated_gradients",
    steps: int = STEPS,
) -> Attribution:
    """Attributions of `unit` = (layer, unit) — or of the anomaly score when None — to each
    feature of each row; from the training mean (a unit) or the row's reconstruction (score)."""
    z = detector.scale(x).double().cpu()
    f, baseline = target_and_baseline(detector, z, unit)
    if method == "integrated_gradients":
        return integrated_gradients(f, z, baseline, steps)
    if method == "gradient_x_input":
        return gradient_x_input(f, z, baseline)
    raise InvalidInput(f"method: must be integrated_gradients or gradient_x_input; got {method!r}")


def target_and_baseline(
    detector: Detector, z: torch.Tensor, unit: tuple[int, int] | None
) -> tuple[Target, torch.Tensor]:
    """What `attribute` integrates, in float64 copies of the members, and from where: a unit
    from the training mean, the score from the rows' reconstruction (`z`: scaled float64)."""
    members = double(detector.members_)
    if unit is not None:
        mean = detector.train_mean_
        centre = torch.zeros(z.shape[1], dtype=z.dtype) if mean is None else torch.from_numpy(mean)
        return unit_target(members[0], *unit), centre.to(z.dtype).expand_as(z).clone()
    config = detector.config_.calibration
    f = score_target(members, detector.feature_weights_, detector.scoring_masks_, config.scoring)
    with torch.no_grad():
        baseline = torch.stack([net(z).reconstruction for net in members]).mean(dim=0)
    return f, baseline


@torch.inference_mode()
def traverse(
    detector: Detector, unit: int, values: Sequence[float], row: object | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Codes in which code unit `unit` takes each of `values` (the others those of `row`, else of
    the training mean) and their reconstructions in original units: (values, C), (values, F)."""
    net = detector.members_[0]
    width = net.shape.code
    if not 0 <= unit < width:
        raise InvalidInput(f"unit: the code has units 0–{width - 1}; got {unit}")
    if row is None:
        mean = detector.train_mean_
        z = torch.zeros(1, net.shape.n_features) if mean is None else torch.from_numpy(mean)[None]
    else:
        z = detector.scale(row)
        if z.shape[0] != 1:
            raise InvalidInput(f"instance: one row, not {z.shape[0]}")
    param = next(net.parameters())
    code = net.encode(z.to(param))[0].repeat(len(values), 1)
    code[:, unit] = torch.tensor(list(values), dtype=code.dtype, device=code.device)
    rebuilt = net.decode(code).cpu().numpy()
    return code.cpu().numpy(), detector.scaler_.inverse(rebuilt)


@dataclass(frozen=True)
class UnitExamples:
    """The kept calibration rows that activate a unit most and least, in original units."""

    top: np.ndarray  # row positions among the kept rows
    top_activations: np.ndarray
    top_rows: np.ndarray
    bottom: np.ndarray
    bottom_activations: np.ndarray
    bottom_rows: np.ndarray
    n_rows: int


def reference_rows(detector: Detector) -> np.ndarray:
    """The calibration rows kept with the model, in original units (NotKept when none were)."""
    rows = detector.reference_rows_
    if rows is None:
        raise NotKept("this model keeps no calibration rows: it was trained before they were kept")
    return rows


class NotKept(InvalidInput):
    """The model was saved without what is asked of it (older checkpoints)."""


def unit_examples(detector: Detector, layer: int, unit: int, k: int) -> UnitExamples:
    """The `k` kept calibration rows on which hidden unit (`layer`, `unit`) is largest/smallest."""
    rows = reference_rows(detector)
    unit_target(detector.members_[0], layer, unit)  # checks the layer and the unit
    values = detector.embed(rows, layer=layer)[:, unit]
    top, bottom = ranked(values, k)
    return UnitExamples(
        top, values[top], rows[top], bottom, values[bottom], rows[bottom], int(rows.shape[0])
    )


def compare(a: Detector, b: Detector) -> tuple[float, list[float], int]:
    """Linear CKA of two models' codes on `a`'s kept calibration rows, the CKA of each pair of
    hidden layers with the same index (when both have as many), and how many rows."""
    if list(a.columns_) != list(b.columns_):
        raise InvalidInput("the two models have different columns: no rows are common to both")
    rows = reference_rows(a)
    code = linear_cka(a.embed(rows), b.embed(rows))
    layers: list[float] = []
    if len(a.layers()) == len(b.layers()):
        layers = [
            linear_cka(a.embed(rows, layer=i), b.embed(rows, layer=i))
            for i in range(len(a.layers()))
        ]
    return code, layers, int(rows.shape[0])
