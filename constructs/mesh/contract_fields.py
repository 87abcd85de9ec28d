"""Field checks and annotated field types of the data-product contract (names, e-mail, Slack, owner, account,
location, cron, time zone, tags), and the helpers that report several problems at once.

Part of :mod:`meshworks.constructs.mesh.contract` (which re-exports every public name).
"""

from __future__ import annotations

import difflib
import re
from functools import lru_cache
from typing import Annotated, Any
from zoneinfo import available_timezones

from pydantic import (
    AfterValidator,
    BeforeValidator,
    Field,
)
from pydantic_core import PydanticCustomError

from meshworks.constructs.mesh.glue_types import _check_glue_type
from meshworks.constructs.mesh.trust import check_s3_folder
from meshworks.lambdas.slo_monitor.cron import parse_cron, resolve_timezone

LOCATED_ERROR = "meshworks_located"
"""Error type of validators that report several problems, each at its own place (see ``_located``)."""


# --------------------------------------------------------------------------------------------------
# Helpers
# --------------------------------------------------------------------------------------------------


def _located(issues: list[tuple[tuple[str | int, ...], str]]) -> PydanticCustomError:
    """One validation error that carries several problems, each with a location relative to the field.

    pydantic reports a validator's error at the field itself; the loader unpacks ``ctx["issues"]`` so that
    every problem points at its own YAML line (for example the second column with a duplicate name).
    """
    summary = "; ".join(message for _, message in issues)
    return PydanticCustomError(LOCATED_ERROR, "{summary}", {"summary": summary, "issues": tuple(issues)})


_SNAKE_RE = re.compile(r"^[a-z][a-z0-9]*(?:_[a-z0-9]+)*$")


def _snake_case(min_length: int, max_length: int, what: str) -> Any:
    """Build a validator for a snake_case identifier of bounded length."""

    def check(value: str) -> str:
        if not _SNAKE_RE.match(value):
            hint = re.sub(r"[^a-z0-9]+", "_", value.lower()).strip("_")
            example = f" such as {hint!r}" if hint and _SNAKE_RE.match(hint) else ""
            raise ValueError(
                f"{what} {value!r} is not snake_case: use lowercase letters, digits and single underscores, "
                f"starting with a letter{example}"
            )
        if not min_length <= len(value) <= max_length:
            raise ValueError(f"{what} {value!r} must be {min_length}-{max_length} characters long")
        return value

    return check


_PLACEHOLDER_RE = re.compile(
    r"^\W*(?:todo|tbd|tba|fixme|xxx+|n/?a|none|null|description|desc|placeholder|lorem ipsum.*|test|"
    r"same as above|see above|-+|\?+|\.+)\W*$|\b(?:todo|tbd|fixme|lorem ipsum)\b",
    re.IGNORECASE,
)


def _description(min_length: int, what: str) -> Any:
    """Build a validator for a human description: long enough, not a placeholder."""

    def check(value: str) -> str:
        text = " ".join(value.split())
        marker = next((m for m in ("${Token[", "#{Token[") if m in value), None)
        if marker:  # the CDK would take it for an unresolved token and fail the synth with a traceback
            raise ValueError(f"{what} contains {marker!r}, which the CDK reads as one of its own tokens: reword it")
        if _PLACEHOLDER_RE.search(text):
            raise ValueError(f"{what} looks like a placeholder ({text[:40]!r}): say what the data means")
        if len(text) < min_length:
            raise ValueError(
                f"{what} is too short ({len(text)} characters; at least {min_length}): say what the data "
                "is, where it comes from and how to use it"
            )
        return value

    return check


# --------------------------------------------------------------------------------------------------
# Field types
# --------------------------------------------------------------------------------------------------

