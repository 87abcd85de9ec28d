"""Partition values per Glue type: the one definition the notifier and the SLO manifest share.

Standard library only: the hub's notifier imports it at run time (``mesh_notifier.partition_values``)
and the constructs import it at synth time (``meshworks.lambdas.mesh_notifier.partition_values``) to
check contracts and SLO period templates against the same rules.

A partition value has three forms:

* the text a producer announces (``detail.partition`` of a ``DataProductRefreshed`` event);
* its **canonical value** (:func:`normalise_value`): what Glue stores in ``Partition.Values`` and what
  Athena compares, e.g. ``2026-11-25 05:30:00`` for a ``timestamp``;
* its **path segment** (:func:`path_segment`): ``key=value`` with the characters Hive and Spark
  escape in partition directory names percent-encoded (``ts=2026-11-25 05%3A30%3A00``), so the
  derived location is where Spark/Hive write that partition.

Accepted forms per type (the table in ``docs/mesh.md``, "Accepted partition values", says the same):

==========================  ==========================================  ====================================
Glue type                   accepted                                    canonical value
==========================  ==========================================  ====================================
``date``                    ``YYYY-MM-DD``, a real calendar day         unchanged
``timestamp``               ``YYYY-MM-DD HH:MM:SS[.f]``, or ISO-8601    ``YYYY-MM-DD HH:MM:SS[.ffffff]``;
                            with ``T`` and ``Z``/``±HH:MM`` offset      offsets converted to UTC
``tinyint`` ... ``bigint``  decimal integer in the type's range,        unchanged
                            no ``+``, no leading zeros
``decimal(p,s)``            ``-?digits[.digits]`` within p and s,       unchanged
                            no leading zeros
``boolean``                 ``true``/``false``, any case                lower case
``string``, ``varchar(n)``  1-1024 characters (at most n), printable,   unchanged
``char(n)``                 no ``/`` or ``\\``, not ``.`` or ``..``
==========================  ==========================================  ====================================

Keys are Glue column names, which Glue stores in lower case: a key is matched case-insensitively
and rendered in lower case. ``float``, ``double``, ``binary`` and nested types cannot be partition
keys (:data:`PARTITION_KEY_TYPES`).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from datetime import date, datetime, timezone

__all__ = [
    "PARTITION_KEY_TYPES",
    "PartitionValueError",
    "base_type",
    "check_key_type",
    "escape_path_value",
    "normalise_key",
    "normalise_partition",
    "normalise_value",
    "partition_path",
    "path_segment",
    "safe_relative_path",
]

#: Glue types a partition key may have (the base name, parameters stripped).
PARTITION_KEY_TYPES = frozenset(
    {"date", "timestamp", "tinyint", "smallint", "int", "bigint", "decimal", "boolean", "string", "varchar", "char"}
)
#: Iceberg / Delta type names Glue may show for the same types.
_ALIASES = {"integer": "int", "long": "bigint", "short": "smallint", "byte": "tinyint", "bool": "boolean"}
_INT_RANGES = {
    "tinyint": (-(2**7), 2**7 - 1),
    "smallint": (-(2**15), 2**15 - 1),
    "int": (-(2**31), 2**31 - 1),
    "bigint": (-(2**63), 2**63 - 1),
}
_KEY_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,127}$")
_TYPE_RE = re.compile(r"^\s*([A-Za-z]+)\s*(?:\(\s*(\d+)\s*(?:,\s*(\d+)\s*)?\))?\s*$")
_DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_TIMESTAMP_RE = re.compile(
    r"^(\d{4}-\d{2}-\d{2})[ T](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?(Z|[+-]\d{2}:?\d{2})?$"
)
_INT_RE = re.compile(r"^-?(?:0|[1-9]\d*)$")
_DECIMAL_RE = re.compile(r"^-?(0|[1-9]\d*)(?:\.(\d+))?$")
_MAX_STRING = 1024
#: Characters Hive (``FileUtils.escapePathName``) and Spark (``ExternalCatalogUtils``) escape in
#: partition directory names, plus ``%`` itself.
_ESCAPED = frozenset("\"#%'*/:=?\\\x7f{[]^") | frozenset(chr(c) for c in range(0x20))
_DOT_SEGMENTS = frozenset({".", ".."})


class PartitionValueError(ValueError):
    """A partition key or value is not acceptable; the message names the key, the value and the fix."""


def base_type(glue_type: str) -> tuple[str, tuple[int, ...]]:
    """``"varchar(32)"`` -> ``("varchar", (32,))``; Iceberg/Delta names map to Glue's (``long`` -> ``bigint``)."""
    match = _TYPE_RE.match(glue_type or "")
    if not match:
        return (glue_type or "").strip().lower(), ()
    name = _ALIASES.get(match.group(1).lower(), match.group(1).lower())
    params = tuple(int(p) for p in match.groups()[1:] if p is not None)
    return name, params


