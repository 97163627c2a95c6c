"""What a YAML document may expand to: long lists of its own values yes, alias bombs no."""

from __future__ import annotations

import pytest
import yaml

from monitor import yaml_limits
from monitor.yaml_limits import too_large


def test_a_config_listing_100000_pages_is_not_refused() -> None:
    lines = ["sources:", "  - name: govuk", "    kind: govuk", "    pages:"]
    lines += [f"      - url: https://www.gov.uk/guidance/page-{i}" for i in range(100_000)]
    assert too_large(yaml.compose("\n".join(lines))) is None


def test_repeated_aliases_are_refused() -> None:
    levels = ["a0: &a0 [x, x, x, x, x, x, x, x, x]"]
    levels += [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 9)}]" for i in range(1, 9)]
    problem = too_large(yaml.compose("\n".join(levels)))
    assert problem is not None and "aliases repeated" in problem


def test_any_document_has_a_ceiling(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(yaml_limits, "MAX_VALUES", 1_000)
    problem = too_large(yaml.compose("\n".join(f"- {i}" for i in range(2_000))))
    assert problem is not None and "more than 1,000 values" in problem
