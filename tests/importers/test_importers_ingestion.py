"""``DatasetIngestion`` used alone, as its docstring shows, synthesizes offline and leaves the user no cdk-nag finding.

Every source (new Kinesis stream, EventBridge events) and destination (raw zone, HTTP endpoint with an S3 backup),
the user's producer role given ``grant_put_records``; both packs on. Before ``grant_put_records`` acknowledged the
key actions it writes on the grantee, the producer role carried ``AwsSolutions-IAM5[Action::kms:ReEncrypt*]`` and
two more findings.
"""

from __future__ import annotations

import contextlib
import json
from pathlib import Path

import pytest
import yaml
from aws_cdk import App, Environment, Stack
from aws_cdk import aws_iam as iam

from meshworks.constructs.core import PlatformKey
from meshworks.constructs.core.nag import add_policy_checks
from meshworks.constructs.ingestion import Dataset, DatasetIngestion, load_datasets
from meshworks.constructs.storage import DataLakeStorage, Zone
from tests.harness import ROOT

ENV = Environment(account="123456789012", region="eu-west-1")
EXAMPLE = ROOT / "datasets" / "clickstream" / "app_events.yml"
SECRET = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:coralogix-AbCdEf"


def _variant(**top: object) -> Dataset:
    data = yaml.safe_load(EXAMPLE.read_text())
    data.update(top)
    return Dataset.model_validate(data)


def test_dataset_ingestion_alone_has_no_finding_and_no_lookup(tmp_path: Path) -> None:
    app = App(outdir=str(tmp_path), builtin_cloud_formation_validation=False)
    stack = Stack(app, "Analytics", env=ENV)
    lake = DataLakeStorage(stack, "Lake", bucket_name_prefix="acme")
    curated, raw, key = lake.bucket(Zone.CURATED), lake.bucket(Zone.RAW), PlatformKey(stack, "Key")
    [loaded] = load_datasets([EXAMPLE], curated_bucket_name="acme-curated")  # the docstring's lines
    ingestion = DatasetIngestion(stack, "AppEvents", dataset=loaded.dataset, name_prefix="acme",
                                 raw_bucket=raw, curated_bucket=curated, encryption_key=key)
    ingestion.grant_put_records(iam.Role(stack, "Producer", assumed_by=iam.ServicePrincipal("lambda.amazonaws.com")))
    no_keys = {"partitioning": {"keys": []}, "buffering": {"size_mb": 64, "interval_seconds": 300}}
    variants = {
        "Events": _variant(source={"type": "eventbridge", "event_source": ["com.acme.app"]}),
        "Http": _variant(raw=no_keys, http_endpoint={"url": "https://ingress.example.com",
                                                    "access_key_secret_arn": SECRET, "backup": "all"}),
        "Table": _variant(catalog={"crawler_schedule": None, "columns": [{"name": "event_id", "type": "string"}]}),
    }
    for name, dataset in variants.items():
        other = Stack(app, name, env=ENV)
        lake = DataLakeStorage(other, "Lake", bucket_name_prefix=f"acme-{name.lower()}")
        ingestion = DatasetIngestion(other, "Ds", dataset=dataset, name_prefix="acme", raw_bucket=lake.bucket(Zone.RAW),
                                     curated_bucket=lake.bucket(Zone.CURATED), encryption_key=PlatformKey(other, "Key"))
        ingestion.grant_put_records(iam.Role(other, "Producer", assumed_by=iam.ServicePrincipal("lambda.amazonaws.com")))
    add_policy_checks(app)
    with contextlib.suppress(RuntimeError):  # findings fail the synth; the report is written anyway
        app.synth()
    manifest = json.loads((tmp_path / "manifest.json").read_text())
    assert manifest.get("missing", []) == []
    report = tmp_path / "validation-report.json"
    findings = [] if not report.exists() else [
        (v["ruleName"], c["constructPath"]) for plugin in json.loads(report.read_text())["pluginReports"]
        for v in plugin.get("violations", []) for c in v["violatingConstructs"]
    ]
    assert findings == []


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"dataset": "yaml"}, r"dataset=dict: give a Dataset"),
        ({"dataset": None}, r"dataset=NoneType: give a Dataset"),
        ({"raw_bucket": None}, r"raw_bucket=None: give a s3.IBucket"),
        ({"curated_bucket": "acme-curated"}, r"curated_bucket='acme-curated': give a s3.IBucket"),
        ({"encryption_key": None}, r"encryption_key=None: give a kms.IKey"),
        ({"name_prefix": "Acme Corp"}, r"name_prefix='Acme Corp': use 1-40 lower-case letters"),
        ({"refresh_bus_arn": "mesh-bus"}, r"refresh_bus_arn='mesh-bus': give the mesh hub's event bus ARN"),
    ],
)
def test_a_users_mistake_is_one_clear_error(change: dict[str, object], message: str) -> None:
    """Before: an AttributeError, a jsii SerializationError, or a name/ARN only CloudFormation refused."""
    stack = Stack(App(), "Analytics", env=ENV)
    lake = DataLakeStorage(stack, "Lake", bucket_name_prefix="acme")
    arguments: dict[str, object] = {
        "dataset": _variant(), "name_prefix": "acme", "raw_bucket": lake.bucket(Zone.RAW),
        "curated_bucket": lake.bucket(Zone.CURATED), "encryption_key": PlatformKey(stack, "Key"),
    }
    arguments.update({k: yaml.safe_load(EXAMPLE.read_text()) if v == "yaml" else v for k, v in change.items()})
    with pytest.raises(ValueError, match=message):
        DatasetIngestion(stack, "Ds", **arguments)  # type: ignore[arg-type]
