"""No CDK deprecation warning comes from meshworks (issue 16).

jsii prints each deprecation warning once per process, so a check that reads stderr misses any warning an
earlier test already triggered. The session instead runs with ``JSII_DEPRECATED=fail`` (``tests/conftest.py``):
every use of a deprecated CDK API raises, so the session's synthesis of the reference app
(``tests/harness.py``) and every docstring / docs example (``tests/test_examples.py``) fail on one.
Before the fix, ``MeshHub`` with producer accounts used ``CfnEventBusPolicy`` (its deprecated ``principal``
prop warned) and the reference app called the deprecated ``Stack.add_dependency``.
"""

from __future__ import annotations

import os

import pytest
from aws_cdk import App, Environment, Stack
from aws_cdk import aws_events as events

from meshworks.constructs.mesh import MeshHub
from tests.harness import SynthesizedPlatform

ENV = Environment(account="111111111111", region="eu-west-1")


def test_the_session_fails_on_deprecated_apis() -> None:
    assert os.environ.get("JSII_DEPRECATED") == "fail"
    stack = Stack(App(), "S", env=ENV)
    with pytest.raises(Exception, match="deprecated"):  # noqa: PT011 - jsii's DeprecationError reaches Python as a RuntimeError
        events.CfnEventBusPolicy(stack, "Policy", statement_id="x", principal="222222222222", action="events:PutEvents")


def test_mesh_hub_with_producer_accounts_uses_no_deprecated_api() -> None:
    stack = Stack(App(), "Hub", env=ENV)
    hub = MeshHub(stack, "Hub", name_prefix="acme", producer_locations=["s3://acme-sales-curated/"])
    hub.add_domain("sales", producer_accounts=["444455556666"])
    App.of(stack).synth()


def test_the_reference_app_synthesizes_with_deprecations_failing(platform: SynthesizedPlatform) -> None:
    assert platform.synth_error is None, platform.synth_error
    assert "MeshHub" in platform.templates


def test_the_reference_app_uses_no_deprecated_meshworks_argument(platform: SynthesizedPlatform) -> None:
    """Our own renamed arguments (``DeprecationWarning`` from ``core.renamed``) are not used by the reference app.

    The session synthesis (``tests/harness.py``) records every ``DeprecationWarning`` raised while it builds the
    app from the shipped ``cdk.json``: building it a second time here only for this check cost ~2 CPU s.
    """
    assert platform.deprecations == [], "\n".join(platform.deprecations)
