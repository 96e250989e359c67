"""The documents a newcomer follows stay in step with the code."""

from __future__ import annotations

import re
from pathlib import Path

from yibao.policy.catalog import CATALOGUE

ROOT = Path(__file__).resolve().parents[1]


def test_policy_format_lists_every_catalogue_key() -> None:
    """docs/policy-format.md §2 must name every key of the closed catalogue, and no other."""
    text = (ROOT / "docs" / "policy-format.md").read_text(encoding="utf-8")
    listed = {k for k in re.findall(r"^\| `([a-z_.]+)` \|", text, flags=re.MULTILINE) if "." in k}
    assert set(CATALOGUE) - listed == set()
    assert listed - set(CATALOGUE) == set()


def test_readme_opens_with_the_two_setup_commands() -> None:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    block = text.split("```")[1]
    lines = [ln.split("#")[0].strip() for ln in block.strip().splitlines()]
    assert lines[:2] == ["make run", "make test"]
    assert "make test" in (ROOT / ".ci" / "run").read_text(encoding="utf-8")


def test_security_map_names_only_tests_that_exist() -> None:
    """docs/security.md maps each requirement to the test that shows it: every test file and test
    function it names must exist (a renamed test would otherwise leave the map pointing nowhere)."""
    text = (ROOT / "docs" / "security.md").read_text(encoding="utf-8")
    files = set(re.findall(r"`(tests/[\w/]+\.py)", text))
    names = set(re.findall(r"(?:`|::)(test_\w+)`", text)) | set(re.findall(r"::(test_\w+)", text))
    assert len(files) >= 15 and len(names) >= 20
    assert [f for f in files if not (ROOT / f).is_file()] == []
    defined = {m for p in (ROOT / "tests").rglob("test_*.py")
               for m in re.findall(r"^def (test_\w+)", p.read_text(encoding="utf-8"), flags=re.MULTILINE)}
    assert sorted(names - defined) == []
