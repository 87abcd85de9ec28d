"""Two environments (prefixes) in one pair of accounts: no account-wide name may collide.

Fault 3: the job-event bus policy statement id (``meshworks-job-events-<account>`` on the shared
default bus) and the EMR on EKS job role and virtual cluster (``<cluster>-<namespace>...``) were the
same for ``acme-dev`` and ``acme-test``. The mesh hub is one per hub account (its LF-tag ontology,
domain databases and data-lake settings belong to the account: docs/mesh.md), so it is off here.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from tests.change.change_fixtures import platform_assembly, shipped_context
from tests.harness import SynthesizedPlatform

#: Properties that name something account-wide (or, for StatementId, bus-wide).
NAME_KEYS = ("Name", "StatementId", "Alias", "ParameterName")
#: References to shared things, and names that need not be unique (labels, per-role inline policies).
SHARED = {("AWS::Events::EventBusPolicy", "EventBusName"), ("AWS::EMR::Cluster", "Name")}
NOT_UNIQUE = ("MetricName", "ServiceName", "PolicyName", "DisplayName")


def _registry_name(template: dict[str, Any], registry: dict[str, Any]) -> str:
    """The name of a Glue schema's registry (given by name, or by ``Fn::GetAtt`` of a registry in the template)."""
    if isinstance(registry.get("Name"), str):
        return registry["Name"]
    arn = registry.get("Arn")
    if isinstance(arn, dict) and "Fn::GetAtt" in arn:
        return template["Resources"][arn["Fn::GetAtt"][0]]["Properties"]["Name"]
    return str(arn)


def names(templates: dict[str, dict[str, Any]]) -> Iterator[tuple[str, str, str]]:
    """(type, property, literal value) of every naming property of every resource."""
    for template in templates.values():
        for resource in template.get("Resources", {}).values():
            for key, value in resource.get("Properties", {}).items():
                if not isinstance(value, str) or not key.endswith(NAME_KEYS) or key in NOT_UNIQUE:
                    continue
                if resource["Type"] == "AWS::Glue::Schema" and key == "Name":  # unique within its registry only
                    value = f"{_registry_name(template, resource['Properties'].get('Registry', {}))}/{value}"
                if (resource["Type"], key) not in SHARED:
                    yield resource["Type"], key, value


def test_two_prefixes_share_no_account_wide_name(platform: SynthesizedPlatform) -> None:
    """The shipped ``meshworks-demo`` (the session synthesis: no second whole app to build) beside ``meshworks-test``:
    two prefixes that, like ``acme-dev`` and ``acme-test``, differ only after a common start."""
    context = shipped_context()
    assert context["prefix"] == "meshworks-demo" == platform.config.prefix
    context["prefix"] = "meshworks-test"
    # The curated zone is named by the prefix: the domain map names the datasets' folder in it.
    context["mesh"]["domains"]["clickstream"]["buckets"] = ["s3://meshworks-test-222222222222-curated/clickstream/"]
    # Features is left out: its keyspace and table are named by the CQL schema (account-wide, like the
    # mesh hub's databases), so one feature store per account (docs/features.md).
    other = platform_assembly(context, spark=True, monitoring=True, orchestration=True, ingestion=True).templates
    # The same stacks of the shipped app (its mesh and feature stacks are one per account: left out here too).
    shipped = {stack: template for stack, template in platform.templates.items() if stack in other}
    assert shipped.keys() == other.keys()
    dev, test = set(names(shipped)), set(names(other))
    assert len(dev) > 20  # the check sees the named resources
    assert sorted(dev & test) == [], "\n".join(map(str, sorted(dev & test)))


def test_fit_name_keeps_short_names_and_hashes_long_ones() -> None:
    from meshworks.constructs.core.naming import fit_name

    assert fit_name("acme-dev-monitoring-job-events-222222222222", 64) == "acme-dev-monitoring-job-events-222222222222"
    long_a, long_b = "x" * 70 + "-a", "x" * 70 + "-b"
    assert len(fit_name(long_a, 64)) == 64 and fit_name(long_a, 64) != fit_name(long_b, 64)
    assert fit_name(long_a, 64) == fit_name(long_a, 64)
    assert fit_name("a b/c", 20) == "a-b-c"
