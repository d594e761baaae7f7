"""Domain exceptions: the docstring is the default message; no HTTP in here.

`service.api.problems.STATUS` maps each class to its HTTP status.
"""

from __future__ import annotations

import reprlib
from collections.abc import Sequence
from typing import Any

_SHORT = reprlib.Repr()
_SHORT.maxlevel, _SHORT.maxlist, _SHORT.maxdict = 2, 4, 4
_SHORT.maxstring = _SHORT.maxother = 40


def shown(value: object) -> str:
    """A value as an error message quotes it: short, and safe for any nesting depth."""
    return _SHORT.repr(value)


class ServiceError(Exception):
    """The request cannot be served."""

    def __init__(self, detail: str | None = None) -> None:
        self.detail = detail or (type(self).__doc__ or "").strip()
        super().__init__(self.detail)


class NotFound(ServiceError):
    """The resource does not exist."""


class DatasetNotFound(NotFound):
    """The dataset does not exist."""


class RunNotFound(NotFound):
    """The run does not exist."""


class SweepNotFound(NotFound):
    """The sweep does not exist."""


class ModelNotFound(NotFound):
    """The model, version or alias does not exist."""


class Conflict(ServiceError):
    """The resource is in a state that does not allow this."""


class RunFinished(Conflict):
    """The run has already finished."""


class VersionInUse(Conflict):
    """An alias points at the version; move or delete the alias first."""


class NoCalibrationSample(Conflict):
    """The version has no sample of its calibration rows."""


class RunNotFinished(Conflict):
    """The run has not finished; cancel it first."""


class DatasetInUse(Conflict):
    """The dataset is referenced by runs; delete is refused to keep their history."""


class IdempotencyConflict(Conflict):
    """The Idempotency-Key was already used with a different request body."""


class BadInput(ServiceError):
    """The request is not valid."""

    def __init__(self, detail: str | None = None, *, errors: Sequence[dict[str, Any]] = ()) -> None:
        super().__init__(detail)
        self.errors = list(errors) or [{"loc": ["body"], "msg": self.detail}]


class BadRows(BadInput):
    """The rows are not a finite numeric table of the right width."""


class BadConfig(BadInput):
    """The run config is not valid."""


class TooManyRows(BadInput):
    """The request has more rows than HOURGLASS_MAX_ROWS allows."""


class BodyTooLarge(ServiceError):
    """The request body is larger than HOURGLASS_MAX_BODY_MB allows."""


class Unauthenticated(ServiceError):
    """A valid API key is required: send `Authorization: Bearer <key>`."""


class LoginRequired(Unauthenticated):
    """Log in with an API key to see the dashboard."""


class Forbidden(ServiceError):
    """The API key does not have the scope this route needs."""


class CrossOrigin(Forbidden):
    """A form was posted from another origin (or without an Origin header): refused."""


class Unavailable(ServiceError):
    """The database is not available."""


class StartRefused(ServiceError, RuntimeError):
    """The server refuses to start: its database or its keys are not ready."""


class UnsupportedMediaType(ServiceError):
    """The body's content type is not one this route reads."""


class NotAcceptable(ServiceError):
    """The answer cannot be given in the media type the request accepts."""
