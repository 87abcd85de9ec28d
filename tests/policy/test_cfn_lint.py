"""cfn-lint over every synthesized template: zero errors; each ignored warning listed with its reason."""

from __future__ import annotations

import json

from cfnlint.api import ManualArgs, lint

from tests.harness import SynthesizedPlatform

#: Warnings (never errors) that are ignored, each with the reason.
IGNORED_RULES: dict[str, str] = {
    "W3005": "CDK emits explicit DependsOn next to implicit Ref dependencies for ordering; harmless.",
    "W3010": "Environment-specific stacks pin their AZs from the config (offline, deterministic synth; "
    "network.availability_zones overrides them).",
}


def _lint(template: dict) -> list:
    return lint(json.dumps(template), config=ManualArgs(ignore_checks=list(IGNORED_RULES), regions=["eu-west-1"]))


def test_cfn_lint_clean(platform: SynthesizedPlatform) -> None:
    problems = []
    for name, template in platform.templates.items():
        for match in _lint(template):
            problems.append(f"{name}: {match.rule.id} {match.message} ({'/'.join(map(str, match.path))})")
    assert not problems, "cfn-lint findings:\n" + "\n".join(problems)


def test_lint_catches_a_bad_property() -> None:
    """The linter is really wired: a misspelt L1 property is an error."""
    template = {"Resources": {"B": {"Type": "AWS::S3::Bucket", "Properties": {"BucketNam": "x"}}}}
    assert any(m.rule.id.startswith("E") for m in _lint(template))
