"""The reference app's Spark stack (from the session synthesis) and the ``spark`` configuration section."""

from __future__ import annotations

import json
from typing import Any

import pytest

from meshworks.stacks.config import ConfigError, config_from_context
from tests.harness import ROOT, SynthesizedPlatform


@pytest.fixture(scope="module")
def spark(platform: SynthesizedPlatform) -> dict[str, Any]:
    return platform.templates["Spark"]


def _types(template: dict[str, Any]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for resource in template["Resources"].values():
        counts[resource["Type"]] = counts.get(resource["Type"], 0) + 1
    return counts


def test_all_four_environments_synthesize(spark: dict[str, Any]) -> None:
    types = _types(spark)
    assert types["AWS::EMRServerless::Application"] == 1
    assert types["AWS::EMR::Cluster"] == 2  # long-running Spark + Flink
    assert types["AWS::EMRContainers::VirtualCluster"] == 1
    assert types["AWS::StepFunctions::StateMachine"] == 2  # EMR Serverless + EMR on EKS runners
    assert types["AWS::ElasticLoadBalancingV2::LoadBalancer"] == 1
    assert len(spark["Resources"]) < 400, "far from CloudFormation's 500-resource limit"


def test_no_unacknowledged_findings_in_the_spark_stack(platform: SynthesizedPlatform) -> None:
    findings = [f for f in platform.findings if f.path.startswith("Spark/")]
    assert not findings, "\n".join(map(str, findings))


def test_rollout_routing_published_from_the_config(spark: dict[str, Any], platform: SynthesizedPlatform) -> None:
    # the jobs' parameters live in the SparkRouting-<nn> stacks, the index in the Spark stack
    routing = [t for stack, t in platform.templates.items() if stack.startswith("SparkRouting-")]
    names = {
        r["Properties"]["Name"]: r["Properties"]
        for template in [spark, *routing]
        for r in template["Resources"].values()
        if r["Type"] == "AWS::SSM::Parameter"
    }
    prefix = platform.config.prefix
    catalog = platform.config.spark.catalog
    for job in catalog.jobs:
        value = json.loads(names[f"/{prefix}/spark/jobs/{job.name}/routing"]["Value"])
        assert value["engine"] == catalog.engine_for(job).value
        assert value["rollout_ring"] == catalog.rollout_ring
    assert f"/{prefix}/spark/rollout" in names
    assert f"/{prefix}/spark/emr-ec2/{platform.config.spark.transient.name}/job-flow-overrides" in names


def test_default_catalog_spans_rings_and_both_engines(platform: SynthesizedPlatform) -> None:
    catalog = platform.config.spark.catalog
    engines = {catalog.engine_for(job).value for job in catalog.jobs}
    assert engines == {"emr-serverless", "emr-ec2"}
    assert len({job.ring for job in catalog.jobs}) >= 5
    assert catalog.warnings() == []


def test_stateful_spark_resources_are_retained(spark: dict[str, Any]) -> None:
    for logical_id, resource in spark["Resources"].items():
        if resource["Type"] in ("AWS::S3::Bucket", "AWS::KMS::Key", "AWS::Logs::LogGroup", "AWS::ECR::Repository"):
            assert resource.get("DeletionPolicy") == "Retain", logical_id


# ------------------------------------------------------------------------------------------------------
# Configuration errors: key, value and fix in one message, no traceback
# ------------------------------------------------------------------------------------------------------


def _context(**spark: Any) -> dict[str, Any]:
    base = json.loads((ROOT / "cdk.json").read_text())["context"]
    base["meshworks"] = {**base["meshworks"], "spark": spark}
    return base


@pytest.mark.parametrize(
    ("spark", "expected"),
    [
        ({"catalog": {"rollout_ring": 9}}, ["meshworks.spark.catalog.rollout_ring", "rollout_ring 9 is out of range"]),
        ({"serverless": {"release_label": "emr-6.5.0"}}, ["meshworks.spark.serverless.release_label", "older than emr-6.9.0"]),
        ({"serverless": {"architecture": "SPARC"}}, ["meshworks.spark.serverless.architecture", "'ARM64' or 'X86_64'"]),
        ({"cluster": {"release_label": "emr-6.15.0"}}, ["meshworks.spark.cluster.release_label", "EMR 7.x"]),
        ({"cluster": {"managed_scaling": {"minimum_capacity_units": 9, "maximum_capacity_units": 4}}},
         ["meshworks.spark.cluster.managed_scaling", "minimum_capacity_units (9) is above maximum_capacity_units (4)"]),
        ({"eks": {"namespace": "Spark_Jobs"}}, ["meshworks.spark.eks.namespace", "is not a Kubernetes namespace"]),
        ({"eks": {"oidc_provider_arn": "arn:aws:iam::1:role/x"}}, ["meshworks.spark.eks.oidc_provider_arn", "OIDC provider ARN"]),
        ({"flink": {"ui_allowed_cidrs": ["0.0.0.0/0"]}}, ["meshworks.spark.flink.ui_allowed_cidrs", "internet"]),
        ({"data_access": {"read_zones": ["gold"]}}, ["meshworks.spark.data_access.read_zones", "unknown zone(s) ['gold']"]),
        ({"transient": {"idle_timeout_minutes": 0}}, ["meshworks.spark.transient.idle_timeout_minutes"]),
        ({"clusters": {}}, ["meshworks.spark.clusters", "this key is not allowed here"]),
    ],
)
def test_config_errors_name_the_key_and_the_fix(spark: dict[str, Any], expected: list[str]) -> None:
    with pytest.raises(ConfigError) as excinfo:
        config_from_context(_context(**spark))
    text = str(excinfo.value)
    for fragment in expected:
        assert fragment in text
    assert "Traceback" not in text


def test_config_rejects_serverless_jobs_without_a_cap() -> None:
    catalog = {
        "rollout_ring": 1,
        "jobs": [{"name": "uncapped", "job_class": "quick", "ring": 1, "owner": "team-x",
                  "entry_point": "s3://bucket-name/jobs/x.py"}],
    }
    with pytest.raises(ConfigError, match="limits.max_executors is not set"):
        config_from_context(_context(catalog=catalog))
