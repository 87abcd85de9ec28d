"""Engineers importing single constructs inherit no cdk-nag finding (issue 11, item 1).

One external app, the way a user writes it: one stack per public construct, each with an ``env``, a role of
the user's own, and every public ``grant_*`` of the construct given to that role; both packs on through the
public ``meshworks.constructs.core.nag.add_policy_checks``. Synthesized once; every finding is attributed to
its stack by the construct path. Before the fix the user's roles carried 9-10 findings per construct
(``AwsSolutions-IAM5[...]`` per wildcard and ``NIST.800.53.R5-IAMNoInlinePolicy``).

The same constructs are also built in env-agnostic stacks (``Stack(app, "Analytics")``, as the README writes it),
in the same synth: cdk-nag then renders ARNs with ``<AWS::Region>`` / ``<AWS::AccountId>`` tokens, which patterns
written for literals missed (8 tests failed before the shared ``REGION``/``ACCOUNT`` parts of ``core/nag.py``).
"""

from __future__ import annotations

import contextlib
import json
from pathlib import Path

import pytest
from aws_cdk import App, Environment, Stack
from aws_cdk import aws_cloudwatch_actions as cloudwatch_actions
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_iam as iam
from aws_cdk import aws_secretsmanager as secretsmanager
from aws_cdk import aws_sns as sns

from meshworks.constructs.core import (
    DeadLetterQueue,
    PlatformFunction,
    PlatformKey,
    SecureLogGroup,
    pin_availability_zones,
)
from meshworks.constructs.core.nag import add_policy_checks
from meshworks.constructs.deploy import GitHubDeployRole
from meshworks.constructs.features import (
    ChangeColumn,
    FeatureJob,
    FeatureTable,
    FileMetadataTable,
    Keyspace,
    KeyspacesMigration,
    KeyspacesTable,
    KeyspacesTableSchema,
    OfflineStore,
)
from meshworks.constructs.mesh import DataProduct, MeshHub, ShareAcceptor, SpokeProduct, load_contracts
from meshworks.constructs.monitoring import JobEventForwarder, JobFailureAlerts, PlatformDashboard, SloMonitor
from meshworks.constructs.network import PlatformVpc
from meshworks.constructs.orchestration import AirflowEnvironment
from meshworks.constructs.spark import (
    EmrCluster,
    EmrOnEksVirtualCluster,
    EmrServerlessApplication,
    FlinkOnEmr,
    JobCatalog,
    JobRollout,
    SparkJob,
    SparkJobRole,
    SparkJobRunner,
    SparkLimits,
    TransientClusterProfile,
)
from meshworks.constructs.storage import AccessLogsBucket, DataLakeStorage, SecureBucket, Zone
from tests.features.cql_samples import CASSANDRA_DDL
from tests.harness import ROOT

ENV = Environment(account="123456789012", region="eu-west-1")
AZS = ["eu-west-1a", "eu-west-1b"]
CONTRACTS = load_contracts([ROOT / "contracts"])


def _user_role(stack: Stack) -> iam.Role:
    return iam.Role(stack, "UserRole", assumed_by=iam.ServicePrincipal("glue.amazonaws.com"))


#: Prefix of the env-agnostic copies of the stacks (``Stack(app, "Analytics")``, as the README's example writes it).
AGNOSTIC = "NoEnv"


