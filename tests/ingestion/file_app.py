"""One user app with ``FileIngestion`` used alone, as its docstring shows, synthesized once per session.

Shared by the construct tests, the importer (cdk-nag) test and the Lambda / job tests on moto, which take the
recorder's and the job's policies from this template.
"""

from __future__ import annotations

import contextlib
import functools
import json
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aws_cdk import App, Environment, Stack
from aws_cdk import aws_iam as iam

SCHEMA = {
    "type": "record",
    "name": "SensorReading",
    "fields": [
        {"name": "sensor_id", "type": "string"},
        {"name": "reading_time", "type": {"type": "long", "logicalType": "timestamp-millis"}},
        {"name": "value", "type": ["null", "double"]},
    ],
}
SCHEMA_V2 = {**SCHEMA, "fields": [*SCHEMA["fields"], {"name": "unit", "type": ["null", "string"], "default": None}]}
ENV = Environment(account="123456789012", region="eu-west-1")


@dataclass
class FileApp:
    templates: dict[str, dict[str, Any]]
    findings: list[tuple[str, str]]


def build(app: App) -> None:
    """``Files``: the docstring's example (schedule, a user role given every grant); ``Mwaa``: no schedule."""
    from meshworks.constructs.ingestion import FileIngestion
    from meshworks.constructs.storage import SecureBucket

    stack = Stack(app, "Files", env=ENV)
    landing = SecureBucket(stack, "Landing", event_bridge_enabled=True)
    curated = SecureBucket(stack, "Curated")
    files = FileIngestion(stack, "SiteFiles", name="acme-sites", landing_bucket=landing, curated_bucket=curated,
                          schemas={"sensor_readings": [json.dumps(SCHEMA), json.dumps(SCHEMA_V2)]})
    role = iam.Role(stack, "UserRole", assumed_by=iam.ServicePrincipal("airflow.amazonaws.com"))
    files.grant_start_job_run(role)
    files.grant_read_files(role)

    stack = Stack(app, "Mwaa", env=ENV)
    landing = SecureBucket(stack, "Landing")  # EventBridge turned on by FileIngestion
    FileIngestion(stack, "SiteFiles", name="acme-sites", landing_bucket=landing, curated_bucket=SecureBucket(stack, "Curated"),
                  schemas={"sensor_readings": json.dumps(SCHEMA)}, schedule_expression=None, landing_prefix="incoming/")


@functools.cache
def file_app() -> FileApp:
    from meshworks.constructs.core.nag import add_policy_checks

    outdir = Path(tempfile.mkdtemp(prefix="file-ingestion-"))
    app = App(outdir=str(outdir), builtin_cloud_formation_validation=False)
    build(app)
    add_policy_checks(app)
    with contextlib.suppress(RuntimeError):  # findings fail the synth; the report is written anyway
        app.synth()
    manifest = json.loads((outdir / "manifest.json").read_text())
    findings = [("lookup", entry["key"]) for entry in manifest.get("missing", [])]
    report = outdir / "validation-report.json"
    if report.exists():
        findings += [
            (violation["ruleName"], construct["constructPath"])
            for plugin in json.loads(report.read_text())["pluginReports"]
            for violation in plugin.get("violations", [])
            for construct in violation["violatingConstructs"]
        ]
    templates = {name: json.loads((outdir / f"{name}.template.json").read_text()) for name in ("Files", "Mwaa")}
    return FileApp(templates, findings)
