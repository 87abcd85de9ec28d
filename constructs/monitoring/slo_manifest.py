"""The SLO manifest: what the sweeper checks, built from the data-product contracts at synth time.

One entry per product whose delivery period can be keyed (see :func:`partition_template`):
partitioned products by their partition path, unpartitioned ones (``"partition_template": ""``) by
time, against the product's ``latest`` delivery item. The format is the one
``slo_monitor.checker.parse_manifest`` reads::

    {"version": 1, "slos": [{"product_key": "sales.orders", "domain": "sales", "product": "orders",
      "owner": "sales-data", "slack_channel": "#sales-data-alerts", "cron": "0 6 * * *",
      "timezone": "UTC", "grace_minutes": 90, "location": "s3://acme-sales-curated/orders/",
      "partition_template": "order_date={date:%Y-%m-%d}"},
     {"product_key": "sales.customers", ..., "partition_template": ""}, ...]}

This module has no CDK import: the benchmark and tests build manifests without a Node.js process.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from meshworks.constructs.mesh.contract import Column, DataProductContract
from meshworks.lambdas.mesh_notifier.partition_values import (
    PartitionValueError,
    base_type,
    escape_path_value,
    normalise_value,
)

MANIFEST_VERSION = 1

#: Partition-key names (lowercase) that hold the period's local calendar day.
DAY_KEYS = frozenset({"dt", "ds", "date", "day", "partition_date", "event_date", "load_date"})
#: Partition-key names (lowercase) that hold the period's local hour (00-23).
HOUR_KEYS = frozenset({"hour", "hr", "hh"})


@dataclass(frozen=True)
class Manifest:
    """The manifest document and the products left out of it (with the reason)."""

    document: dict[str, Any]
    skipped: dict[str, str] = field(default_factory=dict)

    @property
    def entries(self) -> list[dict[str, Any]]:
        """The SLO entries, sorted by product key."""
        return list(self.document["slos"])

    @property
    def domains(self) -> list[str]:
        """Domains with at least one monitored product, sorted."""
        return sorted({entry["domain"] for entry in self.entries})

    @property
    def buckets(self) -> list[str]:
        """S3 buckets holding the monitored products' ``_SUCCESS`` markers, sorted."""
        return sorted({entry["location"].removeprefix("s3://").split("/", 1)[0] for entry in self.entries})


_STRING_TYPES = frozenset({"string", "varchar", "char"})
_INT_TYPES = frozenset({"tinyint", "smallint", "int", "bigint"})
#: Instants the key templates are checked on (every hour of two days, across a month and year end).
_SAMPLES = tuple(datetime(2026, 12, 31) + timedelta(hours=h) for h in range(48))


def _key_template(key: Column) -> str | None:
    """The period template of one key, chosen by its Glue type and name, or None."""
    name, params = base_type(key.type)
    lowered = key.name.lower()
    if name == "date" or (name in _STRING_TYPES and lowered in DAY_KEYS):
        template = "{date:%Y-%m-%d}"
    elif lowered in HOUR_KEYS and name in _STRING_TYPES:
        template = "{local:%H}"
    elif lowered in HOUR_KEYS and name in _INT_TYPES:
        template = "{local.hour}"  # 7, as Spark writes an INT partition (the notifier refuses 07)
    else:
        return None
    for moment in _SAMPLES:  # the period must be a value the notifier accepts, in its canonical form
        rendered = template.format(date=moment.date(), local=moment)
        try:
            canonical = normalise_value(key.name, key.type, rendered)
        except PartitionValueError:
            return None
        if escape_path_value(canonical) != rendered:
            return None
    return f"{key.name}={template}"


def partition_template(contract: DataProductContract) -> str | None:
    """The period key of a contract's deliveries (as the hub's notifier records it), ``""`` or None.

    The notifier keys a delivery by its Hive partition path (``k1=v1/k2=v2``) with every value in
    its canonical form for the key's Glue type
    (:mod:`meshworks.lambdas.mesh_notifier.partition_values`), whatever the table format or folder
    layout. Each key must be recognisable: a ``date`` key, or a string-typed day-named key (``dt``,
    ``ds``, ``date``, ``day``...), gives ``{date:%Y-%m-%d}``; an hour-named key (``hour``, ``hr``,
    ``hh``) gives ``{local:%H}`` (string, ``07``) or ``{local.hour}`` (integer, ``7``), all in the
    contract's time zone at the scheduled time. Every template is checked against the key's type on
    48 sample hours, so the manifest never expects a value the notifier would refuse. Unpartitioned
    products give ``""``: their deliveries (keyed by snapshot/event id) are matched by time, through
    the product's ``latest`` delivery item. Other keys give None: their deliveries cannot be matched
    to a period (pass an explicit template instead).
    """
    if not contract.partition_keys:
        return ""
    parts = [_key_template(key) for key in contract.partition_keys]
    if any(part is None for part in parts):
        return None
    return "/".join(part for part in parts if part is not None)


