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
TOKEN = "admin:" + "f" * 43  # the keyed app: every request but health needs it
Fuzzed = tuple[TestClient, dict[str, str]]


@pytest.fixture(scope="module", params=["open", "keyed"])
def fuzzed(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Fuzzed]:
    """A live app on SQLite with a trained model `tiny`, so inference routes answer 200 too; once
    on loopback without keys, once with a key (and then ignored-auth is checked as well)."""
    from tests.service.conftest import migrate

    keyed = request.param == "keyed"
    url = migrate(f"sqlite:///{tmp_path_factory.mktemp('fuzz') / 'h.db'}")
    headers = {"Authorization": f"Bearer {TOKEN.split(':', 1)[1]}"} if keyed else {}
    with live_client(url, api_keys=TOKEN if keyed else "") as client:
        client.headers.update(headers)
        dataset = upload_rows(client, normal_rows(80, 4))
        run = wait_for_run(client, start_run(client, dataset["id"], "tiny")["id"])
        assert run["status"] == "succeeded"
        yield client, headers


def test_api_conforms_to_its_openapi(fuzzed: Fuzzed) -> None:
    client, headers = fuzzed
    schema = schemathesis.openapi.from_asgi("/openapi.json", client.app)
    operations = [result.ok() for result in schema.get_all_operations()]
    statuses: Counter[int] = Counter()
    seen: set[tuple[str, str, int]] = set()
    chosen = [*CHECKS, checks.ignored_auth] if headers else CHECKS
    for operation in operations:
        _exercise(operation, statuses, seen, headers, chosen)
    logger.info(
        "schemathesis: %d operations, %d cases, statuses %s",
        len(operations),
        sum(statuses.values()),
        dict(sorted(statuses.items())),
    )
    assert len(operations) >= 17
    assert not any(code >= 500 for code in statuses)
    assert statuses[200] > 0 and any(400 <= code < 500 for code in statuses)
    paths = client.get("/openapi.json").json()["paths"]
    undocumented = {s for s in seen if str(s[2]) not in paths[s[1]][s[0].lower()]["responses"]}
    assert not undocumented  # every status answered is listed for its operation, not just "default"


def _exercise(
    operation: Any,
    statuses: Counter[int],
    seen: set[tuple[str, str, int]],
    headers: dict[str, str],
    chosen: list[Any],
) -> None:
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
        status = case.call_and_validate(headers=headers, checks=chosen).status_code
        statuses[status] += 1
        seen.add((operation.method, operation.path, status))

    run()
