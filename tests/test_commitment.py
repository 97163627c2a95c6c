"""The commitment registry: validation, seed contents, database round trips and the CLI."""

from __future__ import annotations

import json
import re
from datetime import date
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner
from dbutil_commitments import corpus_dir
from sqlalchemy import inspect, select

from monitor.commitment import (
    SEED_PATH,
    RegistryError,
    all_commitments,
    dump_registry,
    import_specs,
    load_registry,
    load_seed,
    parse_gbp,
    parse_period,
    parse_registry,
    to_spec,
)
from monitor.commitment_cli import commitments_group
from monitor.db import Database
from monitor.models import KeyFigure, KeyFigureHistory, StatusChange

GOOD = """\
commitments:
  - id: demo-pledge
    title: A demonstration pledge
    pledge: Something the government promised, in our words.
    source: {title: Demo source, url: "https://www.gov.uk/demo"}
    figures:
      - {key: money, kind: funding, amount_gbp: "£2.3bn", per_year: true}
      - {key: when, kind: deadline, when: "2023/24"}
"""


@pytest.fixture
def cdb(db: Database) -> Database:
    """The shared two-backend database fixture (conftest.py), named for these tests."""
    return db


@pytest.mark.parametrize(
    ("text", "start", "end"),
    [
        ("2023/24", date(2023, 4, 1), date(2024, 3, 31)),
        ("by 2018", date(2018, 1, 1), date(2018, 12, 31)),
        ("April 2014", date(2014, 4, 1), date(2014, 4, 30)),
        ("spring 2021", date(2021, 3, 1), date(2021, 5, 31)),
        ("2014-10-01", date(2014, 10, 1), date(2014, 10, 1)),
    ],
)
def test_parse_period(text: str, start: date, end: date) -> None:
    assert parse_period(text) == (start, end)


def test_parse_gbp() -> None:
    assert parse_gbp("£179 million") == 179e6
    assert parse_gbp("£2.3bn") == pytest.approx(2.3e9)
    assert parse_gbp("£1,500") == 1500
    with pytest.raises(ValueError):
        parse_gbp("about two quid")


def test_seed_registry_covers_the_seed_documents() -> None:
    specs = {s.id: s for s in load_registry(SEED_PATH)}
    ctg = sorted(i for i in specs if i.startswith("ctg-"))
    assert [int(i.split("-")[1]) for i in ctg] == list(range(1, 26))
    for needed in ("nhse-crisis-alternatives", "nhse-111-mental-health", "nhse-cyp-24-7-crisis",
                   "nhse-nhsuk-crisis-search", "nhse-out-of-area-placements",
                   "mental-health-act-reform", "npa-right-care-right-person",
                   "manifesto-2017-coordination", "crisis-care-concordat"):  # fmt: skip
        assert needed in specs
    money = {f.amount_gbp for s in specs.values() for f in s.figures if f.kind == "funding"}
    assert {179e6, 261e6, 450e6} <= money
    assert specs["nhse-111-mental-health"].figures[0].end == date(2024, 3, 31)
    for spec in specs.values():
        assert spec.source.url.startswith("https://")
        assert all(p.url.startswith("https://") for p in spec.pages)
    hosts = {re.sub(r"^https://(www\.)?", "", p.url).split("/")[0]
             for s in specs.values() for p in s.pages}  # fmt: skip
    assert {"gov.uk", "england.nhs.uk", "nice.org.uk"} <= hosts


def test_seed_registry_is_in_our_own_words() -> None:
    """No run of eight words from a seed document appears in any title or pledge."""
    seed_dir = corpus_dir() / "seed-documents"
    words = re.findall(r"[a-z0-9£]+", " ".join(p.read_text().lower() for p in seed_dir.glob("*")))
    shingles = {" ".join(words[i : i + 8]) for i in range(len(words) - 7)}
    for spec in load_registry(SEED_PATH):
        mine = re.findall(r"[a-z0-9£]+", f"{spec.title} {spec.pledge}".lower())
        copied = [" ".join(mine[i : i + 8]) for i in range(len(mine) - 7)]
        assert not [c for c in copied if c in shingles], spec.id


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("commitments:\n  - id: [unclosed\n", r"x\.yaml:\d+: invalid YAML"),
        (GOOD.replace("per_year: true", "per_year: true, colour: red"), r"x\.yaml:7: .*colour"),
        (GOOD.replace('amount_gbp: "£2.3bn", ', ""), r"x\.yaml:7: .*figures\.0.*amount_gbp"),
        (GOOD.replace("https://www.gov.uk/demo", "gov.uk/demo"), r"x\.yaml:5: .*source\.url"),
        (GOOD.replace("id: demo-pledge", "id: Demo Pledge"), r"x\.yaml:2: .*\bid\b"),
        (GOOD + GOOD.split("\n", 1)[1], r"x\.yaml:9: duplicate commitment id 'demo-pledge'"),
        (GOOD.replace("2023/24", "someday"), r"x\.yaml:8: .*cannot read a period"),
    ],
)
def test_invalid_registry_names_file_line_and_key(text: str, message: str) -> None:
    with pytest.raises(RegistryError, match=message):
        parse_registry(text, "x.yaml")


def test_dump_and_parse_round_trip() -> None:
    specs = parse_registry(GOOD)
    again = parse_registry(dump_registry(specs))
    assert [s.model_dump(exclude={"figures"}) for s in again] == [
        s.model_dump(exclude={"figures"}) for s in specs
    ]
    assert again[0].figures[0].amount_gbp == pytest.approx(2.3e9)
    assert (again[0].figures[1].start, again[0].figures[1].end) == (
        date(2023, 4, 1),
        date(2024, 3, 31),
    )


