"""SloMonitor: manifest deployment, schedule, breach table, secret, topics, DLQ, alarms, least privilege."""

from __future__ import annotations

import json
import re
import zipfile
from pathlib import Path
from typing import Any

import pytest
from aws_cdk import App, Duration, Environment, Stack
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk.assertions import Annotations, Match, Template

from meshworks.constructs.mesh.contract import DataProductContract
from meshworks.constructs.mesh.loader import load_contracts
from meshworks.constructs.monitoring import OPEN_BREACH_INDEX, SloMonitor
from tests.harness import ROOT

ENV = Environment(account="111111111111", region="eu-west-1")


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    outdir = tmp_path_factory.mktemp("slo.out")
    app = App(outdir=str(outdir), builtin_cloud_formation_validation=False)
    stack = Stack(app, "Slo", env=ENV)
    deliveries = dynamodb.Table.from_table_name(stack, "Deliveries", "acme-deliveries")
    monitor = SloMonitor(
        stack,
        "Monitor",
        contracts=load_contracts([ROOT / "contracts"]),
        delivery_table=deliveries,
        name_prefix="acme-slo",
        slack_secret_name="acme/monitoring/slack-webhooks",
        domain_alert_emails={"sales": ["sales-oncall@example.com"]},
    )
    assembly = app.synth()
    template = Template.from_stack(stack)
    return {"stack": stack, "monitor": monitor, "template": template, "outdir": Path(assembly.directory)}


@pytest.fixture(scope="module")
def template(built: dict[str, Any]) -> Template:
    return built["template"]


@pytest.fixture(scope="module")
def monitor(built: dict[str, Any]) -> SloMonitor:
    return built["monitor"]


def _logical_id(template: Template, resource_type: str, path_part: str) -> str:
    for logical_id in template.find_resources(resource_type):
        if re.fullmatch(rf"\w*{path_part}[0-9A-F]{{8}}", logical_id):
            return logical_id
    raise AssertionError(f"no {resource_type} with {path_part!r} in its logical id")


def _sweeper_statements(template: Template) -> list[dict[str, Any]]:
    policies = template.find_resources("AWS::IAM::Policy")
    (policy,) = [p for lid, p in policies.items() if "SweeperRole" in lid]
    return policy["Properties"]["PolicyDocument"]["Statement"]


def _actions(statement: dict[str, Any]) -> list[str]:
    action = statement["Action"]
    return [action] if isinstance(action, str) else action


def _resources(statement: dict[str, Any]) -> list[Any]:
    resource = statement["Resource"]
    return resource if isinstance(resource, list) else [resource]


# ------------------------------------------------------------------------------------------ manifest


def test_manifest_is_deployed_from_the_contracts(built: dict[str, Any], template: Template) -> None:
    monitor: SloMonitor = built["monitor"]
    bucket = _logical_id(template, "AWS::S3::Bucket", "ManifestBucket")
    template.has_resource_properties(
        "Custom::CDKBucketDeployment",
        {
            "DestinationBucketName": {"Ref": bucket},
            "DestinationBucketKeyPrefix": "slo",
            "Prune": True,
            "RetainOnDelete": True,
        },
    )
    # The deployed object is the synth-time JSON of the contracts (an asset, not a template string).
    (deployment,) = template.find_resources("Custom::CDKBucketDeployment").values()
    (key,) = deployment["Properties"]["SourceObjectKeys"]
    archive = built["outdir"] / f"asset.{key.removesuffix('.zip')}"
    files = (
        {p.name: p.read_text() for p in archive.iterdir()}
        if archive.is_dir()
        else {
            n: zipfile.ZipFile(f"{archive}.zip").read(n).decode() for n in zipfile.ZipFile(f"{archive}.zip").namelist()
        }
    )
    assert json.loads(files["manifest.json"]) == monitor.manifest.document
    assert [(e["product_key"], e["partition_template"]) for e in monitor.manifest.entries] == [
        ("marketing.campaigns", ""),
        ("marketing.web_sessions", "dt={date:%Y-%m-%d}/hour={local:%H}"),
        ("sales.customers", ""),
        ("sales.orders", "order_date={date:%Y-%m-%d}"),
    ]


