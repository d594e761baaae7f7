"""Dashboard pages of the registry: models, a model with its versions and aliases (moving an
alias asks for confirmation), deletes (confirmed too)."""

from __future__ import annotations

import re

from fastapi import APIRouter, Form, Path, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from service.domain import registry
from service.errors import BadInput
from service.ui.deps import PREFIX, PageSession, SameOrigin, Viewer, ViewerDep, render

router = APIRouter(prefix=f"{PREFIX}/models", include_in_schema=False)
ALIAS = re.compile(r"^[A-Za-z][A-Za-z0-9._-]{0,99}$")
Version = Path(ge=1, le=2**31 - 1)
Confirm = Form(default="", max_length=3)


@router.get("")
def models_page(
    request: Request, session: Session = PageSession, viewer: Viewer = ViewerDep
) -> HTMLResponse:
    """Every model with its newest version and aliases."""
    viewer.require("infer")
    return render(request, "models.html", viewer=viewer, models=registry.list_models(session))


@router.get("/{name}")
def model_page(
    request: Request, name: str, session: Session = PageSession, viewer: Viewer = ViewerDep
) -> HTMLResponse:
    """A model: its versions and aliases, with the forms that change them."""
    viewer.require("infer")
    detail = registry.describe_model(session, name)
    return render(request, "model.html", viewer=viewer, model=detail)


@router.post("/{name}/aliases", dependencies=[SameOrigin])
def move_alias(
    request: Request,
    name: str,
    alias: str = Form(max_length=100),
    version: int = Form(ge=1, le=2**31 - 1),
    confirm: str = Confirm,
    session: Session = PageSession,
    viewer: Viewer = ViewerDep,
) -> Response:
    """Point an alias at a version; moving an existing alias is confirmed first."""
    viewer.require("admin")
    if not ALIAS.match(alias):
        msg = "alias: a letter, then up to 99 of A-Z a-z 0-9 . _ -"
        raise BadInput(msg, errors=[{"loc": ["form", "alias"], "msg": msg}])
    current = registry.describe_model(session, name).aliases.get(alias)
    if current not in (None, version) and confirm != "yes":
        question = f"Move alias {alias!r} of {name} from version {current} to version {version}?"
        fields = {"alias": alias, "version": version}
        action = f"{PREFIX}/models/{name}/aliases"
        return _confirm(request, viewer, question, action, fields, back=f"{PREFIX}/models/{name}")
    registry.set_alias(session, name, alias=alias, version=version)
    return RedirectResponse(f"{PREFIX}/models/{name}", status_code=303)


@router.post("/{name}/versions/{number}/delete", dependencies=[SameOrigin])
def delete_version(
    request: Request,
    name: str,
    number: int = Version,
    confirm: str = Confirm,
    session: Session = PageSession,
    viewer: Viewer = ViewerDep,
) -> Response:
    """Delete a version, once confirmed (refused while an alias points at it)."""
    viewer.require("admin")
    back = f"{PREFIX}/models/{name}"
    if confirm != "yes":
        question = f"Delete version {number} of {name}? This cannot be undone."
        action = f"{back}/versions/{number}/delete"
        return _confirm(request, viewer, question, action, {}, back=back)
    registry.delete_version(session, name, number)
    return RedirectResponse(back, status_code=303)


@router.post("/{name}/delete", dependencies=[SameOrigin])
def delete_model(
    request: Request,
    name: str,
    confirm: str = Confirm,
    session: Session = PageSession,
    viewer: Viewer = ViewerDep,
) -> Response:
    """Delete a model with all its versions and aliases, once confirmed."""
    viewer.require("admin")
    if confirm != "yes":
        question = f"Delete model {name} with every version and alias? This cannot be undone."
        action = f"{PREFIX}/models/{name}/delete"
        return _confirm(request, viewer, question, action, {}, back=f"{PREFIX}/models/{name}")
    registry.delete_model(session, name)
    return RedirectResponse(f"{PREFIX}/models", status_code=303)


def _confirm(
    request: Request,
    viewer: Viewer,
    question: str,
    action: str,
    fields: dict[str, object],
    *,
    back: str,
) -> HTMLResponse:
    return render(
        request,
        "confirm.html",
        viewer=viewer,
        question=question,
        action=action,
        fields=fields,
        back=back,
    )