_COLUMN_RE = re.compile(r"^[a-z_][a-z0-9_]*$")
_EMAIL_RE = re.compile(
    r"^[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*"
    r"@(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,63}$"
)
_SLACK_RE = re.compile(r"^#[a-z0-9]+(?:-[a-z0-9]+)*$")
_OWNER_RE = re.compile(r"^[A-Za-z][A-Za-z0-9 _.-]*[A-Za-z0-9]$")
_ACCOUNT_RE = re.compile(r"^[0-9]{12}$")
_TAG_KEY_RE = re.compile(r"^[a-z][a-z0-9_-]*$")
_TAG_VALUE_RE = re.compile(r"^[A-Za-z0-9 _.:/=+@%-]+$")
RESERVED_TAG_KEYS: frozenset[str] = frozenset({"domain", "classification", "product", "pii"})
"""LF-tag keys the platform sets itself from the contract (see :meth:`DataProductContract.lf_tags`)."""
#: Lake Formation: LF-tag keys and values are at most 50 characters; a resource carries at most 50 LF-tags
#: (developer guide, "Lake Formation tag-based access control notes and restrictions").
MAX_LF_TAG_LENGTH = 50
MAX_LF_TAGS_PER_RESOURCE = 50
#: LF-tags every table carries besides the contract's tags and one per consumer: domain, classification, pii.
PLATFORM_LF_TAGS = 3


def _check_column_name(value: str) -> str:
    if not _COLUMN_RE.match(value):
        hint = re.sub(r"[^a-z0-9_]+", "_", value.lower()).strip("_")
        example = f" such as {hint!r}" if hint and _COLUMN_RE.match(hint) else ""
        raise ValueError(
            f"column name {value!r} is not valid in Glue/Athena: use lowercase letters, digits and underscores{example}"
        )
    if len(value) > 128:
        raise ValueError(f"column name {value[:20]!r}... is longer than 128 characters")
    return value


def _check_email(value: str) -> str:
    local = value.rpartition("@")[0]
    if len(value) > 254 or len(local) > 64 or not _EMAIL_RE.match(value):
        raise ValueError(f"{value!r} is not a valid email address (for example 'sales-data@example.com')")
    return value


def _check_slack(value: str) -> str:
    if not _SLACK_RE.match(value) or len(value) > 81:
        hint = "#" + re.sub(r"[^a-z0-9]+", "-", value.lower()).strip("-")
        example = f" such as {hint!r}" if len(hint) > 1 else ""
        raise ValueError(f"Slack channel {value!r} must be '#' followed by lowercase words joined by '-'{example}")
    return value


def _check_owner(value: str) -> str:
    if not 2 <= len(value) <= 64 or not _OWNER_RE.match(value):
        raise ValueError(
            f"owner {value!r} must be a team name of 2-64 characters: letters, digits, spaces, '.', '_', '-'"
        )
    return value


def _check_account(value: str) -> str:
    if not _ACCOUNT_RE.match(value):
        raise ValueError(f"{value!r} is not a 12-digit AWS account id")
    return value


def _check_account_type(value: Any) -> Any:
    if isinstance(value, int) and not isinstance(value, bool):
        source = getattr(value, "source", None)  # the loader's YamlInt: the digits as written
        if source is not None and re.fullmatch(r"[0-9_]+", source) and source != str(int(value)):
            # YAML 1.1 read a leading-zero number as octal: the value is another number, never suggest it.
            raise ValueError(
                f"account id {source} must be quoted ('{source}'): YAML reads an unquoted number with a leading 0 "
                f"as octal ({int(value)}), a different account"
            )
        if len(str(int(value))) == 12:
            raise ValueError(
                f"account id {int(value)} must be quoted ('{int(value)}'): YAML reads unquoted numbers as integers"
            )
        raise ValueError(
            f"account id {int(value)} must be quoted, with all 12 digits as written (e.g. '012345678901'): "
            "YAML reads unquoted numbers as integers, dropping leading zeros"
        )
    return value


def split_s3_uri(uri: str) -> tuple[str, str]:
    """Split ``s3://bucket/prefix/`` into ``("bucket", "prefix/")`` (no validation)."""
    bucket, _, prefix = uri.removeprefix("s3://").partition("/")
    return bucket, prefix


def _check_location(value: str) -> str:
    return check_s3_folder(value, what="location")


def _check_cron(value: str) -> str:
    parse_cron(value)  # raises ValueError with a readable message
    return " ".join(value.split())


@lru_cache(maxsize=1)
def _timezones() -> frozenset[str]:
    return frozenset(available_timezones())


