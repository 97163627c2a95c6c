"""schemathesis against the web app's OpenAPI description, over databases the demo filled.

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
from test_web_pages import demo_db  # noqa: F401 (a fixture: SQLite and PostgreSQL)
from webutil import client, csrf

from monitor.db import Database

# per operation: about 4 s for the seven operations; more for a longer run by hand
EXAMPLES = int(os.environ.get("SCHEMATHESIS_EXAMPLES", "40"))


@pytest.fixture(scope="module")
def demo_client(demo_db: Database) -> Iterator[TestClient]:  # noqa: F811
    """The app over the demo's database, on SQLite and on PostgreSQL (``demo_db``)."""
    with client(demo_db) as c:
        yield c


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
    """Found by the run above: an id over PostgreSQL's INTEGER (or a 20-digit one, over
    SQLite's) was a 500, and so was a NUL in a commitment id on PostgreSQL."""
    for path in ("/changes/", "/api/changes/"):
        for big in ("2147483648", "9223372036854775808", "99999999999999999999"):
            assert demo_client.get(path + big).status_code == 404
    for param in ("before_id", "after_id"):
        where = "/api/changes" if param == "before_id" else "/api/events"
        res = demo_client.get(where, params={param: 2**31})
        assert res.status_code == 400 and param in res.json()["detail"]
    for path in ("/commitments/a%00b", "/api/commitments/a%00b", "/commitments/a%00b/feed.atom"):
        assert demo_client.get(path).status_code == 404


def test_a_nul_or_control_character_in_a_form_is_a_400(demo_client: TestClient) -> None:
    """Found by hand beside the run above: on PostgreSQL a NUL in a form field reached the
    database: a 500 at sign-in, a 503 at sign-up ("could not send the confirmation")."""
    cid = demo_client.get("/api/commitments").json()["commitments"][0]["id"]
    page = demo_client.get(f"/commitments/{cid}").text
    login = demo_client.get("/team/login").text
    forms = [
        (f"/commitments/{cid}/follow", page, {"email": "a\x00@example.org", "frequency": "daily"}),
        (f"/commitments/{cid}/follow", page, {"email": "ann@example.org", "frequency": "\x00"}),
        ("/team/login", login, {"email": "ann\x00@example.org", "password": "x"}),
        ("/team/login", login, {"email": "ann@example.org", "password": "pass\x00word"}),
    ]
    for path, form, data in forms:
        res = demo_client.post(path, data={"csrf_token": csrf(form), **data})
        assert res.status_code == 400 and "NUL character" in res.text, (path, data)
    for email in ("ann\x7f@example.org", "ann\x01@example.org"):  # not an address either
        res = demo_client.post(
            f"/commitments/{cid}/follow",
            data={"csrf_token": csrf(page), "email": email, "frequency": "daily"},
        )
        assert res.status_code == 400 and "Enter an email address" in res.text, email
