"""Engines and sessions: built once by an entry point, handed down."""

from __future__ import annotations

import math
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

import psycopg
from psycopg.errors import _WaitTimeout  # psycopg's own "wait timed out" (3.3; pinned)
from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.engine import ExceptionContext, make_url
from sqlalchemy.orm import Session, sessionmaker

SessionFactory = sessionmaker[Session]
Row = TypeVar("Row")
ANSWER_SECONDS = 2.0  # the API's default: a frozen database is a 503 within seconds, not a hang


class AnswerTimeout(psycopg.OperationalError):
    """The database did not answer in time: frozen, partitioned or overloaded."""


class BoundedConnection(psycopg.Connection[Any]):
    """A psycopg connection that waits at most `answer_seconds` for any answer of the server.

    A stopped (SIGSTOP) or partitioned PostgreSQL keeps its sockets open: libpq would wait for
    ever, and server-side statement timeouts cannot fire. On timeout the connection is closed
    (its protocol state is unknown) and the caller gets an OperationalError, which the API
    answers with 503 and the pool replaces.
    """

    answer_seconds: float | None = None

    def wait(self, gen: Any, interval: float = 0.1, timeout: float | None = None) -> Any:
        try:
            return super().wait(gen, interval=interval, timeout=timeout or self.answer_seconds)
        except _WaitTimeout as exc:
            self.pgconn.finish()
            raise AnswerTimeout(
                f"the database did not answer within {self.answer_seconds} s"
            ) from exc


def _bounded_connect(seconds: float) -> Any:
    def connect(_dialect: Any, _record: Any, cargs: Any, cparams: dict[str, Any]) -> Any:
        cparams.setdefault("connect_timeout", max(2, math.ceil(seconds)))  # libpq's minimum: 2
        connection = BoundedConnection.connect(*cargs, **cparams)
        connection.answer_seconds = seconds
        return connection

    return connect


def _fail_after_a_silent_ping(context: ExceptionContext) -> None:
    """A pool checkout's ping that got no answer fails the checkout instead of reconnecting.

    SQLAlchemy reconnects after a ping that failed as a disconnect; a database that is frozen
    would then make the request wait for the connect's timeout too (a checkout could take the
    pool's wait + the ping's + the connect's). Where the ping got no answer, a new connection
    would get none either: the request ends now (503) and the next checkout connects afresh.
    """
    if context.is_pre_ping and isinstance(context.original_exception, AnswerTimeout):
        context.is_disconnect = False


def normalise_url(url: str) -> str:
    """Use the psycopg v3 driver for plain `postgresql://` URLs."""
    parsed = make_url(url)
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed.render_as_string(hide_password=False)


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.close()


def make_engine(url: str, *, answer_seconds: float | None = ANSWER_SECONDS) -> Engine:
    """An engine for `url`; SQLite gets WAL, foreign keys and a busy timeout.

    On PostgreSQL every connect and every wait for an answer is bounded by `answer_seconds`
    (None: unbounded, for migrations), and a pool checkout waits half as long at most: with
    the default 2 s, a frozen database costs a request at most 1 s (a free connection) + 2 s
    (the ping of a pooled one, or a new connection's connect).
    """
    url = normalise_url(url)
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    engine = create_engine(
        url,
        pool_pre_ping=True,
        pool_size=5,
        max_overflow=10,
        # a request waits for a free connection half as long as for an answer: when the
        # database freezes, the requests queued behind the pool still fail well within 5 s
        pool_timeout=answer_seconds / 2 if answer_seconds else 30,
    )
    if answer_seconds is not None:
        event.listen(engine, "do_connect", _bounded_connect(answer_seconds))
        event.listen(engine, "handle_error", _fail_after_a_silent_ping)
    return engine


def make_session_factory(engine: Engine) -> SessionFactory:
    """Sessions that keep loaded rows readable after commit."""
    return sessionmaker(engine, expire_on_commit=False)


@contextmanager
def transaction(factory: SessionFactory) -> Iterator[Session]:
    """One unit of work outside HTTP (jobs, CLI): commit on success, roll back on error."""
    with factory() as session:
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise


def insert(session: Session, row: Row) -> Row:
    """Add a new table row and flush, so that its id (and defaults) are known."""
    session.add(row)
    session.flush()
    return row


def ping(engine: Engine) -> None:
    """Raise if the database does not answer."""
    with engine.connect() as connection:
        connection.execute(text("SELECT 1"))
