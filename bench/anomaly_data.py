"""The three dataset families of bench/anomaly.py: tabular, scikit-learn held-out, embeddings.

- `tabular`: the 18 ADBench sets in ../shared/bench-data (the defaults were first chosen on them).
- `sklearn`: 7 ODDS-style sets built from the real data inside scikit-learn (nothing downloaded):
  one class downsampled to a few rows as the anomalies, the other classes as the inliers.
- `embeddings`: the 16 ADBench CV/NLP sets in ../shared/bench-embeddings (ViT and RoBERTa
  embeddings, 768–1,000 columns, 102–615 rows).

Files are read with `allow_pickle=False` and never copied anywhere.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
from sklearn import datasets as sklearn_data
from sklearn.model_selection import train_test_split

SHARED = Path(__file__).resolve().parents[2] / "shared"
TABULAR_DIR = SHARED / "bench-data"
EMBEDDINGS_DIR = SHARED / "bench-embeddings"
FAMILIES = ("tabular", "sklearn", "embeddings")
MAX_ROWS = 20_000
QUICK = {
    "tabular": ("4_breastw", "6_cardio", "38_thyroid", "40_vowels", "42_WBC", "29_Pima"),
    "sklearn": ("sk_wdbc", "sk_wine", "sk_iris", "sk_digits_0"),
    "embeddings": ("roberta_20news_3", "vit_MVTec-AD_toothbrush", "vit_MVTec-AD_cable"),
}


@dataclass(frozen=True)
class Dataset:
    """One labelled dataset of a family, already subsampled to at most `max_rows` rows."""

    family: str
    name: str
    x: np.ndarray
    y: np.ndarray
    n_original: int


def load_npz(path: Path, family: str, max_rows: int) -> Dataset:
    """Read `X`, `y` (no pickle); subsample sets over `max_rows` stratified under seed 0."""
    with np.load(path, allow_pickle=False) as data:
        x, y = data["X"].astype(np.float32), data["y"].astype(np.int64).ravel()
    n = x.shape[0]
    if 0 < max_rows < n:
        x, _, y, _ = train_test_split(x, y, train_size=max_rows, stratify=y, random_state=0)
    return Dataset(family, path.stem, x, y, n)


def _order(path: Path) -> tuple[int, str]:
    prefix = path.stem.split("_", 1)[0]
    return (int(prefix) if prefix.isdigit() else 1 << 30, path.stem)


def npz_sets(directory: Path, family: str, max_rows: int) -> list[Dataset]:
    """Every .npz in `directory`, ADBench's numeric prefix first, then by name."""
    paths = sorted(directory.glob("*.npz"), key=_order)
    return [load_npz(p, family, max_rows) for p in paths]


def _odds_style(name: str, x: np.ndarray, y: np.ndarray, anomaly: int, n: int) -> Dataset:
    """Inliers: every class but `anomaly`; anomalies: `n` rows of it, drawn under seed 0."""
    rng = np.random.default_rng(0)
    picked = rng.choice(np.flatnonzero(y == anomaly), size=n, replace=False)
    rows = np.concatenate([np.flatnonzero(y != anomaly), np.sort(picked)])
    labels = (y[rows] == anomaly).astype(np.int64)
    return Dataset("sklearn", name, x[rows].astype(np.float32), labels, rows.size)


def sklearn_sets() -> list[Dataset]:
    """Held-out sets from scikit-learn's bundled data (breast cancer, wine, iris, digits)."""
    cancer, wine = sklearn_data.load_breast_cancer(), sklearn_data.load_wine()
    digits, iris = sklearn_data.load_digits(), sklearn_data.load_iris()
    sets = [
        _odds_style("sk_wdbc", cancer.data, cancer.target, 0, 10),  # 10 malignant, as ODDS' WDBC
        _odds_style("sk_wine", wine.data, wine.target, 0, 10),  # 10 rows of class 0
        _odds_style("sk_iris", iris.data, iris.target, 0, 5),  # 5 setosa
    ]
    sets += [_odds_style(f"sk_digits_{c}", digits.data, digits.target, c, 30) for c in range(4)]
    return sets


def family_sets(
    family: str,
    *,
    quick: bool = False,
    names: tuple[str, ...] = (),
    max_rows: int = MAX_ROWS,
    tabular_dir: Path = TABULAR_DIR,
    embeddings_dir: Path = EMBEDDINGS_DIR,
) -> list[Dataset]:
    """The sets of one family; only QUICK ones with `quick`, only names containing one of `names`."""
    if family == "tabular":
        sets = npz_sets(tabular_dir, family, max_rows)
    elif family == "embeddings":
        sets = npz_sets(embeddings_dir, family, max_rows)
    elif family == "sklearn":
        sets = sklearn_sets()
    else:
        raise ValueError(f"unknown family {family!r}; choose from {', '.join(FAMILIES)}")
    if quick:
        sets = [s for s in sets if s.name in QUICK[family]]
    if names:
        sets = [s for s in sets if any(part in s.name for part in names)]
    return sets