def check_template(contract: DataProductContract, template: str) -> None:
    """Raise ValueError unless ``template`` renders periods the notifier records for this contract.

    The rendered period must be ``k1=v1/k2=v2`` with the contract's partition keys in order and
    every value canonical for its key's type, on 48 sample hours; ``""`` (monitor by time) is fine.
    """
    if not template:
        return
    keys = [k.name for k in contract.partition_keys]
    types = {k.name: k.type for k in contract.partition_keys}
    for moment in _SAMPLES:
        rendered = template.format(
            date=moment.date(), prev_date=moment.date() - timedelta(days=1), local=moment, utc=moment
        )
        pairs = [segment.partition("=") for segment in rendered.split("/")]
        if [name for name, _, _ in pairs] != keys:
            raise ValueError(f"renders {rendered!r}, whose partition keys are not the product's {keys} (in that order)")
        for name, _, value in pairs:
            try:
                canonical = normalise_value(name, types[name], value)
            except PartitionValueError as error:
                raise ValueError(f"renders {rendered!r}: {error}") from None
            if escape_path_value(canonical) != value:
                raise ValueError(f"renders {rendered!r}: the notifier records {name}={escape_path_value(canonical)}")


def marker_template(contract: DataProductContract, template: str) -> str | None:
    """Folder template of a period's ``_SUCCESS`` marker when it is not the period key, else None.

    Tables whose partition folders are named by value (``partition_path_style: values``, Hudi's
    default) keep a period's data and marker in ``2026-11-25/`` while the delivery is keyed
    ``dt=2026-11-25``: the sweeper's marker fallback looks in the folder.
    """
    if not template or contract.format.value in {"iceberg", "delta"} or contract.path_style.value != "values":
        return None
    return "/".join(part.split("=", 1)[1] if "=" in part else part for part in template.split("/"))


def build_manifest(
    contracts: Iterable[DataProductContract], partition_templates: Mapping[str, str] | None = None
) -> Manifest:
    """Build the manifest from contracts; ``partition_templates`` (product key -> template) wins.

    An override of ``""`` monitors the product as unpartitioned (by its ``latest`` delivery).

    Raises:
        ValueError: two contracts share a product key, or an override names no contract.
    """
    overrides = dict(partition_templates or {})
    entries: dict[str, dict[str, Any]] = {}
    skipped: dict[str, str] = {}
    for contract in contracts:
        key = contract.qualified_name
        if key in entries or key in skipped:
            raise ValueError(f"two contracts define the data product {key!r}")
        template = overrides.pop(key, None)
        if template is None:
            template = partition_template(contract)
        else:
            try:
                check_template(contract, template)
            except (ValueError, KeyError, IndexError, AttributeError) as error:
                raise ValueError(
                    f"monitoring.partition_templates[{key!r}] = {template!r} {error}; the notifier keys a "
                    "delivery k=v/... with values as docs/mesh.md 'Accepted partition values' lists"
                ) from None
        if template is None:
            skipped[key] = (
                f"partition keys {[k.name for k in contract.partition_keys]} do not map to a period "
                f"(date keys and day/hour-named keys of matching types only); set "
                f"monitoring.partition_templates[{key!r}] to monitor it"
            )
            continue
        marker = marker_template(contract, template)
        entries[key] = {
            **({"marker_template": marker} if marker is not None else {}),
            "product_key": key,
            "domain": contract.domain,
            "product": contract.name,
            "owner": contract.owner,
            "slack_channel": contract.contact.slack_channel,
            "cron": contract.slo.cron,
            "timezone": contract.slo.timezone,
            "grace_minutes": contract.slo.grace_minutes,
            "location": contract.location,
            "partition_template": template,
        }
    if overrides:
        raise ValueError(
            f"partition_templates name unknown data products: {', '.join(sorted(overrides))} "
            "(use 'domain.name' of a loaded contract)"
        )
    document = {"version": MANIFEST_VERSION, "slos": [entries[k] for k in sorted(entries)]}
    return Manifest(document=document, skipped=dict(sorted(skipped.items())))
