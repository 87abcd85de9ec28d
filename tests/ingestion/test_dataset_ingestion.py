"""``DatasetIngestion``: what each dataset deploys, and that adding a dataset never moves or changes another's."""

from __future__ import annotations

import json
from typing import Any

import pytest
import yaml
from aws_cdk import App, Environment, Stack
from aws_cdk import aws_glue as glue
from aws_cdk.assertions import Template

from meshworks.constructs.core import PlatformKey
from meshworks.constructs.ingestion import Dataset, DatasetIngestion
from meshworks.constructs.ingestion.glue import curate_dataset as job
from meshworks.constructs.storage import DataLakeStorage, Zone
from tests.harness import ROOT

ENV = Environment(account="123456789012", region="eu-west-1")
EXAMPLE = yaml.safe_load((ROOT / "datasets" / "clickstream" / "app_events.yml").read_text())
SECRET = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:coralogix-AbCdEf"


def _dataset(**changes: Any) -> Dataset:
    data = json.loads(json.dumps(EXAMPLE))
    for dotted, value in changes.items():
        *parents, last = dotted.split("__")
        node = data
        for part in parents:
            node = node.setdefault(part, {})
        if value is None:
            node.pop(last, None)
        else:
            node[last] = value
    return Dataset.model_validate(data)


def _template(*datasets: Dataset) -> dict:
    app = App(builtin_cloud_formation_validation=False)
    stack = Stack(app, "Ingest", env=ENV)
    lake = DataLakeStorage(stack, "Lake", bucket_name_prefix="acme")
    key = PlatformKey(stack, "Key")
    database = glue.Database(stack, "Raw", database_name="acme_raw")
    for dataset in datasets:
        DatasetIngestion(stack, f"{dataset.domain}-{dataset.name}", dataset=dataset, name_prefix="acme",
                         raw_bucket=lake.bucket(Zone.RAW), curated_bucket=lake.bucket(Zone.CURATED),
                         encryption_key=key, raw_database=database,
                         refresh_bus_arn="arn:aws:events:eu-west-1:111111111111:event-bus/acme-mesh-refresh")
    return Template.from_stack(stack).to_json()


def _of_type(template: dict, kind: str) -> dict[str, dict]:
    return {lid: r for lid, r in template["Resources"].items() if r["Type"] == kind}


@pytest.fixture(scope="module")
def example() -> dict:
    return _template(_dataset())


def test_a_kinesis_dataset_gets_a_retained_kms_on_demand_stream(example: dict) -> None:
    [stream] = _of_type(example, "AWS::Kinesis::Stream").values()
    assert stream["Properties"]["StreamEncryption"]["EncryptionType"] == "KMS"
    assert stream["Properties"]["StreamModeDetails"] == {"StreamMode": "ON_DEMAND"}
    assert (stream["DeletionPolicy"], stream["UpdateReplacePolicy"]) == ("Retain", "Retain")


def test_firehose_delivers_partitioned_json_lines_into_the_raw_zone_with_an_error_prefix(example: dict) -> None:
    [delivery] = _of_type(example, "AWS::KinesisFirehose::DeliveryStream").values()
    props = delivery["Properties"]
    assert props["DeliveryStreamName"].startswith("acme-clickstream-app-events-")
    assert props["DeliveryStreamType"] == "KinesisStreamAsSource"
    s3 = props["ExtendedS3DestinationConfiguration"]
    assert s3["Prefix"] == "clickstream/app_events/event_type=!{partitionKeyFromQuery:event_type}/dt=!{timestamp:yyyy-MM-dd}/"
    assert s3["ErrorOutputPrefix"] == "_errors/clickstream/app_events/!{firehose:error-output-type}/dt=!{timestamp:yyyy-MM-dd}/"
    assert s3["DynamicPartitioningConfiguration"]["Enabled"] is True
    assert s3["BufferingHints"] == {"IntervalInSeconds": 300, "SizeInMBs": 128}
    assert s3["CompressionFormat"] == "GZIP"
    assert "KMSEncryptionConfig" in s3["EncryptionConfiguration"]
    kinds = [p["Type"] for p in s3["ProcessingConfiguration"]["Processors"]]
    assert kinds == ["MetadataExtraction", "AppendDelimiterToRecord"]
    query = s3["ProcessingConfiguration"]["Processors"][0]["Parameters"]
    assert {"ParameterName": "MetadataExtractionQuery", "ParameterValue": '{"event_type":.event_type}'} in query


