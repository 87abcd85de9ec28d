"""``PlatformConfig``: the typed configuration of the reference app.

The configuration lives in ``cdk.json`` under the context key ``meshworks``. Any value can be
overridden on the command line with a dotted key; a number in the key indexes a list, a string field
takes the text as typed, any other field takes JSON (see ``config_overrides``)::

    cdk synth -c meshworks.prefix=acme -c meshworks.network.nat_gateways=0 \
        -c meshworks.environments.consumers.0.account=012345678901

A wrong value fails with one message that names the key, the bad value and what is allowed
(``ConfigError``); ``app.py`` prints it and exits, without a traceback.
"""

from __future__ import annotations

import difflib
import functools
import ipaddress
import json
import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
    field_validator,
    model_validator,
)

from meshworks.constructs.core.removal import REMOVE_DATA_ON_DESTROY
from meshworks.constructs.mesh.trust import PATTERN_WORDS as TRUST_PATTERN_WORDS
from meshworks.constructs.mesh.trust import DomainMap, MeshTrust, config_key
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

from .config_overrides import OverrideProblem, apply_override, looks_like_root_typo

CONTEXT_KEY = "meshworks"
#: The ``@meshworks/…`` feature flags a misspelt flag is compared with.
_FLAGS = [REMOVE_DATA_ON_DESTROY]

#: What each pattern of this module means, in words: an error message says this, never the regex.
_PATTERN_WORDS: dict[str, str] = {}


_PATTERN_WORDS.update(TRUST_PATTERN_WORDS)


def _pattern(regex: str, words: str) -> StringConstraints:
    _PATTERN_WORDS[regex] = words
    return StringConstraints(pattern=regex)


class FieldProblem(ValueError):
    """A cross-field problem located on a sub-key (``loc``, relative to the model raising it) and its value."""

    def __init__(self, loc: tuple[str | int, ...], value: Any, message: str) -> None:
        super().__init__(message)
        self.loc = loc
        self.value = value


@functools.cache
def known_regions() -> frozenset[str]:
    """Every region in botocore's offline endpoint data (all partitions).

    What a botocore session's loader returns for ``"endpoints"``. Read directly from the file botocore ships
    (``botocore/data/endpoints.json``) where that is the file the Loader would pick: importing ``botocore.loaders``
    cost more than the read (0.06 s of every synth, issue 15). Where the user keeps their own endpoint data in
    ``~/.aws/models/`` (the Loader's ``CUSTOMER_DATA_PATH``) or in ``AWS_DATA_PATH`` (searched first by a botocore
    session's loader), or botocore ships its data differently, the Loader itself reads it.
    """
    import botocore

    path = Path(botocore.__file__).parent / "data" / "endpoints.json"
    customer = Path(os.path.expanduser("~")) / ".aws" / "models"  # as botocore finds it: never raises
    extra = [os.path.expanduser(os.path.expandvars(p)) for p in os.environ.get("AWS_DATA_PATH", "").split(os.pathsep) if p]
    try:
        own_data = bool(extra) or any(customer.glob("endpoints.json*"))
    except OSError:  # a home this process may not read (HOME=/root under another user): the Loader copes
        own_data = True
    if path.is_file() and not own_data:
        data = json.loads(path.read_text(encoding="utf-8"))
    else:
        from botocore.loaders import Loader

        data = Loader(extra_search_paths=extra).load_data("endpoints")
    return frozenset(region for partition in data["partitions"] for region in partition["regions"])


def _account_id(value: str) -> str:
    if not re.fullmatch(r"\d{12}", value):
        raise ValueError(
            "must be a 12-digit AWS account id written as a string, e.g. \"012345678901\" (leading zeros count)"
        )
    return value


def _region(value: str) -> str:
    if value not in known_regions():
        import botocore

        raise ValueError(
            f"is not an AWS region code known to botocore {botocore.__version__}; use one such as eu-west-1 or "
            "us-east-1 (a region newer than this botocore needs a newer boto3)"
        )
    return value


AccountId = Annotated[str, AfterValidator(_account_id)]
Region = Annotated[str, AfterValidator(_region)]
Name = Annotated[
    str,
    _pattern(
        r"^[a-z][a-z0-9-]{1,30}[a-z0-9]$",
        "must be 3-32 characters: lower-case letters, digits and '-', starting with a letter, e.g. 'acme-data'",
    ),
]


class ConfigError(ValueError):
    """A configuration problem, already phrased for the person who wrote the configuration."""


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


IamRoleArn = Annotated[
    str,
    _pattern(
        r"^arn:aws[a-z-]*:iam::\d{12}:role/[A-Za-z0-9_+=,.@/-]+$",
        "must be an IAM role ARN, e.g. arn:aws:iam::123456789012:role/analytics-readers",
    ),
    StringConstraints(max_length=2048),
]


