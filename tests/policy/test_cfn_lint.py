"""cfn-lint over every synthesized template: zero errors; each ignored warning listed with its reason.

Linting is the slow part of the policy tests, and most templates do not change between two runs, so a
template that linted clean is remembered by a digest of (cfn-lint version, ignored rules, regions,
template) under ``~/.cache/meshworks/cfn-lint`` (``$XDG_CACHE_HOME``): the same linter on the same
template gives the same result, so coverage stays whole. ``MESHWORKS_LINT_CACHE=0`` lints everything.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

from cfnlint.api import ManualArgs, lint
from cfnlint.version import __version__ as CFN_LINT_VERSION

from tests.harness import SynthesizedPlatform

#: Warnings (never errors) that are ignored, each with the reason.
IGNORED_RULES: dict[str, str] = {
    "W3005": "CDK emits explicit DependsOn next to implicit Ref dependencies for ordering; harmless.",
    "W3010": "Environment-specific stacks pin their AZs from the config (offline, deterministic synth; "
    "network.availability_zones overrides them).",
}


REGIONS = ["eu-west-1"]
CACHE = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "meshworks" / "cfn-lint"


def _lint(template: dict) -> list:
    return lint(json.dumps(template), config=ManualArgs(ignore_checks=list(IGNORED_RULES), regions=REGIONS))


def _clean_marker(template: dict) -> Path | None:
    """Where a clean result of this exact template and linter set-up is remembered (None: no cache)."""
    if os.environ.get("MESHWORKS_LINT_CACHE") == "0":
        return None
    payload = json.dumps([CFN_LINT_VERSION, sorted(IGNORED_RULES), REGIONS, template], sort_keys=True)
    return CACHE / hashlib.sha256(payload.encode()).hexdigest()


def lint_all(templates: dict[str, dict]) -> tuple[list[str], int]:
    """cfn-lint findings of ``templates`` (name -> template), and how many were linted (not cached)."""
    problems, linted = [], 0
    for name, template in templates.items():
        marker = _clean_marker(template)
        if marker is not None and marker.exists():
            continue
        linted += 1
        found = [f"{name}: {m.rule.id} {m.message} ({'/'.join(map(str, m.path))})" for m in _lint(template)]
        problems += found
        if marker is not None and not found:
            try:
                marker.parent.mkdir(parents=True, exist_ok=True)
                marker.touch()
            except OSError:  # a read-only home: lint every time
                pass
    return problems, linted


def test_cfn_lint_clean(platform: SynthesizedPlatform) -> None:
    problems, _ = lint_all(platform.templates)
    assert not problems, "cfn-lint findings:\n" + "\n".join(problems)


def test_lint_cache_remembers_only_clean_templates(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr(f"{__name__}.CACHE", tmp_path)
    monkeypatch.delenv("MESHWORKS_LINT_CACHE", raising=False)
    good = {"Resources": {"Q": {"Type": "AWS::SQS::Queue"}}}
    bad = {"Resources": {"B": {"Type": "AWS::S3::Bucket", "Properties": {"BucketNam": "x"}}}}
    assert lint_all({"good": good}) == ([], 1)
    assert lint_all({"good": good}) == ([], 0)  # remembered
    problems, linted = lint_all({"bad": bad})
    assert linted == 1 and problems and problems[0].startswith("bad: E")
    assert not _clean_marker(bad).exists()  # a finding is never remembered: linted again next time
    assert _clean_marker(good).exists()
    monkeypatch.setenv("MESHWORKS_LINT_CACHE", "0")
    assert _clean_marker(good) is None  # everything is linted


def test_lint_catches_a_bad_property() -> None:
    """The linter is really wired: a misspelt L1 property is an error."""
    template = {"Resources": {"B": {"Type": "AWS::S3::Bucket", "Properties": {"BucketNam": "x"}}}}
    assert any(m.rule.id.startswith("E") for m in _lint(template))
