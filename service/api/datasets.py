"""Routes for datasets."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile

from service.api.bodies import parse_json_object, request_body, validate_options
from service.api.deps import TRAIN, SessionDep
from service.api.schemas.common import Limit, Offset, PathId
from service.api.schemas.datasets import DatasetCreate, DatasetMeta, DatasetPage, DatasetRead
from service.domain import datasets as domain
from service.errors import BadInput
from service.store.tables import Dataset

router = APIRouter(prefix="/v1/datasets", tags=["datasets"], dependencies=[TRAIN])


@router.post(
    "",
    status_code=201,
    response_model=DatasetRead,
    openapi_extra=request_body(DatasetCreate, multipart=True),
)
async def create_dataset(request: Request, session: Session = SessionDep) -> DatasetRead:
    """Upload a table: multipart `file` (CSV, Parquet, .npy, JSON) or a JSON body of rows."""
    if request.headers.get("content-type", "").startswith("multipart/form-data"):
        dataset = await _from_form(request, session)
    else:
        dataset = await _from_json(await request.body(), session)
    return DatasetRead.model_validate(dataset)


async def _from_json(body: bytes, session: Session) -> Dataset:
    document = parse_json_object(body)
    meta = validate_options(DatasetMeta, {k: v for k, v in document.items() if k != "rows"})
    if "rows" not in document:
        raise BadInput(errors=[{"loc": ["body", "rows"], "msg": "Field required"}])
    return await run_in_threadpool(
        domain.create_dataset_from_rows,
        session,
        name=meta.name,
        columns=meta.columns,
        rows=document["rows"],
    )


async def _from_form(request: Request, session: Session) -> Dataset:
    async with request.form(max_files=1, max_fields=4) as form:
        upload, name = form.get("file"), form.get("name")
        if not isinstance(upload, UploadFile):
            raise BadInput(errors=[{"loc": ["body", "file"], "msg": "a file part is required"}])
        return await run_in_threadpool(
            domain.create_dataset_from_file,
            session,
            upload.file,
            filename=upload.filename,
            name=name if isinstance(name, str) else None,
        )


@router.get("", response_model=DatasetPage)
def list_datasets(
    limit: Limit = 50,
    offset: Offset = 0,
    session: Session = SessionDep,
) -> DatasetPage:
    """Datasets, newest first."""
    items, total = domain.list_datasets(session, limit=limit, offset=offset)
    return DatasetPage(items=[DatasetRead.model_validate(d) for d in items], total=total)


@router.get("/{dataset_id}", response_model=DatasetRead)
def get_dataset(dataset_id: PathId, session: Session = SessionDep) -> DatasetRead:
    """One dataset."""
    return DatasetRead.model_validate(domain.get_dataset(session, dataset_id))


@router.delete("/{dataset_id}", status_code=204, response_class=Response)
def delete_dataset(dataset_id: PathId, session: Session = SessionDep) -> Response:
    """Delete a dataset that no run references."""
    domain.delete_dataset(session, dataset_id)
    return Response(status_code=204)