class Environment(_Model):
    """One AWS account and region."""

    account: AccountId = Field(description="12-digit AWS account id.")
    region: Region = Field(description="AWS region, e.g. eu-west-1.")


class ConsumerEnvironment(Environment):
    """A consumer ("spoke") account that receives shared data products."""

    name: Name = Field(description="Short name used in stack names, e.g. 'analytics'.")
    principals: list[IamRoleArn] = Field(
        default_factory=list,
        description="IAM role ARNs in the consumer account that get access to the shared tables.",
    )
    spoke: bool = Field(
        True,
        description="Deploy the Spoke-<name> stack into the account; false: the account launches the spoke "
        "product from the shared portfolio itself. Either way the account is an allowed consumer.",
    )

    @model_validator(mode="after")
    def _principals_in_account(self) -> ConsumerEnvironment:
        for index, arn in enumerate(self.principals):
            if arn.split(":")[4] != self.account:
                raise FieldProblem(
                    ("principals", index),
                    arn,
                    f"is a role of account {arn.split(':')[4]}, not of this consumer's account {self.account}; "
                    "list only roles of the consumer account",
                )
        return self


class Environments(_Model):
    """Where each part of the platform is deployed."""

    hub: Environment = Field(description="Governance account: data-mesh hub, Lake Formation, SLO monitors.")
    compute: Environment = Field(description="Spark/Flink account.")
    consumers: list[ConsumerEnvironment] = Field(default_factory=list, description="Spoke accounts.")

    @model_validator(mode="after")
    def _unique_consumers(self) -> Environments:
        names = [c.name for c in self.consumers]
        for index, name in enumerate(names):
            if name in names[:index]:
                raise FieldProblem(
                    ("consumers", index, "name"),
                    name,
                    f"is already the name of consumers[{names.index(name)}]; give each consumer its own name",
                )
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


MeshDomain = Annotated[
    str, _pattern(r"^[a-z][a-z0-9_]{1,62}$", "must be 2-63 lower-case letters, digits or '_', starting with a letter")
]


