"""Hourglass's engine: bottleneck autoencoders, their trainer, the Detector and its checkpoints.

Pure PyTorch and NumPy; no web, database or environment. See docs/models-api.md.
"""

from models.autoencoder import Autoencoder, LayerInfo
from models.config import (
    ArchitectureConfig,
    CalibrationConfig,
    DetectorConfig,
    PreprocessingConfig,
    TrainingConfig,
)
from models.detector import Detector
from models.errors import CheckpointError, InvalidInput, TrainingDiverged
from models.trainer import EpochCallback, EpochRecord

__version__ = "0.1.0"

__all__ = [
    "ArchitectureConfig",
    "Autoencoder",
    "CalibrationConfig",
    "CheckpointError",
    "Detector",
    "DetectorConfig",
    "EpochCallback",
    "EpochRecord",
    "InvalidInput",
    "LayerInfo",
    "PreprocessingConfig",
    "TrainingConfig",
    "TrainingDiverged",
    "__version__",
]
