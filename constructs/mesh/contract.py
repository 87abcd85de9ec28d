"""The data-product contract: one YAML file describes one data product of the mesh.

A producer team writes the contract; the platform turns it into a Glue table in the hub catalog, Lake
Formation grants for the consumer accounts, and an SLO monitor. The model checks every field on its own
(types, names, formats); the governance rules that look at several fields or several contracts live in
:mod:`meshworks.constructs.mesh.review`.

Example::

    from pathlib import Path

    import yaml

    from meshworks.constructs.mesh.contract import DataProductContract

    text = Path("contracts/sales/orders.yaml").read_text()
    contract = DataProductContract.model_validate(yaml.safe_load(text))
    contract.database_name        # "sales"
    contract.glue_table_parameters()["meshworks.owner"]

Regenerate the committed JSON Schema (``data_product.schema.json``) after changing the model::

    meshworks schema --output constructs/mesh/data_product.schema.json
"""

from __future__ import annotations

import json
from enum import Enum
from pathlib import Path
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StrictBool,
    StrictInt,
    ValidationInfo,
    field_validator,
)

from meshworks.constructs.mesh.contract_fields import (  # noqa: F401 - re-exported (moved there)
    _ACCOUNT_RE,
    _COLUMN_RE,
    _EMAIL_RE,
    _OWNER_RE,
    _PLACEHOLDER_RE,
    _SLACK_RE,
    _SNAKE_RE,
    _TAG_KEY_RE,
    _TAG_VALUE_RE,
    _TZ_ABBREVIATION_RE,
    LOCATED_ERROR,
    MAX_LF_TAG_LENGTH,
    MAX_LF_TAGS_PER_RESOURCE,
    PLATFORM_LF_TAGS,
    RESERVED_TAG_KEYS,
    AccountId,
    ColumnName,
    DomainName,
    GlueTypeText,
    SnakeName,
    _check_account,
    _check_account_type,
    _check_column_name,
    _check_cron,
    _check_email,
    _check_location,
    _check_owner,
    _check_slack,
    _check_tags,
    _check_timezone,
    _description,
    _located,
    _snake_case,
    _timezone_hint,
    _timezones,
    split_s3_uri,
)
from meshworks.constructs.mesh.glue_types import (  # noqa: F401 - re-exported (moved there)
    _FORMAT_MISSING_TYPES,
    _KEYWORDS,
    _MAX_TYPE_DEPTH,
    _MAX_TYPE_LENGTH,
    _STRING_MAP_KEYS,
    _TOKEN_RE,
    _TYPE_ALIASES,
    PRIMITIVE_TYPES,
    GlueType,
    _check_glue_type,
    _format_issues,
    _suggest,
    _TypeParser,
    format_type_problem,
    parse_glue_type,
)

__all__ = [
    "CONSUMERS_PARAMETER",
    "PRODUCER_ACCOUNT_PARAMETER",
    "SCHEMA_PATH",
    "Classification",
    "Column",
    "Contact",
    "DataFormat",
    "DataProductContract",
    "GlueType",
    "PartitionPathStyle",
    "PiiCategory",
    "Slo",
    "json_schema",
    "parse_glue_type",
    "render_json_schema",
]

SCHEMA_PATH = Path(__file__).with_name("data_product.schema.json")
"""Where the generated JSON Schema of :class:`DataProductContract` is committed."""

PRODUCER_ACCOUNT_PARAMETER = "meshworks:producer_account"
#: Glue table parameter listing the product's consumer accounts (the hub notifier publishes to each one's topic).
CONSUMERS_PARAMETER = "meshworks:consumers"
"""Glue table parameter holding the product's producer account: the only account whose refresh events the
hub's notifier accepts for the table (set from the reviewed contract, see :mod:`~meshworks.constructs.mesh.trust`)."""



# --------------------------------------------------------------------------------------------------
# Models
# --------------------------------------------------------------------------------------------------


class DataFormat(str, Enum):
    """Storage format of the data: a file format, or an open table format."""

    PARQUET = "parquet"
    JSON = "json"
    CSV = "csv"
    AVRO = "avro"
    ORC = "orc"
    ICEBERG = "iceberg"
    HUDI = "hudi"
    DELTA = "delta"

    @property
    def is_table_format(self) -> bool:
        """True for the open table formats (iceberg, hudi, delta), which keep their own metadata."""
        return self in {DataFormat.ICEBERG, DataFormat.HUDI, DataFormat.DELTA}