class MeshConfig(_Model):
    """Data-mesh hub (``<prefix>-mesh-hub``), data-product shards and spokes.

    Products are spread over ``MeshProducts-<domain>-<nn>`` stacks as the shard lock
    (``shard_lock_path``, written by ``meshworks shards``) records: a recorded product never moves,
    and a domain that outgrows its stacks gets new ones. ``shards_per_domain``/``domain_shards`` only
    say over how many stacks a domain's *new* products are first spread by hash.
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
        4,
        ge=1,
        le=64,
        description="Stacks a domain's new products are first spread over by hash (more open as they fill; "
        "changing it never moves a product the shard lock records).",
    )
    domain_shards: dict[MeshDomain, Annotated[int, Field(ge=1, le=64)]] = Field(
        default_factory=dict, description="Per-domain override of shards_per_domain, e.g. {'sales': 8}."
    )
    consumer_shards: int = Field(
        2, ge=1, le=64, description="Stacks the consumer accounts' LF-tag keys and grants are first spread over."
    )
    shard_lock_path: str = Field(
        "",
        description="The shard lock (which stack holds each product), relative to the app folder. Default: "
        "shards.lock.json in the contracts folder (next to the contracts file).",
    )
    max_resources_per_stack: int = Field(
        450, ge=10, le=500, description="Resource budget of a data-product stack (CloudFormation allows 500)."
    )
    max_template_bytes: int = Field(
        900_000, ge=50_000, le=1_000_000, description="Template size budget of a data-product stack (limit: 1 MB)."
    )
    domains: DomainMap = Field(
        default_factory=dict,
        description="domain -> {producer_accounts, buckets, kms_key_arns}: the mesh's domain map. A contract in "
        "another domain, or outside its domain's buckets (S3 folders 's3://bucket/' or 's3://bucket/prefix/'), "
        "fails review; the data-access role reads exactly these folders and keys; only the producer accounts "
        "may announce the domain's refreshes.",
    )
    producer_buckets: Any = Field(None, description="Removed: see domains.", json_schema_extra={"deprecated": True})
    producer_accounts: Any = Field(None, description="Removed: see domains.", json_schema_extra={"deprecated": True})
    producer_kms_key_arns: Any = Field(
        None, description="Removed: see domains.", json_schema_extra={"deprecated": True}
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

    @field_validator("producer_buckets", "producer_accounts", "producer_kms_key_arns")
    @classmethod
    def _replaced(cls, value: Any) -> None:
        if value is None:  # absent (a dumped configuration carries the removed keys as null)
            return None
        raise ValueError(
            "replaced by the domain map: move it to mesh.domains.<domain>.{producer_accounts, buckets, "
            "kms_key_arns} (buckets are S3 folders such as 's3://acme-sales-curated/')"
        )

    def shard_lock_file(self) -> Path:
        """Where the shard lock lives: ``shard_lock_path``, or ``shards.lock.json`` by the contracts."""
        if self.shard_lock_path:
            return Path(self.shard_lock_path)
        contracts = Path(self.contracts_path)
        return (contracts if contracts.is_dir() else contracts.parent) / "shards.lock.json"

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
    https_egress_cidrs: list[str] = Field(
        default_factory=lambda: ["0.0.0.0/0"],
        description="Where EMR nodes and EMR Serverless workers may open HTTPS connections. Default: anywhere "
        "(AWS endpoints without an interface endpoint, through the NAT gateway). To keep traffic inside the VPC, "
        "set the VPC CIDR and add the S3 gateway endpoint's prefix list to https_egress_prefix_list_ids.",
    )
    https_egress_prefix_list_ids: list[Annotated[str, _pattern(r"^pl-[0-9a-f]{8,17}$", "must be a prefix list id, e.g. 'pl-6ea54007'")]] = Field(
        default_factory=list, description="Managed prefix lists (e.g. the S3 gateway endpoint's) HTTPS may reach."
    )
    in_transit_certificate_s3_uri: Annotated[
        str, _pattern(r"^s3://[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]/.+\.zip$", "must be the S3 URI of a PEM zip, e.g. 's3://acme-certs/emr/certs.zip'")
    ] | None = Field(
        None, description="PEM certificate bundle that turns on EMR in-transit TLS (long-running cluster, transient "
        "profile, Flink). Default: off."
    )

    @field_validator("https_egress_cidrs")
    @classmethod
    def _egress(cls, value: list[str]) -> list[str]:
        for cidr in value:
            try:
                ipaddress.IPv4Network(cidr, strict=True)
            except ValueError as exc:
                raise ValueError(f"{cidr!r} is not an IPv4 CIDR block ({exc}); e.g. '10.40.0.0/16'") from None
        return value

    routing_shards: int = Field(
        1,
        ge=1,
        le=64,
        description="Stacks holding the jobs' routing parameters (one SSM parameter per job, at most "
        "450 per stack); a job's stack is a stable hash of its name: set it before the catalog grows.",
    )


Email = Annotated[
    str, _pattern(r"^[^@\s]+@[^@\s]+\.[A-Za-z]{2,}$", "must be an e-mail address"), StringConstraints(max_length=254)
]
SlackChannel = Annotated[
    str, _pattern(r"^#[a-z0-9][a-z0-9_-]{0,79}$", "must be a Slack channel name starting with '#', e.g. '#data-alerts'")
]
SecretName = Annotated[
    str, _pattern(r"^[A-Za-z0-9/_+=.@-]{1,256}$", "must be a Secrets Manager name (letters, digits and /_+=.@-)")
]
TableName = Annotated[
    str, _pattern(r"^[A-Za-z0-9_.-]{3,255}$", "must be a DynamoDB table name (3-255 letters, digits, '_', '.', '-')")
]
StateMachineArn = Annotated[
    str,
    _pattern(
        r"^arn:aws[a-z-]*:states:[a-z]{2}(-gov)?-[a-z]+-\d:\d{12}:stateMachine:[A-Za-z0-9_-]{1,80}$",
        "must be a Step Functions state machine ARN, e.g. arn:aws:states:eu-west-1:123456789012:stateMachine:etl",
    ),
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


class PipelineSourceConfig(_Model):
    """Where a pipeline's code comes from (``meshworks.constructs.orchestration.pipeline_source``)."""

    kind: Literal["s3", "connection", "codecommit"] = Field(
        "s3", description="s3: a zip in the stack's pipeline-sources bucket (no lookup, works offline); connection: "
        "a GitHub/GitLab/Bitbucket repository through AWS CodeConnections; codecommit: a CodeCommit repository.",
    )
    key: str = Field(
        "meshworks/source.zip", min_length=5, pattern=r"^[^/].*\.zip$",
        description="s3: the zip's key in the orchestration stack's pipeline-sources bucket.",
    )
    connection_arn: str | None = Field(
        None, pattern=r"^arn:aws[a-z-]*:(codeconnections|codestar-connections):[a-z0-9-]+:\d{12}:connection/[0-9a-f-]{36}$",
        description="connection: arn:aws:codeconnections:<region>:<account>:connection/<uuid>.",
    )
    repository: str | None = Field(
        None, pattern=r"^[A-Za-z0-9_.-]+(/[A-Za-z0-9_.-]+)*$",
        description="connection: owner/repo; codecommit: the repository name.",
    )
    branch: str = Field("main", min_length=1, description="connection, codecommit: the branch that starts the pipeline.")

    @model_validator(mode="after")
    def _needs(self) -> PipelineSourceConfig:
        if self.kind == "connection" and (self.connection_arn is None or self.repository is None):
            missing = "connection_arn" if self.connection_arn is None else "repository"
            raise FieldProblem((missing,), None, "is required when kind is 'connection'")
        if self.kind == "connection" and "/" not in str(self.repository):
            raise FieldProblem(("repository",), self.repository, "must be 'owner/repo' for a connection, e.g. 'acme/dags'")
        if self.kind == "codecommit" and self.repository is None:
            raise FieldProblem(("repository",), None, "is required when kind is 'codecommit' (the repository name)")
        return self


