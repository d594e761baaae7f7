"""Log lines: text with the `extra` keys, or one JSON object per line (HOURGLASS_LOG_FORMAT)."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import orjson
import pytest

from service.logs import configure_logging


@pytest.fixture
def root_logging() -> Iterator[None]:
    """Whatever a test configures, the root logger is given back as it was."""
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)


def test_json_lines_carry_time_level_logger_message_and_extra_keys(
    root_logging: None, capsys: pytest.CaptureFixture[str]
) -> None:
    configure_logging("info", "json")
    logging.getLogger("service.test").info("run claimed", extra={"run_id": 7, "action": "claim"})
    logging.getLogger("service.test").debug("not at INFO")
    lines = capsys.readouterr().err.splitlines()
    assert len(lines) == 1
    line = orjson.loads(lines[0])
    assert line["level"] == "INFO" and line["logger"] == "service.test"
    assert line["message"] == "run claimed"
    assert (line["run_id"], line["action"]) == (7, "claim")
    assert line["time"].endswith("+00:00")


def test_json_lines_keep_the_exception(
    root_logging: None, capsys: pytest.CaptureFixture[str]
) -> None:
    configure_logging("INFO", "json")
    try:
        raise RuntimeError("boom")
    except RuntimeError:
        logging.getLogger("service.test").exception("run failed", extra={"run_id": 3})
    line = orjson.loads(capsys.readouterr().err)
    assert "RuntimeError: boom" in line["exception"]
    assert line["run_id"] == 3


def test_text_lines_show_the_extra_keys(
    root_logging: None, capsys: pytest.CaptureFixture[str]
) -> None:
    configure_logging("WARNING", "text")
    logging.getLogger("service.test").info("quiet")
    logging.getLogger("service.test").warning("worker lost", extra={"run_id": 4})
    err = capsys.readouterr().err
    assert "quiet" not in err
    assert "WARNING service.test: worker lost run_id=4" in err
