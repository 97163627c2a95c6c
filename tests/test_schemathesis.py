"""schemathesis against the web app's OpenAPI description, over a database the demo filled.

Every operation in ``/api/openapi.json`` is called with generated path and query values
(fixed seed, a bounded number of examples); no answer may be a 5xx, and every answer must
match the status codes, content types and schemas the description gives.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis.specs.openapi.schemas import OpenApiSchema
from starlette.testclient import TestClient
from webutil import client, fill_with_demo

from monitor.db import Database

# per operation: about 4 s for the seven operations; more for a longer run by hand
EXAMPLES = int(os.environ.get("SCHEMATHESIS_EXAMPLES", "40"))


@pytest.fixture(scope="module")
def demo_client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    url = f"sqlite:///{tmp_path_factory.mktemp('api') / 'demo.db'}"
    fill_with_demo(url)
    db = Database(url)
    with client(db) as c:
        yield c
    db.dispose()


def _schema(c: TestClient) -> OpenApiSchema:
    schema = schemathesis.openapi.from_asgi("/api/openapi.json", c.app)
    assert isinstance(schema, OpenApiSchema)
    return schema


def test_every_operation_answers_within_its_schema(demo_client: TestClient) -> None:
    schema = _schema(demo_client)
    operations = [op.ok() for op in schema.get_all_operations()]
    assert len(operations) >= 6, [op.label for op in operations]
    failures: list[str] = []
    calls = 0
    for op in operations:

        @settings(
            max_examples=EXAMPLES,
            derandomize=True,  # a fixed seed: the same examples on every run
            database=None,
            deadline=None,
            phases=[Phase.explicit, Phase.generate],
            suppress_health_check=list(HealthCheck),
        )
        @given(case=op.as_strategy())
        def check(case: schemathesis.Case) -> None:
            nonlocal calls
            calls += 1
            res = case.call()
            if res.status_code >= 500:
                failures.append(
                    f"{case.method} {case.formatted_path} {case.query}: {res.status_code}"
                )
                return
            try:
                case.validate_response(res)
            except Exception as exc:  # a mismatch: keep going, report them all
                failures.append(f"{case.method} {case.formatted_path} {case.query}: {exc}")

        check()
    assert calls >= len(operations) * 5
    assert failures == [], "\n".join(failures[:10])


def test_an_id_too_large_for_the_database_is_not_found(demo_client: TestClient) -> None:
    """Found by the run above: a 20-digit id overflowed SQLite's integer, a 500."""
    for path in ("/changes/", "/api/changes/"):
        for big in ("9223372036854775808", "99999999999999999999"):
            assert demo_client.get(path + big).status_code == 404
    res = demo_client.get("/api/changes", params={"before_id": 10**19})
    assert res.status_code == 400 and "before_id" in res.json()["detail"]