class DagProjectConfig(_Model):
    """A team's DAG repository, deployed by an ``AirflowProjectPipeline`` to the environment's ``dags/``."""

    source: PipelineSourceConfig = Field(default_factory=PipelineSourceConfig, description="The DAG repository.")
    dags_directory: str = Field("dags", pattern=r"^[A-Za-z0-9_.-]+(/[A-Za-z0-9_.-]+)*$", description="Folder synced to dags/.")
    tests_directory: str = Field("tests", pattern=r"^[A-Za-z0-9_.-]+(/[A-Za-z0-9_.-]+)*$", description="pytest folder.")
    requirements_file: str = Field(
        "requirements.txt", min_length=1, description="Installed with the environment's constraints when present."
    )
    test_command: str | None = Field(None, min_length=1, description="Replaces `python -m pytest <tests_directory>`.")


def _platform_dags() -> dict[str, DagProjectConfig]:
    """The platform's own DAGs (this repository's dags/ and dags/tests), from the provisioning source."""
    return {
        "platform": DagProjectConfig(
            tests_directory="dags/tests",
            requirements_file="dags/requirements-test.txt",
            test_command="python -m pytest -c dags/tests/pytest.ini --rootdir dags dags/tests",
        )
    }


class OrchestrationPipelinesConfig(_Model):
    """The provisioning pipeline (this app's orchestration stack) and one project pipeline per DAG repository."""

    enabled: bool = Field(True, description="Deploy the pipelines with the orchestration stack.")
    source: PipelineSourceConfig = Field(
        default_factory=PipelineSourceConfig, description="This app's repository (the provisioning pipeline's source)."
    )
    projects: dict[Annotated[str, _pattern(r"^[a-z][a-z0-9-]{0,30}$", "must be a short lower-case name such as 'sales'")],
                   DagProjectConfig] = Field(
        default_factory=_platform_dags, description="DAG repositories by team name, each with its project pipeline."
    )  # fmt: skip
    github: GitHubDagsConfig = Field(
        default_factory=lambda: GitHubDagsConfig(), description="The OIDC role of .github/workflows/dags.yml (opt-in)."
    )


class OrchestrationConfig(_Model):
    """The MWAA environment (``<prefix>-orchestration``, compute account); see docs/orchestration.md."""

    enabled: bool = Field(True, description="Deploy the orchestration stack (one MWAA environment).")
    airflow_version: Literal["2.9.2", "2.10.1", "2.10.3", "2.11.0", "3.0.6"] = Field(
        "3.0.6", description="Airflow version (the newest AWS::MWAA::Environment accepts; DAGs are tested on it)."
    )
    environment_class: Literal["mw1.micro", "mw1.small", "mw1.medium", "mw1.large", "mw1.xlarge", "mw1.2xlarge"] = (
        Field("mw1.small", description="MWAA environment class.")
    )
    min_workers: int = Field(1, ge=1, le=25, description="Minimum Celery workers.")
    max_workers: int = Field(10, ge=1, le=25, description="Maximum Celery workers.")
    webserver_access_mode: Literal["PRIVATE_ONLY", "PUBLIC_ONLY"] = Field(
        "PRIVATE_ONLY", description="Who reaches the Airflow UI: the VPC only (default), or the internet (with IAM)."
    )
    requirements: list[
        Annotated[str, _pattern(r"^[A-Za-z0-9][A-Za-z0-9._\[\],-]*\s*([=<>!~]=?[^\s;]+)?$", "must be a requirement "
                                "specifier such as 'pandas==2.2.3' (the --constraint line is added for you)")]
    ] = Field(default_factory=list, description="Extra PyPI requirements of the environment.")
    secrets_backend: bool = Field(
        True, description="Connections and variables from Secrets Manager (airflow/connections/*, airflow/variables/*)."
    )
    pipelines: OrchestrationPipelinesConfig = Field(
        default_factory=OrchestrationPipelinesConfig,
        description="CodePipeline V2 pipelines: provisioning (this stack) and DAG projects (docs/orchestration.md).",
    )

    @model_validator(mode="after")
    def _workers(self) -> OrchestrationConfig:
        if self.min_workers > self.max_workers:
            raise FieldProblem(("min_workers",), self.min_workers, f"must be at most max_workers ({self.max_workers})")
        return self