def _build(app: App, *, agnostic: bool = False) -> None:
    """One stack per public construct; ``agnostic``: the same stacks without ``env``, named ``NoEnv<name>``.

    cdk-nag renders the ARNs of an env-agnostic stack with ``<AWS::Region>`` / ``<AWS::AccountId>`` tokens
    where a stack with an ``env`` has literals, so every acknowledgement pattern must accept both forms.
    """

    def _stack(app: App, name: str, *, pin: bool = False) -> Stack:
        """A user stack (``env`` unless agnostic); ``pin`` when a role comes before the VPC (README's first line)."""
        if agnostic:
            return Stack(app, AGNOSTIC + name)
        stack = Stack(app, name, env=ENV)
        if pin:
            pin_availability_zones(stack, AZS)
        return stack

    stack = _stack(app, "Lake")
    role = _user_role(stack)
    lake = DataLakeStorage(stack, "Lake", name_prefix="acme-analytics")  # the README's example
    lake.grant_read(Zone.RAW, role)
    lake.grant_write(Zone.CURATED, role)
    lake.grant_read_write(Zone.STAGE, role)
    imported = iam.Role.from_role_arn(stack, "ImportedUserRole", "arn:aws:iam::123456789012:role/etl")
    lake.grant_read(Zone.CURATED, imported)

    stack = _stack(app, "Bucket")
    role = _user_role(stack)
    bucket = SecureBucket(stack, "Exports")
    for grant in (bucket.grant_read, bucket.grant_put, bucket.grant_write, bucket.grant_read_write, bucket.grant_delete):
        grant(role)
    bucket.bucket_key.grant_encrypt_decrypt(role)
    SecureBucket(stack, "Events", event_bridge_enabled=True)  # CDK's BucketNotificationsHandler comes with it

    stack = _stack(app, "Serverless", pin=True)
    role = _user_role(stack)
    network = PlatformVpc(stack, "Network", availability_zones=AZS)
    application = EmrServerlessApplication(stack, "Spark", vpc=network.vpc)
    job_role = SparkJobRole(stack, "JobRole", applications=[application])
    job_role.grant_start_job_run(role, application)
    job_role.grant_pass_role(role)
    application.grant_start_job_run(role)
    application.grant_log_delivery(role)

    stack = _stack(app, "Transient", pin=True)
    role = _user_role(stack)
    network = PlatformVpc(stack, "Network", availability_zones=AZS)
    key = PlatformKey(stack, "Key")
    logs = SecureBucket(stack, "Logs", encryption_key=key)
    profile = TransientClusterProfile(
        stack, "Nightly", name="nightly", name_prefix="acme", vpc=network.vpc, encryption_key=key, log_bucket=logs
    )
    profile.grant_create_cluster(role)

    if not agnostic:  # FlinkOnEmr's load balancer access logs need the stack's region (CDK raises without one)
        stack = _stack(app, "Flink", pin=True)
        role = _user_role(stack)
        network = PlatformVpc(stack, "Network", availability_zones=AZS)
        key = PlatformKey(stack, "Key")
        flink = FlinkOnEmr(stack, "Flink", vpc=network.vpc, encryption_key=key, log_bucket=SecureBucket(stack, "Logs", encryption_key=key))
        flink.grant_submit(role)

    stack = _stack(app, "Hub")
    role = _user_role(stack)
    hub = MeshHub(stack, "Hub", name_prefix="acme", producer_buckets=["acme-sales-curated"])
    hub.add_domain("sales")
    hub.grant_put_events(role)
    hub.grant_read_deliveries(role)
    hub.grant_subscribe(role)

    stack = _stack(app, "Alerts")
    role = _user_role(stack)
    JobFailureAlerts(stack, "Alerts").grant_subscribe(role)

    stack = _stack(app, "Slo")  # as its docstring shows: a delivery table by name, an ops topic for the alarms
    role = _user_role(stack)
    monitor = SloMonitor(stack, "Slo", contracts=CONTRACTS, delivery_table=dynamodb.Table.from_table_name(stack, "Deliveries", "acme-deliveries"))
    monitor.add_alarm_action(cloudwatch_actions.SnsAction(sns.Topic(stack, "Ops", master_key=PlatformKey(stack, "OpsKey"), enforce_ssl=True)))
    for grant in (monitor.grant_read_breaches, monitor.grant_read_manifest, monitor.grant_read_slack_webhooks,
                  monitor.grant_dead_letter_alerts, monitor.grant_record_breaches):
        grant(role)

    stack = _stack(app, "Dashboard")
    monitor = SloMonitor(stack, "Slo", contracts=CONTRACTS, delivery_table=dynamodb.Table.from_table_name(stack, "Deliveries", "acme-deliveries"))
    alerts = JobFailureAlerts(stack, "Alerts", slack_secret=monitor.slack_secret, alert_dead_letter_queue=monitor.alert_dead_letter_queue)
    PlatformDashboard(stack, "Dashboard", slo_monitor=monitor, job_alerts=alerts)

    JobEventForwarder(_stack(app, "Forwarder"), "JobEvents", target_account="111111111111", target_region="eu-west-1")
    ShareAcceptor(_stack(app, "Acceptor"), "Acceptor", hub_account_id="111122223333",
                  local_principal_arns=["arn:aws:iam::123456789012:role/analysts"])
    SpokeProduct(_stack(app, "Spoke"), "Spoke", hub_account_id="123456789012", consumer_accounts=["444455556666"],
                 asset_bucket_name="acme-sc-assets-123456789012")

    stack = _stack(app, "Products")
    hub = MeshHub(stack, "Hub", name_prefix="acme", producer_buckets=sorted({c.bucket_name for c in CONTRACTS}))
    for contract in CONTRACTS:
        DataProduct(stack, contract.name, contract=contract, hub=hub, data_access_role_arn=hub.data_access_role.role_arn,
                    allowed_consumer_accounts=contract.consumers)

    stack = _stack(app, "Cluster")
    network = PlatformVpc(stack, "Network", availability_zones=AZS, interface_endpoints=[])
    key = PlatformKey(stack, "Key")
    EmrCluster(stack, "Cluster", vpc=network.vpc, encryption_key=key, log_bucket=SecureBucket(stack, "Logs", encryption_key=key))

    stack = _stack(app, "Eks")
    role = _user_role(stack)
    eks = EmrOnEksVirtualCluster(
        stack, "Eks", eks_cluster_name="analytics", namespace="spark", job_role_name="analytics-spark-jobs",
        oidc_provider_arn="arn:aws:iam::123456789012:oidc-provider/oidc.eks.eu-west-1.amazonaws.com/id/ABC123",
        encryption_key=PlatformKey(stack, "Key"), create_ecr_repository=True,
    )
    eks.grant_pull(role)

    stack = _stack(app, "Runner")
    network = PlatformVpc(stack, "Network", availability_zones=AZS, interface_endpoints=[])
    application = EmrServerlessApplication(stack, "Spark", vpc=network.vpc)
    job_role = SparkJobRole(stack, "JobRole", applications=[application])
    SparkJobRunner(stack, "Runner", application=application, job_role=job_role, encryption_key=PlatformKey(stack, "Key"))

    stack = _stack(app, "Rollout")
    role = _user_role(stack)
    catalog = JobCatalog(rollout_ring=1, jobs=[SparkJob(
        name="daily_orders", job_class="quick", ring=0, entry_point="s3://acme-artifacts/jobs/daily_orders.py",
        owner="team-orders", limits=SparkLimits(max_executors=10),
    )])
    JobRollout(stack, "Rollout", catalog=catalog, name_prefix="acme").grant_read(role)

    stack = _stack(app, "Features")
    role = _user_role(stack)
    keyspace = Keyspace(stack, "Keyspace", keyspace_name="features")
    table = KeyspacesTable(stack, "Customers", keyspace=keyspace, schema=KeyspacesTableSchema.from_cql(CASSANDRA_DDL))
    table.grant_read_data(role)
    table.grant_write_data(role)
    if not agnostic:  # FeatureTable's replicas need the stack's region (it raises a clear error without one)
        online = FeatureTable(stack, "Online")
        online.grant_read_data(role)
        online.grant_write_data(role)
        FileMetadataTable(stack, "LandedFiles")

    stack = _stack(app, "FeatureJob", pin=True)  # offline store + scheduled feature job, as their docstrings show
    role = _user_role(stack)
    schema = KeyspacesTableSchema.from_cql(CASSANDRA_DDL)
    keyspace = Keyspace(stack, "Keyspace", keyspace_name=schema.keyspace)
    table = KeyspacesTable(stack, "Customers", keyspace=keyspace, schema=schema)
    lake = DataLakeStorage(stack, "Lake")
    offline = OfflineStore(stack, "Offline", schema=schema, bucket=lake.bucket("curated"), database_name="features")
    offline.grant_read_data(role)
    offline.grant_write_data(role)
    network = PlatformVpc(stack, "Network", availability_zones=AZS, interface_endpoints=[])
    FeatureJob(stack, "FeatureJob", application=EmrServerlessApplication(stack, "Spark", vpc=network.vpc),
               online_table=table, offline_store=offline, source_bucket=lake.bucket("raw"))

    stack = _stack(app, "Migration", pin=True)  # as KeyspacesMigration's docstring shows
    role = _user_role(stack)
    network = PlatformVpc(stack, "Network", availability_zones=AZS, interface_endpoints=[])
    schema = KeyspacesTableSchema.from_cql(CASSANDRA_DDL)
    table = KeyspacesTable(stack, "Customers", keyspace=Keyspace(stack, "Keyspace", keyspace_name=schema.keyspace),
                           schema=schema)
    migration = KeyspacesMigration(
        stack, "Migration", table=table, vpc=network.vpc, source_hosts=["10.0.1.10", "10.0.2.10"],
        source_credentials=secretsmanager.Secret.from_secret_name_v2(stack, "CassandraLogin", "cassandra/migration"),
        change_column=ChangeColumn("computed_at"), max_writes_per_second=3000,
    )
    migration.grant_start_full_load(role)

    stack = _stack(app, "Airflow", pin=True)
    role = _user_role(stack)
    network = PlatformVpc(stack, "Network", availability_zones=AZS, interface_endpoints=[])
    airflow = AirflowEnvironment(stack, "Airflow", name="acme-airflow", vpc=network.vpc, secrets_backend=True)
    airflow.grant_cli_token(role)  # alone on the user's role: it left NIST.800.53.R5-IAMNoInlinePolicy before
    airflow.grant_dags_write(iam.Role(stack, "PipelineRole", assumed_by=iam.ServicePrincipal("codebuild.amazonaws.com")))

    # Without env the role needs its deployment targets (it raises a clear error otherwise).
    GitHubDeployRole(_stack(app, "Deploy"), "Prod", repository="acme/data-platform", environment="production",
                     targets=[(ENV.account, ENV.region)] if agnostic else None)

    stack = _stack(app, "Core")
    key = PlatformKey(stack, "Key")
    DeadLetterQueue(stack, "Dlq", encryption_key=key, receives="the user's own rule targets")
    AccessLogsBucket(stack, "AccessLogs")
    SecureLogGroup(stack, "Logs", encryption_key=key)
    PlatformFunction(stack, "Fn", package="mesh_notifier", handler="mesh_notifier.handler.main", encryption_key=key)


