"""Masked-cell reconstruction: hide some of a row's cells, rebuild them, keep the hidden errors.

A net that sees a cell cannot be asked to explain it: it may copy it through. Hidden, the cell
must be predicted from the row's other cells, and a cell that does not fit them is rebuilt badly
however well the net copies. Scoring hides the columns group by group: each of `rounds` seeded
partitions of the columns into `groups` groups yields `groups` masked copies of every row, so
every cell is hidden exactly once per round; a cell's error is the root mean square of its
`rounds` hidden errors (with the sign of their mean). The partitions are a function of the
number of columns and the seed only, so a row's score never depends on the other rows scored.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch

from models.autoencoder import Autoencoder
from models.config import DetectorConfig

ROUNDS = 3


def groups_for(mask_ratio: float, n_features: int) -> int:
    """How many column groups hide about `mask_ratio` of the cells each (2 to n_features)."""
    return max(2, min(n_features, round(1.0 / mask_ratio)))


def partitions(n_features: int, groups: int, rounds: int, seed: int) -> np.ndarray:
    """Hidden-cell masks (rounds·groups, features): each round's masks partition the columns."""
    rng = np.random.default_rng(seed)
    masks = np.zeros((rounds * groups, n_features), dtype=bool)
    for r in range(rounds):
        order = rng.permutation(n_features)
        for g, cols in enumerate(np.array_split(order, groups)):
            masks[r * groups + g, cols] = True
    return masks


def scoring_masks(config: DetectorConfig, n_features: int) -> np.ndarray | None:
    """The hidden-cell masks of `calibration.scoring="masked"`, else None."""
    if config.calibration.scoring != "masked":
        return None
    groups = groups_for(config.architecture.mask_ratio, n_features)
    return partitions(n_features, groups, ROUNDS, config.training.seed)


def keep_mask(xb: torch.Tensor, mask_ratio: float) -> torch.Tensor:
    """A training mask: each cell kept with probability 1 − `mask_ratio` (1.0 kept, 0.0 hidden)."""
    return torch.empty_like(xb).bernoulli_(1.0 - mask_ratio)


@torch.inference_mode()
def masked_errors(
    members: Sequence[Autoencoder], z: torch.Tensor, hidden: np.ndarray
) -> np.ndarray:
    """Each cell's error when hidden (set to 0, the scaled centre): the root mean square over the
    masks that hide it, with the sign of their mean; (members, rows, features), float64."""
    masks = torch.from_numpy(hidden).to(z.device)
    keep = (~masks).to(z.dtype)
    times_hidden = masks.sum(dim=0).clamp(min=1).to(torch.float64)  # = the rounds
    n_masks, (n_rows, n_features) = masks.shape[0], z.shape
    masked = (z.unsqueeze(0) * keep.unsqueeze(1)).reshape(n_masks * n_rows, n_features)
    out = np.empty((len(members), n_rows, n_features), dtype=np.float64)
    for m, net in enumerate(members):
        # One forward pass over every masked copy: (masks·B, F) -> (masks, B, F).
        recon = net(masked).reconstruction.reshape(n_masks, n_rows, n_features)
        err = (z.unsqueeze(0) - recon).to(torch.float64) * masks.unsqueeze(1)
        rms = torch.sqrt((err * err).sum(dim=0) / times_hidden)
        out[m] = torch.where(err.sum(dim=0) < 0, -rms, rms).cpu().numpy()
    return out
