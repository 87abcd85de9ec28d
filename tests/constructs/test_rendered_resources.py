"""``RenderedResourcesSynthesizer`` and the CDK facts it mirrors (logical ids, template text, asset hash)."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
from aws_cdk import App, CfnResource, Environment, Stack, Token
from constructs import Construct

from meshworks.constructs.core.rendered_resources import (
    RenderedResourcesSynthesizer,
    is_literal,
    js_truthy,
    logical_id,
)

ENV = Environment(account="111111111111", region="eu-west-1")

PATHS = [
    ["Queue"],
    ["Queue", "Resource"],
    ["Queue", "Default"],
    ["Default", "Queue"],
    ["Orders", "OrdersTable"],
    ["OrdersTable", "Table"],  # the previous id ends with "Table": dropped from the readable part
    ["Products", "sales-orders_v2", "LfTag-meshworks:consumer:700000000001"],
    ["Ünïcode-ÄÖ", "Ressource", "x"],
    ["L" * 300],
    ["a" * 200, "b" * 100, "Resource"],
    ["Resource"],
]


@pytest.mark.parametrize("path", PATHS, ids=lambda p: "/".join(x[:20] for x in p))
def test_logical_ids_are_the_cdks(path: list[str]) -> None:
    app = App()
    stack = Stack(app, "Stack")
    scope: Construct = stack
    for component in path[:-1]:
        scope = Construct(scope, component)
    resource = CfnResource(scope, path[-1], type="AWS::SQS::Queue")
    assert logical_id(path) == stack.resolve(resource.logical_id)


def test_literals_and_tokens_are_told_apart_without_jsii() -> None:
    app = App()
    stack = Stack(app, "Stack")
    assert is_literal(["111111111111", {"a": [1, True, None]}, "arn:aws:iam::111111111111:role/x"])
    assert not is_literal(stack.account)
    assert not is_literal([f"arn:aws:iam::{stack.account}:role/x"])
    assert not is_literal(Token.as_list(stack.account))
    assert not is_literal(Token.as_number(stack.account))
    assert not is_literal(object())
    assert [js_truthy(v) for v in (True, "true", "false", "yes", 1)] == [True] * 5
    assert [js_truthy(v) for v in (None, False, 0, "", 0.0, float("nan"))] == [False] * 6


def synth(rendered: dict | None, tmp_path: Path, *, own: str | None = "Queue") -> tuple[dict, str, dict]:
    app = App(outdir=str(tmp_path), builtin_cloud_formation_validation=False)
    synthesizer = RenderedResourcesSynthesizer()
    stack = Stack(app, "Rendered", env=ENV, synthesizer=synthesizer, description="rendered resources")
    if rendered is not None:
        synthesizer.add_resources(rendered)
    if own:
        CfnResource(stack, own, type="AWS::SQS::Queue")
    app.synth()
    text = (tmp_path / "Rendered.template.json").read_text(encoding="utf-8")
    return json.loads(text), text, json.loads((tmp_path / "Rendered.assets.json").read_text())


def test_rendered_resources_come_first_and_the_asset_is_the_written_text(tmp_path: Path) -> None:
    tag = {"Type": "AWS::LakeFormation::Tag", "Properties": {"TagKey": "tier", "TagValues": ["gold", "é"]}}
    template, text, assets = synth(lambda: {"Tier": tag}, tmp_path)  # a function: rendered at synthesis
    assert list(template) == ["Description", "Resources", "Parameters", "Rules"]
    assert list(template["Resources"]) == ["Tier", "Queue"]
    assert '"é"' in text and text.startswith('{\n "Description"')  # as JSON.stringify(t, undefined, 1) writes it
    assert hashlib.sha256(text.encode("utf-8")).hexdigest() in assets["files"]


def test_without_rendered_resources_the_template_is_the_cdks(tmp_path: Path) -> None:
    _, text, assets = synth(None, tmp_path / "a")
    app = App(outdir=str(tmp_path / "b"), builtin_cloud_formation_validation=False)
    stack = Stack(app, "Rendered", env=ENV, description="rendered resources")
    CfnResource(stack, "Queue", type="AWS::SQS::Queue")
    app.synth()
    assert (tmp_path / "b" / "Rendered.template.json").read_text(encoding="utf-8") == text
    assert json.loads((tmp_path / "b" / "Rendered.assets.json").read_text())["files"].keys() == assets["files"].keys()


def test_a_rendered_logical_id_used_by_a_construct_is_refused(tmp_path: Path) -> None:
    with pytest.raises(RuntimeError, match="rendered resources reuse the logical ids of the stack's constructs: Queue"):
        synth({"Queue": {"Type": "AWS::SQS::Queue"}}, tmp_path)


def test_the_stack_resource_limit_counts_rendered_resources(tmp_path: Path) -> None:
    queues = {f"Q{i}": {"Type": "AWS::SQS::Queue"} for i in range(500)}
    with pytest.raises(RuntimeError, match=r"Number of resources in stack 'Rendered': 501 is greater than allowed maximum of 500 \(500 rendered\)"):
        synth(queues, tmp_path / "over")
    template, _, _ = synth(dict(list(queues.items())[:499]), tmp_path / "at")
    assert len(template["Resources"]) == 500
    metadata = json.loads((tmp_path / "at" / "Rendered.metadata.json").read_text())
    notes = [m["data"] for m in metadata["/Rendered"] if m["type"] == "aws:cdk:info"]
    assert notes == ["Number of resources: 500 is approaching allowed maximum of 500"]  # the CDK's note, as constructs get


def test_a_logical_id_rendered_twice_is_refused_not_overwritten(tmp_path: Path) -> None:
    """Two resources under one logical id: the CDK refuses it for constructs; the first was silently lost."""
    queue = {"Type": "AWS::SQS::Queue"}
    app = App(outdir=str(tmp_path), builtin_cloud_formation_validation=False)
    synthesizer = RenderedResourcesSynthesizer()
    Stack(app, "Rendered", env=ENV, synthesizer=synthesizer)
    synthesizer.add_resources({"First": queue, "Twice": queue})
    synthesizer.add_resources(lambda: {"Twice": {"Type": "AWS::SNS::Topic"}})
    with pytest.raises(RuntimeError, match="rendered resources added twice under the same logical ids: Twice;"):
        app.synth()


def test_a_rendered_template_near_the_size_limit_gets_the_cdks_warning(tmp_path: Path) -> None:
    """aws-cdk-lib warns past 80 % of CloudFormation's 1 MB on the text it writes; rendered resources came after."""
    from aws_cdk.assertions import Annotations, Match

    app = App(outdir=str(tmp_path), builtin_cloud_formation_validation=False)
    synthesizer = RenderedResourcesSynthesizer()
    stack = Stack(app, "Rendered", env=ENV, synthesizer=synthesizer, suppress_template_indentation=True)
    synthesizer.add_resources({"Big": {"Type": "AWS::SSM::Parameter", "Properties": {"Value": "é" * 850_000}}})
    app.synth()
    text = (tmp_path / "Rendered.template.json").read_text(encoding="utf-8")
    assert "\n" not in text and text.startswith('{"Resources":{"Big":')  # not indented, as the stack asks
    Annotations.from_stack(stack).has_warning(
        "/Rendered", Match.string_like_regexp(r"Template size is approaching limit: 85\d{4}/1000000")
    )
