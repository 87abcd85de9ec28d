"""Typed collaborators: interfaces accepted, bad inputs refused at construction (issue 11, item 4).

Each message names the construct, the argument and the fix. Before the fix: a plain or imported ``kms.IKey``
failed with ``AttributeError ... 'allow_cloudwatch_logs'``, ``Duration.seconds(90)`` ended in a JavaScript
traceback naming no argument, ``producer_buckets=["s3://..."]`` and bad account ids were accepted (deploy-time
failures), and an SSE-KMS access-log target was accepted (logs silently lost).
"""

from __future__ import annotations

import pytest
from aws_cdk import App, Duration, Stack, Token
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from aws_cdk.assertions import Template

from meshworks.constructs.core import PlatformFunction, PlatformKey, SecureLogGroup
from meshworks.constructs.deploy import GitHubDeployRole
from meshworks.constructs.mesh import (
    DataProduct,
    DataProductCatalog,
    MeshHub,
    ShareAcceptor,
    SpokeProduct,
    load_contracts,
)
from meshworks.constructs.mesh.producer_policy import producer_policy
from meshworks.constructs.monitoring import JobEventForwarder, JobFailureAlerts, PlatformDashboard, SloMonitor
from meshworks.constructs.network import PlatformVpc
from meshworks.constructs.orchestration import AirflowEnvironment
from meshworks.constructs.spark import (
    EmrCluster,
    EmrClusterPrerequisites,
    EmrOnEksVirtualCluster,
    EmrServerlessApplication,
    FlinkOnEmr,
    SparkJobRole,
    TransientClusterProfile,
)
from meshworks.constructs.storage import AccessLogsBucket, DataLakeStorage, SecureBucket
from tests.harness import ROOT

IMPORTED_KEY = "arn:aws:kms:eu-west-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab"


def _stack() -> Stack:
    return Stack(App(builtin_cloud_formation_validation=False), "User")


# ---- keys: any kms.IKey -------------------------------------------------------------------------------


def test_mesh_hub_takes_a_plain_key_and_lets_cloudwatch_logs_use_it() -> None:
    stack = _stack()
    key = kms.Key(stack, "Key", enable_key_rotation=True)
    MeshHub(stack, "Hub", encryption_key=key)
    statements = Template.from_stack(stack).to_json()["Resources"]
    policy = next(r for r in statements.values() if r["Type"] == "AWS::KMS::Key")["Properties"]["KeyPolicy"]
    assert any(s.get("Sid") == "AllowCloudWatchLogsOfThisAccount" for s in policy["Statement"])


def test_imported_key_works_and_says_what_its_owner_must_allow() -> None:
    stack = _stack()
    key = kms.Key.from_key_arn(stack, "Key", IMPORTED_KEY)
    function = PlatformFunction(stack, "Fn", package="mesh_notifier", handler="mesh_notifier.handler.main", encryption_key=key)
    warnings = [str(m.data) for m in function.log_group.node.metadata if m.type == "aws:cdk:warning"]
    assert any("logs.<region>.amazonaws.com" in w and IMPORTED_KEY in w for w in warnings), warnings
    assert isinstance(function.log_group, SecureLogGroup)


@pytest.mark.parametrize(
    "build",
    [
        lambda s, k: MeshHub(s, "Hub", encryption_key=k),
        lambda s, k: ShareAcceptor(s, "Acceptor", hub_account_id="111122223333", encryption_key=k),
        lambda s, k: JobFailureAlerts(s, "Alerts", encryption_key=k),
        lambda s, k: DataLakeStorage(s, "Lake", encryption_key=k),
        lambda s, k: EmrServerlessApplication(s, "Spark", vpc=PlatformVpc(s, "Net", encryption_key=k).vpc, encryption_key=k),
    ],
    ids=["mesh-hub", "share-acceptor", "job-failure-alerts", "data-lake", "emr-serverless"],
)
def test_constructs_take_an_imported_key(build) -> None:
    stack = _stack()
    build(stack, kms.Key.from_key_arn(stack, "Imported", IMPORTED_KEY))
    Template.from_stack(stack)  # synthesizes