@pytest.fixture(scope="module")
def findings(tmp_path_factory: pytest.TempPathFactory) -> list[tuple[str, str]]:
    outdir: Path = tmp_path_factory.mktemp("importers")
    app = App(outdir=str(outdir), builtin_cloud_formation_validation=False)
    _build(app)
    _build(app, agnostic=True)  # the same constructs in env-agnostic stacks, in the same synth
    add_policy_checks(app)
    with contextlib.suppress(RuntimeError):  # findings fail the synth; the report is written anyway
        app.synth()
    manifest = json.loads((outdir / "manifest.json").read_text())
    lookups = [("lookup", entry["key"]) for entry in manifest.get("missing", [])]  # offline: none (item 2)
    report = outdir / "validation-report.json"
    if not report.exists():
        return lookups
    return lookups + [
        (violation["ruleName"], construct["constructPath"])
        for plugin in json.loads(report.read_text())["pluginReports"]
        for violation in plugin.get("violations", [])
        for construct in violation["violatingConstructs"]
    ]


def test_the_app_synthesizes_offline(findings: list[tuple[str, str]]) -> None:
    assert [key for kind, key in findings if kind == "lookup"] == []


#: Stacks with a user role given every public grant_* of the construct.
GRANT_STACKS = ["Lake", "Bucket", "Serverless", "Transient", "Flink", "Hub", "Slo", "Eks", "Rollout", "Features",
                "Migration", "FeatureJob", "Airflow"]