def test_unpartitioned_products_are_monitored_without_warning(built: dict[str, Any]) -> None:
    warnings = Annotations.from_stack(built["stack"]).find_warning(
        "/Slo/Monitor", Match.string_like_regexp("data products without an SLO monitor")
    )
    assert warnings == []


def test_products_without_a_period_key_are_reported() -> None:
    contracts = load_contracts([ROOT / "contracts"])
    orders = next(c for c in contracts if c.qualified_name == "sales.orders")
    region = {"name": "region", "type": "string", "description": "Sales region of the order."}
    by_region = DataProductContract.model_validate(
        {**orders.model_dump(mode="json"), "name": "orders_by_region", "partition_keys": [region]}
    )
    stack = Stack(App(builtin_cloud_formation_validation=False), "Slo", env=ENV)
    deliveries = dynamodb.Table.from_table_name(stack, "Deliveries", "acme-deliveries")
    SloMonitor(stack, "Monitor", contracts=[*contracts, by_region], delivery_table=deliveries)
    [warning] = Annotations.from_stack(stack).find_warning(
        "/Slo/Monitor", Match.string_like_regexp("data products without an SLO monitor: sales.orders_by_region")
    )
    assert "do not map to a period" in str(warning.entry.data)


def test_manifest_bucket_is_secure_and_retained(template: Template) -> None:
    bucket = _logical_id(template, "AWS::S3::Bucket", "ManifestBucket")
    resource = template.to_json()["Resources"][bucket]
    assert resource["DeletionPolicy"] == "Retain"
    sse = resource["Properties"]["BucketEncryption"]["ServerSideEncryptionConfiguration"][0]
    assert sse["ServerSideEncryptionByDefault"]["SSEAlgorithm"] == "aws:kms"


# ------------------------------------------------------------------------------------------ schedule


def test_sweeper_runs_on_a_rate_schedule_with_dlq_and_retries(template: Template) -> None:
    sweeper = _logical_id(template, "AWS::Lambda::Function", "SweeperFunction")
    dlq = _logical_id(template, "AWS::SQS::Queue", "ScheduleDeadLetterQueue")
    template.has_resource_properties(
        "AWS::Events::Rule",
        {
            "ScheduleExpression": "rate(5 minutes)",
            "State": "ENABLED",
            "Targets": [
                Match.object_like(
                    {
                        "Arn": {"Fn::GetAtt": [sweeper, "Arn"]},
                        "DeadLetterConfig": {"Arn": {"Fn::GetAtt": [dlq, "Arn"]}},
                        "RetryPolicy": {"MaximumRetryAttempts": 2, "MaximumEventAgeInSeconds": 3600},
                    }
                )
            ],
        },
    )


def test_sweeper_function_settings(template: Template) -> None:
    template.has_resource_properties(
        "AWS::Lambda::Function",
        {
            "Handler": "slo_monitor.handler.main",
            "Runtime": "python3.12",
            "ReservedConcurrentExecutions": 1,
            "MemorySize": 512,
            "Timeout": 300,
            "Environment": {
                "Variables": Match.object_like(
                    {
                        "MANIFEST_KEY": "slo/manifest.json",
                        "DELIVERY_TABLE": "acme-deliveries",
                        "OPEN_BREACH_INDEX": OPEN_BREACH_INDEX,
                        "SWEEP_MINUTES": "5",
                        "OVERLAP_MINUTES": "10",
                        "METRIC_NAMESPACE": "meshworks/slo",
                        "BREACH_RETENTION_DAYS": "90",
                        "MANIFEST_BUCKET": Match.any_value(),
                        "BREACH_TABLE": Match.any_value(),
                        "DOMAIN_TOPIC_ARNS": Match.any_value(),
                        "SLACK_SECRET_ARN": Match.any_value(),
                        "ALERT_DLQ_URL": Match.any_value(),
                    }
                )
            },
        },
    )


