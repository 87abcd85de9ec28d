"""The dataset file: one YAML file onboards one streaming dataset (Ibotta's self-service onboarding).

A producer writes ``datasets/<domain>/<name>.yml``; the platform builds, with
:class:`~meshworks.constructs.ingestion.dataset_ingestion.DatasetIngestion`, the stream and/or Firehose delivery
into the raw zone, the curation Glue job (nested JSON relationalized into Parquet in the curated zone), the raw
crawler or table, and the data product of the mesh that the curated table becomes (``product``: the fields of a
:class:`~meshworks.constructs.mesh.contract.DataProductContract` except ``name``, ``domain``, ``location`` and
``format``, which the dataset sets).

Example::

    from pathlib import Path

    import yaml

    from meshworks.constructs.ingestion.dataset import Dataset

    text = Path("datasets/clickstream/app_events.yml").read_text()
    dataset = Dataset.model_validate(yaml.safe_load(text))
    dataset.raw_prefix                     # "clickstream/app_events/"
    dataset.contract_input("acme-curated")  # the product's contract fields, location in the curated bucket

AWS limits checked here (Amazon Data Firehose developer and API guides):

* S3 destination buffering: 1-128 MiB and 0-900 s; with dynamic partitioning at least 64 MiB and at least
  60 s (zero buffering is not available), and at most 500 active partitions per stream by default.
* HTTP endpoint destination buffering: 1-64 MiB and 0-900 s; retry duration 0-7200 s; https URLs only.
"""

from __future__ import annotations

import re
from enum import Enum
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StrictInt, field_validator, model_validator
from pydantic_core import PydanticCustomError

from meshworks.constructs.mesh.contract import LOCATED_ERROR

__all__ = [
    "DERIVED_PRODUCT_FIELDS",
    "Buffering",
    "Catalog",
    "Curation",
    "Dataset",
    "HttpEndpoint",
    "Partitioning",
    "PartitionKey",
    "Raw",
    "RawFormat",
    "Source",
    "SourceType",
]

#: Contract fields the dataset sets itself; a ``product`` block must not repeat them.
DERIVED_PRODUCT_FIELDS = ("name", "domain", "location", "format", "producer_account")

#: Raw-zone partition column written by every delivery: the UTC arrival date (``dt=YYYY-MM-DD``).
ARRIVAL_DATE_KEY = "dt"

_FROZEN = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)
_SNAKE_RE = re.compile(r"^[a-z][a-z0-9]*(?:_[a-z0-9]+)*$")
_STREAM_ARN_RE = re.compile(r"^arn:aws[a-z-]*:kinesis:[a-z]{2}(-[a-z]+)+-\d:\d{12}:stream/[A-Za-z0-9_.-]{1,128}$")
_FIREHOSE_ARN_RE = re.compile(
    r"^arn:aws[a-z-]*:firehose:[a-z]{2}(-[a-z]+)+-\d:\d{12}:deliverystream/[A-Za-z0-9_.-]{1,64}$"
)
_SECRET_ARN_RE = re.compile(r"^arn:aws[a-z-]*:secretsmanager:[a-z]{2}(-[a-z]+)+-\d:\d{12}:secret:[A-Za-z0-9/_+=.@-]+$")
_BUS_RE = re.compile(r"^[A-Za-z0-9._\-/]{1,256}$")
_URL_RE = re.compile(r"^https://[A-Za-z0-9.-]+(:\d{1,5})?(/[^\s]*)?$")
# A JQ path into the record: '.a', '.a.b', '.a["x-y"]'. Firehose evaluates it with JQ 1.6 per record.
_JQ_PATH_RE = re.compile(r'^(\.[A-Za-z_][A-Za-z0-9_]*|\.?\["[^"\\]+"\])+$')
_GLUE_CRON_RE = re.compile(r"^cron\([^()]+\)$")


def _located(issues: list[tuple[tuple[str | int, ...], str]]) -> PydanticCustomError:
    """Several problems, each at its own key (the loader points each at its line); see ``contract._located``."""
    summary = "; ".join(message for _, message in issues)
    return PydanticCustomError(LOCATED_ERROR, "{summary}", {"summary": summary, "issues": tuple(issues)})


def _snake(value: str, what: str, max_length: int = 63) -> str:
    if not _SNAKE_RE.match(value) or len(value) > max_length:
        hint = re.sub(r"[^a-z0-9]+", "_", value.lower()).strip("_")[:max_length]
        example = f", such as {hint!r}" if hint and _SNAKE_RE.match(hint) else ""
        raise ValueError(
            f"{what} {value!r} must be snake_case (lowercase letters, digits, single underscores, starting with a "
            f"letter, at most {max_length} characters){example}"
        )
    return value


