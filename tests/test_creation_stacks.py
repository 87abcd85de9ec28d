"""The platform's stacks record no creation stacks: in a Python app they are jsii's own frames (issue 15)."""

from __future__ import annotations

import json

import pytest
from aws_cdk import App, Stack
from aws_cdk import aws_sqs as sqs

from meshworks.stacks.creation_stacks import skip_creation_stack_traces
from tests.harness import SynthesizedPlatform


def _creation_stacks(platform: SynthesizedPlatform) -> dict[str, int]:
    """Artifact id -> ``aws:cdk:creationStack`` entries in its ``*.metadata.json`` (what cdk synth writes)."""
    manifest = json.loads((platform.outdir / "manifest.json").read_text())
    counts = {}
    for artifact_id, artifact in manifest["artifacts"].items():
        if artifact["type"] != "aws:cloudformation:stack":
            continue
        metadata = artifact.get("metadata", {})
        if "additionalMetadataFile" in artifact:
            metadata = json.loads((platform.outdir / artifact["additionalMetadataFile"]).read_text())
        counts[artifact_id] = sum(
            entry["type"] == "aws:cdk:creationStack" for entries in metadata.values() for entry in entries
        )
    return counts


def test_the_reference_apps_stacks_record_only_their_own_creation_stack(platform: SynthesizedPlatform) -> None:
    counts = _creation_stacks(platform)
    assert counts, "no stack artifacts read"
    # each stack's own entry is recorded before its constructor can set the context; nothing below it is
    assert {artifact_id: n for artifact_id, n in counts.items() if n > 1} == {}


def test_skipping_creation_stacks_leaves_the_template_as_it_was() -> None:
    def template(skip: bool) -> str:
        app = App(builtin_cloud_formation_validation=False)
        stack = Stack(app, "S")
        if skip:
            skip_creation_stack_traces(stack)
        sqs.Queue(stack, "Queue", enforce_ssl=True)
        return json.dumps(app.synth().get_stack_by_name("S").template, sort_keys=True)

    assert template(skip=True) == template(skip=False)


def test_it_must_come_before_the_stacks_first_child() -> None:
    stack = Stack(App(builtin_cloud_formation_validation=False), "S")
    from aws_cdk import aws_sqs as sqs

    sqs.Queue(stack, "Queue")
    with pytest.raises(RuntimeError, match="children"):
        skip_creation_stack_traces(stack)