class KeyspacesMigrationConfig(_Model):
    """Cassandra -> Keyspaces migration of the feature table (``KeyspacesMigration``; docs/features.md). Off unless
    ``feature_store.migration`` is given: it needs a source cluster reachable from the foundation VPC's private
    subnets and a Secrets Manager secret ``{"username", "password"}`` of it."""

    source_hosts: list[Annotated[str, Field(min_length=1)]] = Field(
        min_length=1, description="Contact points of the source Cassandra cluster (IPs or DNS names).")
    source_secret_name: str = Field(
        min_length=1, description="Secrets Manager secret (name) holding the source login as JSON username/password.")
    change_column: str = Field(min_length=1, description="Column of the feature table incremental runs select on.")
    change_kind: Literal["updated_at", "writetime"] = Field(
        "updated_at", description="updated_at: a timestamp column every write sets; writetime: the write time of a "
        "regular column every write sets.")
    max_writes_per_second: int = Field(ge=1, description="Rows per second each Glue job may write to Keyspaces.")
    average_row_size_bytes: int = Field(1024, ge=1, le=1_048_576, description="Average row size (write units).")
    schedule_minutes: int = Field(15, ge=5, le=1440, description="Interval of the incremental runs, in minutes.")
    source_keyspace: str | None = Field(None, description="Source keyspace; default: the feature table's.")
    source_table: str | None = Field(None, description="Source table; default: the feature table's.")
    source_port: int = Field(9042, ge=1, le=65535, description="Native-protocol port of the source cluster.")
    source_tls: bool = Field(True, description="Client-to-node TLS on the source cluster.")


class FeatureJobConfig(_Model):
    """The feature job (``FeatureJob``): EventBridge Scheduler -> Step Functions -> EMR Serverless, compute account."""

    enabled: bool = Field(True, description="Deploy the feature job, its EMR Serverless application and schedule.")
    schedule: Annotated[str, _pattern(r"^(cron|rate)\(.+\)$", "must be an EventBridge Scheduler expression, e.g. "
                                      "'cron(0 5 * * ? *)' or 'rate(1 day)'")] = Field(
        "cron(0 5 * * ? *)", description="When the job runs (EventBridge Scheduler expression).")
    timezone: str = Field("UTC", min_length=1, description="IANA time zone of the schedule, e.g. Europe/Berlin.")
    source_prefix: Annotated[str, _pattern(r"^([A-Za-z0-9!_.'()=+-]+/)+$", "must be a folder ending in '/', e.g. "
                                           "'events/'")] = Field(
        "events/", description="Folder of the raw events (Parquet) in the lake's raw zone.")

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        from zoneinfo import available_timezones

        if value not in available_timezones():
            raise ValueError("must be an IANA time zone, e.g. 'UTC' or 'Europe/Berlin'")
        return value


class OfflineProductConfig(_Model):
    """The offline store as a data product of the mesh (``delta``, location ``s3://<prefix>-<compute account>-curated/
    features/<table>/``); its fields are checked by the contract model (``DataProductContract``) and the mesh's
    trust (the domain's folders must hold the location); see docs/features.md, "In the mesh"."""

    domain: str = Field(description="Mesh domain of the product (a key of mesh.domains whose folders hold it).")
    owner: str = Field(description="Producer team that owns the product.")
    contact: dict[str, str] = Field(description="email (and slack_channel) of the producer team.")
    slo: dict[str, Any] = Field(description="Delivery promise: cron, timezone, grace_period_minutes.")
    classification: str = Field(description="Sensitivity: public, internal, confidential or restricted.")
    consumers: list[str] = Field(default_factory=list, description="Consumer accounts granted the product.")
    description: str | None = Field(None, description="Default: generated from the Keyspaces table's name.")
    pii_columns: list[str] = Field(
        default_factory=list, description="Columns holding personal data (pii: true); the mesh's review refuses "
        "columns, or struct fields, whose names suggest personal data unless they are listed.",
    )


