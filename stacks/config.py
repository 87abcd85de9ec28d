"""``PlatformConfig``: the typed configuration of the reference app.

The configuration lives in ``cdk.json`` under the context key ``meshworks``. Any value can be
overridden on the command line with a dotted key, parsed as JSON when it can be::

    cdk synth -c meshworks.prefix=acme -c meshworks.network.nat_gateways=0

A wrong value fails with one message that names the key, the bad value and what is allowed
(``ConfigError``); ``app.py`` prints it and exits, without a traceback.
"""

from __future__ import annotations

import ipaddress
import json
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
    field_validator,
    model_validator,
)

from meshworks.constructs.network.platform_vpc import (
    DEFAULT_INTERFACE_ENDPOINTS,
    SUPPORTED_INTERFACE_ENDPOINTS,
)
from meshworks.constructs.spark.models import EmrServerlessDefaults, JobCatalog, SparkJob, SparkLimits
from meshworks.constructs.spark.settings import (
    DataAccess,
    EmrClusterSettings,
    EmrOnEksSettings,
    FlinkSettings,
    TransientProfileSettings,
)

CONTEXT_KEY = "meshworks"

AccountId = Annotated[str, StringConstraints(pattern=r"^\d{12}$")]
Region = Annotated[str, StringConstraints(pattern=r"^[a-z]{2}(-gov)?-[a-z]+-\d$")]
Name = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9-]{1,30}[a-z0-9]$")]


class ConfigError(ValueError):
    """A configuration problem, already phrased for the person who wrote the configuration."""


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Environment(_Model):
    """One AWS account and region."""

    account: AccountId = Field(description="12-digit AWS account id.")
    region: Region = Field(description="AWS region, e.g. eu-west-1.")


class ConsumerEnvironment(Environment):
    """A consumer ("spoke") account that receives shared data products."""

    name: Name = Field(description="Short name used in stack names, e.g. 'analytics'.")
    principals: list[str] = Field(
        default_factory=list,
        description="IAM role ARNs in the consumer account that get access to the shared tables.",
    )


class Environments(_Model):
    """Where each part of the platform is deployed."""

    hub: Environment = Field(description="Governance account: data-mesh hub, Lake Formation, SLO monitors.")
    compute: Environment = Field(description="Spark/Flink account.")
    consumers: list[ConsumerEnvironment] = Field(default_factory=list, description="Spoke accounts.")

    @model_validator(mode="after")
    def _unique_consumers(self) -> Environments:
        names = [c.name for c in self.consumers]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise ValueError(f"consumer names must be unique; repeated: {', '.join(dupes)}")
        return self


class NetworkConfig(_Model):
    """The platform VPC (``PlatformVpc``)."""

    cidr: str = Field("10.40.0.0/16", description="VPC CIDR block (a /16 to /20).")
    max_azs: int = Field(3, ge=2, le=6, description="Availability zones used (at least 2).")
    nat_gateways: int = Field(1, ge=0, le=6, description="NAT gateways; 0 = isolated subnets, endpoints only.")
    private_subnet_cidr_mask: int = Field(19, ge=16, le=24, description="Size of each private subnet.")
    interface_endpoints: list[str] = Field(
        default_factory=lambda: list(DEFAULT_INTERFACE_ENDPOINTS), description="Interface VPC endpoints to create."
    )
    availability_zones: list[str] | None = Field(
        None, description="Explicit AZ names; default: '<region>a', '<region>b', ... (offline, no lookup)."
    )

    @field_validator("cidr")
    @classmethod
    def _cidr(cls, value: str) -> str:
        try:
            net = ipaddress.ip_network(value, strict=True)
        except ValueError as exc:
            raise ValueError(f"not a CIDR block ({exc}); example: 10.40.0.0/16") from None
        if not (16 <= net.prefixlen <= 20) or not net.is_private:
            raise ValueError("must be a private range between /16 and /20, e.g. 10.40.0.0/16")
        return value

    @field_validator("interface_endpoints")
    @classmethod
    def _endpoints(cls, value: list[str]) -> list[str]:
        unknown = [v for v in value if v not in SUPPORTED_INTERFACE_ENDPOINTS]
        if unknown:
            raise ValueError(f"unknown endpoint(s) {unknown}; allowed: {', '.join(SUPPORTED_INTERFACE_ENDPOINTS)}")
        return value

    @model_validator(mode="after")
    def _fits(self) -> NetworkConfig:
        size = 2 ** (32 - int(self.cidr.split("/")[1]))
        used = self.max_azs * 2 ** (32 - self.private_subnet_cidr_mask) + (self.max_azs * 256 if self.nat_gateways else 0)
        if used > size:
            raise ValueError(
                f"{self.max_azs} private /{self.private_subnet_cidr_mask} subnets"
                f"{' plus public /24 subnets' if self.nat_gateways else ''} do not fit in {self.cidr}; "
                "use a larger VPC, fewer AZs or a larger private_subnet_cidr_mask"
            )
        return self


