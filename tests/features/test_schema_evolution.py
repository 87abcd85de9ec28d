"""Schema evolution against the lock file: additions accepted, changes CloudFormation cannot apply refused.

The refused kinds are the ones CloudFormation fails or replaces on (cfn-lint's AWS::Cassandra::Table schema:
createOnlyProperties KeyspaceName, TableName, PartitionKeyColumns, ClusteringKeyColumns,
ClientSideTimestampsEnabled; altering or dropping a regular column: "Altering column is not supported").
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from aws_cdk import App, Stack

from meshworks.constructs.features import (
    KeyspacesTable,
    KeyspacesTableSchema,
    SchemaEvolutionError,
    check_schema_lock,
    evolution_problems,
)
from tests.features.cql_samples import CASSANDRA_DDL

BASE = KeyspacesTableSchema.from_cql(CASSANDRA_DDL)
CFN_SCHEMA_CREATE_ONLY = {"KeyspaceName", "TableName", "PartitionKeyColumns", "ClusteringKeyColumns",
                          "ClientSideTimestampsEnabled"}


def _changed(**changes: Any) -> KeyspacesTableSchema:
    return KeyspacesTableSchema.model_validate({**BASE.model_dump(), **changes})


def _columns(*replace: tuple[str, dict[str, Any] | None], add: list[dict[str, Any]] | None = None) -> list[dict]:
    result = []
    for column in BASE.model_dump()["columns"]:
        replacement = dict(replace).get(column["name"], column)
        if replacement is not None:
            result.append(replacement)
    return result + (add or [])


def test_cfn_create_only_properties_are_the_ones_we_refuse() -> None:
    """The refusal list follows CloudFormation's own resource schema (shipped with cfn-lint)."""
    import cfnlint.data.schemas

    root = Path(cfnlint.data.schemas.__file__).parent
    mapping = json.loads((root / "providers" / "eu-west-1.json").read_text())
    schema = json.loads((root / "resources" / f"{mapping['AWS::Cassandra::Table']}.json").read_text())
    assert {p.rsplit("/", 1)[1] for p in schema["createOnlyProperties"]} == CFN_SCHEMA_CREATE_ONLY


@pytest.mark.parametrize(
    "schema",
    [
        _changed(columns=_columns(add=[{"name": "churn_risk", "type": "double"}])),
        _changed(default_time_to_live=86400),
        _changed(cdc=None),
        _changed(types=[*BASE.model_dump()["types"], {"name": "phone", "fields": [{"name": "number", "type": "text"}]}],
                 columns=_columns(add=[{"name": "phones", "type": "list<frozen<phone>>"}])),
    ],
    ids=["add-column", "ttl", "cdc-off", "add-type-and-column"],
)
def test_accepted_changes(schema: KeyspacesTableSchema) -> None:
    assert evolution_problems(BASE, schema) == []


@pytest.mark.parametrize(
    ("schema", "expected"),
    [
        (_changed(columns=_columns(("model_version", {"name": "model_version", "type": "bigint"}))),
         "column model_version type int -> bigint: CloudFormation cannot alter a column (\"Altering column is not "
         "supported\"); add a new column (e.g. model_version_v2 bigint)"),
        (_changed(columns=_columns(("labels", None))),
         "column labels dropped: CloudFormation cannot drop a column"),
        (_changed(partition_key=["customer_id"]),
         "partition key (customer_id text, region text) -> (customer_id text): CloudFormation replaces the table"),
        (_changed(clustering=[{"name": "feature_set"}, {"name": "computed_at", "order": "ASC"}]),
         "clustering columns (feature_set text ASC, computed_at timestamp DESC) -> (feature_set text ASC, "
         "computed_at timestamp ASC): CloudFormation replaces the table"),
        (_changed(table="customer_features_v2"), "table renamed features.customer_features -> "
         "features.customer_features_v2"),
        (_changed(client_side_timestamps=False), "client_side_timestamps True -> False"),
        (_changed(types=[{"name": "address", "fields": [{"name": "street", "type": "text"}]}]),
         "type address fields changed"),
    ],
    ids=["alter-type", "drop-column", "partition-key", "clustering-order", "rename", "client-timestamps", "udt"],
)
def test_refused_changes_say_why(schema: KeyspacesTableSchema, expected: str) -> None:
    problems = evolution_problems(BASE, schema)
    assert len(problems) == 1 and expected in problems[0], problems


def test_lock_is_written_updated_and_enforced(tmp_path: Path) -> None:
    lock = tmp_path / "schemas" / "customer_features.lock.json"
    assert check_schema_lock(BASE, lock, where="T") is True  # first synth writes it
    assert json.loads(lock.read_text())["format"] == 1
    assert check_schema_lock(BASE, lock, where="T") is False  # unchanged: not rewritten
    wider = _changed(columns=_columns(add=[{"name": "churn_risk", "type": "double"}]))
    assert check_schema_lock(wider, lock, where="T") is True  # addition accepted, lock follows
    # going back to BASE now drops churn_risk: refused, with how to proceed
    with pytest.raises(SchemaEvolutionError) as error:
        check_schema_lock(BASE, lock, where="KeyspacesTable S/T")
    message = str(error.value)
    assert message.startswith(f"KeyspacesTable S/T: schema change refused (compared with {lock})")
    assert "column churn_risk dropped" in message and "delete the lock file" in message
    assert KeyspacesTableSchema.model_validate(json.loads(lock.read_text())["schema"]) == wider  # untouched


def test_unreadable_lock_is_a_clear_error(tmp_path: Path) -> None:
    lock = tmp_path / "t.lock.json"
    lock.write_text("{not json")
    with pytest.raises(ValueError, match=r"T: schema lock .* is unreadable .*restore it from version control"):
        check_schema_lock(BASE, lock, where="T")


def test_synth_refuses_an_altered_column(tmp_path: Path) -> None:
    lock = tmp_path / "lock.json"
    KeyspacesTable(Stack(App(), "A"), "T", keyspace="features", schema=BASE, schema_lock_file=lock)
    altered = _changed(columns=_columns(("scores", {"name": "scores", "type": "map<text, float>"})))
    with pytest.raises(SchemaEvolutionError, match="KeyspacesTable B/T: schema change refused"):
        KeyspacesTable(Stack(App(), "B"), "T", keyspace="features", schema=altered, schema_lock_file=lock)


def test_ci_verify_mode_never_writes_and_refuses_a_stale_lock(tmp_path: Path) -> None:
    lock = tmp_path / "lock.json"
    ci = {"@meshworks/schemaLock": "verify"}
    with pytest.raises(ValueError, match=r"KeyspacesTable C/T: schema lock .* is missing and @meshworks/schemaLock=verify"):
        KeyspacesTable(Stack(App(context=ci), "C"), "T", keyspace="features", schema=BASE, schema_lock_file=lock)
    assert not lock.exists()
    KeyspacesTable(Stack(App(), "D"), "T", keyspace="features", schema=BASE, schema_lock_file=lock)  # developer
    KeyspacesTable(Stack(App(context=ci), "C"), "T", keyspace="features", schema=BASE, schema_lock_file=lock)
    wider = _changed(columns=_columns(add=[{"name": "churn_risk", "type": "double"}]))
    before = lock.read_text()
    with pytest.raises(ValueError, match="does not match the schema .* commit the lock file"):
        KeyspacesTable(Stack(App(context=ci), "C"), "T", keyspace="features", schema=wider, schema_lock_file=lock)
    assert lock.read_text() == before