class FeatureStoreConfig(_Model):
    """Online feature tables (``<prefix>-features``, compute account); see docs/features.md."""

    enabled: bool = Field(True, description="Deploy the features stack.")
    schema_path: str = Field(
        "schemas/features/customer_features.cql", min_length=1,
        description="CQL file (CREATE TYPE/TABLE) of the Keyspaces table, relative to the app folder; its schema lock "
        "is <name>.lock.json next to it (commit both).",
    )
    dynamodb_table: bool = Field(True, description="Also deploy a DynamoDB feature table (<prefix>-features).")
    migration: KeyspacesMigrationConfig | None = Field(
        None, description="Copy a Cassandra table into the Keyspaces feature table with Glue (off when absent).")

    offline_store: bool = Field(
        True, description="Deploy the offline store: a Delta table of the features in the lake's curated zone "
        "(features/<table>/), registered in the Glue database <prefix>_features."
    )
    feature_job: FeatureJobConfig = Field(
        default_factory=FeatureJobConfig,
        description="The scheduled PySpark job writing the Keyspaces table and the offline store (needs offline_store).",
    )
    offline_product: OfflineProductConfig | None = Field(
        None, description="Register the offline store in the mesh as a data product (off when absent; needs "
        "offline_store and mesh.enabled).",
    )

    @model_validator(mode="after")
    def _job_needs_offline_store(self) -> FeatureStoreConfig:
        if self.feature_job.enabled and not self.offline_store:
            raise FieldProblem(("feature_job", "enabled"), True, "needs offline_store: true (the job writes both stores); "
                               "set offline_store to true or feature_job.enabled to false")
        if self.offline_product is not None and not self.offline_store:
            raise FieldProblem(("offline_product",), "set", "needs offline_store: true (the product is the offline "
                               "store); set offline_store to true or remove offline_product")
        return self


class FileIngestionConfig(_Model):
    """The file-ingestion pipeline (``FileIngestion``, GE MDC): landed CSV files recorded in DynamoDB and converted
    to Parquet in the curated zone against Avro schemas in the Glue Schema Registry; see docs/file-ingestion.md."""

    enabled: bool = Field(True, description="Deploy the landing bucket and the FileIngestion pipeline.")
    schemas_path: str = Field(
        "schemas/ingestion", min_length=1,
        description="Folder of <file_type>.avsc Avro schemas, relative to the app folder (one file type each).",
    )
    key_pattern: str | None = Field(
        None, description="Regular expression with the named groups tenant, site, date and file_type that landed "
        "keys must match; default: FileIngestion's '<tenant>/<site>/<yyyy-mm-dd>/<file_type>/<file>'.",
    )
    schedule: Annotated[str, _pattern(r"^(cron|rate|at)\(.+\)$", "must be an EventBridge Scheduler expression, "
                                      "e.g. 'rate(30 minutes)'")] | None = Field(
        "rate(30 minutes)", description="When the conversion job runs; null leaves it to an Airflow DAG "
        "(dags/example_file_ingestion_dag.py).",
    )


class IngestionConfig(_Model):
    """Self-service streaming datasets (``<prefix>-ingestion``, compute account); see docs/ingestion.md.

    Each dataset file under ``datasets_path`` gets a ``DatasetIngestion`` and its curated table becomes a data
    product of the mesh (reviewed with the contracts, placed by ``meshworks shards``). The file-ingestion
    pipeline (``FileIngestion``) gets its settings here too.
    """

    enabled: bool = Field(True, description="Deploy the ingestion stack (and the datasets' data products).")
    datasets_path: str = Field(
        "datasets", min_length=1, description="Folder (or file) of dataset files, relative to the app folder."
    )
    files: FileIngestionConfig = Field(
        default_factory=FileIngestionConfig, description="The file-ingestion pipeline (GE MDC's landed CSV files)."
    )


GitHubRepository = Annotated[
    str, _pattern(r"^[A-Za-z0-9-]{1,39}/[A-Za-z0-9._-]{1,100}$", "must be '<owner>/<repo>' on github.com, e.g. 'acme/data'")
]
GitHubEnvironment = Annotated[
    str, _pattern(r"^[^\s:*?\"]{1,255}$", "must be a GitHub environment name without spaces, ':', '*', '?' or quotes")
]
BootstrapQualifier = Annotated[str, _pattern(r"^[a-z0-9]{1,10}$", "must be 1-10 lower-case letters or digits")]
OidcProviderArn = Annotated[
    str,
    _pattern(
        r"^arn:aws[a-z-]*:iam::\d{12}:oidc-provider/token\.actions\.githubusercontent\.com$",
        "must be the ARN of the account's GitHub OIDC provider, "
        "e.g. arn:aws:iam::123456789012:oidc-provider/token.actions.githubusercontent.com",
    ),
]


