"""Figures quoted in the docs agree with what the benchmarks recorded and what the reference app builds (issue 16).

``benchmarks/RESULTS.md`` holds the recorded output of the benchmark scripts (tables). Prose there and in
``docs/`` quotes those figures; a quote that matches no recorded row (e.g. "307 resources / 406 kB", which
took the resource count of the named-resource row and the size of the LF-tag row) fails here. Counts the
docs give of the reference app itself are checked against the session's synthesis.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.harness import SynthesizedPlatform

ROOT = Path(__file__).resolve().parent.parent
RESULTS = (ROOT / "benchmarks" / "RESULTS.md").read_text()
PROSE = {p: (ROOT / p).read_text() for p in ("benchmarks/RESULTS.md", "README.md", *(f"docs/{d.name}" for d in (ROOT / "docs").glob("*.md")))}


def _rows(products: str) -> list[list[str]]:
    """Cells of the recorded mesh-scale table rows of ``products`` (e.g. ``"5,000"``)."""
    return [
        [cell.strip() for cell in line.strip("|").split("|")]
        for line in RESULTS.splitlines()
        if line.startswith(f"| {products} |")
    ]


def _prose(text: str) -> str:
    """``text`` without its table rows (the recorded results themselves), lines joined."""
    return " ".join(line for line in text.splitlines() if not line.lstrip().startswith("|"))


def _quotes(pattern: str) -> list[tuple[str, re.Match[str]]]:
    return [(page, match) for page, text in PROSE.items() for match in re.finditer(pattern, _prose(text))]


LARGEST = r"(?<!budget )\b(?P<resources>\d+) resources(?:,| /) (?P<kb>\d+) kB(?: in (?P<mode>LF-tag|named-resource) mode)?"
PER_PRODUCT = r"\((?P<lf>\d\.\d\d) vs (?P<named>\d\.\d\d) (?:resources )?per product at (?P<products>[\d,]+)"


def test_quotes_are_found() -> None:
    assert _quotes(LARGEST) and _quotes(PER_PRODUCT)


@pytest.mark.parametrize(("page", "match"), _quotes(LARGEST), ids=lambda v: v if isinstance(v, str) else v.group(0))
def test_largest_shard_quotes_match_one_recorded_row(page: str, match: re.Match[str]) -> None:
    mode = {"LF-tag": "lf_tags", "named-resource": "named_resources", None: ""}[match["mode"]]
    rows = [row for row in _rows("5,000") if not mode or mode in row]
    assert any(
        any("/" in cell and cell.split("/")[-1].strip() == match["resources"] for cell in row) and f"{match['kb']} kB" in row for row in rows
    ), f"{page}: '{match.group(0)}' matches no recorded 5,000-product {mode or 'mesh'} row: {rows}"


@pytest.mark.parametrize(("page", "match"), _quotes(PER_PRODUCT), ids=lambda v: v if isinstance(v, str) else v.group(0))
def test_per_product_costs_quoted_are_recorded(page: str, match: re.Match[str]) -> None:
    rows = _rows(match["products"])
    lf = [row for row in rows if "lf_tags" in row]
    named = [row for row in rows if "named_resources" in row]
    assert lf and any(match["lf"] == row[-1] for row in lf), f"{page}: {match.group(0)} vs {lf}"
    assert named and any(match["named"] == row[-1] for row in named), f"{page}: {match.group(0)} vs {named}"


def test_the_reference_hub_size_quoted_is_the_built_one(platform: SynthesizedPlatform) -> None:
    match = re.search(r"reference hub stack has about (\d+) resources", PROSE["docs/mesh.md"].replace("\n", " "))
    assert match, "docs/mesh.md no longer quotes the hub's size: drop this test with it"
    built = len(platform.templates["MeshHub"]["Resources"])
    assert abs(built - int(match[1])) <= 3, f"docs/mesh.md says about {match[1]}, the reference MeshHub has {built}"