#: Abbreviations people write instead of an IANA zone: they name an offset, not a place with its DST rules.
_TZ_ABBREVIATION_RE = re.compile(r"^[A-Z]{2,5}([+-]\d{1,2})?$")


def _timezone_hint(value: str, known: frozenset[str]) -> str:
    """A suggestion only when it is right: a different letter case, or one clearly closest real zone."""
    by_lower = {name.lower(): name for name in known}
    if value.lower() in by_lower:
        return f" (did you mean {by_lower[value.lower()]!r}?)"
    if _TZ_ABBREVIATION_RE.match(value):
        return (
            f": {value!r} looks like an abbreviation, which names an offset, not a zone with its daylight-saving "
            "rules; use the IANA name of the place, e.g. 'Europe/Berlin' for CET/CEST or 'America/New_York' for EST/EDT"
        )
    # Typos only: a high cutoff and a single candidate ("Europe/Berlinn"), never a different city.
    close = difflib.get_close_matches(value, list(known), n=2, cutoff=0.85)
    if len(close) == 1:
        return f" (did you mean {close[0]!r}?)"
    return " (IANA names are Area/City of one main city per zone, e.g. 'Europe/Berlin', 'America/Phoenix' or 'UTC')"


def _check_timezone(value: str) -> str:
    known = _timezones()
    if known and value not in known:
        raise ValueError(f"unknown IANA time zone {value!r}{_timezone_hint(value, known)}")
    resolve_timezone(value)
    return value


def _check_tags(value: dict[str, str]) -> dict[str, str]:
    issues: list[tuple[tuple[str | int, ...], str]] = []
    if len(value) > 40:
        issues.append(((), f"at most 40 tags are allowed (Lake Formation limit with platform tags), got {len(value)}"))
    for key, tag in value.items():
        if not _TAG_KEY_RE.match(key) or len(key) > MAX_LF_TAG_LENGTH:
            issues.append(
                ((key,), f"tag key {key!r} must be 1-50 lowercase letters, digits, '_' or '-', starting with a letter")
            )
        elif key in RESERVED_TAG_KEYS:
            issues.append(((key,), f"tag key {key!r} is set by the platform from the contract; remove it"))
        if not tag or len(tag) > MAX_LF_TAG_LENGTH or not _TAG_VALUE_RE.match(tag):
            issues.append(((key,), f"tag value {tag[:40]!r} must be 1-50 letters, digits, spaces or _.:/=+@%-"))
    if issues:
        raise _located(issues)
    return value


SnakeName = Annotated[
    str,
    AfterValidator(_snake_case(3, 64, "name")),
    Field(
        description="Data product (and Glue table) name: snake_case, 3-64 characters.",
        json_schema_extra={"pattern": _SNAKE_RE.pattern, "minLength": 3, "maxLength": 64},
        examples=["orders"],
    ),
]
DomainName = Annotated[
    str,
    AfterValidator(_snake_case(2, 50, "domain")),  # also the value of the LF-tag `domain`: at most 50
    Field(
        description="Owning business domain (and Glue database name): snake_case, 2-50 characters.",
        json_schema_extra={"pattern": _SNAKE_RE.pattern, "minLength": 2, "maxLength": 50},
        examples=["sales"],
    ),
]
ColumnName = Annotated[
    str,
    AfterValidator(_check_column_name),
    Field(
        description="Column name as Glue/Athena stores it: lowercase letters, digits and underscores.",
        json_schema_extra={"pattern": _COLUMN_RE.pattern, "maxLength": 128},
    ),
]
GlueTypeText = Annotated[
    str,
    AfterValidator(_check_glue_type),
    Field(
        description=(
            "Glue/Hive type: string, int, bigint, smallint, tinyint, double, float, boolean, date, timestamp, "
            "binary, decimal(p,s), varchar(n), char(n), array<t>, map<k,v>, struct<a:t,...>."
        ),
        examples=["bigint", "decimal(12,2)", "array<struct<sku:string,quantity:int>>"],
    ),
]
AccountId = Annotated[
    str,
    BeforeValidator(_check_account_type),
    AfterValidator(_check_account),
    Field(description="12-digit AWS account id (quoted in YAML).", json_schema_extra={"pattern": "^[0-9]{12}$"}),
]
