"""PlatformConfig: the shipped default is valid; each mistake gives one clear message, never a traceback."""

from __future__ import annotations

import copy
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from meshworks.stacks.config import ConfigError, PlatformConfig, config_from_context, load_cdk_json
from tests.app_run import run_app
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
        ("orchestration", {"min_workers": 5, "max_workers": 2}, "meshworks.orchestration.min_workers = 5: must be at most max_workers (2)"),
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


def test_app_prints_one_message_and_no_traceback(tmp_path, capsys) -> None:
    """`cdk synth -c meshworks.network.nat_gateways=lots` as the CLI would run app.py."""
    context = {**DEFAULT_CONTEXT, "meshworks.network.nat_gateways": "lots"}
    returncode, stderr = run_app(context, tmp_path, capsys)
    assert returncode == 1
    assert "meshworks.network.nat_gateways = \"lots\"" in stderr
    assert "Traceback" not in stderr


def test_app_reports_bad_contracts_as_one_message(tmp_path, capsys) -> None:
    """A broken contract stops `cdk synth` with file:line: field problems, not a traceback."""
    contracts = tmp_path / "contracts" / "sales"
    contracts.mkdir(parents=True)
    text = (ROOT / "contracts" / "sales" / "orders.yaml").read_text().replace("type: bigint\n", "type: bigintt\n", 1)
    (contracts / "orders.yaml").write_text(text)
    context = {**DEFAULT_CONTEXT, "meshworks.mesh.contracts_path": str(tmp_path / "contracts")}
    returncode, stderr = run_app(context, tmp_path / "out", capsys)
    assert returncode == 1
    assert "orders.yaml:15: columns[0].type: invalid Glue type 'bigintt'" in stderr
    assert "Traceback" not in stderr


# --- `-c` overrides as the CDK CLI passes them: every value a string (checked below against the pinned CLI) ---


def _override(**overrides: str) -> dict:
    return {**DEFAULT_CONTEXT, **{f"meshworks.{k}": v for k, v in overrides.items()}}


def _error(context: dict) -> str:
    with pytest.raises(ConfigError) as excinfo:
        config_from_context(context)
    message = str(excinfo.value)
    assert "Traceback" not in message and "pydantic" not in message.lower()
    return message


def test_the_cdk_cli_passes_c_values_as_strings(tmp_path) -> None:
    """The premise of the override parser: `cdk -c key=value` hands the app the text as typed."""
    probe = tmp_path / "probe.py"
    probe.write_text("import os, sys\nsys.stderr.write('CTX=' + os.environ['CDK_CONTEXT_JSON'] + '\\n')\nsys.exit(3)\n")
    cli = ROOT / "node_modules" / ".bin" / "cdk"
    result = subprocess.run(
        [str(cli), "ls", "--no-notices", "--app", f"{sys.executable} {probe}", "-c", "meshworks.environments.hub.account=012345678901"],
        cwd=tmp_path,
        env={**os.environ, "PATH": f"{cli.parent}:{os.environ['PATH']}", "CDK_DISABLE_CLI_TELEMETRY": "true"},
        capture_output=True,
        text=True,
        timeout=120,
    )
    line = next(x for x in (result.stdout + result.stderr).splitlines() if x.startswith("CTX="))
    assert json.loads(line[4:])["meshworks.environments.hub.account"] == "012345678901"


@pytest.mark.parametrize("account", ["444455556666", "012345678901", "000000000001"])
def test_account_override_stays_a_12_digit_string(account: str) -> None:
    config = config_from_context(_override(**{"environments.hub.account": account}))
    assert config.environments.hub.account == account


def test_list_items_can_be_overridden_and_appended() -> None:
    config = config_from_context(
        _override(
            **{
                "environments.consumers.0.account": "012345678901",
                "environments.consumers.0.principals.0": "arn:aws:iam::012345678901:role/readers",
                "environments.consumers.1.name": "finance",
                "environments.consumers.1.account": "555555555555",
                "environments.consumers.1.region": "eu-central-1",
            }
        )
    )
    consumers = config.environments.consumers
    assert [(c.name, c.account) for c in consumers] == [("analytics", "012345678901"), ("finance", "555555555555")]
    assert consumers[0].principals == ["arn:aws:iam::012345678901:role/readers"]


def test_override_inside_a_section_absent_from_cdk_json_keeps_its_other_defaults() -> None:
    default = load_cdk_json(ROOT / "cdk.json")
    config = config_from_context(_override(**{"spark.catalog.rollout_ring": "1", "network.interface_endpoints.0": "ssm"}))
    assert config.spark.catalog.rollout_ring == 1
    assert [j.name for j in config.spark.catalog.jobs] == [j.name for j in default.spark.catalog.jobs]
    assert config.network.interface_endpoints == ["ssm", *default.network.interface_endpoints[1:]]


