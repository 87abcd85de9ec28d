"""A user's stack with the offline store and the feature job, as their docstrings show (synthesized once per module)."""

from __future__ import annotations

import contextlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aws_cdk import App, Environment, Stack, Validations
from cdk_nag import AwsSolutionsChecks, NIST80053R5Checks

from meshworks.constructs.core import pin_availability_zones
from meshworks.constructs.features import FeatureJob, Keyspace, KeyspacesTable, KeyspacesTableSchema, OfflineStore
from meshworks.constructs.network import PlatformVpc
from meshworks.constructs.spark import EmrServerlessApplication
from meshworks.constructs.storage import DataLakeStorage
from meshworks.constructs.storage.data_lake_storage import Zone

ROOT = Path(__file__).resolve().parents[2]
ENV = Environment(account="111111111111", region="eu-west-1")
AZS = ["eu-west-1a", "eu-west-1b"]


@dataclass
class UserApp:
    template: dict[str, Any]
    violations: list[str]
    missing: list[Any]
    job: FeatureJob
    offline: OfflineStore


def logical_id(template: dict[str, Any], kind: str, contains: str) -> str:
    """The one logical id of type ``kind`` whose id contains ``contains``."""
    ids = [k for k, r in template["Resources"].items() if r["Type"] == kind and contains in k]
    assert len(ids) == 1, (kind, contains, ids)
    return ids[0]


def synth_user_app(outdir: Path, **job_kwargs: Any) -> UserApp:
    app = App(outdir=str(outdir), builtin_cloud_formation_validation=False)
    stack = Stack(app, "Features", env=ENV)
    pin_availability_zones(stack, AZS)
    schema = KeyspacesTableSchema.from_cql((ROOT / "schemas/features/customer_features.cql").read_text())
    keyspace = Keyspace(stack, "Keyspace", keyspace_name=schema.keyspace)
    table = KeyspacesTable(stack, "CustomerFeatures", keyspace=keyspace, schema=schema)
    lake = DataLakeStorage(stack, "Lake")
    offline = OfflineStore(stack, "Offline", schema=schema, bucket=lake.bucket(Zone.CURATED), database_name="features")
    vpc = PlatformVpc(stack, "Network", availability_zones=AZS, interface_endpoints=[]).vpc
    spark = EmrServerlessApplication(stack, "Spark", vpc=vpc)
    job = FeatureJob(stack, "FeatureJob", application=spark, online_table=table, offline_store=offline,
                     source_bucket=lake.bucket(Zone.RAW), source_prefix="events/", **job_kwargs)
    Validations.of(app).add_plugins(AwsSolutionsChecks(), NIST80053R5Checks())
    with contextlib.suppress(RuntimeError):  # findings stop the synth; they are in the report (asserted empty)
        app.synth()
    plugins = json.loads((outdir / "validation-report.json").read_text())["pluginReports"]
    violations = [f"{v['ruleName']} on {c['constructPath']}" for p in plugins for v in p.get("violations", [])
                  for c in v.get("violatingConstructs", [])]
    manifest = json.loads((outdir / "manifest.json").read_text())
    template = json.loads((outdir / "Features.template.json").read_text())
    return UserApp(template, violations, manifest.get("missing", []), job, offline)


def definition(template: dict[str, Any]) -> dict[str, Any]:
    """The state machine's definition with every CloudFormation reference replaced by ``<LogicalId[.Attr]>``."""
    (machine,) = [r for r in template["Resources"].values() if r["Type"] == "AWS::StepFunctions::StateMachine"]
    parts = machine["Properties"]["DefinitionString"]["Fn::Join"][1]

    def text(part: Any) -> str:
        if isinstance(part, str):
            return part
        if "Ref" in part:
            return f"<{part['Ref']}>"
        return "<" + ".".join(part["Fn::GetAtt"]) + ">"

    return json.loads("".join(text(p) for p in parts))