class StorageConfig(_Model):
    """The data-lake buckets (``DataLakeStorage``)."""

    stage_expiration_days: int = Field(30, ge=1, le=3650, description="Days before stage-zone objects expire.")


MeshDomain = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]{1,62}$")]
BucketName = Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")]
IamRoleArn = Annotated[str, StringConstraints(pattern=r"^arn:aws[a-z-]*:iam::\d{12}:role/[A-Za-z0-9_+=,.@/-]+$", max_length=2048)]
KmsKeyArn = Annotated[
    str, StringConstraints(pattern=r"^arn:aws[a-z-]*:kms:[a-z]{2}(-gov)?-[a-z]+-\d:\d{12}:key/[A-Za-z0-9-]{1,128}$")
]


class MeshConfig(_Model):
    """Data-mesh hub (``<prefix>-mesh-hub``), data-product shards and spokes.

    Products are spread over ``shards_per_domain`` stacks per domain; a product's stack is a hash
    of its ``domain/name`` only, so adding or removing a product never moves another one. Changing
    a domain's shard count *does* move products: size it before the first deployment.
    """

    enabled: bool = Field(True, description="Deploy the hub and spoke stacks.")
    contracts_path: str = Field(
        "contracts", min_length=1, description="Folder (or file) of data-product contracts, relative to the app folder."
    )
    sharing_mode: Literal["lf_tags", "named_resources"] = Field(
        "lf_tags",
        description="How products reach consumer accounts: 'lf_tags' (LF-tag expression grants, 3 resources per "
        "product whatever the consumers) or 'named_resources' (one grant per consumer per product, RAM invitations).",
    )
    shards_per_domain: int = Field(
        4, ge=1, le=64, description="Data-product stacks per domain (fixed: changing it moves products)."
    )
    domain_shards: dict[MeshDomain, Annotated[int, Field(ge=1, le=64)]] = Field(
        default_factory=dict, description="Per-domain override of shards_per_domain, e.g. {'sales': 8}."
    )
    consumer_shards: int = Field(
        2, ge=1, le=64, description="Stacks of the consumer accounts' LF-tag keys and grants (lf_tags mode)."
    )
    max_resources_per_stack: int = Field(
        450, ge=10, le=500, description="Resource budget of a data-product stack (CloudFormation allows 500)."
    )
    max_template_bytes: int = Field(
        900_000, ge=50_000, le=1_000_000, description="Template size budget of a data-product stack (limit: 1 MB)."
    )
    producer_buckets: dict[MeshDomain, list[BucketName]] = Field(
        default_factory=dict,
        description="domain -> S3 buckets its products may live in (governance review, data-access role). "
        "Default: a bucket must contain the domain in its name.",
    )
    producer_accounts: dict[MeshDomain, list[AccountId]] = Field(
        default_factory=dict,
        description="domain -> accounts allowed to announce its refreshes on the hub bus; default: the hub account.",
    )
    producer_kms_key_arns: list[KmsKeyArn] = Field(
        default_factory=list, description="KMS keys of the producer buckets (data-access role and notifier use them)."
    )
    lf_admin_role_arns: list[IamRoleArn] = Field(
        default_factory=list,
        description="Roles added (APPEND, never replacing) as Lake Formation admins of the hub, next to the "
        "CloudFormation execution role.",
    )
    register_locations: bool = Field(
        True, description="Register each product's S3 location with Lake Formation (data-access role)."
    )
    share_acceptor_schedule_minutes: int = Field(
        30, ge=5, le=1440, description="Minutes between two runs of the spokes' share acceptor."
    )
    service_catalog: bool = Field(
        True, description="Publish the spoke as a Service Catalog product in a hub portfolio shared with consumers."
    )

    @field_validator("producer_buckets", "producer_accounts")
    @classmethod
    def _unique_values(cls, value: dict[str, list[str]]) -> dict[str, list[str]]:
        for domain, items in value.items():
            if not items:
                raise ValueError(f"{domain!r} has an empty list; list at least one entry or remove the domain")
            dupes = sorted({v for v in items if items.count(v) > 1})
            if dupes:
                raise ValueError(f"{domain!r} repeats {', '.join(dupes)}; list each entry once")
        return value

    def shards_for(self, domain: str) -> int:
        """Number of data-product stacks of ``domain``."""
        return self.domain_shards.get(domain, self.shards_per_domain)