#: Every stack of the app.
STACKS = [
    "Lake", "Bucket", "Serverless", "Transient", "Flink", "Hub", "Alerts", "Slo", "Dashboard", "Forwarder",
    "Acceptor", "Spoke", "Products", "Cluster", "Eks", "Runner", "Rollout", "Features", "FeatureJob", "Airflow",
    "Deploy", "Core", "Migration",
]
#: Constructs that need a region cannot be env-agnostic (they raise a clear error instead).
NEEDS_ENV = {"Flink"}


def _both(stacks: list[str]) -> list[str]:
    """``stacks`` with an ``env`` and their env-agnostic copies (findings there name ``<AWS::Region>`` tokens)."""
    return stacks + [AGNOSTIC + stack for stack in stacks if stack not in NEEDS_ENV]


@pytest.mark.parametrize("stack", _both(GRANT_STACKS))
def test_grants_leave_no_finding_on_the_users_role(findings: list[tuple[str, str]], stack: str) -> None:
    own = [rule for rule, path in findings if path.startswith((f"{stack}/UserRole/", f"{stack}/ImportedUserRole/"))]
    assert own == [], own


@pytest.mark.parametrize("stack", _both(STACKS))
def test_construct_used_alone_has_no_finding(findings: list[tuple[str, str]], stack: str) -> None:
    mine = [f"{rule} {path}" for rule, path in findings if path.startswith(f"{stack}/")]
    assert mine == [], "\n".join(mine)


def test_policy_checks_have_one_public_home() -> None:
    from meshworks.constructs import core
    from meshworks.stacks.platform import add_policy_checks as legacy

    assert core.add_policy_checks is add_policy_checks
    assert {"acknowledge", "acknowledge_grant", "acknowledge_policies", "add_policy_checks"} <= set(core.__all__)
    assert callable(legacy)


def test_readme_example_with_policy_checks_has_no_finding(tmp_path: Path) -> None:
    """The README's "own CDK app" example, run as written plus ``add_policy_checks(app)`` (9 findings before)."""
    readme = (ROOT / "README.md").read_text()
    start = readme.index("## Use meshworks in your own CDK app")
    code = readme[readme.index("```python\n", start) + len("```python\n") :]
    code = code[: code.index("```")]
    assert "app.synth()" in code and "grant_read" in code
    code = code.replace("app.synth()", "from meshworks.constructs.core.nag import add_policy_checks\nadd_policy_checks(app)\napp.synth()")
    assert "app = App()" in code
    code = code.replace("app = App()", f"app = App(outdir={str(tmp_path / 'cdk.out')!r})")  # as `cdk synth` sets it
    exec(compile(code, "README.md", "exec"), {})  # noqa: S102 - the README's own example; findings raise
    assert (tmp_path / "cdk.out" / "manifest.json").exists()
