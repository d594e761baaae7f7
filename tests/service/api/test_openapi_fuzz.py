"""Schemathesis over /openapi.json: no 5xx and no response that breaks the documented schema."""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis import checks

from tests.service.conftest import live_client, normal_rows, start_run, upload_rows, wait_for_run

logger = logging.getLogger(__name__)
MAX_EXAMPLES = 25  # per run of every operation: bounded so the suite stays fast
CHECKS = [
    checks.not_a_server_error,
    checks.status_code_conformance,
    checks.content_type_conformance,
    checks.response_schema_conformance,
]


@pytest.fixture(scope="module")
def fuzzed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    """A live app on SQLite with a trained model `tiny`, so inference routes answer 200 too."""
    from tests.service.conftest import migrate

    url = migrate(f"sqlite:///{tmp_path_factory.mktemp('fuzz') / 'h.db'}")
    with live_client(url) as client:
        dataset = upload_rows(client, normal_rows(80, 3))
        run = wait_for_run(client, start_run(client, dataset["id"], "tiny")["id"])
        assert run["status"] == "succeeded"
        yield client


def test_api_conforms_to_its_openapi(fuzzed: TestClient) -> None:
    schema = schemathesis.openapi.from_asgi("/openapi.json", fuzzed.app)
    operations = [result.ok() for result in schema.get_all_operations()]
    statuses: Counter[int] = Counter()
    seen: set[tuple[str, str, int]] = set()
    for operation in operations:
        _exercise(operation, statuses, seen)
    logger.info(
        "schemathesis: %d operations, %d cases, statuses %s",
        len(operations),
        sum(statuses.values()),
        dict(sorted(statuses.items())),
    )
    assert len(operations) >= 17
    assert not any(code >= 500 for code in statuses)
    assert statuses[200] > 0 and any(400 <= code < 500 for code in statuses)
    paths = fuzzed.get("/openapi.json").json()["paths"]
    undocumented = {s for s in seen if str(s[2]) not in paths[s[1]][s[0].lower()]["responses"]}
    assert not undocumented  # every status answered is listed for its operation, not just "default"


def _exercise(operation: Any, statuses: Counter[int], seen: set[tuple[str, str, int]]) -> None:
    @settings(
        max_examples=MAX_EXAMPLES,
        deadline=None,
        suppress_health_check=list(HealthCheck),
        derandomize=True,
        database=None,
        phases=[Phase.explicit, Phase.generate],  # no shrinking: report the first failure fast
    )
    @given(case=operation.as_strategy())
    def run(case: Any) -> None:
        status = case.call_and_validate(checks=CHECKS).status_code
        statuses[status] += 1
        seen.add((operation.method, operation.path, status))

    run()