def _example_catalog() -> JobCatalog:
    """A few example jobs across rings: rings 0-2 on EMR Serverless, the rest still on EMR on EC2."""

    def job(name: str, job_class: str, ring: int, owner: str, **limits: Any) -> SparkJob:
        return SparkJob(
            name=name,
            job_class=job_class,
            ring=ring,
            owner=owner,
            entry_point=f"s3://meshworks-demo-spark-artifacts/jobs/{name}.py",
            limits=SparkLimits(**limits),
        )

    return JobCatalog(
        rollout_ring=2,
        jobs=[
            job("daily_orders", "quick", 0, "team-orders", max_executors=20, executor_cores=4, executor_memory="14g", executor_disk="50g"),
            job("customer_dedup", "quick", 1, "team-customers", max_executors=30, executor_cores=4, executor_memory="14g"),
            job("hourly_clickstream", "quick", 2, "team-web", max_executors=40, executor_disk="100g"),
            job("monthly_revenue", "medium", 3, "team-finance", max_executors=80, executor_cores=4),
            job("weekly_ltv", "long", 4, "team-marketing", max_executors=120, executor_cores=4, executor_memory="28g"),
            job("inventory_hive", "medium", 5, "team-supply"),
        ],
    )


class SparkConfig(_Model):
    """Spark and Flink environments (``<prefix>-spark``, compute account; see docs/spark.md).

    ``catalog.rollout_ring`` is the rollout lever: jobs in rings up to it run on EMR Serverless, the others
    stay on EMR on EC2; lower it and deploy to halt or roll back the migration.
    """

    enabled: bool = Field(True, description="Deploy the Spark stack.")
    catalog: JobCatalog = Field(default_factory=_example_catalog, description="Spark jobs, rings and the rollout ring.")
    serverless: EmrServerlessDefaults = Field(
        default_factory=lambda: EmrServerlessDefaults(max_concurrent_runs=20),
        description="EMR Serverless release, architecture (ARM64), idle timeout, capacity, concurrency.",
    )
    serverless_limits: SparkLimits = Field(
        default_factory=lambda: SparkLimits(
            max_executors=50, executor_cores=4, executor_memory="14g", executor_disk="50g", driver_cores=4, driver_memory="14g"
        ),
        description="Application-wide spark-defaults of EMR Serverless (maxExecutors cap required).",
    )
    serverless_queue_timeout_minutes: int | None = Field(
        120, ge=15, le=720, description="Minutes a job may wait in QUEUED state (EMR 7.3+)."
    )
    data_access: DataAccess = Field(default_factory=DataAccess, description="Zones and Glue databases jobs may use.")
    cluster: EmrClusterSettings = Field(default_factory=EmrClusterSettings, description="Long-running EMR on EC2 cluster.")
    transient: TransientProfileSettings = Field(
        default_factory=TransientProfileSettings, description="Transient-cluster profile (job_flow_overrides in SSM)."
    )
    eks: EmrOnEksSettings = Field(default_factory=EmrOnEksSettings, description="EMR on EKS (existing cluster).")
    flink: FlinkSettings = Field(default_factory=FlinkSettings, description="Flink on EMR.")


Email = Annotated[str, StringConstraints(pattern=r"^[^@\s]+@[^@\s]+\.[A-Za-z]{2,}$", max_length=254)]
SlackChannel = Annotated[str, StringConstraints(pattern=r"^#[a-z0-9][a-z0-9_-]{0,79}$")]
SecretName = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9/_+=.@-]{1,256}$")]
TableName = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_.-]{3,255}$")]
StateMachineArn = Annotated[
    str, StringConstraints(pattern=r"^arn:aws[a-z-]*:states:[a-z]{2}(-gov)?-[a-z]+-\d:\d{12}:stateMachine:[A-Za-z0-9_-]{1,80}$")
]


