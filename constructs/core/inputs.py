"""Input checks shared by constructs: plain Python, run before any CDK (jsii) call.

Each check raises ``ValueError`` with one message naming the construct, the argument, the value and the fix,
so a wrong input never surfaces as a JavaScript traceback from inside the CDK or as a failed deployment.
"""

from __future__ import annotations

import re
import weakref
from collections.abc import Iterable, Mapping
from enum import Enum
from typing import Any

from aws_cdk import Duration, Token
from pydantic import BaseModel, ValidationError

_UNIT_MILLIS = {"seconds": 1_000, "minutes": 60_000, "hours": 3_600_000, "days": 86_400_000}
_ACCOUNT = re.compile(r"^\d{12}$")
# S3 general purpose bucket names (https://docs.aws.amazon.com/AmazonS3/latest/userguide/bucketnamingrules.html).
_BUCKET = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")
# A key ARN, not an alias ARN: IAM statements on kms:Decrypt match keys, never aliases.
_KMS_KEY_ARN = re.compile(r"^arn:aws[a-z-]*:kms:[a-z0-9-]+:\d{12}:key/[A-Za-z0-9-]+$")
_ROLE_ARN = re.compile(r"^arn:aws[a-z-]*:iam::\d{12}:role/[\w+=,.@/-]+$")
# Duration -> milliseconds. A Duration is immutable, and the defaults of keyword arguments are one object shared
# by every call: each is asked through jsii once, not once per construct.
_MILLIS: weakref.WeakKeyDictionary[Duration, float] = weakref.WeakKeyDictionary()


def whole_duration(
    owner: str, field: str, value: object, unit: str, *, minimum: int | None = None, maximum: int | None = None
) -> int:
    """A ``Duration`` that is a whole number of ``unit`` (``"seconds"``, ``"minutes"``, ``"hours"``, ``"days"``)
    within ``[minimum, maximum]``; returns that number. ``Duration.seconds(90)`` where minutes are expected fails
    here, with the argument named, instead of inside the CDK."""
    example = f"Duration.{unit}({minimum or 1})"
    if not isinstance(value, Duration):
        raise ValueError(f"{owner}: {field} must be an aws_cdk.Duration, e.g. {example}; got {value!r}")
    millis = _MILLIS.get(value)
    if millis is None:
        if value.is_unresolved():  # the CDK itself cannot convert it ("MustBeDurationSpecifiedDuration" traceback)
            raise ValueError(
                f"{owner}: {field} comes from a token (a parameter or another resource's value), so its number of "
                f"{unit} is not known at synth: give a literal duration, e.g. {example}"
            )
        millis = _MILLIS[value] = value.to_milliseconds()
    count, rest = divmod(int(millis), _UNIT_MILLIS[unit])
    if rest or millis != int(millis):
        nearest = max(1, round(millis / _UNIT_MILLIS[unit]))
        raise ValueError(
            f"{owner}: {field} = {value.to_human_string()} is not a whole number of {unit}: "
            f"use e.g. Duration.{unit}({nearest})"
        )
    if (minimum is not None and count < minimum) or (maximum is not None and count > maximum):
        allowed = f"{minimum if minimum is not None else 0} to {maximum}" if maximum is not None else f"at least {minimum}"
        raise ValueError(f"{owner}: {field} = {value.to_human_string()} is out of range: use {allowed} {unit}")
    return count


def string_list(owner: str, field: str, values: object, *, example: str = "...") -> list[str]:
    """A list of strings. A bare ``str`` (or ``bytes``) is refused: Python would iterate it character by character,
    so ``muted_jobs="sandbox-*"`` would become ``["s", ..., "*"]``. Each item must be a ``str`` (an unresolved token
    or a ``str`` enum member is one). ``example`` is one plausible item, shown in the fix."""
    if isinstance(values, (str, bytes)):
        text = values.decode(errors="replace") if isinstance(values, bytes) else values
        raise ValueError(f"{owner}: {field} must be a list of strings, not one string {values!r}: pass a list, e.g. [{text!r}]")
    if isinstance(values, Mapping) or not isinstance(values, Iterable):
        raise ValueError(f"{owner}: {field} must be a list of strings, e.g. [{example!r}]; got {values!r}")
    result = []
    for value in values:
        if not isinstance(value, str):
            raise ValueError(f"{owner}: {field} entry {value!r} is not a string: pass e.g. [{example!r}]")
        result.append(value)
    return result