def test_load_seed_once_and_export_round_trip(cdb: Database) -> None:
    n = load_seed(cdb)
    assert n == len(load_registry(SEED_PATH))
    assert load_seed(cdb) == 0
    with cdb.session() as s:
        exported = dump_registry([to_spec(r) for r in all_commitments(s)])
    assert parse_registry(exported) == [to_spec_from_seed for to_spec_from_seed in
                                        _without_when(load_registry(SEED_PATH))]  # fmt: skip


def _without_when(specs: list) -> list:  # type: ignore[type-arg]
    for spec in specs:
        spec.pages.sort(key=lambda p: p.url)  # stored pages come back ordered by URL
        for fig in spec.figures:
            fig.when = None
    return sorted(specs, key=lambda s: s.id)


def test_reimport_keeps_figure_history_and_logs_status(cdb: Database) -> None:
    spec = parse_registry(GOOD)[0]
    with cdb.session() as s:
        import_specs(s, [spec])
        fig = s.scalars(select(KeyFigure).filter_by(key="money")).one()
        s.add(KeyFigureHistory(figure_id=fig.id, before={}, after={}, quote="q"))
    spec.status = "achieved"
    spec.figures[0].amount_gbp = 2.5e9
    with cdb.session() as s:
        import_specs(s, [spec], origin="import of x.yaml")
    with cdb.session() as s:
        fig2 = s.scalars(select(KeyFigure).filter_by(key="money")).one()
        assert fig2.id == fig.id and fig2.amount_gbp == 2.5e9
        assert len(s.scalars(select(KeyFigureHistory)).all()) == 1
        change = s.scalars(select(StatusChange)).one()
        assert (change.from_status, change.to_status) == ("not_started", "achieved")
        assert change.confirmed_by == "import of x.yaml"


def _run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(commitments_group, list(args))
    return result.exit_code, result.output


def test_cli_import_list_show_export_add(cdb: Database, tmp_path: Path) -> None:
    url = cdb.url
    code, out = _run("import", str(SEED_PATH), "--db", url)
    assert code == 0 and "imported 38" in out
    code, out = _run("list", "--db", url, "--json")
    rows = json.loads(out)
    assert code == 0 and len(rows) == 38
    assert next(r for r in rows if r["id"] == "nhse-111-mental-health")["next_deadline"] == (
        "2024-03-31"
    )
    code, out = _run("list", "--db", url, "--status", "at_risk")
    assert code == 0 and "nhse-out-of-area-placements" in out and "ctg-25" not in out
    code, out = _run("show", "nhse-crisis-alternatives", "--db", url, "--json")
    shown = json.loads(out)
    assert shown["figures"][0]["amount_gbp"] == 179e6 and shown["evidence"] == []
    assert _run("show", "no-such-thing", "--db", url)[0] != 0
    out_file = tmp_path / "export.yaml"
    assert _run("export", "--db", url, "-o", str(out_file))[0] == 0
    assert len(yaml.safe_load(out_file.read_text())["commitments"]) == 38
    code, out = _run(
        "add", "--db", url, "--id", "new-pledge", "--title", "A new pledge",
        "--pledge", "Open ten new crisis houses in the north.", "--source-url",
        "https://www.gov.uk/x", "--body", "DHSC", "--funding", "capital=£12m",
        "--deadline", "open=2026/27", "--page", "https://www.gov.uk/y",
    )  # fmt: skip
    assert code == 0, out
    shown = json.loads(_run("show", "new-pledge", "--db", url, "--json")[1])
    assert shown["figures"][0]["amount_gbp"] == 12e6 and shown["figures"][1]["end"] == "2027-03-31"
    code, out = _run("add", "--db", url, "--id", "new-pledge", "--title", "A new pledge",
                     "--pledge", "Again and again.", "--source-url", "https://www.gov.uk/x")  # fmt: skip
    assert code != 0 and "already exists" in out
    assert "missing --title" in _run("add", "--db", url, "--id", "x")[1]


def test_cli_import_rejects_bad_file_with_location(cdb: Database, tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(GOOD.replace("kind: funding", "kind: money"))
    code, out = _run("import", str(bad), "--db", cdb.url)
    assert code != 0
    assert "bad.yaml:7" in out and "figures.0.kind" in out
    assert _run("import", str(tmp_path / "missing.yaml"), "--db", cdb.url)[0] != 0
    assert json.loads(_run("list", "--db", cdb.url, "--json")[1]) == []


def test_cli_seed_and_confirm_needs_evidence(cdb: Database) -> None:
    assert "loaded 38" in _run("seed", "--db", cdb.url)[1]
    assert "nothing done" in _run("seed", "--db", cdb.url)[1]
    code, out = _run("confirm", "nhse-111-mental-health", "achieved", "--db", cdb.url)
    assert code != 0 and "needs evidence" in out
    code, out = _run("deadlines", "--db", cdb.url, "--today", "2024-03-20")
    assert code == 0 and "deadline_approaching: nhse-111-mental-health universal-111" in out


def test_migration_matches_models(cdb: Database) -> None:
    """The hand-written 0002 migration creates exactly what the commitment models declare."""
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext

    from monitor.db import Base

    mine = {"commitment", "commitment_page", "commitment_figure", "commitment_figure_history",
            "commitment_evidence", "commitment_status_change"}  # fmt: skip
    assert mine <= set(inspect(cdb.engine).get_table_names())
    with cdb.engine.connect() as conn:
        diffs = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    ours = [d for d in diffs if any(name in repr(d) for name in mine)]
    assert ours == []
