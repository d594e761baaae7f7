"""Routes for runs (training)."""

from __future__ import annotations

import asyncio

from fastapi import APIRouter, Depends, Header, Query, Response
from fastapi.responses import StreamingResponse
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from service.api.bodies import json_body, request_body
from service.api.deps import TRAIN, Services, SessionDep, get_services
from service.api.events import EVENT_STREAM, HEADERS, event_stream
from service.api.schemas.common import MAX_ID, Limit, Offset, RunId
from service.api.schemas.runs import (
    EpochPage,
    EpochRead,
    Progress,
    RunCreate,
    RunMetrics,
    RunPage,
    RunRead,
)
from service.domain import runs as domain
from service.store.tables import Run, RunStatus

router = APIRouter(prefix="/v1/runs", tags=["runs"], dependencies=[TRAIN])


def read_run(run: Run) -> RunRead:
    """The API view of a run: its columns, with progress and metrics as objects."""
    columns = {name: getattr(run, name) for name in RunRead.model_fields if hasattr(Run, name)}
    progress = Progress(epoch=run.epoch, epochs=run.epochs)
    return RunRead.model_validate(
        columns | {"progress": progress, "metrics": RunMetrics(**(run.metrics or {}))}
    )


@router.post("", status_code=202, response_model=RunRead, openapi_extra=request_body(RunCreate))
def create_run(
    body: RunCreate = json_body(RunCreate),
    idempotency_key: str | None = Header(
        default=None,
        max_length=200,
        description="A retried POST with the same key returns the same run (409 with a "
        "different body).",
    ),
    session: Session = SessionDep,
    services: Services = Depends(get_services),
) -> RunRead:
    """Queue a training run; a retried request with the same Idempotency-Key gets the same run."""
    request = domain.RunRequest(body.dataset_id, body.model_name, body.partial_config())
    run = domain.create_run(
        session,
        request,
        queue=services.queue,
        idempotency_key=idempotency_key,
        limits=services.run_limits,
    )
    return read_run(run)


@router.get("", response_model=RunPage)
def list_runs(
    status: RunStatus | None = Query(default=None, description="Only runs in this status."),
    model_name: str | None = Query(
        default=None, max_length=200, description="Only runs that train this model."
    ),
    limit: Limit = 50,
    offset: Offset = 0,
    session: Session = SessionDep,
) -> RunPage:
    """Runs, newest first, optionally filtered by status and model name."""
    items, total = domain.list_runs(
        session, status=status, model_name=model_name, limit=limit, offset=offset
    )
    return RunPage(items=[read_run(run) for run in items], total=total)


@router.get("/{run_id}", response_model=RunRead)
def get_run(run_id: RunId, session: Session = SessionDep) -> RunRead:
    """One run with its progress and metrics."""
    return read_run(domain.get_run(session, run_id))


@router.get("/{run_id}/epochs", response_model=EpochPage)
def list_epochs(run_id: RunId, session: Session = SessionDep) -> EpochPage:
    """The epochs recorded so far; grows while the run trains."""
    epochs = domain.list_epochs(session, run_id)
    return EpochPage(items=[EpochRead.model_validate(e) for e in epochs])


STREAM_RESPONSE: dict[int | str, dict[str, object]] = {
    200: {
        "description": "`epoch` events (`id:` = the epoch), then one `end` event; see docs/api.md",
        "content": {EVENT_STREAM: {"schema": {"type": "string"}}},
    }
}


@router.get("/{run_id}/epochs/stream", response_class=StreamingResponse, responses=STREAM_RESPONSE)
async def stream_epochs(
    run_id: RunId,
    last_event_id: int | None = Header(
        default=None,
        ge=0,
        le=MAX_ID,
        description="Resume after this epoch (an EventSource sends it when it reconnects).",
    ),
    session: Session = SessionDep,
    services: Services = Depends(get_services),
) -> StreamingResponse:
    """Server-Sent Events: each epoch as it is recorded (after `Last-Event-ID`), then `end`."""
    watcher = await run_in_threadpool(
        domain.watch_epochs,
        session,
        services.feed,
        run_id,
        after=last_event_id or 0,
        loop=asyncio.get_running_loop(),
    )
    stream = event_stream(watcher, services.feed)
    return StreamingResponse(stream, media_type=EVENT_STREAM, headers=HEADERS)


@router.delete("/{run_id}", status_code=204, response_class=Response)
def delete_run(run_id: RunId, session: Session = SessionDep) -> Response:
    """Delete a finished run and its epochs (409 while it is queued or running)."""
    domain.delete_run(session, run_id)
    return Response(status_code=204)


@router.post("/{run_id}/cancel", status_code=202, response_model=RunRead)
def cancel_run(run_id: RunId, session: Session = SessionDep) -> RunRead:
    """Cancel a queued run, or stop a running one after its current epoch."""
    return read_run(domain.cancel_run(session, run_id))
