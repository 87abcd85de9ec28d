"""PlatformConfig: the shipped default is valid; each mistake gives one clear message, never a traceback."""

from __future__ import annotations

import copy
import json
import os
import subprocess
import sys

import pytest

from meshworks.stacks.config import ConfigError, PlatformConfig, config_from_context, load_cdk_json
from tests.harness import ROOT

DEFAULT_CONTEXT = json.loads((ROOT / "cdk.json").read_text())["context"]
_DELETE = object()


def _with(path: str, value: object) -> dict:
    context = copy.deepcopy(DEFAULT_CONTEXT)
    node = context["meshworks"]
    *parents, last = path.split(".")
    for part in parents:
        node = node[int(part)] if isinstance(node, list) else node.setdefault(part, {})
    if value is _DELETE:
        del node[last]
    else:
        node[last] = value
    return context


def test_shipped_default_is_valid_and_uses_placeholder_accounts() -> None:
    config = load_cdk_json(ROOT / "cdk.json")
    accounts = {config.environments.hub.account, config.environments.compute.account}
    accounts |= {c.account for c in config.environments.consumers}
    assert all(len(set(a)) == 1 for a in accounts), "default accounts must be obviously fake (e.g. 111111111111)"
    assert config.stack_name("foundation") == f"{config.prefix}-foundation"


@pytest.mark.parametrize(
    ("path", "value", "expected"),
    [
        ("environments.hub.account", "12345", "meshworks.environments.hub.account = \"12345\""),
        ("environments.compute.region", "Europe", "meshworks.environments.compute.region = \"Europe\""),
        ("prefix", "Acme_Data", "meshworks.prefix = \"Acme_Data\""),
        ("network.nat_gateways", -1, "meshworks.network.nat_gateways = -1: Input should be greater than or equal to 0"),
        ("network.cidr", "10.0.0.0/8", "must be a private range between /16 and /20"),
        ("network.cidr", "banana", "not a CIDR block"),
        ("network.interface_endpoints", ["glue", "dynamo"], "unknown endpoint(s) ['dynamo']; allowed:"),
        ("network.natgateways", 1, "meshworks.network.natgateways = 1: this key is not allowed here"),
        ("environments.hub", _DELETE, "meshworks.environments.hub: this key is required"),
        ("environments.consumers.0.account", 333, "meshworks.environments.consumers[0].account = 333"),
        ("orchestration", {"enabled": True}, "meshworks.orchestration.enabled = true"),
    ],
)
def test_each_mistake_names_key_value_and_rule(path: str, value: object, expected: str) -> None:
    with pytest.raises(ConfigError) as excinfo:
        config_from_context(_with(path, value))
    message = str(excinfo.value)
    assert expected in message
    assert "Traceback" not in message and "pydantic" not in message.lower()


def test_all_mistakes_are_reported_at_once() -> None:
    context = _with("prefix", "X")
    context["meshworks"]["network"]["max_azs"] = 9
    with pytest.raises(ConfigError) as excinfo:
        config_from_context(context)
    assert "meshworks.prefix" in str(excinfo.value) and "meshworks.network.max_azs" in str(excinfo.value)


def test_dotted_overrides_are_applied_and_parsed_as_json() -> None:
    context = {**DEFAULT_CONTEXT, "meshworks.prefix": "acme", "meshworks.network.nat_gateways": "0"}
    config = config_from_context(context)
    assert (config.prefix, config.network.nat_gateways) == ("acme", 0)


def test_missing_section_is_explained() -> None:
    with pytest.raises(ConfigError, match="context key 'meshworks' must be an object"):
        config_from_context({})


def test_model_is_frozen_and_strict() -> None:
    config = load_cdk_json(ROOT / "cdk.json")
    with pytest.raises(Exception, match="frozen"):
        config.prefix = "other"  # type: ignore[misc]
    assert PlatformConfig.model_config["extra"] == "forbid"


def test_app_prints_one_message_and_no_traceback(tmp_path) -> None:
    """`cdk synth -c meshworks.network.nat_gateways=lots` as the CLI would run app.py."""
    context = {**DEFAULT_CONTEXT, "meshworks.network.nat_gateways": "lots"}
    result = subprocess.run(
        [sys.executable, str(ROOT / "app.py")],
        cwd=ROOT,
        env={**os.environ, "CDK_CONTEXT_JSON": json.dumps(context), "CDK_OUTDIR": str(tmp_path)},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 1
    assert "meshworks.network.nat_gateways = \"lots\"" in result.stderr
    assert "Traceback" not in result.stderr


def test_app_reports_bad_contracts_as_one_message(tmp_path) -> None:
    """A broken contract stops `cdk synth` with file:line: field problems, not a traceback."""
    contracts = tmp_path / "contracts" / "sales"
    contracts.mkdir(parents=True)
    text = (ROOT / "contracts" / "sales" / "orders.yaml").read_text().replace("type: bigint\n", "type: bigintt\n", 1)
    (contracts / "orders.yaml").write_text(text)
    context = {**DEFAULT_CONTEXT, "meshworks.mesh.contracts_path": str(tmp_path / "contracts")}
    result = subprocess.run(
        [sys.executable, str(ROOT / "app.py")],
        cwd=ROOT,
        env={**os.environ, "CDK_CONTEXT_JSON": json.dumps(context), "CDK_OUTDIR": str(tmp_path / "out")},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 1
    assert "orders.yaml:15: columns[0].type: invalid Glue type 'bigintt'" in result.stderr
    assert "Traceback" not in result.stderr