class GitHubDagsConfig(_Model):
    """The role of ``.github/workflows/dags.yml`` (opt-in): GitHub OIDC, ``repo:<repository>:environment:<env>``,
    allowed only to list the DAG bucket and write/delete under ``dags/`` (``AirflowEnvironment.grant_dags_write``)."""

    enabled: bool = Field(False, description="Create the DAG workflow's role in the orchestration stack.")
    repository: GitHubRepository | None = Field(None, description="'<owner>/<repo>' whose dags.yml deploys DAGs.")
    github_environment: GitHubEnvironment = Field("dags", description="GitHub environment of the deploy-dags job.")
    oidc_provider_arn: OidcProviderArn | None = Field(
        None, description="The compute account's GitHub OIDC provider if it exists (one per account); default: create one.",
    )

    @model_validator(mode="after")
    def _repository_when_enabled(self) -> GitHubDagsConfig:
        if self.enabled and self.repository is None:
            raise FieldProblem(("repository",), None, "is required when github.enabled is true, e.g. 'acme/data'")
        return self


class DeployRolesConfig(_Model):
    """GitHub OIDC deploy role (``<prefix>-deploy-roles``, hub account; opt-in). See ``GitHubDeployRole``.

    The role ``<prefix>-github-deploy`` trusts exactly ``repo:<repository>:environment:<github_environment>``
    and may only assume the CDK bootstrap roles of the platform's accounts (hub, compute, consumers).
    """

    enabled: bool = Field(False, description="Deploy the GitHub OIDC deploy-role stack (deploy it once by hand).")
    repository: GitHubRepository | None = Field(None, description="'<owner>/<repo>' whose workflow deploys.")
    github_environment: GitHubEnvironment = Field(
        "production", description="GitHub environment of the deploy job this configuration is for."
    )
    qualifier: BootstrapQualifier = Field("hnb659fds", description="CDK bootstrap qualifier of the accounts.")
    oidc_provider_arn: OidcProviderArn | None = Field(
        None, description="The account's existing GitHub OIDC provider; default: create one (one per account)."
    )

    @model_validator(mode="after")
    def _repository_when_enabled(self) -> DeployRolesConfig:
        if self.enabled and self.repository is None:
            raise FieldProblem(("repository",), None, "is required when deploy_roles.enabled is true, e.g. 'acme/data'")
        return self

#: Most tags ``PlatformConfig.tags`` may hold (AWS: 50 per resource, minus the platform's own).
MAX_APP_TAGS = 40


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
    ingestion: IngestionConfig = Field(default_factory=IngestionConfig)
    deploy_roles: DeployRolesConfig = Field(default_factory=DeployRolesConfig)
    tags: dict[Annotated[str, StringConstraints(min_length=1, max_length=128)], str] = Field(
        default_factory=dict, description="Tags applied to every resource."
    )

    @field_validator("tags")
    @classmethod
    def _tag_limits(cls, value: dict[str, str]) -> dict[str, str]:
        # AWS: at most 50 tags per resource, values up to 256 characters, no 'aws:' keys. The platform adds
        # meshworks:prefix and some constructs their own (EMR's managed-policy tag): 40 leaves room.
        if len(value) > MAX_APP_TAGS:
            raise ValueError(f"at most {MAX_APP_TAGS} tags (AWS allows 50 per resource, the platform adds its own), got {len(value)}")
        for key, tag in value.items():
            if key.lower().startswith("aws:"):
                raise ValueError(f"tag key {key!r}: the 'aws:' prefix is reserved by AWS")
            if len(tag) > 256:
                raise ValueError(f"tag {key!r}: the value has {len(tag)} characters, AWS allows 256")
        return value

    @model_validator(mode="after")
    def _one_github_oidc_provider_per_account(self) -> PlatformConfig:
        # An account holds one OIDC provider per issuer URL: two stacks creating one fail the second deploy.
        github = self.orchestration.pipelines.github
        if (github.enabled and self.orchestration.enabled and self.deploy_roles.enabled
                and self.environments.hub.account == self.environments.compute.account
                and github.oidc_provider_arn is None and self.deploy_roles.oidc_provider_arn is None):
            raise FieldProblem(
                ("orchestration", "pipelines", "github", "oidc_provider_arn"), None,
                "is required when deploy_roles also creates the GitHub OIDC provider in the same account "
                f"({self.environments.compute.account}); use that provider's ARN "
                f"(arn:aws:iam::{self.environments.compute.account}:oidc-provider/token.actions.githubusercontent.com)",
            )  # fmt: skip
        return self

    def stack_name(self, role: str) -> str:
        """Deterministic stack name: ``<prefix>-<role>``."""
        return f"{self.prefix}-{role}"

    def mesh_trust(self) -> MeshTrust:
        """The mesh's trust: ``mesh.domains`` and the consumer allowlist ``environments.consumers[].account``."""
        return MeshTrust(domains=self.mesh.domains, consumer_accounts=[c.account for c in self.environments.consumers])


