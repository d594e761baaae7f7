from __future__ import annotations

import json
import struct

import numpy as np
import pytest

from models import CheckpointError, Detector, DetectorConfig

from .conftest import small_config


@pytest.fixture(scope="module")
def fitted(normal_rows: np.ndarray) -> Detector:
    return Detector(small_config()).fit(normal_rows, columns=[f"c{i}" for i in range(8)])


@pytest.mark.parametrize("variant", ["plain", "variational"])
def test_round_trip_gives_bit_identical_outputs(variant: str, normal_rows: np.ndarray) -> None:
    data = small_config().to_dict()
    data["architecture"].update(variant=variant, normalization="batch", ensemble_size=2)
    det = Detector(DetectorConfig.from_dict(data)).fit(normal_rows)
    loaded = Detector.from_bytes(det.to_bytes())
    x = normal_rows[:100]
    np.testing.assert_array_equal(loaded.score(x), det.score(x))
    np.testing.assert_array_equal(loaded.embed(x), det.embed(x))
    np.testing.assert_array_equal(loaded.reconstruct(x), det.reconstruct(x))
    np.testing.assert_array_equal(loaded.p_values(x), det.p_values(x))
    assert loaded.config_ == det.config_
    assert loaded.columns_ == det.columns_
    assert loaded.layers() == det.layers()
    assert [r.train_loss for r in loaded.history_] == [r.train_loss for r in det.history_]


def test_checkpoint_is_safetensors_with_a_json_document(fitted: Detector) -> None:
    data = fitted.to_bytes()
    (size,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8 : 8 + size])
    document = json.loads(header["__metadata__"]["hourglass"])
    assert document["format_version"] == 1
    assert document["columns"] == [f"c{i}" for i in range(8)]
    assert {"torch", "numpy", "hourglass"} <= set(document["versions"])
    assert "scaler.center" in header and "calibration.scores" in header


def test_flipped_byte_in_the_weights_is_rejected(fitted: Detector) -> None:
    data = bytearray(fitted.to_bytes())
    data[-5] ^= 0xFF
    with pytest.raises(CheckpointError, match="digest mismatch"):
        Detector.from_bytes(bytes(data))


def test_edited_document_is_rejected(fitted: Detector) -> None:
    original = fitted.to_bytes()
    data = original.replace(b'\\"c0\\"', b'\\"zz\\"', 1)
    assert data != original
    with pytest.raises(CheckpointError, match="digest mismatch"):
        Detector.from_bytes(data)


@pytest.mark.parametrize("cut", [0, 4, 100, -10])
def test_truncated_file_is_rejected(fitted: Detector, cut: int) -> None:
    data = fitted.to_bytes()
    with pytest.raises(CheckpointError):
        Detector.from_bytes(data[:cut])


def test_foreign_file_is_rejected() -> None:
    with pytest.raises(CheckpointError, match="not an Hourglass checkpoint"):
        Detector.from_bytes(struct.pack("<Q", 2) + b"{}")