# ---- durations in whole units ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("build", "message"),
    [
        (lambda s: ShareAcceptor(s, "A", hub_account_id="111122223333", schedule=Duration.seconds(90)),
         r"ShareAcceptor: schedule = 1 minute 30 seconds is not a whole number of minutes: use e\.g\. Duration\.minutes\(2\)"),
        (lambda s: SloMonitor(s, "M", contracts=[], delivery_table=None, sweep_interval=Duration.seconds(90)),
         r"SloMonitor: sweep_interval = .* is not a whole number of minutes"),
        (lambda s: JobFailureAlerts(s, "J", dedup_window=Duration.hours(36)),
         r"JobFailureAlerts: dedup_window = .* is not a whole number of days: use e\.g\. Duration\.days\(2\)"),
        (lambda s: PlatformFunction(s, "F", package="mesh_notifier", handler="mesh_notifier.handler.main",
                                    encryption_key=kms.Key(s, "K"), timeout=Duration.millis(1500)),
         r"PlatformFunction: timeout = .* is not a whole number of seconds"),
        (lambda s: PlatformFunction(s, "F", package="mesh_notifier", handler="mesh_notifier.handler.main",
                                    encryption_key=kms.Key(s, "K"), timeout=Duration.minutes(20)),
         r"PlatformFunction: timeout = 20 minutes is out of range: use 1 to 900 seconds"),
        (lambda s: DataLakeStorage(s, "Lake", stage_expiration=Duration.hours(36)),
         r"DataLakeStorage: stage_expiration = .* is not a whole number of days: use e\.g\. Duration\.days\(2\)"),
        (lambda s: PlatformKey(s, "Key", pending_window=Duration.days(3)),
         r"PlatformKey: pending_window = 3 days is out of range: use 7 to 30 days"),
        # a token duration ended in the CDK's own "MustBeDurationSpecifiedDuration" traceback
        (lambda s: PlatformKey(s, "Key", pending_window=Duration.days(Token.as_number({"Ref": "Days"}))),
         r"PlatformKey: pending_window comes from a token .* give a literal duration, e\.g\. Duration\.days\(7\)"),
    ],
    ids=["share-acceptor-schedule", "slo-sweep", "dedup-window", "function-timeout-ms", "function-timeout-range",
         "lake-stage-expiration", "key-pending-window", "token"],
)
def test_duration_not_in_whole_units_is_refused_by_name(build, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        build(_stack())


# ---- names, ARNs and accounts ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"producer_buckets": ["s3://acme-sales-curated/orders/"]},
         r"MeshHub: producer_buckets entry 's3://acme-sales-curated/orders/' is not an S3 bucket name: "
         r"pass the bucket name only, e\.g\. 'acme-sales-curated'"),
        ({"producer_kms_key_arns": ["alias/sales"]}, r"MeshHub: producer_kms_key_arns entry .alias/sales. is not a KMS key ARN"),
        ({"producer_kms_key_arns": ["arn:aws:kms:eu-west-1:111122223333:alias/sales"]}, r"producer_kms_key_arns entry .* is not a KMS key ARN"),
        ({"lf_admin_role_arns": ["arn:aws:iam::111122223333:user/alice"]}, r"lf_admin_role_arns entry .* is not an IAM role ARN"),
    ],
)
def test_mesh_hub_refuses_bad_names(kwargs: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        MeshHub(_stack(), "Hub", **kwargs)


@pytest.mark.parametrize("account", ["11112222333", 111122223333, "1111-2222-3333"])
def test_bad_account_ids_are_refused(account: object) -> None:
    hub = MeshHub(_stack(), "Hub")
    with pytest.raises(ValueError, match=r"MeshHub: add_consumer_account\(account\) entry .* is not a 12-digit AWS account id"):
        hub.add_consumer_account(account)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=r"add_domain\('sales'\)\.producer_accounts entry"):
        hub.add_domain("sales", producer_accounts=[account])  # type: ignore[list-item]
    with pytest.raises(ValueError, match=r"JobFailureAlerts: source_accounts entry"):
        JobFailureAlerts(_stack(), "J", source_accounts=[account])  # type: ignore[list-item]


# ---- server access log targets ---------------------------------------------------------------------------