class MonitoringConfig(_Model):
    """SLO monitors, job-failure alerts and the platform dashboard (``<prefix>-monitoring``, hub account).

    The SLO manifest is built from the contracts under ``mesh.contracts_path``. Slack webhook URLs are
    never configured here: they live in the Secrets Manager secret ``slack_secret_name`` (a JSON
    object ``{"#channel": "https://hooks.slack.com/..."}``).
    """

    enabled: bool = Field(True, description="Deploy the monitoring stack.")
    sweep_minutes: int = Field(5, ge=1, le=60, description="Minutes between two SLO sweeps (EventBridge rate).")
    overlap_minutes: int = Field(
        10, ge=0, le=1440, description="Minutes each sweep re-checks before its own slice (a missed run loses nothing)."
    )
    breach_retention_days: int = Field(90, ge=1, le=3650, description="Days a closed breach is kept (DynamoDB TTL).")
    slack_secret_name: SecretName | None = Field(
        None, description="Secrets Manager name of the Slack webhook map; default '<prefix>/monitoring/slack-webhooks'."
    )
    delivery_table_name: TableName | None = Field(
        None, description="Delivery table written by the mesh hub's notifier; default '<prefix>-deliveries'."
    )
    partition_templates: dict[str, str] = Field(
        default_factory=dict,
        description="product key ('domain.name') -> partition template, for products whose period cannot be "
        "derived from their partition keys, e.g. {'sales.customers': 'dt={date:%Y-%m-%d}'}.",
    )
    job_alerts_slack_channel: SlackChannel | None = Field(
        None, description="Slack channel for job-failure alerts, e.g. '#data-platform-alerts'; default: SNS only."
    )
    muted_jobs: list[Annotated[str, StringConstraints(min_length=1, max_length=256)]] = Field(
        default_factory=list,
        description="Job names (Glue job, EMR Serverless job run/application, EMR cluster or step, state machine) "
        "whose failures never alert.",
    )
    state_machine_arns: list[StateMachineArn] = Field(
        default_factory=list,
        description="Only these state machines' failed executions alert; default: every state machine of the account.",
    )
    ops_emails: list[Email] = Field(default_factory=list, description="E-mail subscribers of the ops alarm topic.")
    job_alert_emails: list[Email] = Field(default_factory=list, description="E-mail subscribers of job-failure alerts.")
    domain_alert_emails: dict[str, list[Email]] = Field(
        default_factory=dict, description="domain -> e-mail subscribers of that domain's SLO topic."
    )

    @field_validator("muted_jobs", "state_machine_arns", "ops_emails", "job_alert_emails")
    @classmethod
    def _unique(cls, value: list[str]) -> list[str]:
        dupes = sorted({v for v in value if value.count(v) > 1})
        if dupes:
            raise ValueError(f"entries must be unique; remove the repeated {', '.join(map(repr, dupes))}")
        return value

    @field_validator("partition_templates")
    @classmethod
    def _templates(cls, value: dict[str, str]) -> dict[str, str]:
        for key, template in value.items():
            if not re.fullmatch(r"[a-z][a-z0-9_]*\.[a-z][a-z0-9_]*", key):
                raise ValueError(f"key {key!r} must be a product key 'domain.name', e.g. 'sales.orders'")
            if not template.strip() or "{" not in template:
                raise ValueError(
                    f"template of {key!r} must contain {{date}}, {{prev_date}}, {{local}} or {{utc}}, "
                    "e.g. 'dt={date:%Y-%m-%d}'"
                )
        return value

    def slack_secret(self, prefix: str) -> str:
        """Name of the Slack webhook secret (``slack_secret_name`` or ``<prefix>/monitoring/slack-webhooks``)."""
        return self.slack_secret_name or f"{prefix}/monitoring/slack-webhooks"

    def delivery_table(self, prefix: str) -> str:
        """Name of the hub's delivery table (``delivery_table_name`` or ``<prefix>-deliveries``)."""
        return self.delivery_table_name or f"{prefix}-deliveries"


class OrchestrationConfig(_Model):
    """MWAA environments and their pipelines (not built yet)."""

    enabled: Literal[False] = Field(False, description="Reserved; orchestration is not part of this release.")