class SourceType(str, Enum):
    """Where the records come from."""

    KINESIS = "kinesis"
    EVENTBRIDGE = "eventbridge"
    FIREHOSE = "firehose"


class Source(BaseModel):
    """The source of the records: a Kinesis data stream (new or existing), EventBridge events, or an existing
    Firehose stream that already delivers into the raw zone."""

    model_config = _FROZEN

    type: SourceType = Field(description="'kinesis', 'eventbridge' or 'firehose'.")
    stream_arn: str | None = Field(
        None, description="kinesis: an existing data stream to read. Default: a new stream (KMS, on-demand)."
    )
    stream_mode: str = Field(
        "on_demand", description="kinesis, new stream: 'on_demand' (default) or 'provisioned' (with shard_count)."
    )
    shard_count: StrictInt | None = Field(None, ge=1, le=500, description="kinesis, provisioned: shards (1-500).")
    retention_hours: StrictInt = Field(24, ge=24, le=8760, description="kinesis, new stream: 24-8760 hours.")
    event_bus_name: str = Field("default", description="eventbridge: the bus whose events are delivered.")
    event_source: tuple[str, ...] = Field((), description="eventbridge: the events' `source` values (at least one).")
    detail_type: tuple[str, ...] = Field((), description="eventbridge: the events' `detail-type` values (optional).")
    delivery_stream_arn: str | None = Field(
        None, description="firehose: the existing Firehose stream (it delivers into raw_prefix of the raw zone)."
    )

    @model_validator(mode="after")
    def _fields_of_type(self) -> Source:
        issues: list[tuple[tuple[str | int, ...], str]] = []
        kind = self.type
        allowed = {
            SourceType.KINESIS: {"stream_arn", "stream_mode", "shard_count", "retention_hours"},
            SourceType.EVENTBRIDGE: {"event_bus_name", "event_source", "detail_type"},
            SourceType.FIREHOSE: {"delivery_stream_arn"},
        }[kind]
        for name in sorted(self.model_fields_set - allowed - {"type"}):
            issues.append(((name,), f"{name} does not apply to a {kind.value} source: remove it"))
        if kind is SourceType.KINESIS:
            if self.stream_arn is not None and not _STREAM_ARN_RE.match(self.stream_arn):
                issues.append((("stream_arn",), f"{self.stream_arn!r} is not a Kinesis stream ARN "
                               "(arn:aws:kinesis:<region>:<account>:stream/<name>)"))
            if self.stream_mode not in {"on_demand", "provisioned"}:
                issues.append((("stream_mode",), f"{self.stream_mode!r} is not one of: on_demand, provisioned"))
            elif self.stream_mode == "provisioned" and self.shard_count is None:
                issues.append((("shard_count",), "a provisioned stream needs shard_count (1-500)"))
            elif self.stream_mode == "on_demand" and self.shard_count is not None:
                issues.append((("shard_count",), "an on_demand stream has no shard_count: remove it, or set "
                               "stream_mode: provisioned"))
            if self.stream_arn is not None and self.model_fields_set & {"stream_mode", "shard_count", "retention_hours"}:
                issues.append((("stream_arn",), "an existing stream is configured where it lives: remove "
                               "stream_mode, shard_count and retention_hours"))
        elif kind is SourceType.EVENTBRIDGE:
            if not self.event_source:
                issues.append((("event_source",), "list the events' source values, e.g. ['com.acme.checkout']"))
            if not _BUS_RE.match(self.event_bus_name):
                issues.append((("event_bus_name",), f"{self.event_bus_name!r} is not an event bus name"))
        elif self.delivery_stream_arn is None or not _FIREHOSE_ARN_RE.match(self.delivery_stream_arn):
            issues.append((("delivery_stream_arn",), "a firehose source needs the stream's ARN "
                           "(arn:aws:firehose:<region>:<account>:deliverystream/<name>)"))
        if issues:
            raise _located(issues)
        return self


class RawFormat(str, Enum):
    """Format of the raw records (delivered untransformed)."""

    JSON = "json"


