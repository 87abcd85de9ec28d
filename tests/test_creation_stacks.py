"""The platform's stacks record no creation stacks: in a Python app they are jsii's own frames (issue 15)."""

from __future__ import annotations

import ast
import json
from pathlib import Path

from aws_cdk import App, Stack
from aws_cdk import aws_sqs as sqs

from meshworks.stacks.config import config_from_context
from meshworks.stacks.creation_stacks import skip_creation_stack_traces
from meshworks.stacks.deploy_roles_stack import DeployRolesStack
from tests.harness import ROOT, SynthesizedPlatform


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


def test_the_opt_in_deploy_roles_stack_records_only_its_own(tmp_path: Path) -> None:
    context = json.loads((ROOT / "cdk.json").read_text())["context"]
    config = config_from_context(
        {**context, "meshworks.deploy_roles.enabled": "true", "meshworks.deploy_roles.repository": "acme/data"}
    )
    app = App(outdir=str(tmp_path), builtin_cloud_formation_validation=False)
    stack = DeployRolesStack(app, "DeployRoles", config=config)
    recorded = [
        child.node.path
        for child in stack.node.find_all()
        if any(entry.type == "aws:cdk:creationStack" for entry in child.node.metadata)
    ]
    assert recorded == [stack.node.path]


def test_every_stack_class_skips_them_first() -> None:
    """A new stack class in stacks/ calls skip_creation_stack_traces(self) right after Stack.__init__ (the
    reference app's stacks are checked on the synthesized assembly above; this covers the opt-in ones too)."""
    missing = []
    for path in sorted((ROOT / "stacks").glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            bases = [getattr(base, "id", None) or getattr(base, "attr", None) for base in getattr(node, "bases", ())]
            if not (isinstance(node, ast.ClassDef) and "Stack" in bases):  # Stack, aws_cdk.Stack, cdk.Stack
                continue
            (init,) = [f for f in node.body if isinstance(f, ast.FunctionDef) and f.name == "__init__"]
            calls = [ast.unparse(statement) for statement in init.body if isinstance(statement, ast.Expr)]
            super_call = next(i for i, c in enumerate(calls) if c.startswith("super().__init__("))
            if calls[super_call + 1 : super_call + 2] != ["skip_creation_stack_traces(self)"]:
                missing.append(f"{path.name}: {node.name}")
    assert missing == []