def test_sse_kms_access_log_target_is_refused() -> None:
    stack = _stack()
    target = SecureBucket(stack, "Other")  # SSE-KMS
    with pytest.raises(ValueError, match=r"SecureBucket 'Data': server_access_logs_bucket 'User/Other' uses SSE-KMS .*AccessLogsBucket"):
        SecureBucket(stack, "Data", server_access_logs_bucket=target)
    kms_managed = s3.Bucket(stack, "KmsManaged", encryption=s3.BucketEncryption.KMS_MANAGED)
    with pytest.raises(ValueError, match="uses SSE-KMS"):
        SecureBucket(stack, "Data2", server_access_logs_bucket=kms_managed)


def test_sse_s3_access_log_targets_are_accepted_and_imported_ones_explained() -> None:
    stack = _stack()
    SecureBucket(stack, "A", server_access_logs_bucket=AccessLogsBucket(stack, "Logs"))
    SecureBucket(stack, "B", server_access_logs_bucket=s3.Bucket(stack, "Plain", encryption=s3.BucketEncryption.S3_MANAGED))
    imported = SecureBucket(stack, "C", server_access_logs_bucket=s3.Bucket.from_bucket_name(stack, "Ext", "acme-logs"))
    warnings = [str(m.data) for m in imported.node.metadata if m.type == "aws:cdk:warning"]
    assert any("acme-logs is imported" in w and "SSE-S3" in w for w in warnings), warnings


def test_spark_job_runner_takes_the_users_own_job_role() -> None:
    from aws_cdk import aws_iam as iam

    from meshworks.constructs.spark import SparkJobRunner

    stack = _stack()
    application = EmrServerlessApplication(stack, "Spark", vpc=PlatformVpc(stack, "Net", interface_endpoints=[]).vpc)
    role = iam.Role.from_role_arn(stack, "JobRole", "arn:aws:iam::111122223333:role/etl-jobs")
    SparkJobRunner(stack, "Runner", application=application, job_role=role, encryption_key=kms.Key(stack, "Key"))
    statements = [
        statement
        for resource in Template.from_stack(stack).find_resources("AWS::IAM::Policy").values()
        for statement in resource["Properties"]["PolicyDocument"]["Statement"]
    ]
    pass_role = [s for s in statements if s["Action"] == "iam:PassRole"]
    assert pass_role == [{
        "Action": "iam:PassRole", "Effect": "Allow", "Resource": "arn:aws:iam::111122223333:role/etl-jobs",
        "Condition": {"StringEquals": {"iam:PassedToService": "emr-serverless.amazonaws.com"}},
    }]
    with pytest.raises(ValueError, match="SparkJobRunner: job_role must be a SparkJobRole or an iam.IRole, got str"):
        SparkJobRunner(stack, "Runner2", application=application, job_role="etl-jobs", encryption_key=kms.Key(stack, "Key2"))


# ---- a bare string where a list is expected (it would be split into characters) ----------------------------


def _spark_base(s: Stack) -> dict:
    key = kms.Key(s, "K", enable_key_rotation=True)
    return {"vpc": PlatformVpc(s, "Net", encryption_key=key).vpc, "encryption_key": key, "log_bucket": AccessLogsBucket(s, "Logs")}


def _eks_base(s: Stack) -> dict:
    return {"eks_cluster_name": "data", "namespace": "spark", "encryption_key": kms.Key(s, "K", enable_key_rotation=True),
            "oidc_provider_arn": "arn:aws:iam::111122223333:oidc-provider/oidc.eks.eu-west-1.amazonaws.com/id/ABC"}


def _prerequisites(s: Stack) -> EmrClusterPrerequisites:
    return EmrClusterPrerequisites(s, "Pre", **_spark_base(s))