class PartitionKey(BaseModel):
    """A dynamic-partitioning key: a JQ path into each record; its value becomes ``<name>=<value>/`` in the key."""

    model_config = _FROZEN

    name: str = Field(description="Partition column name (snake_case).")
    query: str = Field(description="JQ 1.6 path into the record, e.g. '.event_type' or '.detail.country'.")

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        _snake(value, "partition key", 64)
        if value == ARRIVAL_DATE_KEY:
            raise ValueError(f"'{ARRIVAL_DATE_KEY}' is the arrival date every delivery adds: choose another name")
        return value

    @field_validator("query")
    @classmethod
    def _query(cls, value: str) -> str:
        if not _JQ_PATH_RE.match(value):
            raise ValueError(f"{value!r} is not a JQ path such as '.event_type' or '.detail.country'")
        return value


class Partitioning(BaseModel):
    """Raw-zone partitioning: always by arrival date (``dt``), plus dynamic partitioning keys from the payload.

    Dynamic partitioning cannot be switched on (or off) on an existing Firehose stream: adding the first key
    or removing the last one replaces the delivery stream (a new name, ``<prefix>-<domain>-<name>-dp``).
    """

    model_config = _FROZEN

    keys: tuple[PartitionKey, ...] = Field(
        (), max_length=8, description="Dynamic partitioning keys (JQ); none: no dynamic partitioning. A stream "
        "holds 500 active partitions by default (up to 5000 on request): records beyond go to the error prefix "
        "(activePartitionExceeded), so keep the keys' combined cardinality per buffer interval below that.",
    )

    @field_validator("keys")
    @classmethod
    def _unique(cls, value: tuple[PartitionKey, ...]) -> tuple[PartitionKey, ...]:
        seen: dict[str, int] = {}
        issues: list[tuple[tuple[str | int, ...], str]] = []
        for index, key in enumerate(value):
            if key.name in seen:
                issues.append(((index, "name"), f"partition key {key.name!r} is listed twice (also keys[{seen[key.name]}])"))
            seen.setdefault(key.name, index)
        if issues:
            raise _located(issues)
        return value

    @property
    def dynamic(self) -> bool:
        """Whether dynamic partitioning is on (at least one key)."""
        return bool(self.keys)

    @property
    def names(self) -> tuple[str, ...]:
        """Raw partition columns in key order: the dynamic keys, then ``dt``."""
        return (*(key.name for key in self.keys), ARRIVAL_DATE_KEY)


class Buffering(BaseModel):
    """Firehose buffering hints (whichever is reached first flushes the buffer)."""

    model_config = _FROZEN

    size_mb: StrictInt = Field(128, ge=1, le=128, description="MiB, 1-128 (S3; 64-128 with dynamic partitioning).")
    interval_seconds: StrictInt = Field(300, ge=0, le=900, description="Seconds, 0-900 (60-900 with dynamic partitioning).")


class Raw(BaseModel):
    """The raw zone delivery: format, partitioning, buffering, compression."""

    model_config = _FROZEN

    format: RawFormat = Field(RawFormat.JSON, description="Format of the raw records: 'json' (JSON lines).")
    partitioning: Partitioning = Field(default_factory=Partitioning)
    buffering: Buffering = Field(default_factory=Buffering)
    compression: str = Field("gzip", description="'gzip' (default), 'snappy', 'zip' or 'none'.")

    @field_validator("compression")
    @classmethod
    def _compression(cls, value: str) -> str:
        if value not in {"gzip", "snappy", "zip", "none"}:
            raise ValueError(f"{value!r} is not one of: gzip, snappy, zip, none")
        return value

    @model_validator(mode="after")
    def _dynamic_partitioning_buffering(self) -> Raw:
        buffering = self.buffering
        if self.partitioning.dynamic:
            issues: list[tuple[tuple[str | int, ...], str]] = []
            if buffering.size_mb < 64:
                issues.append((("buffering", "size_mb"), f"{buffering.size_mb} MiB is below the 64 MiB Firehose "
                               "requires with dynamic partitioning: use 64-128"))
            if buffering.interval_seconds < 60:
                issues.append((("buffering", "interval_seconds"), f"{buffering.interval_seconds} s: zero or short "
                               "buffering is not available with dynamic partitioning: use 60-900"))
            if issues:
                raise _located(issues)
        return self


