"""The CPU-heavy step of the chain as a pure function, so it can run in worker processes.

The main thread fetches and writes to the database; normalising and comparing bodies is
handed to :func:`compute` here, inline or in a process pool (two cores: both get used).
"""

from __future__ import annotations

import asyncio
import logging
import multiprocessing
import os
import signal
from concurrent.futures import Executor, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass

from monitor import settings
from monitor.body import compress, decompress, sha256
from monitor.change import Analysis, analyse
from monitor.diff import diff_documents, render_text
from monitor.document import Document
from monitor.errors import EmptyBody
from monitor.normalise import detect_format, normalise
from monitor.wire import decode

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class PageJob:
    """A new body to normalise and, when the page had a version before, compare with it."""

    url: str
    body: bytes
    content_type: str
    old_body_z: bytes | None = None  # compressed, as stored
    old_content_type: str = ""
    old_text_hash: str | None = None
    site: str = "generic"  # the source kind: govuk, nhse, nice or generic
    normaliser: str | None = None  # a registered normaliser named in the config
    encoding: str = ""  # the body's content coding, if it is still encoded (monitor.wire)
    max_size: int = 0  # the bound on the decoded body
    old_content_hash: str | None = None  # the old body's sha256: the same bytes need no work


@dataclass
class DocumentText(Document):
    """A normalised document's text and metadata, without its blocks.

    What needs the blocks (the analysis, the diff) is done in :func:`compute`; the rest of
    the chain reads only the text, the title and the metadata. Sending this back from a
    worker instead of the whole document spares pickling a few hundred small objects a page.
    """

    full_text: str = ""

    @property
    def text(self) -> str:
        return self.full_text


@dataclass
class PageWork:
    """What :func:`compute` found: the new document, and the analysis if the text changed."""

    doc: Document  # a DocumentText when computed here
    text_hash: str
    body_z: bytes = b""  # the new body compressed for storage, done here off the main thread
    analysis: Analysis | None = None
    diff: str = ""
    body_digest: str = ""  # the body's sha256 (for a first version, hashed only here)
    body_size: int = 0  # the decoded body's length
    same_bytes: bool = False  # the decoded body is the old one: nothing else was done


# A site's HTML pages are read with its own normaliser wherever they are served from.
SITE_HTML = {"govuk": "govuk-html", "nhse": "nhs-england-html", "nice": "nice-html"}


def normaliser_for(job: PageJob, body: bytes, content_type: str) -> str | None:
    """The configured normaliser, else the site's HTML one for HTML bodies, else auto."""
    if job.normaliser:
        return job.normaliser
    site_kind = SITE_HTML.get(job.site)
    if site_kind and detect_format(body, content_type) == "html":
        return site_kind
    return None


def _normalise(job: PageJob, body: bytes, content_type: str) -> Document:
    kind = normaliser_for(job, body, content_type)
    return normalise(body, url=job.url, content_type=content_type, kind=kind)


def compute(job: PageJob) -> PageWork:
    """Normalise the new body; if its text differs from the old version's, analyse both.

    A body still encoded is decoded first (``BodyRefused`` if it cannot be, ``EmptyBody`` if
    it is empty), and is not normalised at all if it turns out to be the old body again.
    """
    body = job.body
    if job.encoding:
        body = decode(body, job.encoding, job.max_size)
        if not body or body.isspace():
            raise EmptyBody("empty body")
    body_digest = sha256(body)
    if job.encoding and body_digest == job.old_content_hash:
        return PageWork(DocumentText(), "", body_digest=body_digest, body_size=len(body),
                        same_bytes=True)  # fmt: skip
    doc = _normalise(job, body, job.content_type)
    text = doc.text
    digest = sha256(text.encode("utf-8"))
    summary = DocumentText(meta=doc.meta, format=doc.format, source=doc.source, full_text=text)
    work = PageWork(summary, digest, compress(body), body_digest=body_digest, body_size=len(body))
    if job.old_body_z is None or job.old_text_hash == digest:
        return work
    old_doc = _normalise(job, decompress(job.old_body_z), job.old_content_type)
    if "binary" in (old_doc.format, doc.format):
        # Bytes that are not text have nothing to compare: every line "removed" would be a lie.
        ignored = [*old_doc.ignored, *doc.ignored] if doc.format == "binary" else old_doc.ignored
        work.analysis = Analysis(False, 0.0, "not compared: binary content", [], ignored,
                                 ["binary content"])  # fmt: skip
        return work
    work.analysis = analyse(old_doc, doc)
    if work.analysis.meaningful:
        work.diff = render_text(diff_documents(old_doc, doc))
    return work


def default_workers() -> int:
    return min(2, os.cpu_count() or 1)


def _ignore_signals() -> None:
    # Ctrl-C reaches the whole process group; only the parent decides how to stop.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)


def _ready() -> bool:
    return True


def make_pool(pages: int, workers: int | None = None) -> Executor | None:
    """A started process pool for a cycle of ``pages``, or None to work inline.

    Call it before the reactor starts: the workers are forked from a process that has no
    event loop or threads yet, and inherit every imported module, so they start at once.
    """
    n = default_workers() if workers is None else workers
    if (
        n <= 0
        or pages < settings.INLINE_BELOW
        or "fork" not in multiprocessing.get_all_start_methods()
    ):
        return None
    pool = ProcessPoolExecutor(
        max_workers=n, mp_context=multiprocessing.get_context("fork"), initializer=_ignore_signals
    )
    pool.submit(_ready).result()  # start the workers now, not inside the crawl
    return pool


async def run_job(pool: Executor | None, job: PageJob) -> PageWork:
    """Run :func:`compute` in the pool; inline if there is none or it has broken."""
    if pool is None:
        return compute(job)
    try:
        return await asyncio.get_running_loop().run_in_executor(pool, compute, job)
    except BrokenProcessPool:
        # A worker died (out of memory on a huge body, a crash in a C extension): the pool
        # is unusable from now on, but the cycle goes on with the work done here.
        log.warning("worker pool broken; analysing %s in the main process", job.url)
        return compute(job)