_HUB = {"catalog_id": "111122223333", "data_access_role_arn": None}
# (construct, argument, builder taking the stack and the argument's keyword arguments)
_LIST_ARGUMENTS = [
    ("JobFailureAlerts", "muted_jobs", lambda s, kw: JobFailureAlerts(s, "C", **kw)),
    ("JobFailureAlerts", "emails", lambda s, kw: JobFailureAlerts(s, "C", **kw)),
    ("JobFailureAlerts", "source_accounts", lambda s, kw: JobFailureAlerts(s, "C", **kw)),
    ("JobFailureAlerts", "state_machine_arns", lambda s, kw: JobFailureAlerts(s, "C", **kw)),
    ("JobFailureAlerts", "services", lambda s, kw: JobFailureAlerts(s, "C", **kw)),
    ("JobEventForwarder", "services", lambda s, kw: JobEventForwarder(s, "C", target_account="111122223333", **kw)),
    ("JobEventForwarder", "alarm_emails", lambda s, kw: JobEventForwarder(s, "C", target_account="111122223333", **kw)),
    ("JobEventForwarder", "state_machine_arns", lambda s, kw: JobEventForwarder(s, "C", target_account="111122223333", **kw)),
    ("PlatformDashboard", "domains", lambda s, kw: PlatformDashboard(s, "C", **kw)),
    ("PlatformDashboard", "function_names", lambda s, kw: PlatformDashboard(s, "C", **kw)),
    ("PlatformDashboard", "alarm_emails", lambda s, kw: PlatformDashboard(s, "C", **kw)),
    ("PlatformVpc", "interface_endpoints", lambda s, kw: PlatformVpc(s, "C", **kw)),
    ("PlatformVpc", "availability_zones", lambda s, kw: PlatformVpc(s, "C", **kw)),
    ("PlatformVpc", "endpoint_principal_accounts", lambda s, kw: PlatformVpc(s, "C", **kw)),
    ("GitHubDeployRole", "targets", lambda s, kw: GitHubDeployRole(s, "C", repository="acme/x", environment="prod", **kw)),
    ("MeshHub", "lf_admin_role_arns", lambda s, kw: MeshHub(s, "C", **kw)),
    ("MeshHub", "producer_buckets", lambda s, kw: MeshHub(s, "C", **kw)),
    ("MeshHub", "producer_locations", lambda s, kw: MeshHub(s, "C", **kw)),
    ("MeshHub", "producer_kms_key_arns", lambda s, kw: MeshHub(s, "C", **kw)),
    ("DataProductCatalog", "allowed_consumer_accounts", lambda s, kw: DataProductCatalog(s, "C", **_HUB, **kw)),
    ("DataProduct", "allowed_consumer_accounts",
     lambda s, kw: DataProduct(s, "C", contract=load_contracts([ROOT / "contracts"])[0], **_HUB, **kw)),
    ("DataProduct", "location_access_role_arns",
     lambda s, kw: DataProduct(s, "C", contract=load_contracts([ROOT / "contracts"])[0], **_HUB, **kw)),
    ("DataProductCatalog", "location_access_role_arns", lambda s, kw: DataProductCatalog(s, "C", **_HUB, **kw)),
    ("SpokeProduct", "consumer_accounts",
     lambda s, kw: SpokeProduct(s, "C", hub_account_id="111122223333", asset_bucket_name="acme-sc-assets", **kw)),
    ("AirflowEnvironment", "requirements", lambda s, kw: AirflowEnvironment(s, "C", name="acme", vpc=PlatformVpc(s, "Net").vpc, **kw)),
    *[("SparkJobRole", arg, lambda s, kw: SparkJobRole(s, "C", lake=DataLakeStorage(s, "Lake"), **kw))
      for arg in ("read_zones", "write_zones", "read_write_zones", "glue_databases", "glue_write_databases")],
    *[("EmrClusterPrerequisites", arg, lambda s, kw: EmrClusterPrerequisites(s, "C", lake=DataLakeStorage(s, "Lake"), **_spark_base(s), **kw))
      for arg in ("read_zones", "write_zones", "read_write_zones", "glue_databases", "glue_write_databases",
                  "https_egress_cidrs", "https_egress_prefix_list_ids")],
    *[("FlinkOnEmr", arg, lambda s, kw: FlinkOnEmr(s, "C", lake=DataLakeStorage(s, "Lake"), **_spark_base(s), **kw))
      for arg in ("ui_allowed_cidrs", "read_zones", "write_zones", "read_write_zones", "glue_databases",
                  "glue_write_databases", "https_egress_cidrs", "https_egress_prefix_list_ids")],
    *[("EmrOnEksVirtualCluster", arg, lambda s, kw: EmrOnEksVirtualCluster(s, "C", lake=DataLakeStorage(s, "Lake"), **_eks_base(s), **kw))
      for arg in ("read_zones", "write_zones", "read_write_zones", "glue_databases", "glue_write_databases")],
    *[("EmrServerlessApplication", arg, lambda s, kw: EmrServerlessApplication(s, "C", vpc=PlatformVpc(s, "Net").vpc, **kw))
      for arg in ("https_egress_cidrs", "https_egress_prefix_list_ids")],
    ("EmrCluster", "applications", lambda s, kw: EmrCluster(s, "C", prerequisites=_prerequisites(s), **kw)),
    ("TransientClusterProfile", "applications",
     lambda s, kw: TransientClusterProfile(s, "C", name="t", name_prefix="acme", prerequisites=_prerequisites(s), **kw)),
]