def test_the_curation_job_is_bookmarked_encrypted_scheduled_and_announces_partitions(example: dict) -> None:
    [job_resource] = _of_type(example, "AWS::Glue::Job").values()
    props = job_resource["Properties"]
    args = props["DefaultArguments"]
    assert args["--job-bookmark-option"] == "job-bookmark-enable"
    assert args["--partition_keys"] == "dt"
    assert args["--refresh_bus_arn"].endswith(":event-bus/acme-mesh-refresh")
    assert props["SecurityConfiguration"]
    [config] = _of_type(example, "AWS::Glue::SecurityConfiguration").values()
    encryption = config["Properties"]["EncryptionConfiguration"]
    assert encryption["S3Encryptions"][0]["S3EncryptionMode"] == "SSE-KMS"
    assert encryption["CloudWatchEncryption"]["CloudWatchEncryptionMode"] == "SSE-KMS"
    assert encryption["JobBookmarksEncryption"]["JobBookmarksEncryptionMode"] == "CSE-KMS"
    [trigger] = _of_type(example, "AWS::Glue::Trigger").values()
    assert (trigger["Properties"]["Schedule"], trigger["Properties"]["StartOnCreation"]) == ("cron(15 * * * ? *)", True)
    [crawler] = _of_type(example, "AWS::Glue::Crawler").values()
    assert crawler["Properties"]["CrawlerSecurityConfiguration"]
    statements = [s for p in _of_type(example, "AWS::IAM::Policy").values() for s in p["Properties"]["PolicyDocument"]["Statement"]]
    assert {"Action": "events:PutEvents", "Effect": "Allow",
            "Resource": "arn:aws:events:eu-west-1:111111111111:event-bus/acme-mesh-refresh"} in statements
    # Continuous logging and job metrics are on (Job L2 defaults): the role writes Glue's log groups and metrics only.
    assert {"Action": "cloudwatch:PutMetricData", "Condition": {"StringEquals": {"cloudwatch:namespace": "Glue"}},
            "Effect": "Allow", "Resource": "*"} in statements
    assert any(s["Action"][0].startswith("logs:") and s["Resource"] == {"Fn::Join": ["", [
        "arn:", {"Ref": "AWS::Partition"}, ":logs:eu-west-1:123456789012:log-group:/aws-glue/*"]]} for s in statements)


def test_an_eventbridge_dataset_gets_a_rule_and_a_kms_encrypted_direct_put_stream() -> None:
    template = _template(_dataset(source={"type": "eventbridge", "event_source": ["com.acme.app"],
                                          "detail_type": ["AppEvent"]}))
    assert _of_type(template, "AWS::Kinesis::Stream") == {}
    [rule] = _of_type(template, "AWS::Events::Rule").values()
    assert rule["Properties"]["EventPattern"] == {"source": ["com.acme.app"], "detail-type": ["AppEvent"]}
    [delivery] = _of_type(template, "AWS::KinesisFirehose::DeliveryStream").values()
    assert delivery["Properties"]["DeliveryStreamEncryptionConfigurationInput"]["KeyType"] == "CUSTOMER_MANAGED_CMK"