def test_domain_topic_map_names_every_domain(template: Template) -> None:
    functions = template.find_resources(
        "AWS::Lambda::Function", {"Properties": {"Handler": "slo_monitor.handler.main"}}
    )
    (sweeper,) = functions.values()
    rendered = json.dumps(sweeper["Properties"]["Environment"]["Variables"]["DOMAIN_TOPIC_ARNS"])
    for domain in ("marketing", "sales"):
        assert f'\\"{domain}\\":' in rendered
        assert _logical_id(template, "AWS::SNS::Topic", f"Topic{domain}") in rendered


# ------------------------------------------------------------------------------------------ state


def test_breach_table_schema_index_ttl_and_retention(template: Template) -> None:
    template.has_resource(
        "AWS::DynamoDB::Table",
        {
            "DeletionPolicy": "Retain",
            "UpdateReplacePolicy": "Retain",
            "Properties": Match.object_like(
                {
                    "KeySchema": [
                        {"AttributeName": "product_key", "KeyType": "HASH"},
                        {"AttributeName": "period_key", "KeyType": "RANGE"},
                    ],
                    "AttributeDefinitions": Match.array_with(
                        [
                            {"AttributeName": "open", "AttributeType": "N"},
                            {"AttributeName": "deadline", "AttributeType": "S"},
                        ]
                    ),
                    "GlobalSecondaryIndexes": [
                        {
                            "IndexName": "open_breaches",
                            "KeySchema": [
                                {"AttributeName": "open", "KeyType": "HASH"},
                                {"AttributeName": "deadline", "KeyType": "RANGE"},
                            ],
                            "Projection": {"ProjectionType": "ALL"},
                        }
                    ],
                    "TimeToLiveSpecification": {"AttributeName": "expires_at", "Enabled": True},
                    "PointInTimeRecoverySpecification": {"PointInTimeRecoveryEnabled": True},
                    "SSESpecification": Match.object_like({"SSEEnabled": True, "SSEType": "KMS"}),
                    "BillingMode": "PAY_PER_REQUEST",
                    "DeletionProtectionEnabled": True,
                }
            ),
        },
    )


def test_slack_secret_is_an_empty_placeholder_encrypted_and_retained(template: Template) -> None:
    template.has_resource(
        "AWS::SecretsManager::Secret",
        {
            "DeletionPolicy": "Retain",
            "Properties": Match.object_like(
                {
                    "Name": "acme/monitoring/slack-webhooks",
                    "SecretString": "{}",
                    "KmsKeyId": {"Fn::GetAtt": [Match.string_like_regexp("MonitorKey"), "Arn"]},
                }
            ),
        },
    )
    text = json.dumps(template.to_json())
    assert "hooks.slack.com" not in text
    assert "https://hooks" not in text


def test_one_encrypted_tls_only_topic_per_domain(template: Template) -> None:
    template.resource_count_is("AWS::SNS::Topic", 2)
    for domain in ("marketing", "sales"):
        template.has_resource_properties(
            "AWS::SNS::Topic",
            {"TopicName": f"acme-slo-{domain}", "KmsMasterKeyId": Match.any_value()},
        )
    policies = template.find_resources("AWS::SNS::TopicPolicy")
    assert len(policies) == 2
    for policy in policies.values():
        statements = policy["Properties"]["PolicyDocument"]["Statement"]
        assert any(
            s["Effect"] == "Deny" and s["Condition"] == {"Bool": {"aws:SecureTransport": "false"}} for s in statements
        ), statements
    template.has_resource_properties(
        "AWS::SNS::Subscription", {"Protocol": "email", "Endpoint": "sales-oncall@example.com"}
    )