def _not_one_string(owner: str, field: str, values: object) -> Iterable[object]:
    if isinstance(values, (str, bytes, Mapping)) or not isinstance(values, Iterable):
        string_list(owner, field, values)
    return values  # type: ignore[return-value]


def string_list_mapping(owner: str, field: str, values: object, *, example: str = "...") -> dict[str, list[str]]:
    """A mapping of string keys to lists of strings; each list is checked by :func:`string_list`."""
    if not isinstance(values, Mapping):
        raise ValueError(f"{owner}: {field} must be a mapping of names to lists, e.g. {{'sales': [{example!r}]}}; got {values!r}")
    result = {}
    for key, items in values.items():
        if not isinstance(key, str):
            raise ValueError(f"{owner}: {field} key {key!r} is not a string")
        result[key] = string_list(owner, f"{field}[{key!r}]", items, example=example)
    return result


def account_ids(owner: str, field: str, values: Iterable[str]) -> list[str]:
    """12-digit AWS account ids, as strings (``"012345678901"``; an int loses leading zeros). A bare string is
    refused like in :func:`string_list` (pass a list)."""
    result = []
    for value in _not_one_string(owner, field, values):
        # the pattern first: a 12-digit string is never a token, and Token.is_unresolved is a jsii round trip
        if isinstance(value, str) and (_ACCOUNT.match(value) or Token.is_unresolved(value)):
            result.append(value)
            continue
        hint = " as a quoted string with all 12 digits" if isinstance(value, int) else ""
        raise ValueError(f"{owner}: {field} entry {value!r} is not a 12-digit AWS account id: pass it{hint}, e.g. '111122223333'")
    return result


def _is_bucket_name(text: str) -> bool:
    return bool(_BUCKET.match(text)) and ".." not in text


def bucket_names(owner: str, field: str, values: Iterable[str]) -> list[str]:
    """S3 bucket names (not ``s3://`` URIs or ARNs)."""
    values = _not_one_string(owner, field, values)
    result = []
    for value in values:
        if isinstance(value, str) and (_is_bucket_name(value) or Token.is_unresolved(value)):
            result.append(value)
            continue
        text = str(value)
        if not isinstance(value, str) or not _is_bucket_name(text):
            name = re.sub(r"^(s3://|arn:aws[a-z-]*:s3:::)", "", text).split("/", 1)[0]
            fix = f"pass the bucket name only, e.g. {name!r}" if name != text and _BUCKET.match(name) else (
                "use 3-63 lower-case letters, digits, '.' and '-', e.g. 'acme-sales-curated'"
            )
            raise ValueError(f"{owner}: {field} entry {value!r} is not an S3 bucket name: {fix}")
        result.append(text)
    return result


def kms_key_arns(owner: str, field: str, values: Iterable[str]) -> list[str]:
    """KMS key ARNs (``arn:...:key/<id>``; alias ARNs do not match keys in IAM policies)."""
    values = _not_one_string(owner, field, values)
    result = []
    for value in values:
        if not (isinstance(value, str) and (_KMS_KEY_ARN.match(value) or Token.is_unresolved(value))):
            raise ValueError(
                f"{owner}: {field} entry {value!r} is not a KMS key ARN: use e.g. "
                "'arn:aws:kms:eu-west-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab'"
            )
        result.append(value)
    return result


def role_arns(owner: str, field: str, values: Iterable[str]) -> list[str]:
    """IAM role ARNs."""
    values = _not_one_string(owner, field, values)
    result = []
    for value in values:
        if not (isinstance(value, str) and (_ROLE_ARN.match(value) or Token.is_unresolved(value))):
            raise ValueError(
                f"{owner}: {field} entry {value!r} is not an IAM role ARN: use e.g. "
                "'arn:aws:iam::111122223333:role/data-platform-admin'"
            )
        result.append(value)
    return result