class PartitionPathStyle(str, Enum):
    """How partition folders are named under the table location."""

    HIVE = "hive"  # order_date=2026-11-25/
    VALUES = "values"  # 2026-11-25/


class Classification(str, Enum):
    """Sensitivity of the data product, from least to most sensitive."""

    PUBLIC = "public"
    INTERNAL = "internal"
    CONFIDENTIAL = "confidential"
    RESTRICTED = "restricted"


class PiiCategory(str, Enum):
    """Kind of personal data a column holds."""

    EMAIL = "email"
    PHONE = "phone"
    GOVERNMENT_ID = "government_id"
    ADDRESS = "address"
    BIRTH_DATE = "birth_date"
    IP_ADDRESS = "ip_address"
    PERSON_NAME = "person_name"
    FINANCIAL = "financial"
    HEALTH = "health"
    LOCATION = "location"
    DEVICE_ID = "device_id"
    OTHER = "other"


_FROZEN = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)


class Contact(BaseModel):
    """How consumers and the SLO monitor reach the producer team."""

    model_config = _FROZEN

    email: Annotated[
        str,
        AfterValidator(_check_email),
        Field(description="Team email address.", examples=["sales-data@example.com"]),
    ]
    slack_channel: Annotated[
        str,
        AfterValidator(_check_slack),
        Field(
            description="Slack channel for SLO alerts: '#' and lowercase words joined by '-'.",
            json_schema_extra={"pattern": _SLACK_RE.pattern},
            examples=["#sales-data-alerts"],
        ),
    ]


class Column(BaseModel):
    """One column (or partition key) of the data product's table."""

    model_config = _FROZEN

    name: ColumnName
    type: GlueTypeText
    description: Annotated[
        str,
        AfterValidator(_description(5, "column description")),
        Field(description="What the column means (unit, source, null semantics); at least 5 characters."),
    ]
    pii: StrictBool = Field(default=False, description="The column holds personal data.")
    pii_category: PiiCategory | None = Field(default=None, description="Kind of personal data; only with `pii: true`.")

    @field_validator("pii_category")
    @classmethod
    def _category_needs_pii(cls, value: PiiCategory | None, info: ValidationInfo) -> PiiCategory | None:
        if value is not None and info.data.get("pii") is False:
            raise ValueError(f"pii_category {value.value!r} is set but pii is false: set 'pii: true'")
        return value

    @property
    def glue_type(self) -> GlueType:
        """The parsed column type."""
        return parse_glue_type(self.type)


class Slo(BaseModel):
    """When the producer promises a new delivery: a cron schedule in a time zone, plus a grace period."""

    model_config = _FROZEN

    cron: Annotated[
        str,
        AfterValidator(_check_cron),
        Field(
            description=(
                "5-field cron (minute hour day-of-month month day-of-week) of the expected deliveries, in `timezone`."
            ),
            examples=["0 6 * * *", "*/15 * * * *", "30 7 * * MON-FRI"],
        ),
    ]
    timezone: Annotated[
        str,
        AfterValidator(_check_timezone),
        Field(description="IANA time zone of the cron schedule.", examples=["UTC", "America/Phoenix"]),
    ]
    grace_minutes: StrictInt = Field(
        default=60, ge=0, le=1440, description="Minutes after a scheduled time before an alert fires."
    )


def _check_unique_columns(columns: tuple[Column, ...], what: str) -> None:
    seen: dict[str, int] = {}
    issues: list[tuple[tuple[str | int, ...], str]] = []
    for index, column in enumerate(columns):
        if column.name in seen:
            issues.append(((index, "name"), f"duplicate {what} {column.name!r} (also {what}s[{seen[column.name]}])"))
        else:
            seen[column.name] = index
    if issues:
        raise _located(issues)