class HttpEndpoint(BaseModel):
    """Deliver to an HTTP endpoint (Coralogix-style) instead of the raw zone; S3 keeps failed or all records."""

    model_config = _FROZEN

    url: str = Field(description="https URL of the endpoint.")
    name: str | None = Field(None, description="Display name of the endpoint. Default: the dataset's name.")
    access_key_secret_arn: str = Field(description="Secrets Manager secret holding the endpoint's access key.")
    retry_seconds: StrictInt = Field(300, ge=0, le=7200, description="Seconds Firehose retries (0-7200).")
    backup: str = Field("failed", description="Records kept in the raw zone: 'failed' (default) or 'all'.")
    buffering_size_mb: StrictInt = Field(5, ge=1, le=64, description="MiB, 1-64 (HTTP endpoint limit).")
    buffering_interval_seconds: StrictInt = Field(60, ge=0, le=900, description="Seconds, 0-900.")

    @field_validator("url")
    @classmethod
    def _https(cls, value: str) -> str:
        if not _URL_RE.match(value):
            raise ValueError(f"{value!r} is not an https URL (Firehose delivers to https endpoints only)")
        return value

    @field_validator("access_key_secret_arn")
    @classmethod
    def _secret(cls, value: str) -> str:
        if not _SECRET_ARN_RE.match(value):
            raise ValueError(f"{value!r} is not a Secrets Manager secret ARN (arn:aws:secretsmanager:...:secret:...)")
        return value

    @field_validator("backup")
    @classmethod
    def _backup(cls, value: str) -> str:
        if value not in {"failed", "all"}:
            raise ValueError(f"{value!r} is not one of: failed, all")
        return value


class Curation(BaseModel):
    """The curation Glue job: relationalize the nested JSON of the raw zone into Parquet in the curated zone."""

    model_config = _FROZEN

    schedule: str = Field(
        "cron(15 * * * ? *)", description="Glue trigger schedule (cron(...) in UTC). Default: hourly at :15."
    )
    worker_type: str = Field("G.1X", description="Glue worker type: G.1X (default), G.2X, G.4X or G.8X.")
    workers: StrictInt = Field(2, ge=2, le=299, description="Number of workers (2-299).")
    timeout_minutes: StrictInt = Field(60, ge=1, le=2880, description="Job timeout in minutes (1-2880).")

    @field_validator("schedule")
    @classmethod
    def _schedule(cls, value: str) -> str:
        if not _GLUE_CRON_RE.match(value) or len(value[5:-1].split()) != 6:
            raise ValueError(f"{value!r} is not a Glue schedule: use cron(<min> <hour> <day> <month> <weekday> "
                             "<year>) in UTC, e.g. 'cron(15 * * * ? *)'")
        return value

    @field_validator("worker_type")
    @classmethod
    def _worker_type(cls, value: str) -> str:
        if value not in {"G.1X", "G.2X", "G.4X", "G.8X"}:
            raise ValueError(f"{value!r} is not one of: G.1X, G.2X, G.4X, G.8X")
        return value


class Catalog(BaseModel):
    """How the raw zone is catalogued: a crawler (default) or an explicit schema (a Glue table, no crawler)."""

    model_config = _FROZEN

    crawler_schedule: str | None = Field(
        "cron(0 * * * ? *)", description="Raw crawler schedule (cron(...) in UTC); null: run it on demand only."
    )
    columns: tuple[dict[str, str], ...] = Field(
        (), description="Explicit raw schema [{name, type}]: a Glue table instead of a crawler."
    )

    @model_validator(mode="after")
    def _one(self) -> Catalog:
        if self.columns and "crawler_schedule" in self.model_fields_set and self.crawler_schedule is not None:
            raise _located([(("crawler_schedule",), "an explicit schema (columns) needs no crawler: remove "
                             "crawler_schedule, or remove columns to crawl")])
        issues: list[tuple[tuple[str | int, ...], str]] = []
        for index, column in enumerate(self.columns):
            if set(column) != {"name", "type"}:
                issues.append((("columns", index), "a raw column is {name, type}"))
        if self.crawler_schedule is not None and not self.columns:
            text = self.crawler_schedule
            if not _GLUE_CRON_RE.match(text) or len(text[5:-1].split()) != 6:
                issues.append((("crawler_schedule",), f"{text!r} is not a Glue schedule, e.g. 'cron(0 * * * ? *)'"))
        if issues:
            raise _located(issues)
        return self

    @property
    def crawled(self) -> bool:
        """Whether a crawler catalogs the raw zone (no explicit schema)."""
        return not self.columns