def test_an_http_endpoint_takes_its_key_from_secrets_manager_and_backs_up_to_the_raw_zone() -> None:
    template = _template(_dataset(raw__partitioning=None, http_endpoint={
        "url": "https://ingress.coralogix.com/aws/firehose", "access_key_secret_arn": SECRET,
        "retry_seconds": 900, "backup": "all"}))
    [delivery] = _of_type(template, "AWS::KinesisFirehose::DeliveryStream").values()
    http = delivery["Properties"]["HttpEndpointDestinationConfiguration"]
    assert http["EndpointConfiguration"]["Url"] == "https://ingress.coralogix.com/aws/firehose"
    assert "AccessKey" not in http["EndpointConfiguration"]
    assert http["SecretsManagerConfiguration"]["Enabled"] is True
    assert http["RetryOptions"] == {"DurationInSeconds": 900}
    assert http["S3BackupMode"] == "AllData"
    assert http["S3Configuration"]["Prefix"].startswith("clickstream/app_events/dt=")


def test_failed_only_backup_ships_to_the_endpoint_without_curation() -> None:
    template = _template(_dataset(raw__partitioning=None, product=None, http_endpoint={
        "url": "https://ingress.example.com", "access_key_secret_arn": SECRET}))
    assert _of_type(template, "AWS::Glue::Job") == {} and _of_type(template, "AWS::Glue::Crawler") == {}
    [delivery] = _of_type(template, "AWS::KinesisFirehose::DeliveryStream").values()
    assert delivery["Properties"]["HttpEndpointDestinationConfiguration"]["S3BackupMode"] == "FailedDataOnly"


def test_an_explicit_schema_gets_a_table_instead_of_a_crawler() -> None:
    template = _template(_dataset(catalog={"crawler_schedule": None, "columns": [{"name": "event_id", "type": "string"}]}))
    assert _of_type(template, "AWS::Glue::Crawler") == {}
    [table] = _of_type(template, "AWS::Glue::Table").values()
    table_input = table["Properties"]["TableInput"]
    assert [k["Name"] for k in table_input["PartitionKeys"]] == ["event_type", "dt"]
    assert table_input["StorageDescriptor"]["Location"]["Fn::Join"][1][-1] == "/clickstream/app_events/"


def test_adding_a_dataset_adds_resources_and_leaves_the_first_one_untouched(example: dict) -> None:
    second = _dataset(name="orders_stream", domain="sales")
    both = _template(_dataset(), second)
    first = {lid: r for lid, r in example["Resources"].items()}
    for lid, resource in first.items():
        assert lid in both["Resources"], f"{lid} moved or vanished when a dataset was added"
        assert both["Resources"][lid] == resource, f"{lid} changed when a dataset was added"
    added = set(both["Resources"]) - set(first)
    assert len(added) >= 10


@pytest.mark.parametrize(
    "change",
    [
        {"raw__partitioning": None},  # dynamic partitioning off: Firehose cannot switch it in place
        {"source": {"type": "eventbridge", "event_source": ["com.acme.app"]}},  # source configuration: create-only
        {"source": {"type": "kinesis", "stream_arn": "arn:aws:kinesis:eu-west-1:123456789012:stream/app-events"}},
    ],
)
def test_what_firehose_cannot_change_in_place_renames_the_delivery_stream(example: dict, change: dict) -> None:
    """A change CloudFormation would replace (create-only source) or Firehose refuses (dynamic partitioning) gives
    the stream a new name, so the stack replaces it instead of failing on the custom name."""
    from meshworks.stacks.change_plan import create_only_properties

    changed = _template(_dataset(**change))
    [before] = _of_type(example, "AWS::KinesisFirehose::DeliveryStream").values()
    [after] = _of_type(changed, "AWS::KinesisFirehose::DeliveryStream").values()
    assert before["Properties"]["DeliveryStreamName"] != after["Properties"]["DeliveryStreamName"]
    assert ("DeliveryStreamName",) in create_only_properties("AWS::KinesisFirehose::DeliveryStream")


