"""The request body cap: 413 before the route reads more than HOURGLASS_MAX_BODY_MB."""

from __future__ import annotations

import contextlib

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from service.api.problems import answer


class BodyLimitMiddleware:
    """Refuse large bodies by Content-Length, and stop streamed ones at the cap."""

    def __init__(self, app: ASGIApp, *, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        length = dict(scope["headers"]).get(b"content-length", b"0")
        if length.isdigit() and int(length) > self.max_bytes:
            await self._refuse(scope, receive, send)
            return
        state = {"seen": 0, "over": False, "started": False}

        async def limited_receive() -> Message:
            message = await receive()
            state["seen"] += len(message.get("body", b""))
            if state["seen"] > self.max_bytes:
                state["over"] = True
                raise BodyTooLargeSignal
            return message

        async def guarded_send(message: Message) -> None:
            if state["over"]:
                return  # the app's own answer to the aborted read is replaced below
            state["started"] = True
            await send(message)

        with contextlib.suppress(BodyTooLargeSignal):
            await self.app(scope, limited_receive, guarded_send)
        if state["over"] and not state["started"]:
            await self._refuse(scope, receive, send)

    async def _refuse(self, scope: Scope, receive: Receive, send: Send) -> None:
        detail = f"the request body is larger than {self.max_bytes} bytes"
        await answer(scope["path"], 413, "BodyTooLarge", detail)(scope, receive, send)


class BodyTooLargeSignal(Exception):
    """Raised inside `receive` to abort reading an oversized body."""
