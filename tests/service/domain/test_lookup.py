"""GenerationWatch: a cache is dropped at the commit of this process's change, and when a poll
sees another process's."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from service.domain.lookup import GenerationWatch
from service.store import generations
from service.store.db import SessionFactory, make_engine, make_session_factory, transaction


@pytest.fixture
def factories(database_url: str) -> Iterator[tuple[SessionFactory, SessionFactory]]:
    """This process's sessions, and another process's (not watched)."""
    engine, other = make_engine(database_url), make_engine(database_url)
    yield make_session_factory(engine), make_session_factory(other)
    engine.dispose()
    other.dispose()


def _watch(factory: SessionFactory, cleared: list[str]) -> GenerationWatch:
    clears = {name: (lambda name=name: cleared.append(name)) for name in ("registry", "keys")}
    watch = GenerationWatch(factory.kw["bind"], clears)
    watch.attach(factory)
    return watch


def test_a_change_here_clears_at_its_commit_and_not_before(
    factories: tuple[SessionFactory, SessionFactory],
) -> None:
    mine, _ = factories
    cleared: list[str] = []
    _watch(mine, cleared)
    with transaction(mine) as session:
        generations.bump(session, generations.KEYS)
        assert cleared == []
    assert cleared == ["keys"]
    with pytest.raises(RuntimeError), transaction(mine) as session:
        generations.bump(session, generations.REGISTRY)
        raise RuntimeError("rolled back")
    assert cleared == ["keys"]


def test_a_change_elsewhere_clears_at_the_next_poll(
    factories: tuple[SessionFactory, SessionFactory],
) -> None:
    mine, theirs = factories
    cleared: list[str] = []
    watch = _watch(mine, cleared)
    watch.check()  # the first read only learns the counters
    watch.check()
    assert cleared == []
    with transaction(theirs) as session:
        generations.bump(session, generations.REGISTRY)
    assert cleared == []
    watch.check()
    assert cleared == ["registry"]
    watch.check()
    assert cleared == ["registry"]