class Choice(str, Enum):
    """Base of the string enums users pass by value (``JobService("glue")``, ``sharing_mode="lf_tags"``).

    Looking up a value that is not a member raises a ``ValueError`` that lists the valid values, instead of
    Python's bare ``'emr' is not a valid JobService``.
    """

    @classmethod
    def _missing_(cls, value: object) -> Choice:
        valid = ", ".join(repr(member.value) for member in cls)
        raise ValueError(f"{value!r} is not a valid {cls.__name__}: use one of {valid}")


class ModelError(ValueError):
    """A typed-settings model refused its input: one line naming the model, each field, its value and the fix.

    ``errors()`` and ``error_count()`` give pydantic's details (``validation_error`` is the original).
    """

    def __init__(self, message: str, validation_error: ValidationError) -> None:
        super().__init__(message)
        self.validation_error = validation_error

    def errors(self) -> list[Any]:
        return self.validation_error.errors(include_url=False)

    def error_count(self) -> int:
        return self.validation_error.error_count()


def describe_validation_error(error: ValidationError, owner: str) -> str:
    """``owner: field = value: problem; ...`` on one line, without pydantic's documentation URLs."""
    problems = []
    for item in error.errors(include_url=False):
        field = ".".join(str(part) for part in item["loc"]) or "(model)"
        message = str(item["msg"]).removeprefix("Value error, ").removeprefix("Assertion failed, ")
        value = "" if item["type"] == "missing" or isinstance(item.get("input"), Mapping) else f" = {item.get('input')!r}"
        problems.append(f"{field}{value}: {message}")
    return f"{owner}: " + "; ".join(problems)


class UserModel(BaseModel):
    """Base of the models people construct in Python (``SparkJob(...)``, ``EmrClusterSettings(...)``): a bad
    value raises :class:`ModelError` (a ``ValueError``) with one line in our words, not pydantic's multi-line
    report with links. ``model_validate`` (configuration files) is unchanged: its callers format errors with
    the file and key."""

    def __init__(self, /, **data: Any) -> None:
        try:
            super().__init__(**data)
        except ValidationError as error:
            raise ModelError(describe_validation_error(error, type(self).__name__), error) from None

    # Marked as pydantic's own __init__: nested models and model_validate (configuration files) then validate
    # inside pydantic-core as before, keeping each error's location for the caller's message.
    __init__.__pydantic_base_init__ = True  # type: ignore[attr-defined]


def object_list(owner: str, field: str, values: object, *, kind: str) -> list[Any]:
    """A list of collaborators (buckets, keys, functions, subnets, lifecycle rules). One object where a list is
    expected (``code_buckets=bucket``) is refused with the fix, instead of a ``TypeError`` from iterating it."""
    if isinstance(values, (str, bytes, Mapping)) or not isinstance(values, Iterable):
        raise ValueError(f"{owner}: {field} must be a list of {kind}, not one value {values!r}: pass [{kind.rstrip('s')}, ...]")
    return list(values)


def collaborator(owner: str, field: str, value: object, *, has: str, kind: str, example: str) -> Any:
    """``value`` when it is the construct a parameter needs (duck-typed on its ``has`` attribute, as jsii interfaces
    such as ``s3.IBucket`` cannot be checked with ``isinstance``). ``None``, a name string or another object is one
    ``ValueError`` naming ``field``, the value and what to pass (``example``), instead of an ``AttributeError`` or
    a jsii deserialization error later."""
    if value is None or isinstance(value, (str, bytes, int, float, Mapping)) or not hasattr(value, has):
        raise ValueError(f"{owner}: {field}={value!r} is not {kind}: pass {example}")
    return value


def retention_days(owner: str, field: str, value: object) -> Any:
    """``value`` when it is a ``logs.RetentionDays``; a number of days or a string is one ``ValueError`` naming
    ``field`` with the member to use (CloudWatch Logs takes only the listed periods), instead of a ``TypeError``
    about another argument's name later."""
    from aws_cdk import aws_logs as logs

    if not isinstance(value, logs.RetentionDays):
        raise ValueError(f"{owner}: {field}={value!r} is not a logs.RetentionDays (its members are the periods "
                         "CloudWatch Logs accepts): pass e.g. logs.RetentionDays.ONE_YEAR")
    return value
