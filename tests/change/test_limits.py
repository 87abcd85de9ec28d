"""CloudFormation and service limits reachable through the configuration or a contract: each is
designed around or refused with one message naming the key (fault 4)."""

from __future__ import annotations

import json

import pytest
from aws_cdk import App

from meshworks.constructs.mesh.contract import DataProductContract
from meshworks.stacks.config import ConfigError, _example_catalog, config_from_context
from meshworks.stacks.platform import build_platform
from meshworks.stacks.spark_routing_stack import RoutingBudgetError, plan_routing
from tests.change.change_fixtures import platform_assembly, shipped_context
from tests.mesh.mesh_fixtures import make_contract


def catalog_of(jobs: int) -> dict:
    catalog = _example_catalog().model_dump(mode="json")
    template = catalog["jobs"][0]
    catalog["jobs"] = [{**template, "name": f"job_{i:04d}"} for i in range(jobs)]
    return catalog


def test_379_spark_jobs_synthesize_with_every_stack_under_500_resources() -> None:
    """One SSM parameter per job in the Spark stack: 379 jobs ended in a raw jsii TooManyResourcesInStack."""
    context = shipped_context()
    context.setdefault("spark", {})["catalog"] = catalog_of(379)
    assembly = platform_assembly(context, spark=True)
    sizes = {stack: len(template["Resources"]) for stack, template in assembly.templates.items()}
    assert max(sizes.values()) < 500, sizes
    routed = sum(size for stack, size in sizes.items() if stack.startswith("SparkRouting-"))
    assert routed == 379
    # the byte estimate of the routing plan is never below the template CDK writes (indent 1)
    from meshworks.constructs.spark.models import JobCatalog

    (shard,) = plan_routing(JobCatalog.model_validate(context["spark"]["catalog"]), 1, prefix=context["prefix"])
    written = len(json.dumps(assembly.templates["SparkRouting-00"], indent=1))
    assert written <= shard.template_bytes, (written, shard.template_bytes)


def test_routing_shards_spread_jobs_stably() -> None:
    from meshworks.constructs.spark.models import JobCatalog

    big = JobCatalog.model_validate(catalog_of(1200))
    shards = plan_routing(big, 4)
    assert sum(len(s.jobs) for s in shards) == 1200 and all(len(s.jobs) <= 450 for s in shards)
    grown = JobCatalog.model_validate(catalog_of(1300))
    placed = {job: s.index for s in shards for job in s.jobs}
    assert all(placed[job] == s.index for s in plan_routing(grown, 4) for job in s.jobs if job in placed)


def test_too_many_jobs_for_the_routing_stacks_is_one_clear_config_error() -> None:
    context = shipped_context()
    context.setdefault("spark", {})["catalog"] = catalog_of(460)
    context["mesh"] = {"enabled": False}
    context["monitoring"] = {"enabled": False}
    config = config_from_context({"meshworks": context})
    with pytest.raises(ConfigError) as error:
        build_platform(App(), config, policy_checks=False)
    message = str(error.value)
    assert message.startswith("meshworks.spark.routing_shards = 1: 460 Spark jobs")
    assert "Raise meshworks.spark.routing_shards to 2" in message
    with pytest.raises(RoutingBudgetError):
        plan_routing(config.spark.catalog, 1)


def test_routing_stacks_also_count_template_bytes() -> None:
    """A routing value may reach 4 KB (SSM Standard) while a template must stay under 1 MB: the plan
    counts bytes too. Today's routing documents are about 0.5 KB, so 450 fit in about 550 KB."""
    from meshworks.constructs.spark.models import JobCatalog

    catalog = JobCatalog.model_validate(catalog_of(450))
    (shard,) = plan_routing(catalog, 1)
    assert 450 * 700 < shard.template_bytes < 900_000
    with pytest.raises(RoutingBudgetError, match=r"about [\d,]+ bytes\. Raise meshworks.spark.routing_shards to 4"):
        plan_routing(catalog, 1, max_bytes=shard.template_bytes // 3)


def test_app_tags_are_limited_to_what_every_resource_can_carry() -> None:
    context = shipped_context()
    context["tags"] = {f"team-{i}": "x" for i in range(41)}
    with pytest.raises(ConfigError, match=r"meshworks.tags = .*at most 40 tags \(AWS allows 50 per resource"):
        config_from_context({"meshworks": context})
    context["tags"] = {"aws:owner": "x"}
    with pytest.raises(ConfigError, match="'aws:' prefix is reserved"):
        config_from_context({"meshworks": context})


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"tags": {"k" * 51: "v"}}, "must be 1-50 lowercase letters"),
        ({"tags": {"tier": "v" * 51}}, "must be 1-50 letters"),
        ({"domain": "d" * 51}, "domain"),
        (
            {"tags": {f"t{i}": "x" for i in range(40)}, "consumers": [f"{100000000000 + i}" for i in range(8)]},
            "the table would carry 51 LF-tags",
        ),
    ],
)
def test_lake_formation_tag_limits_are_contract_errors(overrides: dict, message: str) -> None:
    """Lake Formation: LF-tag keys and values at most 50 characters, at most 50 LF-tags per table."""
    with pytest.raises(ValueError, match=message):
        make_contract(**overrides)


def test_47_tags_and_consumers_fit_a_table() -> None:
    contract = make_contract(tags={f"t{i}": "x" for i in range(40)}, consumers=[f"{100000000000 + i}" for i in range(7)])
    assert isinstance(contract, DataProductContract) and len(contract.lf_tags()) + len(contract.consumers) == 50


def test_a_lambda_environment_over_4_kb_is_refused_at_synth() -> None:
    """Lambda refuses environments over 4 KB at deploy; e.g. the SLO sweeper's domain -> topic map grows
    with the domains of the contracts."""
    from aws_cdk import Stack

    from meshworks.constructs.core.platform_function import PlatformFunction, environment_bytes
    from meshworks.constructs.core.platform_key import PlatformKey

    app = App()
    stack = Stack(app, "Env", env={"account": "111111111111", "region": "eu-west-1"})
    key = PlatformKey(stack, "Key")
    function = PlatformFunction(stack, "Fn", package="slo_monitor", handler="slo_monitor.handler.main",
                                encryption_key=key, environment={"SMALL": "x"})  # fmt: skip
    function.add_environment("DOMAIN_TOPIC_ARNS", "{" + ",".join(f'"d{i}":"{key.key_arn}"' for i in range(40)) + "}")
    assert environment_bytes(function.environment) > 4096
    errors = function.node.validate()
    assert len(errors) == 1 and "over Lambda's 4096-byte limit; the largest variable is DOMAIN_TOPIC_ARNS" in errors[0]