def test_alert_dlq_is_encrypted_and_alarmed(template: Template) -> None:
    queue = _logical_id(template, "AWS::SQS::Queue", "AlertDeadLetterQueue")
    template.has_resource_properties(
        "AWS::SQS::Queue", {"KmsMasterKeyId": Match.any_value(), "MessageRetentionPeriod": 1209600}
    )
    template.has_resource_properties(
        "AWS::CloudWatch::Alarm",
        {
            "Namespace": "AWS/SQS",
            "MetricName": "ApproximateNumberOfMessagesVisible",
            "Dimensions": [{"Name": "QueueName", "Value": {"Fn::GetAtt": [queue, "QueueName"]}}],
            "Statistic": "Maximum",
            "Threshold": 1,
            "ComparisonOperator": "GreaterThanOrEqualToThreshold",
        },
    )


def test_monitor_stopped_and_errors_alarms(template: Template) -> None:
    template.has_resource_properties(
        "AWS::CloudWatch::Alarm",
        {
            "Namespace": "AWS/Lambda",
            "MetricName": "Invocations",
            "Statistic": "Sum",
            "Period": 900,
            "EvaluationPeriods": 1,
            "Threshold": 1,
            "ComparisonOperator": "LessThanThreshold",
            "TreatMissingData": "breaching",
        },
    )
    template.has_resource_properties(
        "AWS::CloudWatch::Alarm",
        {
            "Namespace": "AWS/Lambda",
            "MetricName": "Errors",
            "Threshold": 1,
            "ComparisonOperator": "GreaterThanOrEqualToThreshold",
            "TreatMissingData": "notBreaching",
        },
    )
    # sweeper errors, not running, alert DLQ, schedule DLQ, sweeper's own DLQ
    template.resource_count_is("AWS::CloudWatch::Alarm", 5)


# ------------------------------------------------------------------------------------------ least privilege


def test_sweeper_reads_only_its_manifest_object(template: Template) -> None:
    bucket = _logical_id(template, "AWS::S3::Bucket", "ManifestBucket")
    s3_on_manifest = [s for s in _sweeper_statements(template) if any(bucket in json.dumps(r) for r in _resources(s))]
    assert s3_on_manifest == [
        {
            "Action": "s3:GetObject",
            "Effect": "Allow",
            "Resource": {"Fn::Join": ["", [{"Fn::GetAtt": [bucket, "Arn"]}, "/slo/manifest.json"]]},
        }
    ]


def test_sweeper_dynamodb_access_is_exact(template: Template) -> None:
    table = _logical_id(template, "AWS::DynamoDB::Table", "BreachTable")
    grants: dict[str, list[str]] = {}
    for statement in _sweeper_statements(template):
        for action in _actions(statement):
            if action.startswith("dynamodb:"):
                grants.setdefault(action, []).extend(json.dumps(r) for r in _resources(statement))
    assert set(grants) == {
        "dynamodb:BatchGetItem", "dynamodb:Query", "dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem"
    }
    assert all("table/acme-deliveries" in r for r in grants["dynamodb:BatchGetItem"])
    assert grants["dynamodb:Query"] == [
        json.dumps({"Fn::Join": ["", [{"Fn::GetAtt": [table, "Arn"]}, "/index/open_breaches"]]}),
        json.dumps({"Fn::GetAtt": [table, "Arn"]}),  # the alert outbox, LeadingKeys-conditioned
    ]
    outbox = next(s for s in _sweeper_statements(template) if s.get("Sid") == "AlertOutbox")
    assert outbox["Condition"] == {"ForAllValues:StringEquals": {"dynamodb:LeadingKeys": ["#outbox"]}}
    assert grants["dynamodb:PutItem"] == [json.dumps({"Fn::GetAtt": [table, "Arn"]})]


