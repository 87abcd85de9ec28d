"""Small apps for change-classification tests: synthesize a variant, classify it against a baseline."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from aws_cdk import App

from meshworks.constructs.mesh.contract import DataProductContract
from meshworks.constructs.mesh.data_product_catalog import plan_shards
from meshworks.stacks.change_plan import Assembly, ResourceChange, StackPlan, compare_assemblies, read_assembly
from meshworks.stacks.config import config_from_context
from meshworks.stacks.data_product_stack import DataProductStack
from meshworks.stacks.platform import build_platform

ROOT = Path(__file__).resolve().parents[2]
HUB = "111111111111"


def shipped_context() -> dict[str, Any]:
    """The ``meshworks`` object of the shipped cdk.json (a fresh copy to edit)."""
    return copy.deepcopy(json.loads((ROOT / "cdk.json").read_text())["context"]["meshworks"])


def _synth(app: App) -> Assembly:
    return read_assembly(Path(app.synth().directory))


def platform_assembly(
    meshworks: dict[str, Any],
    *,
    mesh: bool = False,
    spark: bool = False,
    monitoring: bool = False,
    orchestration: bool = False,
    features: bool = False,
    ingestion: bool = False,
) -> Assembly:
    """The reference app's stacks for a ``meshworks`` context object, reduced to the parts asked for."""
    data = copy.deepcopy(meshworks)
    data.setdefault("mesh", {})["enabled"] = mesh
    data.setdefault("spark", {})["enabled"] = spark
    data.setdefault("monitoring", {})["enabled"] = monitoring
    data.setdefault("orchestration", {})["enabled"] = orchestration
    data.setdefault("feature_store", {})["enabled"] = features
    data.setdefault("ingestion", {})["enabled"] = ingestion
    flags = {k: v for k, v in json.loads((ROOT / "cdk.json").read_text())["context"].items() if k != "meshworks"}
    app = App(context={**flags, "meshworks": data}, builtin_cloud_formation_validation=False)
    build_platform(app, config_from_context({"meshworks": data}), policy_checks=False)
    return _synth(app)


def mesh_assembly(contracts: Sequence[DataProductContract], **plan_kwargs: Any) -> Assembly:
    """The data-product shard stacks of ``contracts`` (what ``build_mesh`` makes, without the hub)."""
    app = App(builtin_cloud_formation_validation=False)
    for plan in plan_shards(contracts, **plan_kwargs):
        DataProductStack(
            app, plan.stack_id, stack_name=f"acme-{plan.stack_suffix}", plan=plan, catalog_id=HUB,
            data_access_role_arn=f"arn:aws:iam::{HUB}:role/acme-lf-data-access",
            sharing_mode=plan_kwargs.get("sharing_mode", "lf_tags"), env={"account": HUB, "region": "eu-west-1"},
            allowed_consumer_accounts=sorted({a for c in contracts for a in c.consumers}),
        )  # fmt: skip
    return _synth(app)


def changes(base: Assembly, head: Assembly) -> list[ResourceChange]:
    """Every resource change from ``base`` to ``head``."""
    return [change for plan in compare_assemblies(base, head) for change in plan.changes]


def summary(base: Assembly, head: Assembly) -> dict[str, list[tuple[str, str]]]:
    """action -> sorted (type, reasons) of the changes; what the typical-change tests compare."""
    result: dict[str, list[tuple[str, str]]] = {}
    for change in changes(base, head):
        result.setdefault(change.action, []).append((change.resource_type, ",".join(change.reasons)))
    return {action: sorted(items) for action, items in result.items()}


def stack_plans(base: Assembly, head: Assembly) -> list[StackPlan]:
    return compare_assemblies(base, head)


Edit = Callable[[dict[str, Any]], None]
