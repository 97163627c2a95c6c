"""Registries of source normalisers and noise-removal steps, keyed by a short name.

A *source* turns raw bytes into a :class:`Document` (main content as blocks); a *step* is a
pure ``Document -> Document`` function that removes one kind of churn. Each source names the
steps it runs by default; callers may pass their own list per monitored source.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from monitor.document import Document

SourceFn = Callable[[bytes, str], Document]
StepFn = Callable[[Document], Document]


@dataclass(frozen=True)
class Source:
    """A registered source normaliser and its default noise steps."""

    name: str
    fn: SourceFn
    steps: tuple[str, ...]
    doc: str


SOURCES: dict[str, Source] = {}
STEPS: dict[str, StepFn] = {}


def source(name: str, steps: tuple[str, ...]) -> Callable[[SourceFn], SourceFn]:
    """Register ``fn(body, url) -> Document`` as the source normaliser ``name``."""

    def register(fn: SourceFn) -> SourceFn:
        SOURCES[name] = Source(name, fn, steps, (fn.__doc__ or "").strip().split("\n")[0])
        return fn

    return register


def step(name: str) -> Callable[[StepFn], StepFn]:
    """Register a pure ``Document -> Document`` noise step under ``name``."""

    def register(fn: StepFn) -> StepFn:
        STEPS[name] = fn
        return fn

    return register


def run_steps(doc: Document, names: tuple[str, ...] | list[str]) -> Document:
    """Apply the named steps in order; an unknown name is a configuration error."""
    for name in names:
        try:
            fn = STEPS[name]
        except KeyError:
            raise ValueError(f"unknown normalise step {name!r}; known: {sorted(STEPS)}") from None
        doc = fn(doc)
    return doc


def features() -> dict[str, str]:
    """One line of help per registered source and step, for ``--features``-style listings."""
    out = {f"source:{s.name}": s.doc for s in SOURCES.values()}
    out.update({f"step:{n}": (fn.__doc__ or "").strip().split("\n")[0] for n, fn in STEPS.items()})
    return out
