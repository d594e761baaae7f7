"""Routes for datasets."""

from __future__ import annotations

import io
from typing import BinaryIO

from fastapi import APIRouter, Request, Response
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile

from service.api.bodies import content_type, parse_json_object, upload_body, validate_options
from service.api.deps import TRAIN, SessionDep
from service.api.schemas.common import DatasetId, Limit, Offset
from service.api.schemas.datasets import (
    DatasetCreate,
    DatasetMeta,
    DatasetPage,
    DatasetRead,
    UploadQuery,
)
from service.domain import datasets as domain
from service.domain.uploads import UploadOptions
from service.errors import BadInput, UnsupportedMediaType
from service.store.tables import Dataset

router = APIRouter(prefix="/v1/datasets", tags=["datasets"], dependencies=[TRAIN])


RAW = {
    "text/csv": "csv",
    "application/x-npy": "npy",
    "application/vnd.apache.parquet": "parquet",
}
ACCEPTED = ("multipart/form-data", "application/json", *RAW)


@router.post(
    "",
    status_code=201,
    response_model=DatasetRead,
    openapi_extra=upload_body(DatasetCreate, raw=tuple(RAW), query=UploadQuery),
)
async def create_dataset(request: Request, session: Session = SessionDep) -> DatasetRead:
    """Upload a table: multipart `file` (CSV, Parquet, .npy, JSON), a JSON body of rows, or the
    file itself as the body (text/csv, application/x-npy, application/vnd.apache.parquet)."""
    kind = content_type(request)
    if kind == "multipart/form-data":
        dataset = await _from_form(request, session)
    elif kind == "application/json":
        query = validate_options(UploadQuery, {}, request.query_params)
        dataset = await _from_json(await request.body(), query.name, session)
    elif kind in RAW:
        query = validate_options(UploadQuery, {}, request.query_params)
        file = io.BytesIO(await request.body())
        dataset = await _save_file(session, file, None, query, RAW[kind])
    else:
        raise UnsupportedMediaType(
            f"content type {kind or '(none)'!r} is not read here; send one of {', '.join(ACCEPTED)}"
        )
    return DatasetRead.model_validate(dataset)


async def _from_json(body: bytes, name: str | None, session: Session) -> Dataset:
    """A JSON body of rows; its `name` wins over the query string's."""
    document = parse_json_object(body)
    meta = validate_options(DatasetMeta, {k: v for k, v in document.items() if k != "rows"})
    if "rows" not in document:
        raise BadInput(errors=[{"loc": ["body", "rows"], "msg": "Field required"}])
    return await run_in_threadpool(
        domain.create_dataset_from_rows,
        session,
        name=meta.name or name,
        columns=meta.columns,
        rows=document["rows"],
    )


async def _from_form(request: Request, session: Session) -> Dataset:
    async with request.form(max_files=1, max_fields=8) as form:
        upload = form.get("file")
        if not isinstance(upload, UploadFile):
            msg = "a part named `file` holding the file is required"
            raise BadInput(msg, errors=[{"loc": ["body", "file"], "msg": msg}])
        fields = {k: v for k, v in form.items() if k != "file" and isinstance(v, str)}
        query = validate_options(UploadQuery, fields, request.query_params)
        return await _save_file(session, upload.file, upload.filename, query, None)


async def _save_file(
    session: Session,
    file: BinaryIO,
    filename: str | None,
    query: UploadQuery,
    kind: str | None,
) -> Dataset:
    options = UploadOptions(format=kind, header=query.header, delimiter=query.delimiter)
    return await run_in_threadpool(
        domain.create_dataset_from_file,
        session,
        file,
        filename=filename,
        name=query.name,
        options=options,
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
def get_dataset(dataset_id: DatasetId, session: Session = SessionDep) -> DatasetRead:
    """One dataset."""
    return DatasetRead.model_validate(domain.get_dataset(session, dataset_id))


@router.delete("/{dataset_id}", status_code=204, response_class=Response)
def delete_dataset(dataset_id: DatasetId, session: Session = SessionDep) -> Response:
    """Delete a dataset that no run references."""
    domain.delete_dataset(session, dataset_id)
    return Response(status_code=204)
