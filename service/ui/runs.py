"""Dashboard pages of runs: the table (filtered, paged, polling while runs are active) and one
run with its config, metrics, error, live loss curves and cancel button."""

from __future__ import annotations

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from service.domain import dashboard
from service.domain import runs as domain
from service.errors import BadInput
from service.store.tables import FINISHED, RunStatus
from service.ui.deps import PREFIX, PageSession, SameOrigin, Viewer, ViewerDep, render
from service.ui.views import config_sections

router = APIRouter(prefix=PREFIX, include_in_schema=False)
PAGE_SIZE = 50
MAX_ID = 2**31 - 1
RunId = Path(ge=1, le=MAX_ID)


@router.get("")
def home() -> Response:
    """The dashboard opens on the runs."""
    return RedirectResponse(f"{PREFIX}/runs", status_code=303)


def _status(value: str) -> RunStatus | None:
    if not value:
        return None
    try:
        return RunStatus(value)
    except ValueError:
        msg = f"status: must be one of {', '.join(s.value for s in RunStatus)}"
        raise BadInput(msg, errors=[{"loc": ["query", "status"], "msg": msg}]) from None


@router.get("/runs")
def runs_table(
    request: Request,
    status: str = Query(default="", max_length=16),
    model_name: str = Query(default="", max_length=200),
    page: int = Query(default=1, ge=1, le=MAX_ID // PAGE_SIZE),
    session: Session = PageSession,
    viewer: Viewer = ViewerDep,
) -> HTMLResponse:
    """The runs, newest first; an htmx poll gets the table alone."""
    viewer.require("train")
    found = dashboard.runs_page(
        session,
        status=_status(status),
        model_name=model_name or None,
        limit=PAGE_SIZE,
        offset=(page - 1) * PAGE_SIZE,
    )
    template = "_runs_table.html" if request.headers.get("HX-Request") else "runs.html"
    pages = max(1, -(-found.total // PAGE_SIZE))
    filters = {"status": status, "model_name": model_name}
    return render(
        request, template, viewer=viewer, found=found, page=page, pages=pages, filters=filters
    )


@router.get("/runs/{run_id}")
def run_page(
    request: Request,
    run_id: int = RunId,
    session: Session = PageSession,
    viewer: Viewer = ViewerDep,
) -> HTMLResponse:
    """One run: config, metrics, error, live loss curves."""
    viewer.require("train")
    run = domain.get_run(session, run_id)
    return render(
        request,
        "run.html",
        viewer=viewer,
        run=run,
        finished=run.status in FINISHED,
        sections=config_sections(run.config),
    )


@router.post("/runs/{run_id}/cancel", dependencies=[SameOrigin])
def cancel_run(
    run_id: int = RunId, session: Session = PageSession, viewer: Viewer = ViewerDep
) -> Response:
    """Cancel the run, back to its page."""
    viewer.require("train")
    domain.cancel_run(session, run_id)
    return RedirectResponse(f"{PREFIX}/runs/{run_id}", status_code=303)