def check_key_type(key: str, glue_type: str) -> None:
    """Raise :class:`PartitionValueError` unless ``glue_type`` can be a partition key type."""
    name, _ = base_type(glue_type)
    if name not in PARTITION_KEY_TYPES:
        raise PartitionValueError(
            f"partition key {key!r} has type {glue_type!r}, which cannot be a partition key: use one of "
            f"{', '.join(sorted(PARTITION_KEY_TYPES))}"
        )


def normalise_key(key: object) -> str:
    """The Glue form of a partition key: lower case. Raises for anything that is not a column name."""
    if not isinstance(key, str) or not _KEY_RE.match(key):
        raise PartitionValueError(
            f"partition key {key!r} is not a column name: use letters, digits and '_' (Glue stores it in lower case)"
        )
    return key.lower()


def _fail(key: str, glue_type: str, value: str, accepted: str) -> PartitionValueError:
    return PartitionValueError(
        f"partition value {key}={value!r} is not a valid {glue_type.upper()}: accepted form is {accepted}"
    )


def _date(key: str, value: str) -> str:
    accepted = "YYYY-MM-DD, a real calendar day (e.g. 2026-11-25)"
    if not _DATE_RE.match(value):
        raise _fail(key, "date", value, accepted)
    try:
        date.fromisoformat(value)
    except ValueError:
        raise _fail(key, "date", value, accepted) from None
    return value


def _timestamp(key: str, value: str) -> str:
    accepted = "'YYYY-MM-DD HH:MM:SS[.fff]' or ISO-8601 such as 2026-11-25T06:00:00Z (offsets become UTC)"
    match = _TIMESTAMP_RE.match(value)
    if not match:
        raise _fail(key, "timestamp", value, accepted)
    day, hour, minute, second, fraction, offset = match.groups()
    fraction = (fraction or "")[:6].rstrip("0")
    try:
        moment = datetime.fromisoformat(
            f"{day}T{hour}:{minute}:{second or '00'}" + (f".{fraction.ljust(6, '0')}" if fraction else "")
        )
        if offset:
            offset = "+00:00" if offset == "Z" else offset if ":" in offset else f"{offset[:3]}:{offset[3:]}"
            moment = datetime.fromisoformat(f"{moment.isoformat()}{offset}").astimezone(timezone.utc)
            moment = moment.replace(tzinfo=None)
    except ValueError:
        raise _fail(key, "timestamp", value, accepted) from None
    text = moment.strftime("%Y-%m-%d %H:%M:%S")
    return f"{text}.{fraction}" if fraction else text


def _integer(key: str, name: str, value: str) -> str:
    low, high = _INT_RANGES[name]
    if not _INT_RE.match(value):
        hint = ""
        if re.fullmatch(r"[+-]?\d+", value):
            hint = f" ({int(value)}, as Spark and Hive write it)"
        raise _fail(key, name, value, f"a decimal integer without '+' or leading zeros{hint}")
    if not low <= int(value) <= high:
        raise _fail(key, name, value, f"an integer in the {name.upper()} range {low}..{high}")
    return value