def test_non_string_fields_still_take_json() -> None:
    config = config_from_context(
        _override(**{"network.nat_gateways": "0", "mesh.enabled": "false", "mesh.domain_shards": '{"sales": 8}'})
    )
    assert (config.network.nat_gateways, config.mesh.enabled, config.mesh.domain_shards) == (0, False, {"sales": 8})


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        (
            {"network.interface_endpoints": '["glue", "sts"'},
            'meshworks.network.interface_endpoints = "[\\"glue\\", \\"sts\\"": is not valid JSON',
        ),
        ({"network.interface_endpoints": "glue,sts"}, "write this value as JSON, e.g. -c meshworks.network.interface_endpoints="),
        ({"environments.consumers.3.name": "x"}, "meshworks.environments.consumers is a list of 1 item(s): use an index from 0 to 0, or 1"),
        ({"environments.hub.account": "12345"}, 'meshworks.environments.hub.account = "12345": must be a 12-digit AWS account id'),
        ({"environments.hub.region": "eu-frankfurt-1"}, 'meshworks.environments.hub.region = "eu-frankfurt-1": is not an AWS region'),
        ({"environments.compute.region": "eu-west-4"}, 'meshworks.environments.compute.region = "eu-west-4": is not an AWS region'),
        (
            {"environments.consumers.0.principals": '["analytics-readers"]'},
            'meshworks.environments.consumers[0].principals[0] = "analytics-readers": must be an IAM role ARN',
        ),
        (
            {"environments.consumers.0.principals.0": "arn:aws:iam::333333333333:user/bob"},
            "consumers[0].principals[0] = \"arn:aws:iam::333333333333:user/bob\": must be an IAM role ARN",
        ),
        (
            {"environments.consumers.0.principals.0": "arn:aws:iam::999999999999:role/readers"},
            "is a role of account 999999999999, not of this consumer's account 333333333333",
        ),
        (
            {
                "environments.consumers.1.name": "analytics",
                "environments.consumers.1.account": "444444444444",
                "environments.consumers.1.region": "eu-west-1",
            },
            'meshworks.environments.consumers[1].name = "analytics": is already the name of consumers[0]',
        ),
        ({"prefix": "Acme_Data"}, 'meshworks.prefix = "Acme_Data": must be 3-32 characters: lower-case letters'),
        ({"network.natgateways": "1"}, "this key is not allowed here; did you mean 'nat_gateways'?"),
        ({"netwrk.nat_gateways": "1"}, "meshworks has no key 'netwrk'; did you mean meshworks.network?"),
    ],
)
def test_each_bad_override_is_one_line_naming_key_value_and_fix(overrides: dict, expected: str) -> None:
    message = _error(_override(**overrides))
    assert expected in message, message
    assert len(message.splitlines()) == 2, message  # the heading and exactly one line for the one mistake
    assert "pattern" not in message and "^" not in message  # patterns are said in words


def test_a_misspelt_meshworks_flag_is_an_error() -> None:
    message = _error({**DEFAULT_CONTEXT, "@meshworks/removeDataOnDestory": "true"})
    assert "@meshworks/removeDataOnDestory = \"true\": not a meshworks flag" in message
    assert "did you mean @meshworks/removeDataOnDestroy?" in message


@pytest.mark.parametrize("key", ["meshwork.prefix", "Meshworks.prefix", "meshworks_prefix", "mehsworks.network.nat_gateways"])
def test_a_misspelt_root_key_is_an_error_not_ignored(key: str) -> None:
    message = _error({**DEFAULT_CONTEXT, key: "acme"})
    assert f"{key} = \"acme\": not a meshworks key" in message


def test_other_context_keys_are_left_alone() -> None:
    context = {**DEFAULT_CONTEXT, "@meshworks/removeDataOnDestroy": "true", "aws:cdk:enable-path-metadata": True}
    assert config_from_context(context).prefix == "meshworks-demo"


def test_the_app_accepts_an_account_override_as_the_cli_passes_it(tmp_path, capsys) -> None:
    """`cdk synth -c meshworks.environments.hub.account=444455556666` through app.py (was: 'valid string')."""
    # Only the mesh is needed for MeshHub's environment: the other parts off, as the CLI passes `-c` values (strings).
    parts_off = {f"meshworks.{part}.enabled": "false" for part in ("spark", "monitoring", "orchestration", "feature_store", "ingestion")}
    context = {**DEFAULT_CONTEXT, "meshworks.environments.hub.account": "444455556666", **parts_off}
    returncode, stderr = run_app(context, tmp_path, capsys)
    assert returncode == 0, stderr
    manifest = json.loads((tmp_path / "manifest.json").read_text())
    assert manifest["artifacts"]["MeshHub"]["environment"] == "aws://444455556666/eu-west-1"


