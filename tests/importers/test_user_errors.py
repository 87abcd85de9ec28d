"""Common Python mistakes end in one message in our words (issue 16, item "errors").

Before the fix each of these ended otherwise: ``'emr' is not a valid JobService`` (no valid values), a string
iterated character by character (``pin_availability_zones(stack, "eu-west-1a")`` pinned ten one-letter zones), ``TypeError: expected string``
from a regex for an int account id, and pydantic's multi-line report with ``errors.pydantic.dev`` links for a
model built in Python.
"""

from __future__ import annotations

import pytest
from aws_cdk import App, Duration, Environment, Stack
from aws_cdk import aws_iam as iam

from meshworks.constructs.core import pin_availability_zones
from meshworks.constructs.core.inputs import ModelError
from meshworks.constructs.features import KeyspacesTableSchema
from meshworks.constructs.mesh import DataProductCatalog, MeshTrust, ShareAcceptor, SharingMode, load_contracts
from meshworks.constructs.mesh.producer_policy import producer_policy
from meshworks.constructs.monitoring import JobService, failure_patterns
from meshworks.constructs.spark import EmrClusterSettings, Engine, SparkJob, SparkLimits
from meshworks.constructs.storage import DataLakeStorage, Zone


def _stack() -> Stack:
    return Stack(App(), "Test", env=Environment(account="111111111111", region="eu-west-1"))


@pytest.mark.parametrize(
    ("enum", "bad", "listed"),
    [
        (JobService, "emr", "'glue', 'emr-serverless', 'emr-step', 'emr-cluster', 'step-functions'"),
        (SharingMode, "tags", "'lf_tags', 'named_resources'"),
        (Zone, "gold", "'raw', 'stage', 'curated', 'backup'"),
        (Engine, "spark", "'emr-serverless'"),
    ],
)
def test_an_unknown_choice_lists_the_valid_values(enum: type, bad: str, listed: str) -> None:
    with pytest.raises(ValueError, match=f"'{bad}' is not a valid {enum.__name__}: use one of .*{listed.split(',')[0]}") as info:
        enum(bad)
    assert listed in str(info.value)


def test_a_zone_typo_in_a_grant_lists_the_zones() -> None:
    stack = _stack()
    lake = DataLakeStorage(stack, "Lake")
    role = iam.Role(stack, "R", assumed_by=iam.AccountRootPrincipal())
    with pytest.raises(ValueError, match="'gold' is not a valid Zone: use one of 'raw', 'stage', 'curated', 'backup'"):
        lake.grant_read("gold", role)


def test_one_string_where_a_list_is_expected_is_refused() -> None:
    stack = _stack()
    with pytest.raises(ValueError, match=r"pin_availability_zones: availability_zones must be a list .* \['eu-west-1a'\]"):
        pin_availability_zones(stack, "eu-west-1a")
    assert load_contracts("contracts/") == load_contracts(["contracts/"])  # one path is taken as one path
    with pytest.raises(ValueError, match=r"MeshTrust: consumer_accounts must be a list"):
        MeshTrust({}, consumer_accounts="333333333333")
    with pytest.raises(ValueError, match=r"failure_patterns: services must be a list of strings"):
        failure_patterns("glue")
    with pytest.raises(ValueError, match=r"failure_pattern: state_machine_arns must be a list of strings"):
        failure_patterns(state_machine_arns="arn:aws:states:eu-west-1:111111111111:stateMachine:x")


@pytest.mark.parametrize(
    "build",
    [
        lambda stack: ShareAcceptor(stack, "Acceptor", hub_account_id=123456789012),
        lambda stack: DataProductCatalog(stack, "Products", catalog_id=123456789012, data_access_role_arn=None),
        lambda stack: producer_policy(hub_account=123456789012, name_prefix="acme", region="eu-west-1", locations=["s3://b/"]),
    ],
    ids=["ShareAcceptor.hub_account_id", "DataProductCatalog.catalog_id", "producer_policy.hub_account"],
)
def test_an_int_account_id_says_to_quote_it(build) -> None:  # noqa: ANN001
    with pytest.raises(ValueError, match=r"123456789012 is not a 12-digit AWS account id: pass it as a quoted string"):
        build(_stack())


@pytest.mark.parametrize(
    ("build", "expected"),
    [
        (lambda: SparkLimits(max_executors="many"), "SparkLimits: max_executors = 'many': Input should be a valid integer"),
        (lambda: SparkJob(name="x"), "SparkJob: job_class: Field required"),
        (lambda: EmrClusterSettings(release_label="emr-6.15.0"), "EmrClusterSettings: release_label = 'emr-6.15.0': release_label"),
        (lambda: KeyspacesTableSchema(keyspace="features"), "KeyspacesTableSchema: table: Field required"),
    ],
    ids=["SparkLimits", "SparkJob", "EmrClusterSettings", "KeyspacesTableSchema"],
)
def test_a_model_built_in_python_fails_in_one_line_without_links(build, expected: str) -> None:  # noqa: ANN001
    with pytest.raises(ModelError) as info:
        build()
    message = str(info.value)
    assert message.startswith(expected), message
    assert "\n" not in message and "errors.pydantic.dev" not in message, message
    assert isinstance(info.value, ValueError) and info.value.error_count() >= 1


def test_one_collaborator_where_a_list_is_expected_is_refused() -> None:
    from aws_cdk import aws_s3 as s3

    from meshworks.constructs.core import PlatformKey
    from meshworks.constructs.spark import SparkJobRole
    from meshworks.constructs.storage import SecureBucket

    stack = _stack()
    bucket = SecureBucket(stack, "Code")
    with pytest.raises(ValueError, match=r"SparkJobRole: code_buckets must be a list of s3.IBucket objects, not one value"):
        SparkJobRole(stack, "Jobs", code_buckets=bucket)
    with pytest.raises(ValueError, match=r"SparkJobRole: extra_keys must be a list of kms.IKey objects"):
        SparkJobRole(stack, "Jobs2", extra_keys=PlatformKey(stack, "K"))
    rule = s3.LifecycleRule(id="tmp", prefix="tmp/", expiration=Duration.days(1))
    with pytest.raises(ValueError, match=r"SecureBucket: lifecycle_rules must be a list of s3.LifecycleRule objects"):
        SecureBucket(stack, "Tmp", lifecycle_rules=rule)
