"""Vendored front-end files are exactly the npm packages' files that MANIFEST.json pins."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

VENDOR = Path(__file__).parents[3] / "service" / "static" / "vendor"
MANIFEST = json.loads((VENDOR / "MANIFEST.json").read_text())
NOT_PINNED = {"MANIFEST.json", "README.md"}  # ours; the licences are the packages' own texts


@pytest.mark.parametrize("name", sorted(MANIFEST))
def test_each_vendored_file_matches_its_pinned_sha256(name: str) -> None:
    entry = MANIFEST[name]
    digest = hashlib.sha256((VENDOR / name).read_bytes()).hexdigest()
    assert digest == entry["sha256"], f"{name} is not {entry['package']}@{entry['version']}"
    assert entry["version"].count(".") == 2  # an exact version, never a range


def test_every_vendored_script_and_stylesheet_is_pinned() -> None:
    served = {p.name for p in VENDOR.iterdir() if p.suffix in {".js", ".css", ".png"}}
    assert served == set(MANIFEST)
    licences = {p.name for p in VENDOR.glob("*.LICENSE")}
    assert {f"{entry['package']}.LICENSE" for entry in MANIFEST.values()} == licences
    assert {p.name for p in VENDOR.iterdir()} == served | licences | NOT_PINNED


def test_the_dashboard_libraries_are_the_pinned_majors() -> None:
    assert MANIFEST["htmx.min.js"]["version"].startswith("2.")
    assert MANIFEST["chart.umd.min.js"]["version"].startswith("4.")
