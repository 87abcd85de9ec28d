"""One real plan of the shipped app: HEAD exported and synthesized as ``meshworks plan --base HEAD``
does, the working tree taken from the session synthesis (tests/harness.py), so the suite pays for one
extra synth only."""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

import pytest

from meshworks.stacks import change_plan
from tests.harness import ROOT, SynthesizedPlatform


def _git(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True, check=False)


def test_plan_of_the_reference_app_against_head(platform: SynthesizedPlatform, tmp_path: Path) -> None:
    if _git("rev-parse", "--verify", "HEAD").returncode != 0:
        pytest.skip("not a git checkout with a HEAD commit")
    started = time.monotonic()
    change_plan.export_revision(ROOT, "HEAD", tmp_path / "base")
    # the session synthesis has no construct-path metadata: synthesize HEAD the same way
    base = change_plan.synthesize_revision(tmp_path / "base", tmp_path / "base.out", path_metadata=False)
    head = change_plan.read_assembly(platform.outdir)
    assert set(base.templates) == set(head.templates) or _dirty()
    plans = change_plan.compare_assemblies(base, head)
    report = change_plan.render_markdown(plans, title="meshworks plan: `HEAD` -> working tree")
    print(f"plan of the reference app: {time.monotonic() - started:.1f} s\n{report}")  # shown with -s
    assert report.startswith("## meshworks plan: `HEAD` -> working tree")
    if not _dirty():  # a clean tree synthesizes to HEAD's templates: nothing to deploy, nothing blocks
        assert plans == [] and "No resource changes." in report, report


def _dirty() -> bool:
    relevant = ["app.py", "cdk.json", "constructs", "stacks", "lambdas", "contracts"]
    return _git("status", "--porcelain", "--", *relevant).stdout.strip() != ""
