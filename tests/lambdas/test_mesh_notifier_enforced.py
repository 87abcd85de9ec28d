"""The notifier end to end on moto, with IAM enforced under its role's exact policies from the reference app.

Scenario: a producer's ``DataProductRefreshed`` event for a product of the reference app (its Glue
table rebuilt in moto from the product shard's template) -> the real handler, signing as the
notifier role of the ``MeshHub`` template (``tests/aws_enforcement.py``) -> delivery record and
message -> the consumer account's own topic -> its SQS queue with a filter policy. Then every call
is checked against the role's resources (IAM) and against the Lake Formation grants of all the
templates (``tests/lf_audit.py``): moto enforces neither resources for non-S3 services nor Lake
Formation.
"""

from __future__ import annotations

import copy
import json
from types import SimpleNamespace
from typing import Any

import boto3
import pytest
from moto import mock_aws

from meshworks.lambdas.mesh_notifier import handler
from meshworks.lambdas.mesh_notifier.core import RetryableDeliveryError
from tests.aws_enforcement import EnforcedRole, find_function, resolve
from tests.harness import SynthesizedPlatform
from tests.lambdas.moto_hub import create_delivery_table
from tests.lf_audit import audit, registered_locations

HANDLER = "mesh_notifier.handler.main"
CONTEXT = SimpleNamespace(aws_request_id="req-e2e")


def product_table(platform: SynthesizedPlatform, consumer: str) -> tuple[str, dict[str, Any]]:
    """(database, TableInput) of the reference app's first partitioned Hive-style product ``consumer`` reads."""
    for name, template in sorted(platform.templates.items()):
        if not name.startswith("MeshProducts-"):
            continue
        for resource in template["Resources"].values():
            props = resource["Properties"]
            if resource["Type"] == "AWS::Glue::Table" and props.get("TableInput", {}).get("PartitionKeys") and (
                "OpenTableFormatInput" not in props
            ):
                table_input = resolve(props["TableInput"], {}, account=props["CatalogId"])
                parameters = table_input.get("Parameters", {})
                if parameters.get("table_type", "").lower() != "iceberg" and consumer in parameters.get(
                    "meshworks:consumers", ""
                ):
                    return props["DatabaseName"], table_input
    raise AssertionError("the reference app has no partitioned Hive-style product")


