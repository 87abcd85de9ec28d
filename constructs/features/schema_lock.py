"""Schema evolution for Keyspaces tables: compare a schema with the one the project recorded (a lock file).

CloudFormation can only **add** regular columns to an ``AWS::Cassandra::Table``: altering or dropping a
column fails the stack update ("Altering column is not supported", cloudformation-coverage-roadmap#662), and
``KeyspaceName``, ``TableName``, ``PartitionKeyColumns``, ``ClusteringKeyColumns`` and
``ClientSideTimestampsEnabled`` are create-only (a change replaces the table: a new, empty table; the old one
is retained and orphaned). ``AWS::Cassandra::Type``'s ``Fields`` are create-only too, and a type in use cannot
be dropped. So such changes are refused at synth, before CloudFormation sees them.

The lock file (JSON, committed next to the schema, e.g. ``schemas/customer_features.lock.json``) holds the
last accepted schema::

    {"format": 1, "schema": {"keyspace": "features", "table": "customer_features", "columns": [...], ...}}

At synth, :class:`KeyspacesTable` compares its schema with the lock: refused changes raise one ValueError
listing each change, why, and how to proceed; accepted changes (new columns, new types, TTL, CDC) rewrite the
lock so the next change is compared with this one; a missing lock is written. Commit the lock with the schema.

In CI set the context flag ``@meshworks/schemaLock=verify`` (``cdk synth -c @meshworks/schemaLock=verify``): the
lock is then never written, and a missing or stale lock fails the synth. Otherwise an addition deployed from CI
without its lock committed would be unknown to the next change, and dropping that column again would pass here and
fail in CloudFormation.
"""

from __future__ import annotations

import json
from pathlib import Path

from .keyspaces_schema import KeyspacesTableSchema

LOCK_FORMAT = 1
#: Context flag: ``verify`` (CI: never write the lock, fail when it is missing or stale) or ``update`` (default).
SCHEMA_LOCK_MODE = "@meshworks/schemaLock"

_REPLACED = (
    "CloudFormation replaces the table when {what} changes (create-only property): a new empty table would be "
    "created and the old one orphaned"
)
_HOW = (
    "To proceed: create a new table (new table name) with the new layout and migrate the data, or revert the "
    "change; if the table was never deployed, delete the lock file {lock} and synthesize again."
)


def evolution_problems(previous: KeyspacesTableSchema, current: KeyspacesTableSchema) -> list[str]:
    """Each change from ``previous`` to ``current`` that CloudFormation cannot apply in place, with the reason.

    Empty when the change is accepted: columns and types added; TTL, CDC changed; unused types removed.
    """
    problems: list[str] = []
    if (previous.keyspace, previous.table) != (current.keyspace, current.table):
        problems.append(f"table renamed {previous.keyspace}.{previous.table} -> {current.keyspace}.{current.table}: "
                        + _REPLACED.format(what="KeyspaceName/TableName"))
    old_columns = {c.name: c for c in previous.columns}
    new_columns = {c.name: c for c in current.columns}

    def key(schema: KeyspacesTableSchema, names: list[str]) -> list[str]:
        return [f"{n} {schema.column(n).type}" for n in names]

    if key(previous, previous.partition_key) != key(current, current.partition_key):
        problems.append(f"partition key ({', '.join(key(previous, previous.partition_key))}) -> "
                        f"({', '.join(key(current, current.partition_key))}): "
                        + _REPLACED.format(what="PartitionKeyColumns"))
    old_clustering = [f"{c} {o.value}" for c, o in zip(key(previous, [c.name for c in previous.clustering]),
                                                        [c.order for c in previous.clustering], strict=True)]
    new_clustering = [f"{c} {o.value}" for c, o in zip(key(current, [c.name for c in current.clustering]),
                                                       [c.order for c in current.clustering], strict=True)]
    if old_clustering != new_clustering:
        problems.append(f"clustering columns ({', '.join(old_clustering)}) -> ({', '.join(new_clustering)}): "
                        + _REPLACED.format(what="ClusteringKeyColumns (names, types or order)"))
    for name, column in old_columns.items():
        if name not in new_columns:
            problems.append(f"column {name} dropped: CloudFormation cannot drop a column (\"Altering column is not "
                            "supported\"); keep it in the schema and stop writing it")
        elif new_columns[name].type != column.type:
            problems.append(f"column {name} type {column.type} -> {new_columns[name].type}: CloudFormation cannot "
                            "alter a column (\"Altering column is not supported\"); add a new column (e.g. "
                            f"{name}_v2 {new_columns[name].type}) and backfill it")
        elif new_columns[name].static != column.static:
            problems.append(f"column {name} static {column.static} -> {new_columns[name].static}: a column cannot "
                            "change between static and regular; add a new column instead")
    if previous.client_side_timestamps != current.client_side_timestamps:
        problems.append(f"client_side_timestamps {previous.client_side_timestamps} -> "
                        f"{current.client_side_timestamps}: " + _REPLACED.format(what="ClientSideTimestampsEnabled")
                        + " (once on, Keyspaces cannot turn them off)")
    new_types = {t.name: t for t in current.types}
    for udt in previous.types:
        if udt.name in new_types and new_types[udt.name] != udt:
            problems.append(f"type {udt.name} fields changed: AWS::Cassandra::Type fields are create-only and a "
                            f"type in use cannot be dropped; declare a new type (e.g. {udt.name}_v2) for new columns")
    return problems


class SchemaEvolutionError(ValueError):
    """A schema change CloudFormation cannot apply; the message lists each change, why and how to proceed."""


def check_schema_lock(schema: KeyspacesTableSchema, lock_file: Path, *, where: str, verify: bool = False) -> bool:
    """Compare ``schema`` with ``lock_file``; raise :class:`SchemaEvolutionError` for refused changes.

    Writes the lock when it is missing or the accepted schema differs and returns True; with ``verify`` (CI) it
    raises a ValueError instead of writing (the lock must be committed). Returns False when the lock is current.
    Raises ValueError for a lock file that is not valid JSON of this format (naming the file and the fix).
    """
    lock_file = Path(lock_file)
    if lock_file.exists():
        try:
            data = json.loads(lock_file.read_text())
            if data.get("format") != LOCK_FORMAT:
                raise ValueError(f"format {data.get('format')!r} (expected {LOCK_FORMAT})")
            previous = KeyspacesTableSchema.model_validate(data["schema"])
        except (ValueError, KeyError, TypeError, AttributeError) as error:
            raise ValueError(f"{where}: schema lock {lock_file} is unreadable ({str(error).splitlines()[0]}): "
                             "restore it from version control") from None
        problems = evolution_problems(previous, schema)
        if problems:
            raise SchemaEvolutionError(
                f"{where}: schema change refused (compared with {lock_file}):\n- " + "\n- ".join(problems)
                + "\n" + _HOW.format(lock=lock_file)
            )
        if previous == schema:
            return False
    if verify:
        state = "is missing" if not lock_file.exists() else "does not match the schema (columns or options added)"
        raise ValueError(f"{where}: schema lock {lock_file} {state} and {SCHEMA_LOCK_MODE}=verify is set: synthesize "
                         "without the flag to update it, then commit the lock file with the schema")
    lock_file.parent.mkdir(parents=True, exist_ok=True)
    payload = {"format": LOCK_FORMAT, "schema": schema.model_dump(mode="json", exclude_defaults=True)}
    lock_file.write_text(json.dumps(payload, indent=2, sort_keys=True) + "\n")
    return True
