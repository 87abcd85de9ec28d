"""Upgrading a deployed mesh from one LF-tag association per product (before commit c679be6) to one per key.

Without care the upgrade itself strips the tables' LF-tags: CloudFormation creates the per-key
associations, then deletes the old one, whose delete handler removes all of its tags from the table.
Step 1 (``@meshworks/retainLegacyTagAssociation=true``) keeps the old association unchanged but
Retain; step 2 (flag off) removes it from the stack without deleting it.
"""

from __future__ import annotations

import importlib.util
import subprocess
import sys

import pytest
from aws_cdk import App, Stack

from meshworks.constructs.mesh.data_product import RETAIN_LEGACY_TAG_ASSOCIATION, DataProduct
from meshworks.stacks.change_plan import compare_templates
from tests.harness import ROOT
from tests.mesh.mesh_fixtures import ENV, HUB, make_contract

BEFORE = "22db95a"  # the last commit with one association per product


@pytest.fixture(scope="module")
def legacy_data_product(tmp_path_factory: pytest.TempPathFactory):
    shown = subprocess.run(["git", "show", f"{BEFORE}:constructs/mesh/data_product.py"], cwd=ROOT,
                           capture_output=True, text=True, check=False)  # fmt: skip
    if shown.returncode != 0:
        pytest.skip(f"commit {BEFORE} is not in this checkout")
    path = tmp_path_factory.mktemp("legacy") / "legacy_data_product.py"
    path.write_text(shown.stdout)
    spec = importlib.util.spec_from_file_location("legacy_data_product", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules["legacy_data_product"] = module
    spec.loader.exec_module(module)
    return module.DataProduct


def synth(product_class, context: dict | None = None) -> dict:
    app = App(context=context or {}, builtin_cloud_formation_validation=False)
    stack = Stack(app, "Products", env=ENV)
    contract = make_contract(consumers=["222233334444", "333344445555"], tags={"tier": "gold"})
    allowed = {"allowed_consumer_accounts": contract.consumers} if product_class is DataProduct else {}
    product_class(stack, "sales-orders", contract=contract, catalog_id=HUB, data_access_role_arn=None, **allowed)
    return app.synth().get_stack_by_name("Products").template


def test_two_step_upgrade_never_deletes_the_old_association(legacy_data_product) -> None:
    before = synth(legacy_data_product)
    step1 = synth(DataProduct, {RETAIN_LEGACY_TAG_ASSOCIATION: True})
    step2 = synth(DataProduct)

    first = compare_templates("Products", before, step1)
    assert {c.action for c in first} == {"added", "modified"}  # per-key associations; the old one: Retain
    (legacy,) = [c for c in first if c.action == "modified"]
    assert legacy.properties == () and "LfTags" in legacy.logical_id  # only its DeletionPolicy changed

    second = compare_templates("Products", step1, step2)
    assert [(c.action, c.retained) for c in second] == [("removed", True)]

    direct = compare_templates("Products", before, step2)  # skipping step 1: the old one is deleted
    (deleted,) = [c for c in direct if c.action == "removed"]
    assert not deleted.retained and deleted.destructive
