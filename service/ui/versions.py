"""Dashboard page of one version: the latent view, the score histogram with the threshold at
the chosen alpha, an explain form for one row, and the hidden layers."""

from __future__ import annotations

from fastapi import APIRouter, Form, Path, Query, Request
from fastapi.responses import HTMLResponse
from sqlalchemy.orm import Session

from service.domain import dashboard
from service.errors import BadRows
from service.ui.deps import PREFIX, PageSession, SameOrigin, Viewer, ViewerDep, render, services_of

router = APIRouter(prefix=f"{PREFIX}/models", include_in_schema=False)
Version = Path(ge=1, le=2**31 - 1)
MAX_EXPLAIN = 20


@router.get("/{name}/versions/{number}")
def version_page(
    request: Request,
    name: str,
    number: int = Version,
    alpha: float | None = Query(default=None, gt=0, lt=1),
    session: Session = PageSession,
    viewer: Viewer = ViewerDep,
) -> HTMLResponse:
    """A version: latent view, histogram at `alpha`, explain form, hidden layers."""
    viewer.require("infer")
    view = dashboard.version_view(session, services_of(request).lookup, name, number, alpha=alpha)
    top = min(MAX_EXPLAIN, len(view.target.columns))
    return render(request, "version.html", viewer=viewer, view=view, name=name, top=top)


@router.post("/{name}/versions/{number}/explain", dependencies=[SameOrigin])
def explain_row(
    request: Request,
    name: str,
    number: int = Version,
    row: str = Form(max_length=100_000),
    alpha: float = Form(gt=0, lt=1),
    top: int = Form(ge=1, le=1000),
    session: Session = PageSession,
    viewer: Viewer = ViewerDep,
) -> HTMLResponse:
    """One row's p-value, flag and signed per-feature errors (an htmx fragment)."""
    viewer.require("infer")
    lookup = services_of(request).lookup
    try:
        found = dashboard.explain_row(
            session, lookup, f"{name}@{number}", row, alpha=alpha, top=top
        )
    except BadRows as exc:
        return render(request, "_explain.html", 422, error=exc.detail, found=None)
    explanations = (found.explanations or [[]])[0]
    return render(request, "_explain.html", error=None, found=found, explanations=explanations)
