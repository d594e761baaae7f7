"""Registry rows: version numbers are never reused, and an alias records when it last moved."""

from __future__ import annotations

import time

from sqlalchemy import select
from sqlalchemy.orm import Session

from service.store import blobs
from service.store import registry as store
from service.store.tables import ModelAlias


def _version(session: Session, name: str) -> int:
    model = store.get_or_add_model(session, name)
    blob = blobs.write_blob(session, [f"weights of {name}".encode()])
    version = store.add_version(
        session,
        model,
        run_id=None,
        checkpoint_blob_id=blob.id,
        columns=["a"],
        code_size=1,
        metrics={},
    )
    return version.version


def _alias(session: Session, model_id: int, alias: str) -> ModelAlias:
    row = session.scalar(
        select(ModelAlias).where(ModelAlias.model_id == model_id, ModelAlias.alias == alias)
    )
    assert row is not None
    session.refresh(row)
    return row


def test_moving_an_alias_updates_when_it_moved(session: Session) -> None:
    one, two = _version(session, "moves"), _version(session, "moves")
    model = store.get_model(session, "moves")
    assert model is not None
    store.set_alias(session, model.id, alias="production", version=one)
    set_at = _alias(session, model.id, "production").updated_at
    time.sleep(0.01)
    store.set_alias(session, model.id, alias="production", version=two)
    moved = _alias(session, model.id, "production")
    assert moved.version == two
    assert moved.updated_at > set_at
    assert store.aliases_of(session, model.id) == {"production": two}


def test_a_deleted_version_s_number_is_never_given_again(session: Session) -> None:
    _version(session, "numbers")
    second = _version(session, "numbers")
    model = store.get_model(session, "numbers")
    assert model is not None
    doomed = store.get_version(session, model.id, second)
    assert doomed is not None
    store.delete_version(session, doomed)
    assert store.newest_version(session, model.id) == 1
    assert _version(session, "numbers") == 3


def test_deleting_an_alias_says_whether_there_was_one(session: Session) -> None:
    _version(session, "aliases")
    model = store.get_model(session, "aliases")
    assert model is not None
    store.set_alias(session, model.id, alias="staging", version=1)
    assert store.delete_alias(session, model.id, "staging")
    assert not store.delete_alias(session, model.id, "staging")
    assert store.aliases_of(session, model.id) == {}