@pytest.fixture
def hub(platform: SynthesizedPlatform, monkeypatch: pytest.MonkeyPatch) -> Any:
    """The hub account on moto, built from the MeshHub template's names; yields what the tests need."""
    config = platform.config
    account, region = config.environments.hub.account, config.environments.hub.region
    consumer = config.environments.consumers[0].account
    template = platform.templates["MeshHub"]
    monkeypatch.setenv("MOTO_ACCOUNT_ID", account)
    monkeypatch.setenv("AWS_DEFAULT_REGION", region)
    handler.reset_clients()
    database, table_input = product_table(platform, consumer)
    _, function = find_function(template, HANDLER)
    resources = template["Resources"]
    with mock_aws():
        kms = boto3.client("kms", region_name=region)
        key_arn = kms.create_key()["KeyMetadata"]["Arn"]
        refs: dict[str, Any] = {}
        for logical_id, resource in resources.items():
            props = resource.get("Properties", {})
            kind = resource["Type"]
            if kind == "AWS::KMS::Key":
                refs[f"{logical_id}.Arn"] = refs[logical_id] = key_arn
            elif kind == "AWS::DynamoDB::Table":
                refs[logical_id] = props["TableName"]
                refs[f"{logical_id}.Arn"] = f"arn:aws:dynamodb:{region}:{account}:table/{props['TableName']}"
            elif kind == "AWS::SNS::Topic":
                refs[logical_id] = refs[f"{logical_id}.TopicArn"] = f"arn:aws:sns:{region}:{account}:{props['TopicName']}"
            elif kind == "AWS::SQS::Queue":
                refs[f"{logical_id}.Arn"] = f"arn:aws:sqs:{region}:{account}:{logical_id}"
                refs[logical_id] = boto3.client("sqs", region_name=region).create_queue(QueueName=logical_id)["QueueUrl"]
            elif kind == "AWS::Logs::LogGroup":
                refs[f"{logical_id}.Arn"] = f"arn:aws:logs:{region}:{account}:log-group:{logical_id}:*"
            elif kind == "AWS::Events::EventBus":
                refs[logical_id] = props["Name"]
                refs[f"{logical_id}.Arn"] = f"arn:aws:events:{region}:{account}:event-bus/{props['Name']}"
            elif kind == "AWS::IAM::Role":
                refs[f"{logical_id}.Arn"] = f"arn:aws:iam::{account}:role/{props.get('RoleName', logical_id)}"
        env = resolve(function["Properties"]["Environment"]["Variables"], refs, account=account, region=region)
        for name, value in env.items():
            monkeypatch.setenv(name, value)

        bucket, _, _ = table_input["StorageDescriptor"]["Location"].removeprefix("s3://").partition("/")
        s3 = boto3.client("s3", region_name=region)
        s3.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": region})
        glue = boto3.client("glue", region_name=region)
        glue.create_database(DatabaseInput={"Name": database})
        glue.create_table(DatabaseName=database, TableInput=table_input)
        ddb = boto3.client("dynamodb", region_name=region)
        create_delivery_table(ddb, env["DELIVERY_TABLE"])
        sns = boto3.client("sns", region_name=region)
        sqs = boto3.client("sqs", region_name=region)
        sns.create_topic(Name=env["TOPIC_ARN"].rsplit(":", 1)[1])
        consumer_topic = sns.create_topic(Name=(env["CONSUMER_TOPIC_PREFIX"] + consumer).rsplit(":", 1)[1])["TopicArn"]
        # The consumer account's queue, subscribed with a filter on the domain it reads.
        queue_url = sqs.create_queue(QueueName="consumer-refreshes")["QueueUrl"]
        queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        sns.subscribe(
            TopicArn=consumer_topic,
            Protocol="sqs",
            Endpoint=queue_arn,
            Attributes={"RawMessageDelivery": "true", "FilterPolicy": json.dumps({"domain": [database]})},
        )
        role = EnforcedRole.from_template(template, handler=HANDLER, refs=refs, account=account, region=region)
        yield SimpleNamespace(
            account=account, region=region, consumer=consumer, database=database, table_input=table_input,
            env=env, role=role, refs=refs, s3=s3, glue=glue, ddb=ddb, sqs=sqs, queue_url=queue_url,
            bucket=bucket, platform=platform,
        )
    handler.reset_clients()


def event_for(hub: Any, event_id: str = "e2e-1") -> dict[str, Any]:
    keys = hub.table_input["PartitionKeys"]
    values = {"date": "2026-11-25", "timestamp": "2026-11-25 00:00:00"}
    partition = {k["Name"]: values.get(k["Type"], "2026-11-25") for k in keys}
    return {
        "id": event_id,
        # The product's producer (trust model), else the hub's own account (tables without the parameter).
        "account": hub.table_input.get("Parameters", {}).get("meshworks:producer_account", hub.account),
        "source": "meshworks.producer",
        "detail-type": "DataProductRefreshed",
        "detail": {"domain": hub.database, "product": hub.table_input["Name"], "partition": partition},
    }


def notifier_role_arn(hub: Any) -> str:
    return f"arn:aws:iam::{hub.account}:role/{hub.platform.config.prefix}-mesh-notifier"