class DataProductContract(BaseModel):
    """One data product: what it is, who owns it, where it lives, its schema, SLO and consumers.

    Example::

        from meshworks.constructs.mesh import DataProductContract

        contract = DataProductContract.model_validate(
            {
                "name": "orders",
                "domain": "sales",
                "description": "Every confirmed web-shop order, one row per order line.",
                "owner": "sales-data",
                "contact": {"email": "sales-data@example.com", "slack_channel": "#sales-data"},
                "location": "s3://acme-sales-curated/orders/",
                "format": "parquet",
                "columns": [{"name": "order_id", "type": "bigint", "description": "Order number."}],
                "slo": {"cron": "0 6 * * *", "timezone": "UTC"},
                "classification": "internal",
            }
        )
    """

    model_config = ConfigDict(
        extra="forbid",
        frozen=True,
        str_strip_whitespace=True,
        title="DataProductContract",
        json_schema_extra={"$id": "https://meshworks.dev/schemas/data_product.schema.json"},
    )

    name: SnakeName
    domain: DomainName
    description: Annotated[
        str,
        AfterValidator(_description(20, "description")),
        Field(description="What the data product is and how to use it; at least 20 characters."),
    ]
    owner: Annotated[
        str,
        AfterValidator(_check_owner),
        Field(description="Producer team that owns the data product.", examples=["sales-data"]),
    ]
    contact: Contact = Field(description="How to reach the producer team (email, Slack channel for SLO alerts).")
    location: Annotated[
        str,
        AfterValidator(_check_location),
        Field(
            description="S3 folder of the data: s3://bucket/prefix/ (trailing slash).",
            json_schema_extra={"pattern": r"^s3://[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]/([A-Za-z0-9!_.'()=+-]+/)+$"},
            examples=["s3://acme-sales-curated/orders/"],
        ),
    ]
    format: DataFormat = Field(description="Storage format of the data.")
    columns: tuple[Column, ...] = Field(min_length=1, description="Columns of the table (not partition keys).")
    partition_keys: tuple[Column, ...] = Field(
        default=(), description="Partition columns (Hive-style); none may repeat a column name."
    )
    partition_path_style: PartitionPathStyle | None = Field(
        default=None,
        description=(
            "Folder layout of the partitions: 'hive' (key=value/) or 'values' (value/). Default: 'values' "
            "for hudi (Hudi's default unless hoodie.datasource.write.hive_style_partitioning is true), "
            "'hive' for the other file formats; not for iceberg/delta, which keep partitions in their metadata."
        ),
    )
    slo: Slo = Field(description="Delivery promise: cron schedule, time zone and grace period.")
    consumers: tuple[AccountId, ...] = Field(
        default=(),
        description="AWS accounts the product is shared with (12-digit ids, unique); each must be an allowed "
        "consumer of the mesh (the platform's configuration).",
    )
    producer_account: AccountId | None = Field(
        default=None,
        description="Account that produces the data and announces its refreshes: one of the domain's producer "
        "accounts in the platform's configuration. Required when the domain has several; default: its only one.",
    )
    classification: Classification = Field(description="Sensitivity of the data.")
    tags: Annotated[dict[str, str], AfterValidator(_check_tags)] = Field(
        default_factory=dict,
        description="Extra Lake Formation tags (lowercase keys); domain and classification are added.",
    )

    @field_validator("consumers")
    @classmethod
    def _unique_consumers(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        seen: dict[str, int] = {}
        issues: list[tuple[tuple[str | int, ...], str]] = []
        for index, account in enumerate(value):
            if account in seen:
                issues.append(((index,), f"account {account} is listed twice (also consumers[{seen[account]}])"))
            seen.setdefault(account, index)
        if issues:
            raise _located(issues)
        return value

    @field_validator("tags")
    @classmethod
    def _lf_tags_fit(cls, value: dict[str, str], info: ValidationInfo) -> dict[str, str]:
        consumers = len(info.data.get("consumers", ()))
        total = PLATFORM_LF_TAGS + len(value) + consumers
        if total > MAX_LF_TAGS_PER_RESOURCE:
            raise ValueError(
                f"the table would carry {total} LF-tags (domain, classification, pii, {len(value)} tags and one per "
                f"consumer: {consumers}); Lake Formation assigns at most {MAX_LF_TAGS_PER_RESOURCE} to a table: "
                f"keep tags + consumers at or below {MAX_LF_TAGS_PER_RESOURCE - PLATFORM_LF_TAGS} (share with more "
                "accounts through one consumer account that re-grants, or drop tags)"
            )
        return value

    @field_validator("columns")
    @classmethod
    def _unique_columns(cls, value: tuple[Column, ...], info: ValidationInfo) -> tuple[Column, ...]:
        _check_unique_columns(value, "column")
        issues = _format_issues(value, info.data.get("format"))
        if issues:
            raise _located(issues)
        return value

    @field_validator("partition_keys")
    @classmethod
    def _partition_keys(cls, value: tuple[Column, ...], info: ValidationInfo) -> tuple[Column, ...]:
        _check_unique_columns(value, "partition_key")
        columns = {column.name for column in info.data.get("columns", ())}
        issues: list[tuple[tuple[str | int, ...], str]] = []
        for index, key in enumerate(value):
            if key.name in columns:
                issues.append(((index, "name"), f"partition key {key.name!r} is also a column; list it only once"))
            elif not key.glue_type.is_primitive:
                issues.append(((index, "type"), f"partition key {key.name!r} must have a primitive type"))
        issues += [
            issue
            for issue in _format_issues(value, info.data.get("format"), partition_keys=True)
            if issue[0] not in {i[0] for i in issues}
        ]
        if issues:
            raise _located(issues)
        return value

    @field_validator("partition_path_style")
    @classmethod
    def _path_style_needs_hive_partitions(
        cls, value: PartitionPathStyle | None, info: ValidationInfo
    ) -> PartitionPathStyle | None:
        fmt = info.data.get("format")
        if value is not None and fmt in {DataFormat.ICEBERG, DataFormat.DELTA}:
            raise ValueError(
                f"partition_path_style does not apply to {fmt.value} tables, whose partitions live in their own "
                "metadata: remove it"
            )
        return value

    @property
    def path_style(self) -> PartitionPathStyle:
        """The partition folder layout (``partition_path_style`` or the format's default)."""
        if self.partition_path_style is not None:
            return self.partition_path_style
        return PartitionPathStyle.VALUES if self.format is DataFormat.HUDI else PartitionPathStyle.HIVE

    # ---- derived names and metadata ---------------------------------------------------------------

    @property
    def qualified_name(self) -> str:
        """``domain.name``: unique across the mesh."""
        return f"{self.domain}.{self.name}"

    @property
    def database_name(self) -> str:
        """Glue database of the product in the hub catalog: one database per domain."""
        return self.domain

    @property
    def table_name(self) -> str:
        """Glue table of the product, inside :attr:`database_name`."""
        return self.name

    @property
    def bucket_name(self) -> str:
        """S3 bucket of :attr:`location`."""
        return split_s3_uri(self.location)[0]

    @property
    def prefix(self) -> str:
        """Key prefix of :attr:`location` inside the bucket (ends with ``/``)."""
        return split_s3_uri(self.location)[1]

    @property
    def all_columns(self) -> tuple[Column, ...]:
        """Columns followed by partition keys."""
        return self.columns + self.partition_keys

    @property
    def has_pii(self) -> bool:
        """True when any column or partition key holds personal data."""
        return any(column.pii for column in self.all_columns)

    def glue_table_parameters(self) -> dict[str, str]:
        """Glue table ``Parameters``: the contract's metadata as strings (GoDaddy keeps it there too).

        ``classification`` is Glue's and Athena's *data format* key; the sensitivity is under
        ``meshworks.classification``. Open table formats get no ``classification`` (their table
        construct sets the format-specific parameters).
        """
        parameters = {
            "meshworks.product": self.qualified_name,
            "meshworks.domain": self.domain,
            "meshworks.owner": self.owner,
            "meshworks.contact_email": self.contact.email,
            "meshworks.slack_channel": self.contact.slack_channel,
            "meshworks.slo_cron": self.slo.cron,
            "meshworks.slo_timezone": self.slo.timezone,
            "meshworks.slo_grace_minutes": str(self.slo.grace_minutes),
            "meshworks.classification": self.classification.value,
            "meshworks.pii": "true" if self.has_pii else "false",
            "meshworks.format": self.format.value,
        }
        if self.producer_account is not None:
            parameters[PRODUCER_ACCOUNT_PARAMETER] = self.producer_account
        parameters[CONSUMERS_PARAMETER] = ",".join(sorted(self.consumers))
        if not self.format.is_table_format:
            parameters["classification"] = self.format.value
        return parameters

    def lf_tags(self) -> dict[str, str]:
        """Lake Formation tags of the table: ``domain``, ``classification``, ``pii`` and the contract's tags."""
        return {
            **self.tags,
            "domain": self.domain,
            "classification": self.classification.value,
            "pii": "true" if self.has_pii else "false",
        }


# --------------------------------------------------------------------------------------------------
# JSON Schema
# --------------------------------------------------------------------------------------------------


def json_schema() -> dict[str, Any]:
    """The JSON Schema (draft 2020-12) of a contract file, for editors and other tools."""
    schema = DataProductContract.model_json_schema(mode="validation")
    return {"$schema": "https://json-schema.org/draft/2020-12/schema", **schema}


def render_json_schema() -> str:
    """:func:`json_schema` as stable, indented JSON text (what ``data_product.schema.json`` holds)."""
    return json.dumps(json_schema(), indent=2, sort_keys=True, ensure_ascii=False) + "\n"
