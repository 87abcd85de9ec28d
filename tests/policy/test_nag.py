"""cdk-nag (AWS Solutions + NIST 800-53 rev 5) on the whole reference app: zero unacknowledged findings."""

from __future__ import annotations

from tests.harness import SynthesizedPlatform


def test_no_unacknowledged_findings(platform: SynthesizedPlatform) -> None:
    findings = "\n".join(f"  {f}" for f in platform.findings)
    assert not platform.findings, f"{len(platform.findings)} unacknowledged cdk-nag finding(s):\n{findings}"
    assert platform.synth_error is None, platform.synth_error


def test_every_stack_synthesized(platform: SynthesizedPlatform) -> None:
    assert "Foundation" in platform.templates
    assert all(t.get("Resources") for t in platform.templates.values())