def _decimal(key: str, params: tuple[int, ...], value: str) -> str:
    precision, scale = (params + (10, 0))[:2] if len(params) < 2 else params[:2]
    match = _DECIMAL_RE.match(value)
    accepted = f"digits with at most {scale} decimals and {precision} digits in all, no leading zeros"
    if not match:
        raise _fail(key, f"decimal({precision},{scale})", value, accepted)
    whole, frac = match.group(1), match.group(2) or ""
    if len(frac) > scale or len(whole.lstrip("0")) + scale > precision:
        raise _fail(key, f"decimal({precision},{scale})", value, accepted)
    return value


def _string(key: str, glue_type: str, limit: int, value: str) -> str:
    if not value or len(value) > limit or len(value.encode("utf-8")) > _MAX_STRING:
        raise _fail(key, glue_type, value, f"1-{limit} characters, at most {_MAX_STRING} bytes in UTF-8 (Glue's limit)")
    if value in _DOT_SEGMENTS or "/" in value or "\\" in value or not value.isprintable():
        raise _fail(key, glue_type, value, "printable characters without '/' or '\\', not '.' or '..'")
    return value


def normalise_value(key: str, glue_type: str, value: object) -> str:
    """The canonical value of ``value`` for a key of ``glue_type`` (see the module table).

    Raises:
        PartitionValueError: the value does not parse, or the type cannot be a partition key.
    """
    check_key_type(key, glue_type)
    if not isinstance(value, str):
        raise PartitionValueError(f"partition value {key}={value!r} must be a string (JSON text)")
    name, params = base_type(glue_type)
    if name == "date":
        return _date(key, value)
    if name == "timestamp":
        return _timestamp(key, value)
    if name in _INT_RANGES:
        return _integer(key, name, value)
    if name == "decimal":
        return _decimal(key, params, value)
    if name == "boolean":
        if value.lower() not in {"true", "false"}:
            raise _fail(key, "boolean", value, "true or false")
        return value.lower()
    limit = min(params[0], _MAX_STRING) if params else _MAX_STRING
    return _string(key, glue_type, limit, value)


def normalise_partition(partition: Mapping[object, object], key_types: Sequence[tuple[str, str]]) -> dict[str, str]:
    """Match an announced partition to the table's ``(key, glue_type)`` list and normalise every value.

    Returns ``{key: canonical value}`` in the table's key order.

    Raises:
        PartitionValueError: keys that differ from the table's (case-insensitively), or a bad value.
    """
    announced: dict[str, object] = {}
    for key, value in partition.items():
        name = normalise_key(key)
        if name in announced:
            raise PartitionValueError(f"partition key {key!r} is given twice (keys are case-insensitive)")
        announced[name] = value
    expected = [key for key, _ in key_types]
    if set(announced) != set(expected):
        raise PartitionValueError(f"partition keys {sorted(announced)} do not match the partition keys {expected}")
    return {key: normalise_value(key, glue_type, announced[key]) for key, glue_type in key_types}


def escape_path_value(value: str) -> str:
    """Percent-encode the characters Hive and Spark escape in a partition directory name."""
    return "".join(f"%{ord(c):02X}" if c in _ESCAPED else c for c in value)


def path_segment(key: str, value: str) -> str:
    """``key=value`` as a Hive-style directory name (the value escaped as Hive/Spark do)."""
    return f"{key}={escape_path_value(value)}"


def partition_path(partition: Mapping[str, str], *, style: str = "hive") -> str:
    """The relative folder of a normalised partition: ``k1=v1/k2=v2`` (``hive``) or ``v1/v2`` (``values``)."""
    if style == "values":
        return "/".join(escape_path_value(value) for value in partition.values())
    if style != "hive":
        raise PartitionValueError(f"unknown partition path style {style!r}: use 'hive' or 'values'")
    return "/".join(path_segment(key, value) for key, value in partition.items())


def safe_relative_path(path: str) -> bool:
    """True when ``path`` (relative, ``/``-separated) has no empty, ``.`` or ``..`` segment, even encoded."""
    if path == "":
        return True
    for segment in path.split("/"):
        decoded = re.sub(r"%2[eE]", ".", segment)
        if segment == "" or decoded in _DOT_SEGMENTS or not segment.isprintable() or "\\" in segment:
            return False
    return True
