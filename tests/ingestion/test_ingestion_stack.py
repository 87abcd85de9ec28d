"""The reference app's ``ingestion`` stack: off-switch, bad files, and datasets that never move each other."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest
import yaml
from aws_cdk import App, Environment
from aws_cdk.assertions import Template

from meshworks.stacks.config import ConfigError, PlatformConfig, load_cdk_json
from meshworks.stacks.foundation_stack import FoundationStack
from meshworks.stacks.ingestion_stack import IngestionStack, read_datasets
from meshworks.stacks.mesh_hub_stack import read_contracts
from tests.app_run import run_app
from tests.harness import ROOT

EXAMPLE = ROOT / "datasets" / "clickstream" / "app_events.yml"


@pytest.fixture(scope="module")
def config() -> PlatformConfig:
    cwd = os.getcwd()
    os.chdir(ROOT)
    try:
        yield load_cdk_json(ROOT / "cdk.json")
    finally:
        os.chdir(cwd)


def _with(config: PlatformConfig, **ingestion: object) -> PlatformConfig:
    return config.model_copy(update={"ingestion": config.ingestion.model_copy(update=ingestion)})


def test_the_shipped_dataset_is_a_product_of_the_mesh(config: PlatformConfig, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)
    products = {contract.qualified_name: contract for contract in read_contracts(config)}
    product = products["clickstream.app_events"]
    assert product.location == "s3://meshworks-demo-222222222222-curated/clickstream/app_events/"
    assert product.producer_account == "222222222222"  # the domain's only producer: the compute account


def test_the_off_switch_removes_the_stack_and_the_datasets_products(config: PlatformConfig, monkeypatch: pytest.MonkeyPatch) -> None:
    from meshworks.stacks.platform import build_platform

    monkeypatch.chdir(ROOT)
    off = _with(config, enabled=False)
    assert read_datasets(off) == []
    assert "clickstream.app_events" not in {c.qualified_name for c in read_contracts(off)}
    app = App(builtin_cloud_formation_validation=False)
    platform = build_platform(app, off.model_copy(update={
        "spark": off.spark.model_copy(update={"enabled": False}),
        "orchestration": off.orchestration.model_copy(update={"enabled": False}),
        "feature_store": off.feature_store.model_copy(update={"enabled": False}),
    }), policy_checks=False)
    assert "Ingestion" not in platform.extra


def test_a_bad_dataset_is_one_config_error_naming_file_line_and_key(config: PlatformConfig, tmp_path: Path) -> None:
    folder = tmp_path / "clickstream"
    folder.mkdir()
    (folder / "app_events.yml").write_text(EXAMPLE.read_text().replace("size_mb: 128", "size_mb: 8"))
    with pytest.raises(ConfigError) as excinfo:
        read_datasets(_with(config, datasets_path=str(tmp_path)))
    message = str(excinfo.value)
    assert message.startswith(f"Invalid dataset files under {tmp_path}:\n1 problem in dataset files:\n")
    assert f"{folder / 'app_events.yml'}:" in message and ": raw.buffering.size_mb: 8 MiB is below the 64 MiB" in message
    with pytest.raises(ConfigError, match=r"ingestion.datasets_path = '/nonexistent': no such file or folder .*ingestion.enabled to false"):
        read_datasets(_with(config, datasets_path="/nonexistent"))


def test_the_app_stops_on_a_bad_dataset_without_a_traceback(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    folder = tmp_path / "datasets" / "clickstream"
    folder.mkdir(parents=True)
    (folder / "app_events.yml").write_text(EXAMPLE.read_text().replace("type: kinesis", "type: kinesys"))
    context = {**json.loads((ROOT / "cdk.json").read_text())["context"],
               "meshworks.ingestion.datasets_path": str(tmp_path / "datasets")}
    returncode, stderr = run_app(context, tmp_path / "out", capsys)
    assert returncode == 1, stderr[-2000:]
    assert "source.type: 'kinesys' is not one of: kinesis, eventbridge, firehose (did you mean 'kinesis'?)" in stderr
    assert "Traceback" not in stderr


def _ingestion_template(config: PlatformConfig, datasets: Path) -> dict:
    app = App(builtin_cloud_formation_validation=False)
    env = Environment(account=config.environments.compute.account, region=config.environments.compute.region)
    foundation = FoundationStack(app, "Foundation", config=config, env=env)
    stack = IngestionStack(app, "Ingestion", config=_with(config, datasets_path=str(datasets)), foundation=foundation, env=env)
    return Template.from_stack(stack).to_json()


def test_adding_a_dataset_file_never_moves_or_changes_another_datasets_resources(config: PlatformConfig, tmp_path: Path) -> None:
    datasets = tmp_path / "datasets"
    (datasets / "clickstream").mkdir(parents=True)
    shutil.copy(EXAMPLE, datasets / "clickstream" / "app_events.yml")
    before = _ingestion_template(config, datasets)
    data = yaml.safe_load(EXAMPLE.read_text())
    data.update(name="checkout_events", source={"type": "eventbridge", "event_source": ["com.acme.checkout"]})
    (datasets / "clickstream" / "checkout_events.yml").write_text(yaml.safe_dump(data, sort_keys=False))
    after = _ingestion_template(config, datasets)
    for logical_id, resource in before["Resources"].items():
        assert after["Resources"].get(logical_id) == resource, f"{logical_id} moved or changed"
    added = set(after["Resources"]) - set(before["Resources"])
    assert len(added) == 16  # the second dataset's own resources (EventBridge: rule, its role and policy), nothing else


def test_more_datasets_than_one_stack_holds_is_a_clear_error(config: PlatformConfig, tmp_path: Path) -> None:
    from meshworks.stacks.ingestion_stack import MAX_DATASETS, RESOURCES_PER_DATASET

    data = yaml.safe_load(EXAMPLE.read_text())
    (tmp_path / "clickstream").mkdir()
    for index in range(MAX_DATASETS + 1):
        data["name"] = f"events_{index:02d}"
        (tmp_path / "clickstream" / f"events_{index:02d}.yml").write_text(yaml.safe_dump(data))
    assert MAX_DATASETS * RESOURCES_PER_DATASET <= 450
    with pytest.raises(ConfigError, match=rf"{MAX_DATASETS + 1} datasets; one ingestion stack holds at most {MAX_DATASETS}"):
        read_datasets(_with(config, datasets_path=str(tmp_path)))


def test_the_reference_stack_runs_the_file_ingestion_pipeline_from_the_shipped_schemas(platform) -> None:
    """``ingestion.files`` (on by default): the landing bucket sends events to EventBridge, the recorder and the
    job exist, the job is the one the example DAG starts (``<prefix>-csv-to-parquet``), and the shipped schema
    is in the registry."""
    template = platform.templates["Ingestion"]
    resources = template["Resources"]
    by_type: dict[str, list[dict]] = {}
    for resource in resources.values():
        by_type.setdefault(resource["Type"], []).append(resource.get("Properties", {}))
    jobs = {job["Name"] for job in by_type["AWS::Glue::Job"] if isinstance(job.get("Name"), str)}
    assert "meshworks-demo-csv-to-parquet" in jobs
    assert [schema["Name"] for schema in by_type["AWS::Glue::Schema"]] == ["sensor_readings"]
    notifications = by_type["Custom::S3BucketNotifications"]  # CDK turns EventBridge on by a custom resource
    assert [n["NotificationConfiguration"].get("EventBridgeConfiguration") for n in notifications] == [{}]
    assert any(s["ScheduleExpression"] == "rate(30 minutes)" for s in by_type["AWS::Scheduler::Schedule"])


def test_file_ingestion_off_switch_and_a_missing_schema_folder(config: PlatformConfig, tmp_path: Path,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    from meshworks.stacks.ingestion_stack import build_file_ingestion

    monkeypatch.chdir(ROOT)
    files = config.ingestion.files
    off = _with(config, files=files.model_copy(update={"enabled": False}))
    app = App(builtin_cloud_formation_validation=False)
    env = Environment(account="222222222222", region="eu-west-1")
    foundation = FoundationStack(app, "Foundation", env=env, config=config)
    assert build_file_ingestion(foundation, off, curated_bucket=None, encryption_key=None) is None
    empty = _with(config, files=files.model_copy(update={"schemas_path": str(tmp_path)}))
    with pytest.raises(ConfigError) as error:
        build_file_ingestion(foundation, empty, curated_bucket=None, encryption_key=None)
    message = str(error.value)
    assert "meshworks.ingestion.files.schemas_path" in message and str(tmp_path) in message and ".avsc" in message
    bad = _with(config, files=files.model_copy(update={"key_pattern": "(?P<tenant>[^/]+)/(?P<file>.*)"}))
    with pytest.raises(ConfigError, match="meshworks.ingestion.files: FileIngestion"):
        build_file_ingestion(foundation, bad, curated_bucket=foundation.lake.bucket("curated"),
                             encryption_key=foundation.key)