class Dataset(BaseModel):
    """One streaming dataset: source, raw delivery, curation, catalog, and the data product it becomes."""

    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True, title="Dataset")

    name: Annotated[str, Field(description="Dataset name (snake_case); the product's name.")]
    domain: Annotated[str, Field(description="Domain of the mesh (snake_case); the product's domain.")]
    source: Source
    raw: Raw = Field(default_factory=Raw)
    http_endpoint: HttpEndpoint | None = Field(
        None, description="Deliver to an HTTP endpoint, the raw zone keeping failed (or all) records. Default: none."
    )
    curation: Curation = Field(default_factory=Curation)
    catalog: Catalog = Field(default_factory=Catalog)
    product: dict[str, Any] | None = Field(
        None,
        description="The data product the curated table becomes: a contract without name, domain, location and "
        "format (set by the dataset): description, owner, contact, columns, partition_keys, slo, consumers, "
        "classification, tags ... Required, except for an HTTP endpoint with backup: failed (no curation then).",
    )

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        return _snake(value, "name", 48)

    @field_validator("domain")
    @classmethod
    def _domain(cls, value: str) -> str:
        return _snake(value, "domain", 48)

    @field_validator("product")
    @classmethod
    def _no_derived_fields(cls, value: dict[str, Any] | None) -> dict[str, Any] | None:
        if value is None:
            return value
        issues: list[tuple[tuple[str | int, ...], str]] = [
            ((key,), f"{key} is set by the dataset ({_DERIVED_HELP[key]}): remove it from product")
            for key in DERIVED_PRODUCT_FIELDS
            if key in value
        ]
        if issues:
            raise _located(issues)
        return value

    @model_validator(mode="after")
    def _sources_and_destinations(self) -> Dataset:
        issues: list[tuple[tuple[str | int, ...], str]] = []
        if self.source.type is SourceType.FIREHOSE and self.http_endpoint is not None:
            issues.append((("http_endpoint",), "an existing Firehose stream delivers where it is configured: "
                           "remove http_endpoint, or use a kinesis or eventbridge source"))
        if self.http_endpoint is not None and self.raw.partitioning.dynamic:
            issues.append((("raw", "partitioning", "keys"), "dynamic partitioning applies to S3 delivery only, "
                           "not to an HTTP endpoint: remove the keys"))
        if not self.curated and self.product is not None:
            issues.append((("product",), "with http_endpoint.backup: failed the raw zone keeps only failed records, "
                           "so nothing is curated: remove product, or set http_endpoint.backup: all"))
        elif self.curated and self.product is None:
            issues.append((("product",), "required: the data product the curated table becomes (description, "
                           "owner, contact, columns, slo, classification ...)"))
        partition_names = set(self.raw.partitioning.names)
        for index, key in enumerate((self.product or {}).get("partition_keys") or ()):
            name = key.get("name") if isinstance(key, dict) else None
            if isinstance(name, str) and name not in partition_names:
                issues.append(((("product", "partition_keys", index, "name")), f"{name!r} is not a raw partition "
                               f"({', '.join(sorted(partition_names))}): the curated table is partitioned by raw "
                               "partitions only: use one of them, or add a raw.partitioning key of that name"))
        if issues:
            raise _located(issues)
        return self

    # ---- derived names -------------------------------------------------------------------------------

    @property
    def curated(self) -> bool:
        """Whether the raw zone receives every record, so a curation job, a catalog and a product exist
        (false only for an HTTP endpoint that backs up failed records only)."""
        return self.http_endpoint is None or self.http_endpoint.backup == "all"

    @property
    def qualified_name(self) -> str:
        """``domain.name``."""
        return f"{self.domain}.{self.name}"

    @property
    def raw_prefix(self) -> str:
        """Key prefix of the raw records in the raw zone: ``<domain>/<name>/``."""
        return f"{self.domain}/{self.name}/"

    @property
    def curated_prefix(self) -> str:
        """Key prefix of the curated product in the curated zone: ``<domain>/<name>/``."""
        return f"{self.domain}/{self.name}/"

    def contract_input(self, curated_bucket_name: str, producer_account: str | None = None) -> dict[str, Any]:
        """The product's contract fields: ``product`` plus name, domain, Parquet format, the curated location and
        the producer account (the account the ingestion runs in; ``None``: the domain's only producer account)."""
        fields = {
            **(self.product or {}),
            "name": self.name,
            "domain": self.domain,
            "location": f"s3://{curated_bucket_name}/{self.curated_prefix}",
            "format": "parquet",
        }
        if producer_account is not None:
            fields["producer_account"] = producer_account
        return fields


_DERIVED_HELP = {
    "name": "its name",
    "domain": "its domain",
    "location": "the curated zone, <domain>/<name>/",
    "format": "the curation job writes parquet",
    "producer_account": "the account the ingestion runs in, which announces the refreshes",
}
