"""Problem documents (RFC 9457) as exceptions: one class per status the service answers with."""

from __future__ import annotations

from typing import Any

import httpx


class HourglassError(Exception):
    """The service refused the request (or could not be reached)."""

    status: int = 0

    def __init__(
        self,
        detail: str,
        *,
        status: int = 0,
        title: str = "",
        errors: list[dict[str, Any]] | None = None,
        type: str = "",
    ) -> None:
        super().__init__(detail)
        self.detail = detail
        self.status = status or self.status
        self.title = title or type_name(self)
        self.errors = errors or []
        self.type = type

    def __str__(self) -> str:
        return f"{self.status} {self.title}: {self.detail}" if self.status else self.detail


def type_name(error: HourglassError) -> str:
    """The class name, the title a problem of this class carries."""
    return type(error).__name__


class ConnectionFailed(HourglassError):
    """The service could not be reached (after the retries the call allows)."""


class BadRequest(HourglassError):
    status = 400


class Unauthenticated(HourglassError):
    status = 401


class Forbidden(HourglassError):
    status = 403


class NotFound(HourglassError):
    status = 404


class NotAcceptable(HourglassError):
    status = 406


class Conflict(HourglassError):
    status = 409


class BodyTooLarge(HourglassError):
    status = 413


class UnsupportedMediaType(HourglassError):
    status = 415


class ValidationError(HourglassError):
    """422: `errors` names each bad field, or the row and column."""

    status = 422


class Unavailable(HourglassError):
    status = 503


class ServerError(HourglassError):
    status = 500


BY_STATUS: dict[int, type[HourglassError]] = {
    cls.status: cls
    for cls in (
        BadRequest,
        Unauthenticated,
        Forbidden,
        NotFound,
        NotAcceptable,
        Conflict,
        BodyTooLarge,
        UnsupportedMediaType,
        ValidationError,
        Unavailable,
    )
}


def error_from(response: httpx.Response) -> HourglassError:
    """The exception for an error answer: its problem document's fields when it has one."""
    cls = BY_STATUS.get(
        response.status_code, ServerError if response.status_code >= 500 else HourglassError
    )
    try:
        document = response.json()
    except ValueError:
        document = None
    if not isinstance(document, dict):
        return cls(response.text[:500] or response.reason_phrase, status=response.status_code)
    return cls(
        str(document.get("detail") or document.get("error") or response.reason_phrase),
        status=response.status_code,
        title=str(document.get("title", "")),
        errors=list(document.get("errors") or []),
        type=str(document.get("type", "")),
    )
