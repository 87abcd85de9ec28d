"""One vocabulary (issue 16): renamed arguments, and the old names working for one release with a warning.

Rule: a prefix a construct puts in front of the physical names of the resources it creates is ``name_prefix``
(was ``prefix``, ``bucket_name_prefix``, ``topic_name_prefix``); KMS key ARNs are ``kms_key_arns`` (``MeshHub``'s
``producer_key_arns`` is now ``producer_kms_key_arns``, as the configuration key ``mesh.producer_kms_key_arns``).
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from typing import Any

import pytest
from aws_cdk import App, Environment, Stack
from aws_cdk import aws_dynamodb as dynamodb

from meshworks.constructs.core import PlatformKey
from meshworks.constructs.mesh import MeshHub
from meshworks.constructs.monitoring import SloMonitor
from meshworks.constructs.network import PlatformVpc
from meshworks.constructs.spark import JobCatalog, JobRollout, SparkJob, SparkLimits, TransientClusterProfile
from meshworks.constructs.storage import DataLakeStorage, SecureBucket

KEY = "arn:aws:kms:eu-west-1:444455556666:key/00000000-0000-4000-8000-444455556666"
CATALOG = JobCatalog(rollout_ring=1, jobs=[SparkJob(name="a", job_class="quick", ring=0, owner="o",
                                                    entry_point="s3://acme-artifacts/jobs/a.py", limits=SparkLimits(max_executors=2))])


def _stack() -> Stack:
    return Stack(App(), "S", env=Environment(account="111111111111", region="eu-west-1"))


def _profile(stack: Stack, **kwargs: Any) -> TransientClusterProfile:
    key = PlatformKey(stack, "Key")
    vpc = PlatformVpc(stack, "Vpc", interface_endpoints=[]).vpc
    logs = SecureBucket(stack, "Logs", encryption_key=key)
    return TransientClusterProfile(stack, "P", name="nightly", vpc=vpc, encryption_key=key, log_bucket=logs, **kwargs)


# (construct, old name, new name, value, build(stack, **kwargs), read back the value)
CASES: list[tuple[str, str, str, Any, Callable[..., Any], Callable[[Any], Any]]] = [
    ("DataLakeStorage", "bucket_name_prefix", "name_prefix", "acme-data",
     lambda s, **kw: DataLakeStorage(s, "Lake", **kw), lambda c: c.buckets["raw"].bucket_name),
    ("SloMonitor", "topic_name_prefix", "name_prefix", "acme-slo",
     lambda s, **kw: SloMonitor(s, "Slo", contracts=[], delivery_table=dynamodb.Table.from_table_name(s, "D", "d"), **kw),
     lambda c: c is not None),
    ("MeshHub", "producer_key_arns", "producer_kms_key_arns", [KEY],
     lambda s, **kw: MeshHub(s, "Hub", producer_buckets=["acme-sales"], **kw), lambda c: c is not None),
    ("JobRollout", "prefix", "name_prefix", "acme",
     lambda s, **kw: JobRollout(s, "R", catalog=CATALOG, **kw), lambda c: c.name_prefix),
    ("TransientClusterProfile", "prefix", "name_prefix", "acme", _profile, lambda c: c.parameter_name),
]
IDS = [f"{c[0]}.{c[1]}" for c in CASES]


@pytest.mark.parametrize(("owner", "old", "new", "value", "build", "read"), CASES, ids=IDS)
def test_the_old_name_still_works_and_warns(owner: str, old: str, new: str, value: Any, build: Callable[..., Any], read: Callable[[Any], Any]) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        current = read(build(_stack(), **{new: value}))
    with pytest.warns(DeprecationWarning, match=rf"{owner}: {old}= is deprecated, use {new}="):
        legacy = read(build(_stack(), **{old: value}))
    if isinstance(current, str) and "${Token" not in current:
        assert legacy == current


@pytest.mark.parametrize(("owner", "old", "new", "value", "build", "read"), CASES, ids=IDS)
def test_both_names_at_once_are_refused(owner: str, old: str, new: str, value: Any, build: Callable[..., Any], read: Callable[[Any], Any]) -> None:
    with pytest.raises(ValueError, match=rf"{owner}: pass {new}= only"):
        build(_stack(), **{old: value, new: value})


# ---- None means the default; False opts out (EmrCluster, TransientClusterProfile) ---------------------------


def _cluster(stack: Stack, **kwargs: Any) -> Any:
    from meshworks.constructs.spark import EmrCluster

    key = PlatformKey(stack, "Key")
    vpc = PlatformVpc(stack, "Vpc", interface_endpoints=[]).vpc
    return EmrCluster(stack, "C", vpc=vpc, encryption_key=key, log_bucket=SecureBucket(stack, "Logs", encryption_key=key), **kwargs)


def _fleets(construct: Any) -> list[str]:
    """Fleet types of an EmrCluster (its L1) or a TransientClusterProfile (its RunJobFlow document)."""
    if hasattr(construct, "job_flow_overrides"):
        return [fleet["InstanceFleetType"] for fleet in construct.job_flow_overrides["Instances"]["InstanceFleets"]]
    return ["TASK"] * (construct.task_fleet is not None)


@pytest.mark.parametrize(
    "build", [_cluster, lambda s, **kw: _profile(s, name_prefix="acme", **kw)], ids=["EmrCluster", "TransientClusterProfile"]
)
def test_absent_or_none_is_the_default_fleet_and_false_is_none(build: Callable[..., Any]) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert "TASK" in _fleets(build(_stack()))  # absent: the default task fleet
        assert "TASK" not in _fleets(build(_stack(), task_fleet=False, managed_scaling=False))  # opted out
    # For one release an explicit None keeps its old meaning (none), with a warning saying what changes.
    with pytest.warns(DeprecationWarning, match=r"task_fleet=None means 'none' in this release only; pass task_fleet=False"):
        assert "TASK" not in _fleets(build(_stack(), task_fleet=None, managed_scaling=False))


# ---- collaborators are interfaces: DataProduct's data-access role ------------------------------------------


def _registration_roles(**kwargs: Any) -> list[Any]:
    from aws_cdk.assertions import Template

    from meshworks.constructs.mesh import DataProduct
    from tests.mesh.mesh_fixtures import make_contract, new_stack

    _, stack = new_stack()
    hub = MeshHub(stack, "Hub", name_prefix="acme", producer_buckets=["acme-sales-curated"])
    role = hub.data_access_role
    kwargs = {k: (role if v == "ROLE" else v) for k, v in kwargs.items()}
    DataProduct(stack, "Orders", contract=make_contract(consumers=[]), hub=hub, **kwargs)
    resources = Template.from_stack(stack).find_resources("AWS::LakeFormation::Resource")
    return [r["Properties"]["RoleArn"] for r in resources.values()]


def test_data_product_takes_the_role_itself_or_by_arn_or_the_hubs() -> None:
    by_role = _registration_roles(data_access_role="ROLE")
    assert by_role and by_role == _registration_roles()  # with hub=: the hub's data-access role by default
    assert _registration_roles(data_access_role_arn="arn:aws:iam::111111111111:role/lf-access") == [
        "arn:aws:iam::111111111111:role/lf-access"
    ]
    with pytest.raises(ValueError, match="pass data_access_role or data_access_role_arn, not both"):
        _registration_roles(data_access_role="ROLE", data_access_role_arn="arn:aws:iam::111111111111:role/x")


def test_feature_table_keys_none_is_the_default_and_false_is_none() -> None:
    from aws_cdk.assertions import Template

    from meshworks.constructs.features import FeatureTable

    def schema(**kwargs: Any) -> tuple[list[str], bool]:
        stack = _stack()
        FeatureTable(stack, "T", **kwargs)
        props = next(iter(Template.from_stack(stack).find_resources("AWS::DynamoDB::GlobalTable").values()))["Properties"]
        return [k["AttributeName"] for k in props["KeySchema"]], "TimeToLiveSpecification" in props

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert schema() == (["entity_id", "feature_set"], True)
        assert schema(sort_key=False, time_to_live_attribute=False) == (["entity_id"], False)
    with pytest.warns(DeprecationWarning, match=r"FeatureTable: sort_key=None means 'none' in this release only"):
        assert schema(sort_key=None, time_to_live_attribute=False) == (["entity_id"], False)
