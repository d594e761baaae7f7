"""Exceptions raised by the engine; the service maps them to HTTP statuses."""

from __future__ import annotations


class InvalidInput(ValueError):
    """Rows that the engine cannot use: wrong shape, NaN or Inf, too few rows."""

    def __init__(self, message: str, *, row: int | None = None, column: int | None = None) -> None:
        super().__init__(message)
        self.row = row
        self.column = column


class TrainingDiverged(RuntimeError):
    """The training loss became NaN or infinite."""


class CheckpointError(ValueError):
    """A checkpoint is truncated, tampered with, or not an Hourglass checkpoint."""


class NotFitted(ValueError, AttributeError):
    """The Detector has not been fitted yet (scikit-learn's NotFittedError)."""
