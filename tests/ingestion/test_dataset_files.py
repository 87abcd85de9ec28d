"""Dataset files: the shipped example loads; every bad value is one ``file:line: field: message`` naming the fix."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from meshworks.constructs.ingestion.dataset_loader import DatasetError, check_datasets, load_datasets
from tests.harness import ROOT

EXAMPLE = ROOT / "datasets" / "clickstream" / "app_events.yml"


def _write(tmp_path: Path, change: dict | None = None, drop: tuple[str, ...] = (), text: str | None = None) -> Path:
    data = yaml.safe_load(EXAMPLE.read_text())
    for dotted, value in (change or {}).items():
        *parents, last = dotted.split(".")
        node = data
        for part in parents:
            node = node.setdefault(part, {})
        node[last] = value
    for dotted in drop:
        *parents, last = dotted.split(".")
        node = data
        for part in parents:
            node = node[part]
        del node[last]
    path = tmp_path / "clickstream" / "app_events.yml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text if text is not None else yaml.safe_dump(data, sort_keys=False))
    return path


def _problems(path: Path) -> list[str]:
    return [f"{p.field}: {p.message}" for p in check_datasets([path])[1]]


def test_the_example_becomes_a_parquet_product_in_the_curated_zone() -> None:
    [item] = load_datasets([EXAMPLE], curated_bucket_name="acme-222222222222-curated")
    contract = item.contract
    assert contract is not None
    assert contract.location == "s3://acme-222222222222-curated/clickstream/app_events/"
    assert (contract.format.value, contract.qualified_name) == ("parquet", "clickstream.app_events")
    assert item.dataset.raw.partitioning.names == ("event_type", "dt")


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({"raw.buffering.size_mb": 32}, "raw.buffering.size_mb: 32 MiB is below the 64 MiB Firehose requires with dynamic partitioning"),
        ({"raw.buffering.size_mb": 129}, "raw.buffering.size_mb: input should be less than or equal to 128"),
        ({"raw.buffering.interval_seconds": 0}, "raw.buffering.interval_seconds: 0 s: zero or short buffering is not available"),
        ({"raw.partitioning.keys": [{"name": "EventType", "query": ".event_type"}]}, "raw.partitioning.keys[0].name: partition key 'EventType' must be snake_case"),
        ({"raw.partitioning.keys": [{"name": "kind", "query": "event_type"}]}, "raw.partitioning.keys[0].query: 'event_type' is not a JQ path"),
        ({"source.type": "kinesys"}, "source.type: 'kinesys' is not one of: kinesis, eventbridge, firehose (did you mean 'kinesis'?)"),
        ({"source.shard_count": 4}, "source.shard_count: an on_demand stream has no shard_count"),
        ({"source.event_source": ["x"]}, "source.event_source: event_source does not apply to a kinesis source: remove it"),
        ({"product.location": "s3://x/y/"}, "product.location: location is set by the dataset (the curated zone, <domain>/<name>/): remove it from product"),
        ({"product.partition_keys": [{"name": "hour", "type": "string", "description": "Hour of arrival, UTC."}]}, "product.partition_keys[0].name: 'hour' is not a raw partition (dt, event_type)"),
        ({"product.columns": [{"name": "a", "type": "strin", "description": "A column of the product."}]}, "product.columns[0].type:"),
        ({"product.classification": "secret"}, "product.classification: 'secret' is not one of"),
        ({"curation.schedule": "0 * * * *"}, "curation.schedule: '0 * * * *' is not a Glue schedule: use cron("),
        ({"http_endpoint": {"url": "http://ingest.example.com", "access_key_secret_arn": "arn:aws:secretsmanager:eu-west-1:123456789012:secret:k-AbCdEf", "backup": "all"}}, "http_endpoint.url: 'http://ingest.example.com' is not an https URL"),
        ({"raw.partitioning.keys": [], "http_endpoint": {"url": "https://ingest.example.com", "access_key_secret_arn": "arn:aws:secretsmanager:eu-west-1:123456789012:secret:k-AbCdEf", "retry_seconds": 7201, "backup": "all"}}, "http_endpoint.retry_seconds: input should be less than or equal to 7200"),
        ({"raw.partitioning.keys": [], "http_endpoint": {"url": "https://ingest.example.com", "access_key_secret_arn": "arn:aws:secretsmanager:eu-west-1:123456789012:secret:k-AbCdEf"}}, "product: with http_endpoint.backup: failed the raw zone keeps only failed records"),
        ({"sink": 1}, "sink: unknown field 'sink'"),
    ],
)
def test_each_bad_value_is_one_line_naming_the_key_the_value_and_the_fix(tmp_path: Path, change: dict, expected: str) -> None:
    problems = _problems(_write(tmp_path, change))
    assert any(problem.startswith(expected) for problem in problems), problems
    assert all("pydantic" not in problem and "Traceback" not in problem for problem in problems)


def test_problems_point_at_the_line_of_the_key(tmp_path: Path) -> None:
    text = EXAMPLE.read_text().replace("size_mb: 128", "size_mb: 16")
    path = _write(tmp_path, text=text)
    [problem] = check_datasets([path])[1]
    line = next(i for i, row in enumerate(text.splitlines(), 1) if "size_mb: 16" in row)
    assert (problem.line, problem.field) == (line, "raw.buffering.size_mb")
    assert str(problem).startswith(f"{path}:{line}: raw.buffering.size_mb: 16 MiB")


def test_a_missing_product_and_garbage_files_are_messages_not_tracebacks(tmp_path: Path) -> None:
    assert _problems(_write(tmp_path, drop=("product",))) == [
        "product: required: the data product the curated table becomes (description, owner, contact, columns, "
        "slo, classification ...)"
    ]
    for text, expected in [("", "file is empty: a dataset is a YAML mapping"), ("- 1", "expected a mapping of dataset fields"),
                           ("a: [", "invalid YAML"), ("a: 1\n---\nb: 2", "one file holds one dataset")]:
        assert any(expected in p for p in _problems(_write(tmp_path, text=text))), text
    with pytest.raises(DatasetError, match=r"1 problem in dataset files:\n  .*app_events.yml:\d+: product:"):
        load_datasets([_write(tmp_path, drop=("product",))])


def test_two_files_of_one_dataset_are_refused(tmp_path: Path) -> None:
    first = _write(tmp_path)
    (tmp_path / "copy.yml").write_text(first.read_text())
    problems = check_datasets([tmp_path])[1]
    [problem] = problems
    other = {str(first), str(tmp_path / "copy.yml")} - {problem.path}
    assert problem.message == f"dataset 'clickstream.app_events' is already defined in {other.pop()}: one file per dataset"