class FeatureStoreConfig(_Model):
    """Online feature tables (``<prefix>-features``, compute account); see docs/features.md."""

    enabled: bool = Field(True, description="Deploy the features stack.")
    schema_path: str = Field(
        "schemas/features/customer_features.cql", min_length=1,
        description="CQL file (CREATE TYPE/TABLE) of the Keyspaces table, relative to the app folder; its schema lock "
        "is <name>.lock.json next to it (commit both).",
    )
    dynamodb_table: bool = Field(True, description="Also deploy a DynamoDB feature table (<prefix>-features).")


class PlatformConfig(_Model):
    """Everything the reference app needs; see the README's configuration reference."""

    prefix: Name = Field(description="Naming prefix for stacks and named resources, e.g. 'acme-data'.")
    environments: Environments
    network: NetworkConfig = Field(default_factory=NetworkConfig)
    storage: StorageConfig = Field(default_factory=StorageConfig)
    mesh: MeshConfig = Field(default_factory=MeshConfig)
    spark: SparkConfig = Field(default_factory=SparkConfig)
    monitoring: MonitoringConfig = Field(default_factory=MonitoringConfig)
    orchestration: OrchestrationConfig = Field(default_factory=OrchestrationConfig)
    feature_store: FeatureStoreConfig = Field(default_factory=FeatureStoreConfig)
    tags: dict[Annotated[str, StringConstraints(min_length=1, max_length=128)], str] = Field(
        default_factory=dict, description="Tags applied to every resource."
    )

    def stack_name(self, role: str) -> str:
        """Deterministic stack name: ``<prefix>-<role>``."""
        return f"{self.prefix}-{role}"


def _describe_allowed(err: Mapping[str, Any]) -> str:
    ctx = err.get("ctx") or {}
    if err["type"] == "extra_forbidden":
        return "this key is not allowed here (check its spelling and its section)"
    if err["type"] == "missing":
        return "this key is required"
    if "pattern" in ctx:
        return f"{err['msg'].lower()} (expected pattern {ctx['pattern']})"
    if "expected" in ctx:
        return f"allowed: {ctx['expected']}"
    msg = str(err["msg"])
    return msg[len("Value error, ") :] if msg.startswith("Value error, ") else msg


def format_errors(exc: ValidationError, source: str) -> str:
    """One readable message for every problem in ``exc``: key, bad value, what is allowed."""
    lines = [f"Invalid meshworks configuration ({source}):"]
    for err in exc.errors():
        key = ".".join([CONTEXT_KEY, *[str(p) for p in err["loc"]]])
        value = "" if err["type"] == "missing" else f" = {json.dumps(err.get('input'), default=str)[:80]}"
        lines.append(f"  {key}{value}: {_describe_allowed(err)}")
    return "\n".join(lines)


def _set_dotted(target: dict[str, Any], dotted: str, raw: Any) -> None:
    value = raw
    if isinstance(raw, str):
        try:
            value = json.loads(raw)
        except json.JSONDecodeError:
            value = raw
    node = target
    parts = dotted.split(".")
    for part in parts[:-1]:
        child = node.get(part)
        if not isinstance(child, dict):
            child = {}
            node[part] = child
        node = child
    node[parts[-1]] = value


def config_from_context(context: Mapping[str, Any], source: str = "cdk.json context") -> PlatformConfig:
    """Build the config from CDK context: the ``meshworks`` object plus ``meshworks.a.b=value`` overrides."""
    base = context.get(CONTEXT_KEY)
    if isinstance(base, str):
        try:
            base = json.loads(base)
        except json.JSONDecodeError:
            raise ConfigError(f"Invalid meshworks configuration ({source}): '{CONTEXT_KEY}' is not a JSON object") from None
    if not isinstance(base, dict):
        raise ConfigError(
            f"Invalid meshworks configuration ({source}): the context key '{CONTEXT_KEY}' must be an object "
            "(see cdk.json in the repository for the default)"
        )
    data = json.loads(json.dumps(base))
    for key in sorted(k for k in context if k.startswith(CONTEXT_KEY + ".")):
        _set_dotted(data, key[len(CONTEXT_KEY) + 1 :], context[key])
    try:
        return PlatformConfig.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(format_errors(exc, source)) from None


def load_cdk_json(path: str | Path = "cdk.json") -> PlatformConfig:
    """Read the config straight from a ``cdk.json`` file (tests, benchmarks, scripts)."""
    text = Path(path).read_text(encoding="utf-8")
    return config_from_context(json.loads(text).get("context", {}), source=str(path))

