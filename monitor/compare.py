"""``policy-monitor compare``: analyse two saved versions of a page, or a batch of pairs."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from functools import lru_cache, partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click
from rich.console import Console
from rich.markup import escape
from rich.text import Text

from monitor.change import Analysis, analyse
from monitor.document import Document
from monitor.normalise import normalise
from monitor.terminal import console as make_console
from monitor.terminal import hanging, print_trimmed, worker_ignores_interrupts

if TYPE_CHECKING:
    from monitor.commitment import CommitmentSpec
    from monitor.matching import Matcher

KIND_STYLE = {
    "funding": "bold green",
    "deadline": "bold yellow",
    "target": "cyan",
    "guidance": "magenta",
    "status": "blue",
    "withdrawn": "bold red",
    "text": "white",
}
BATCH_CHUNK = 64


def load(path: str, url: str = "") -> Any:
    """Read and normalise one saved version; the file extension picks the format."""
    return normalise(Path(path).read_bytes(), url=url, filename=path)


def compare_files(old: str, new: str, url: str = "") -> Analysis:
    return compare_paths(old, new, url)[0]


def compare_paths(old: str, new: str, url: str = "") -> tuple[Analysis, list[str]]:
    """The analysis, and which sides ("old", "new") were binary and so not compared."""
    docs = {"old": load(old, url), "new": load(new, url)}
    binary = [side for side, doc in docs.items() if doc.format == "binary"]
    if binary:
        return not_compared(docs, binary), binary
    return analyse(docs["old"], docs["new"]), []


def not_compared(docs: dict[str, Document], binary: list[str]) -> Analysis:
    """Binary content has no text to compare: no changes, and the reason why."""
    which = "both files are" if len(binary) == 2 else f"the {binary[0]} file is"
    ignored = [i for side in binary for i in docs[side].ignored]
    return Analysis(
        False, 0.0, f"not compared: {which} binary, not text", [], ignored, ["binary content"]
    )


def to_json(result: Analysis, binary: list[str]) -> dict[str, Any]:
    """The ``--json`` contract; ``binary`` (the sides not compared) only when there are any."""
    return result.to_json() | ({"binary": binary} if binary else {})


def registry(db_url: str | None) -> list[CommitmentSpec]:
    """The commitments to match against: the database's when it has any, else the shipped seed.

    Imported here, not at the top: plain ``compare`` never loads the database code.
    """
    from monitor.commitment import SEED_PATH, all_commitments, load_registry, to_spec

    if db_url:
        from monitor.db import Database, resolve_url, table_names

        url = resolve_url(db_url)
        path = url.removeprefix("sqlite:///")
        if url.startswith("sqlite:///") and path != ":memory:" and not os.path.exists(path):
            return load_registry(SEED_PATH)  # opening it would create an empty file
        db = Database(url, migrate=False)  # read only: never create or upgrade
        try:
            if "commitment" in table_names(db.engine):
                with db.session() as s:
                    specs = [to_spec(row) for row in all_commitments(s)]
                if specs:
                    return specs
        finally:
            db.dispose()
    return load_registry(SEED_PATH)


@lru_cache(maxsize=4)
def matcher(db_url: str | None) -> Matcher:
    """One matcher per registry and process (batch workers build their own once)."""
    from monitor.matching import Matcher

    return Matcher(registry(db_url))


def commitments_of(result: Analysis, url: str, db_url: str | None) -> list[dict[str, Any]]:
    """``{"id", "score", "reason", "change_index"}`` for each commitment a change touches."""
    m = matcher(db_url)
    return [
        {"id": hit.commitment_id, "score": hit.score, "reason": hit.reason, "change_index": i}
        for i, change in enumerate(result.changes)
        for hit in m.match(change, url or None)
    ]


def answer(
    result: Analysis, binary: list[str], url: str, commitments: bool, db_url: str | None
) -> dict[str, Any]:
    """The JSON answer for one comparison, with ``commitments`` when asked for."""
    out = to_json(result, binary)
    if commitments:
        out["commitments"] = commitments_of(result, url, db_url)
    return out


def _resolve(path: str, base: str) -> str:
    """A batch path as given, or relative to the batch file when it does not exist as given."""
    if os.path.isabs(path) or os.path.exists(path) or not base:
        return path
    candidate = os.path.join(base, path)
    return candidate if os.path.exists(candidate) else path


def _batch_one(
    line: bytes, base: str = "", commitments: bool = False, db_url: str | None = None
) -> str:
    """Process one JSONL batch line into one output line; errors stay on their line."""
    ident: Any = None
    try:
        item = json.loads(line)  # bytes: a line that is not UTF-8 is this line's error only
        if not isinstance(item, dict):
            raise ValueError("line is not a JSON object")
        ident = item.get("id")
        if not item.get("old") or not item.get("new"):
            raise ValueError("line needs 'old' and 'new' file paths")
        old, new = _resolve(str(item["old"]), base), _resolve(str(item["new"]), base)
        url = str(item.get("url") or "")
        result, binary = compare_paths(old, new, url)
        body = answer(result, binary, url, commitments, db_url)
        return json.dumps({"id": ident, **body}, ensure_ascii=False)
    except Exception as exc:  # one bad pair must not stop the batch
        return json.dumps(
            {"id": ident, "error": f"{type(exc).__name__}: {exc}"}, ensure_ascii=False
        )


def _batch_lines(path: str) -> Iterator[bytes]:
    with open(path, "rb") as fh:
        for line in fh:
            if line.strip():
                yield line


def run_batch(
    path: str, workers: int | None = None, commitments: bool = False, db_url: str | None = None
) -> Iterator[str]:
    """Yield one JSON line per input line, in input order, using a process pool."""
    lines = list(_batch_lines(path))
    base = os.path.dirname(os.path.abspath(path))
    one = partial(_batch_one, base=base, commitments=commitments, db_url=db_url)
    workers = workers or min(os.cpu_count() or 1, 8)
    if workers <= 1 or len(lines) < 2 * BATCH_CHUNK:
        yield from map(one, lines)
        return
    pool = ProcessPoolExecutor(max_workers=workers, initializer=worker_ignores_interrupts)
    try:
        yield from pool.map(one, lines, chunksize=BATCH_CHUNK)
    finally:  # a reader that went away (| head) must not wait for the whole batch
        pool.shutdown(wait=True, cancel_futures=True)


def print_report(
    result: Analysis, console: Console, commitments: list[dict[str, Any]] | None = None
) -> None:
    """Readable coloured report of one analysis (and the commitments it touches, if given);
    wrapped lines keep a hanging indent."""
    verdict = "[bold red]MEANINGFUL[/]" if result.meaningful else "[green]no meaningful change[/]"
    console.print(f"{verdict}  significance {result.significance:.2f}")
    console.print(Text(result.summary, style="bold"))
    grid = hanging(9)
    for c in result.changes:
        style = KIND_STYLE.get(c.kind, "white")
        where = f"[dim]({escape(c.section)})[/] " if c.section else ""
        grid.add_row(
            Text(c.kind, style=style),
            f"{where}[red]{escape(c.before or '-')}[/] -> [green]{escape(c.after or '-')}[/]",
        )
        grid.add_row("", Text(c.text[:300], style="dim"))
    for hit in commitments or []:
        grid.add_row(
            "",
            Text(
                f"commitment {hit['id']} ({hit['score']:.2f}, change {hit['change_index']}): "
                f"{hit['reason']}"
            ),
        )
    for reason in result.reasons:
        grid.add_row(Text("why:", style="dim"), Text(reason))
    for i in result.ignored:
        grid.add_row(
            Text("ignored:", style="dim"),
            Text(f"{i.reason}: {i.text[:120]}".rstrip(": "), style="dim"),
        )
    print_trimmed(console, grid)


@click.command("compare")
@click.argument("old_file", required=False, type=click.Path(dir_okay=False))
@click.argument("new_file", required=False, type=click.Path(dir_okay=False))
@click.option("--url", default="", help="Page URL, used to pick the site's normaliser.")
@click.option(
    "--batch", "batch", type=click.Path(dir_okay=False), help="JSONL of {id, old, new, url}."
)
@click.option("--json", "as_json", is_flag=True, help="Print machine-readable JSON.")
@click.option("--workers", type=int, default=None, help="Processes for --batch (default: CPUs).")
@click.option(
    "--commitments",
    "with_commitments",
    is_flag=True,
    help="Add the tracked commitments each change touches (the check cycle's matcher).",
)
@click.option(
    "--db",
    "db_url",
    default=None,
    help="Registry database for --commitments (default: the shipped seed registry).",
)
def compare_command(
    old_file: str | None,
    new_file: str | None,
    url: str,
    batch: str | None,
    as_json: bool,
    workers: int | None,
    with_commitments: bool,
    db_url: str | None,
) -> None:
    """Compare two saved versions of a page and report the changes that matter."""
    if batch:
        if not os.path.isfile(batch):
            raise click.BadParameter(f"batch file not found: {batch}", param_hint="--batch")
        out = sys.stdout
        for line in run_batch(batch, workers, with_commitments, db_url):
            out.write(line + "\n")
        out.flush()
        return
    if not old_file or not new_file:
        raise click.UsageError("give OLD_FILE and NEW_FILE, or --batch PAIRS.jsonl")
    for path in (old_file, new_file):
        if not os.path.isfile(path):
            raise click.BadParameter(f"file not found: {path}", param_hint="OLD_FILE/NEW_FILE")
    result, binary = compare_paths(old_file, new_file, url)
    body = answer(result, binary, url, with_commitments, db_url)
    if as_json:
        click.echo(json.dumps(body, ensure_ascii=False, indent=None))
    else:
        print_report(result, make_console(), body.get("commitments"))


if __name__ == "__main__":  # pragma: no cover
    compare_command()