def _known_keys(loc: tuple[Any, ...]) -> list[str]:
    """Field names of the section at ``loc`` (for a misspelt key)."""
    from .config_overrides import _child, _is_model, _unwrap

    annotation: Any = PlatformConfig
    for part in loc:
        annotation, _ = _child(annotation, str(part))
        if annotation is None:
            return []
    annotation = _unwrap(annotation)
    return list(annotation.model_fields) if _is_model(annotation) else []


def _describe_allowed(err: Mapping[str, Any]) -> str:
    ctx = err.get("ctx") or {}
    if err["type"] == "extra_forbidden":
        known = _known_keys(tuple(err["loc"][:-1]))
        close = difflib.get_close_matches(str(err["loc"][-1]), known, n=1)
        hint = f"did you mean {close[0]!r}? " if close else ""
        return f"this key is not allowed here; {hint}keys of this section: {', '.join(known)}"
    if err["type"] == "missing":
        return "this key is required"
    if "pattern" in ctx:
        return _PATTERN_WORDS.get(ctx["pattern"], f"does not have the expected form ({ctx['pattern']})")
    if "expected" in ctx:
        return f"allowed: {ctx['expected']}"
    if err["type"] in ("model_type", "model_attributes_type", "dict_type"):
        known = _known_keys(tuple(err["loc"]))
        example = f"-c {config_key(tuple(err['loc']))}.{known[0]}=..." if known else "-c <key>.<sub-key>=..."
        keys = f" (its keys: {', '.join(known)})" if known else ""
        return f"this is a section, not a value: set its keys one by one, e.g. {example}{keys}"
    if err["type"] == "bool_parsing":
        return "must be true or false"
    msg = str(err["msg"])
    return msg[len("Value error, ") :] if msg.startswith("Value error, ") else msg


def _show(value: Any) -> str:
    text = json.dumps(value, default=str)
    return text if isinstance(value, str) or len(text) <= 200 else text[:197] + "..."


def format_errors(exc: ValidationError, source: str) -> str:
    """One readable line per problem in ``exc``: key, bad value (in full), what is allowed or how to fix it."""
    lines = [f"Invalid meshworks configuration ({source}):"]
    for err in exc.errors():
        loc, value, problem = tuple(err["loc"]), err.get("input"), (err.get("ctx") or {}).get("error")
        if isinstance(problem, FieldProblem):  # a cross-field check names the sub-key at fault
            loc, value, allowed = (*loc, *problem.loc), problem.value, str(problem)
        else:
            allowed = _describe_allowed(err)
        key = config_key(loc)
        shown = "" if err["type"] == "missing" else f" = {_show(value)}"
        lines.append(f"  {key}{shown}: {allowed}")
    return "\n".join(lines)


def config_from_context(context: Mapping[str, Any], source: str = "cdk.json context") -> PlatformConfig:
    """Build the config from CDK context: the ``meshworks`` object plus ``meshworks.a.b=value`` overrides.

    Raises:
        ConfigError: one line per problem (bad override, misspelt ``-c`` key, invalid value).
    """
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
    problems: list[str] = []
    for key in sorted(context):
        if looks_like_root_typo(key, CONTEXT_KEY):
            head, _, rest = key.partition(".")
            rest = rest or head[len(CONTEXT_KEY) + 1 :] or "<key>"
            problems.append(
                f"  {key} = {_show(context[key])}: not a meshworks key (it would be ignored); "
                f"write -c {CONTEXT_KEY}.{rest}=..."
            )
        elif key.startswith(f"@{CONTEXT_KEY}/") and key not in _FLAGS and difflib.get_close_matches(key, _FLAGS, n=1, cutoff=0.8):
            flag = difflib.get_close_matches(key, _FLAGS, n=1, cutoff=0.8)[0]
            problems.append(f"  {key} = {_show(context[key])}: not a meshworks flag (it would be ignored); did you mean {flag}?")
        elif key.startswith(CONTEXT_KEY + "."):
            try:
                apply_override(data, PlatformConfig, CONTEXT_KEY, key[len(CONTEXT_KEY) + 1 :], context[key])
            except OverrideProblem as problem:
                problems.append(f"  {problem}")
    if problems:
        raise ConfigError("\n".join([f"Invalid meshworks configuration ({source}):", *problems]))
    try:
        return PlatformConfig.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(format_errors(exc, source)) from None


def load_cdk_json(path: str | Path = "cdk.json") -> PlatformConfig:
    """Read the config straight from a ``cdk.json`` file (tests, benchmarks, scripts)."""
    text = Path(path).read_text(encoding="utf-8")
    return config_from_context(json.loads(text).get("context", {}), source=str(path))