def test_sweeper_secret_queue_topics_and_metrics_only(template: Template) -> None:
    secret = _logical_id(template, "AWS::SecretsManager::Secret", "SlackWebhooks")
    services: dict[str, set[str]] = {}
    for statement in _sweeper_statements(template):
        for action in _actions(statement):
            services.setdefault(action.split(":")[0], set()).add(action)
            resources = _resources(statement)
            if action.startswith("secretsmanager:"):
                assert resources == [{"Ref": secret}]
            if action.startswith("sns:"):
                assert all("Topic" in json.dumps(r) for r in resources)
            if action.startswith("sqs:"):
                # the alert DLQ, and the function's own DLQ for failed asynchronous invocations
                assert all(re.search(r"(Alert|Sweeper)DeadLetterQueue", json.dumps(r)) for r in resources)
            if resources == ["*"]:
                assert statement["Action"] == "cloudwatch:PutMetricData"
                assert statement["Condition"] == {"StringEquals": {"cloudwatch:namespace": "meshworks/slo"}}
    assert set(services) == {"logs", "kms", "s3", "dynamodb", "secretsmanager", "sns", "sqs", "cloudwatch"}
    assert services["s3"] == {"s3:GetObject", "s3:ListBucket"}
    assert services["secretsmanager"] == {"secretsmanager:GetSecretValue", "secretsmanager:DescribeSecret"}
    assert services["sns"] == {"sns:Publish"}


def test_success_markers_and_delivery_key_are_scoped(template: Template) -> None:
    statements = {s.get("Sid"): s for s in _sweeper_statements(template) if s.get("Sid")}
    markers = json.dumps(statements["HeadSuccessMarkers"]["Resource"])
    assert "acme-marketing-lake/*_SUCCESS" in markers and "acme-sales-curated-eu-west-1/*_SUCCESS" in markers
    decrypt = statements["DecryptDeliveriesThroughDynamoDB"]
    assert decrypt["Action"] == "kms:Decrypt"
    assert decrypt["Condition"] == {
        "StringEquals": {
            "kms:ViaService": "dynamodb.eu-west-1.amazonaws.com",
            "kms:EncryptionContext:aws:dynamodb:tableName": "acme-deliveries",
        }
    }


# ------------------------------------------------------------------------------------------ options


def test_slow_sweeps_widen_the_not_running_window() -> None:
    app = App(builtin_cloud_formation_validation=False)
    stack = Stack(app, "Slow", env=ENV)
    SloMonitor(
        stack,
        "Monitor",
        contracts=load_contracts([ROOT / "contracts"]),
        delivery_table=dynamodb.Table.from_table_name(stack, "Deliveries", "acme-deliveries"),
        sweep_interval=Duration.minutes(10),
    )
    template = Template.from_stack(stack)
    template.has_resource_properties("AWS::Events::Rule", {"ScheduleExpression": "rate(10 minutes)"})
    template.has_resource_properties("AWS::CloudWatch::Alarm", {"MetricName": "Invocations", "Period": 1800})


def test_emails_for_unknown_domains_are_rejected() -> None:
    app = App(builtin_cloud_formation_validation=False)
    stack = Stack(app, "Bad", env=ENV)
    with pytest.raises(ValueError, match="domain_alert_emails names domains without monitored products: finance"):
        SloMonitor(
            stack,
            "Monitor",
            contracts=load_contracts([ROOT / "contracts"]),
            delivery_table=dynamodb.Table.from_table_name(stack, "Deliveries", "acme-deliveries"),
            domain_alert_emails={"finance": ["x@example.com"]},
        )


def test_metric_helpers(monitor: SloMonitor) -> None:
    assert monitor.metric_breaches("sales").metric_name == "Breaches"
    assert monitor.metric_breaches("sales").dimensions == {"Domain": "sales"}
    assert monitor.metric_compliance("sales").expression == "100 * ontime_sales / checks_sales"
    assert "SEARCH(" in monitor.metric_breaches_by_domain().expression
    assert monitor.metric_lateness().statistic == "Maximum"