def test_buffering_and_compression_changes_keep_the_stream(example: dict) -> None:
    changed = _template(_dataset(raw__buffering={"size_mb": 64, "interval_seconds": 900}, raw__compression="snappy"))
    [before] = _of_type(example, "AWS::KinesisFirehose::DeliveryStream").values()
    [after] = _of_type(changed, "AWS::KinesisFirehose::DeliveryStream").values()
    assert before["Properties"]["DeliveryStreamName"] == after["Properties"]["DeliveryStreamName"]


def test_names_too_long_for_aws_are_refused_with_the_fix() -> None:
    app = App(builtin_cloud_formation_validation=False)
    stack = Stack(app, "S", env=ENV)
    lake = DataLakeStorage(stack, "Lake")
    with pytest.raises(ValueError, match="exceed AWS's 64 characters: shorten name_prefix"):
        DatasetIngestion(stack, "X", dataset=_dataset(name="a" * 48), name_prefix="a-very-long-platform-prefix",
                         raw_bucket=lake.bucket(Zone.RAW), curated_bucket=lake.bucket(Zone.CURATED),
                         encryption_key=PlatformKey(stack, "Key"))


# ---- the curation job's pure functions -------------------------------------------------------------------


def test_partition_values_come_from_the_key_folders_firehose_wrote() -> None:
    path = "s3://acme-raw/clickstream/app_events/event_type=tap/dt=2026-11-30/acme-1-2026-11-30-10-00-00-abc.gz"
    assert job.partition_values(path) == {"event_type": "tap", "dt": "2026-11-30"}
    assert job.partition_values("s3://b/x/f=g.gz") == {}


def test_the_java_pattern_extracts_the_same_value_as_the_python_parser() -> None:
    import re

    path = "s3://acme-raw/clickstream/app_events/event_type=tap/dt=2026-11-30/part.gz"
    for key, value in job.partition_values(path).items():
        assert re.search(job.partition_pattern(key), path).group(1) == value
    with pytest.raises(ValueError, match="not an identifier"):
        job.partition_pattern("dt/../x")


def test_relationalized_frames_land_next_to_the_product_and_columns_are_glue_names() -> None:
    root = "s3://acme-curated/clickstream/app_events/"
    assert job.child_path(root, "root") == root
    assert job.child_path(root, "root_items") == "s3://acme-curated/clickstream/app_events__items/"
    assert job.child_path(root, "root_items.val.tags") == "s3://acme-curated/clickstream/app_events__items_val_tags/"
    assert job.curated_column("properties.Screen") == "properties_screen"
    assert job.parse_partition_keys("event_type, dt,") == ["event_type", "dt"] and job.parse_partition_keys("") == []


def test_refresh_events_are_one_per_partition_in_batches_of_ten() -> None:
    bus = "arn:aws:events:eu-west-1:111111111111:event-bus/acme-mesh-refresh"
    partitions = [{"dt": f"2026-11-{day:02d}"} for day in range(1, 13)] + [{"dt": "2026-11-01"}]
    batches = job.refresh_entries(bus, "clickstream", "app_events", partitions)
    assert [len(b) for b in batches] == [10, 2]
    first = batches[0][0]
    assert (first["Source"], first["DetailType"], first["EventBusName"]) == ("meshworks.producer", "DataProductRefreshed", bus)
    assert json.loads(first["Detail"]) == {"domain": "clickstream", "product": "app_events", "partition": {"dt": "2026-11-01"}}
    [[only]] = job.refresh_entries(bus, "clickstream", "app_events", [])
    assert "partition" not in json.loads(only["Detail"])




def test_an_existing_firehose_source_gets_curation_and_catalog_only() -> None:
    arn = "arn:aws:firehose:eu-west-1:123456789012:deliverystream/app-events"
    template = _template(_dataset(source={"type": "firehose", "delivery_stream_arn": arn}))
    assert _of_type(template, "AWS::KinesisFirehose::DeliveryStream") == {}
    assert _of_type(template, "AWS::Kinesis::Stream") == {}
    assert len(_of_type(template, "AWS::Glue::Job")) == 1 and len(_of_type(template, "AWS::Glue::Crawler")) == 1