def test_null_override_clears_an_optional_text_field_and_only_that() -> None:
    """docs/ingestion.md: ``schedule: null`` leaves the file conversion to the DAG; ``-c`` must be able to say it."""
    context = {**DEFAULT_CONTEXT, "meshworks.ingestion.files.schedule": "null"}
    assert config_from_context(context).ingestion.files.schedule is None
    # a required text field keeps the text as typed (the model then judges it)
    assert config_from_context({**DEFAULT_CONTEXT, "meshworks.prefix": "nullx"}).prefix == "nullx"


@pytest.mark.parametrize(
    ("key", "value", "message"),
    [
        ("meshworks.orchestration.pipelines", "false",
         "meshworks.orchestration.pipelines = false: this is a section, not a value: set its keys one by one, "
         "e.g. -c meshworks.orchestration.pipelines.enabled=..."),
        ("meshworks.ingestion.enabled", "nope", 'meshworks.ingestion.enabled = "nope": must be true or false'),
    ],
)
def test_section_or_boolean_mistake_names_the_fix_not_pydantic(key: str, value: str, message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        config_from_context({**DEFAULT_CONTEXT, key: value})
    assert message in str(caught.value)
    assert "Input should be" not in str(caught.value) and "instance of" not in str(caught.value)


def test_known_regions_are_botocores_endpoint_data() -> None:
    """The file read directly holds what botocore's own loader returns (every partition's regions)."""
    from botocore.loaders import Loader

    from meshworks.stacks.config import known_regions

    data = Loader().load_data("endpoints")
    expected = {region for partition in data["partitions"] for region in partition["regions"]}
    assert known_regions() == expected
    assert {"eu-west-1", "us-gov-west-1", "cn-north-1"} <= known_regions()


@pytest.mark.parametrize("where", ["home", "AWS_DATA_PATH"])
def test_known_regions_include_the_users_own_endpoint_data(
    where: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """botocore reads ``~/.aws/models/endpoints.json`` and ``$AWS_DATA_PATH`` before its own: a region a user added
    there is known."""
    import botocore
    from botocore.loaders import Loader

    from meshworks.stacks.config import known_regions

    data = json.loads((Path(botocore.__file__).parent / "data" / "endpoints.json").read_text())
    data["partitions"][0]["regions"]["xx-newregion-1"] = {"description": "added by the user"}
    models = tmp_path / ".aws" / "models" if where == "home" else tmp_path / "data"
    models.mkdir(parents=True)
    (models / "endpoints.json").write_text(json.dumps(data))
    if where == "home":
        monkeypatch.setenv("HOME", str(tmp_path))
    else:
        monkeypatch.setenv("AWS_DATA_PATH", str(models))
    if where == "home":
        monkeypatch.setattr(Loader, "CUSTOMER_DATA_PATH", str(models))  # computed when botocore was imported
    shared_init = Loader.__init__  # tests/conftest.py shares one model cache between loaders: not this one's

    def init(self: Loader, *args: object, **kwargs: object) -> None:
        shared_init(self, *args, **kwargs)
        self._cache = {}

    monkeypatch.setattr(Loader, "__init__", init)
    known_regions.cache_clear()
    try:
        assert "xx-newregion-1" in known_regions()
        config = config_from_context(_with("environments.hub.region", "xx-newregion-1"))
        assert config.environments.hub.region == "xx-newregion-1"
    finally:
        known_regions.cache_clear()


@pytest.mark.parametrize("home", ["unknown", "unreadable"])
def test_known_regions_survive_a_home_they_cannot_use(home: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """No HOME and a user without a passwd entry, or a HOME this user may not enter (``HOME=/root`` under another
    user): botocore's own data, no traceback (found by review: ``Path.home()`` and ``Path.glob`` raised)."""
    import pwd

    from meshworks.stacks.config import known_regions

    if home == "unknown":
        monkeypatch.delenv("HOME", raising=False)

        def no_entry(uid: int) -> None:
            raise KeyError(uid)

        monkeypatch.setattr(pwd, "getpwuid", no_entry)
    else:

        def denied(self: Path, pattern: str) -> None:
            raise PermissionError(13, "Permission denied", str(self))

        monkeypatch.setattr(Path, "glob", denied)
    known_regions.cache_clear()
    try:
        assert {"eu-west-1", "us-gov-west-1", "cn-north-1"} <= known_regions()
    finally:
        known_regions.cache_clear()