@pytest.mark.parametrize(("construct", "argument", "build"), _LIST_ARGUMENTS, ids=[f"{c}-{a}" for c, a, _ in _LIST_ARGUMENTS])
def test_a_bare_string_for_a_list_is_refused_by_name(construct: str, argument: str, build) -> None:
    """Before: ``muted_jobs="sandbox-*"`` muted every alert (``"*"``), emails subscribed "a", "@", ...;
    glue_databases granted ``database/s``; others ended in a jsii error or a message about one character."""
    value = ("111122223333", "eu-west-1") if argument == "targets" else "sales-*"
    with pytest.raises(ValueError, match=rf"^{construct}: {argument} must be a list .*not one string .*pass a list, e\.g\. \["):
        build(_stack(), {argument: value})


def test_mappings_and_methods_refuse_a_bare_string() -> None:
    with pytest.raises(ValueError, match=r"^SloMonitor: domain_alert_emails\['sales'\] must be a list .*not one string 'oncall@acme\.com'"):
        SloMonitor(_stack(), "M", contracts=[], delivery_table=None, domain_alert_emails={"sales": "oncall@acme.com"})
    with pytest.raises(ValueError, match=r"^DataProductCatalog: consumers\['111122223333'\] must be a list .*not one string"):
        DataProductCatalog(_stack(), "C", **_HUB, consumers={"111122223333": "sales"})
    with pytest.raises(ValueError, match=r"^MeshHub: add_domain\('sales'\)\.producer_accounts must be a list"):
        MeshHub(_stack(), "Hub").add_domain("sales", producer_accounts="111122223333")
    with pytest.raises(ValueError, match=r"^producer_policy: locations must be a list .*not one string"):
        producer_policy(hub_account="111122223333", name_prefix="acme", region="eu-west-1", locations="s3://acme-sales/orders/")
    with pytest.raises(ValueError, match=r"^MeshHub: add_lf_tag\('domain'\)\.values must be a list .*not one string"):
        MeshHub(_stack(), "Hub").add_lf_tag("domain", "sales")


_ACCOUNT_ARGUMENTS = [
    ("JobEventForwarder", r"target_account", lambda s, a: JobEventForwarder(s, "C", target_account=a)),
    ("JobFailureAlerts", r"source_accounts", lambda s, a: JobFailureAlerts(s, "C", source_accounts=[a])),
    ("GitHubDeployRole", r"targets", lambda s, a: GitHubDeployRole(s, "C", repository="acme/x", environment="prod", targets=[(a, "eu-west-1")])),
    ("PlatformVpc", r"endpoint_principal_accounts", lambda s, a: PlatformVpc(s, "C", endpoint_principal_accounts=[a])),
    ("SpokeProduct", r"consumer_accounts",
     lambda s, a: SpokeProduct(s, "C", hub_account_id="111122223333", asset_bucket_name="acme-sc-assets", consumer_accounts=[a])),
    ("DataProduct", r"allowed_consumer_accounts", lambda s, a: DataProduct(
        s, "C", contract=load_contracts([ROOT / "contracts"])[0], **_HUB, allowed_consumer_accounts=[a])),
    ("DataProductCatalog", r"allowed_consumer_accounts", lambda s, a: DataProductCatalog(s, "C", **_HUB, allowed_consumer_accounts=[a])),
    ("DataProductCatalog", r"consumers", lambda s, a: DataProductCatalog(s, "C", **_HUB, consumers={a: ["sales"]})),
]


@pytest.mark.parametrize(("construct", "argument", "build"), _ACCOUNT_ARGUMENTS, ids=[f"{c}-{a}" for c, a, _ in _ACCOUNT_ARGUMENTS])
def test_an_int_account_id_is_refused_by_name(construct: str, argument: str, build) -> None:
    """Before: ``target_account=12345678901`` (an int, a digit short) was accepted by some constructs."""
    with pytest.raises(ValueError, match=rf"^{construct}: {argument}.* 12345678901 is not a 12-digit AWS account id: pass it as a quoted string"):
        build(_stack(), 12345678901)