def test_refresh_reaches_the_consumer_queue_with_iam_and_lake_formation_satisfied(
    hub: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    with hub.role.enforced(monkeypatch):
        handler.reset_clients()
        result = handler.main(event_for(hub), CONTEXT)
        replay = handler.main(event_for(hub), CONTEXT)
        # A producer's correction: same partition, rewritten under a new run folder.
        first = event_for(hub)
        location = f"{hub.table_input['StorageDescriptor']['Location'].rstrip('/')}/" + "/".join(
            f"{k}={v}" for k, v in first["detail"]["partition"].items()
        )
        correction = {**first, "id": "e2e-2", "detail": {**first["detail"], "location": f"{location}/run=2"}}
        corrected = handler.main(correction, CONTEXT)
    handler.reset_clients()
    assert result["published"] is True and replay["claim"] == "duplicate" and corrected["claim"] == "correction"
    messages = hub.sqs.receive_message(QueueUrl=hub.queue_url, MaxNumberOfMessages=10).get("Messages", [])
    body, fix = sorted((json.loads(m["Body"]) for m in messages), key=lambda b: b["revision"])
    assert (fix["revision"], fix["location"]) == (2, f"{location}/run=2")
    assert body["product_key"] == f"{hub.database}.{hub.table_input['Name']}"
    assert body["delivery_id"].endswith("/r1")
    record = hub.ddb.get_item(
        TableName=hub.env["DELIVERY_TABLE"],
        Key={"product_key": {"S": body["product_key"]}, "period_key": {"S": result["period_key"]}},
    )["Item"]
    assert record["delivered_at"]["S"] == body["delivered_at"]  # what the SLO sweeper reads
    hub.role.check_resources()
    assert hub.role.unchecked() == set()
    assert {"glue:GetTable", "glue:CreatePartition", "glue:UpdatePartition"} <= hub.role.actions()
    # Lake Formation: every Glue call of the run is granted in the templates (moto cannot tell).
    assert registered_locations(hub.platform.templates, account=hub.account, region=hub.region)
    assert audit(
        hub.role.calls, hub.platform.templates, principal_arn=notifier_role_arn(hub), refs=hub.refs,
        account=hub.account, region=hub.region,
    ) == []


def test_without_the_location_grant_the_audit_names_data_location_access(hub: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """Fault 1 as it was: table permissions only, no DATA_LOCATION_ACCESS on the registered location."""
    with hub.role.enforced(monkeypatch):
        handler.reset_clients()
        handler.main(event_for(hub), CONTEXT)
    handler.reset_clients()
    templates = copy.deepcopy(hub.platform.templates)
    for template in templates.values():
        for logical_id, resource in list(template.get("Resources", {}).items()):
            if resource["Type"] == "AWS::LakeFormation::PrincipalPermissions" and "DataLocation" in json.dumps(
                resource["Properties"]["Resource"]
            ):
                del template["Resources"][logical_id]
    problems = audit(
        hub.role.calls, templates, principal_arn=notifier_role_arn(hub), refs=hub.refs, account=hub.account,
        region=hub.region,
    )
    assert problems == [
        f"glue:CreatePartition {hub.database}.{hub.table_input['Name']}: DATA_LOCATION_ACCESS on "
        f"{hub.role.calls[[c.operation for c in hub.role.calls].index('CreatePartition')].params['PartitionInput']['StorageDescriptor']['Location'].replace('s3://', 'arn:aws:s3:::')} "
        "(registered with Lake Formation)"
    ]


def test_publish_denied_by_iam_leaves_nothing_that_looks_delivered(hub: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """Publish fails (the role without sns:Publish, enforced by moto): no record, no marker; retried later."""
    for statement in hub.role.statements:
        actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
        statement["Action"] = [a for a in actions if a != "sns:Publish"] or ["sns:GetTopicAttributes"]
    with hub.role.enforced(monkeypatch):
        handler.reset_clients()
        with pytest.raises(RetryableDeliveryError, match="publish to .*mesh-refreshed.* failed.*not authorized to perform: sns:Publish"):
            handler.main(event_for(hub), CONTEXT)
    handler.reset_clients()
    items = hub.ddb.scan(TableName=hub.env["DELIVERY_TABLE"])["Items"]
    assert [i["period_key"]["S"] for i in items] == [f"claim#{items[0]['period_key']['S'].removeprefix('claim#')}"]
    assert hub.s3.list_objects_v2(Bucket=hub.bucket).get("KeyCount") == 0
    assert hub.sqs.receive_message(QueueUrl=hub.queue_url).get("Messages") is None


def test_rejected_announcement_goes_to_the_dlq_under_the_roles_policy(hub: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """Issue 9 item 3: an event from an account that is not the product's producer is rejected, once, to the DLQ."""
    intruder = {**event_for(hub), "account": "999999999999"}
    with hub.role.enforced(monkeypatch):
        handler.reset_clients()
        result = handler.main(intruder, CONTEXT)
    handler.reset_clients()
    assert result["rejected"] is True and "999999999999" in result["reason"]
    [message] = hub.sqs.receive_message(QueueUrl=hub.env["REJECTED_QUEUE_URL"]).get("Messages")
    assert json.loads(message["Body"])["account"] == "999999999999"
    hub.role.check_resources()
    assert hub.ddb.scan(TableName=hub.env["DELIVERY_TABLE"])["Count"] == 0
