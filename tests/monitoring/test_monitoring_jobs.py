"""JobFailureAlerts and JobEventForwarder: rules per service, retries and DLQ, dedup table, mute list, IAM."""

from __future__ import annotations

import json
from typing import Any

import pytest
from aws_cdk import App, Environment, Stack
from aws_cdk import aws_secretsmanager as secretsmanager
from aws_cdk.assertions import Match, Template

from meshworks.constructs.monitoring import JobEventForwarder, JobFailureAlerts, JobService, failure_patterns

HUB = Environment(account="111111111111", region="eu-west-1")
COMPUTE = Environment(account="222222222222", region="eu-west-1")
STATE_MACHINE = "arn:aws:states:eu-west-1:111111111111:stateMachine:nightly-load"


@pytest.fixture(scope="module")
def template() -> Template:
    app = App(builtin_cloud_formation_validation=False)
    stack = Stack(app, "Jobs", env=HUB)
    secret = secretsmanager.Secret(stack, "Webhooks")
    JobFailureAlerts(
        stack,
        "Alerts",
        state_machine_arns=[STATE_MACHINE],
        muted_jobs=["sandbox-*", "nightly-scratch"],
        slack_channel="#data-platform-alerts",
        slack_secret=secret,
        emails=["oncall@example.com"],
        source_accounts=["222222222222", "111111111111"],
    )
    return Template.from_stack(stack)


@pytest.fixture(scope="module")
def forwarder_template() -> Template:
    app = App(builtin_cloud_formation_validation=False)
    stack = Stack(app, "Forwarder", env=COMPUTE)
    JobEventForwarder(stack, "JobEvents", target_account="111111111111", alarm_emails=["oncall@example.com"])
    return Template.from_stack(stack)


def _rules(template: Template) -> dict[str, dict[str, Any]]:
    return {
        rule["Properties"]["EventPattern"]["detail-type"][0]: rule["Properties"]
        for rule in template.find_resources("AWS::Events::Rule").values()
    }


def test_one_rule_per_service_with_the_failure_states(template: Template) -> None:
    rules = _rules(template)
    assert rules["Glue Job State Change"]["EventPattern"] == {
        "source": ["aws.glue"],
        "detail-type": ["Glue Job State Change"],
        "detail": {"state": ["FAILED", "TIMEOUT", "STOPPED"]},
    }
    assert rules["EMR Serverless Job Run State Change"]["EventPattern"] == {
        "source": ["aws.emr-serverless"],
        "detail-type": ["EMR Serverless Job Run State Change"],
        "detail": {"state": ["FAILED", "CANCELLED"]},
    }
    assert rules["EMR Step Status Change"]["EventPattern"]["detail"] == {"state": ["FAILED"]}
    assert rules["EMR Step Status Change"]["EventPattern"]["source"] == ["aws.emr"]
    assert rules["EMR Cluster State Change"]["EventPattern"]["detail"] == {"state": ["TERMINATED_WITH_ERRORS"]}
    assert rules["Step Functions Execution Status Change"]["EventPattern"] == {
        "source": ["aws.states"],
        "detail-type": ["Step Functions Execution Status Change"],
        "detail": {"status": ["FAILED", "TIMED_OUT", "ABORTED"], "stateMachineArn": [STATE_MACHINE]},
    }
    assert len(rules) == 5


def test_rules_target_the_function_with_retries_and_a_dlq(template: Template) -> None:
    (function,) = template.find_resources(
        "AWS::Lambda::Function", {"Properties": {"Handler": "slo_monitor.job_alerts.main"}}
    )
    queues = [lid for lid in template.find_resources("AWS::SQS::Queue") if "RuleDeadLetterQueue" in lid]
    assert len(queues) == 1
    for rule in _rules(template).values():
        assert rule["Targets"] == [
            {
                "Arn": {"Fn::GetAtt": [function, "Arn"]},
                "Id": "Target0",
                "DeadLetterConfig": {"Arn": {"Fn::GetAtt": [queues[0], "Arn"]}},
                "RetryPolicy": {"MaximumRetryAttempts": 4, "MaximumEventAgeInSeconds": 7200},
            }
        ]
    template.resource_count_is("AWS::Lambda::Permission", 5)


def test_function_environment_carries_mute_list_and_slack_channel(template: Template) -> None:
    template.has_resource_properties(
        "AWS::Lambda::Function",
        {
            "Handler": "slo_monitor.job_alerts.main",
            "Environment": {
                "Variables": {
                    "ALERT_DEDUP_TABLE": {"Ref": Match.string_like_regexp("AlertsDedupTable")},
                    "DEDUP_TTL_DAYS": "7",
                    "TOPIC_ARN": {"Ref": Match.string_like_regexp("AlertsTopic")},
                    "MUTED_JOBS": json.dumps(["nightly-scratch", "sandbox-*"], separators=(",", ":")),
                    "ALERT_DLQ_URL": {"Ref": Match.string_like_regexp("AlertsAlertDeadLetterQueue")},
                    "SLACK_SECRET_ARN": {"Ref": Match.string_like_regexp("Webhooks")},
                    "SLACK_CHANNEL": "#data-platform-alerts",
                }
            },
        },
    )


def test_dedup_table_ttl_pitr_cmk_retained(template: Template) -> None:
    template.has_resource(
        "AWS::DynamoDB::Table",
        {
            "DeletionPolicy": "Retain",
            "Properties": Match.object_like(
                {
                    "KeySchema": [{"AttributeName": "dedupe_key", "KeyType": "HASH"}],
                    "TimeToLiveSpecification": {"AttributeName": "expires_at", "Enabled": True},
                    "PointInTimeRecoverySpecification": {"PointInTimeRecoveryEnabled": True},
                    "SSESpecification": Match.object_like({"SSEType": "KMS"}),
                }
            ),
        },
    )


def test_function_may_only_put_dedup_markers_and_publish(template: Template) -> None:
    policies = [p for lid, p in template.find_resources("AWS::IAM::Policy").items() if "FunctionRole" in lid]
    actions = {
        a
        for s in policies[0]["Properties"]["PolicyDocument"]["Statement"]
        for a in ([s["Action"]] if isinstance(s["Action"], str) else s["Action"])
    }
    # claim, re-claim / mark SENT, read a held claim (at-least-once alerts, see job_alerts)
    assert {a for a in actions if a.startswith("dynamodb:")} == {"dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:GetItem"}
    assert "emr-serverless:GetJobRun" in actions
    assert "sns:Publish" in actions and "secretsmanager:GetSecretValue" in actions
    assert not [a for a in actions if a.startswith("cloudwatch:")]


def test_topic_is_encrypted_tls_only_with_email(template: Template) -> None:
    template.has_resource_properties("AWS::SNS::Topic", {"KmsMasterKeyId": Match.any_value()})
    template.has_resource_properties(
        "AWS::SNS::TopicPolicy",
        {
            "PolicyDocument": {
                "Statement": Match.array_with(
                    [Match.object_like({"Effect": "Deny", "Condition": {"Bool": {"aws:SecureTransport": "false"}}})]
                )
            }
        },
    )
    template.has_resource_properties("AWS::SNS::Subscription", {"Protocol": "email", "Endpoint": "oncall@example.com"})


def test_other_accounts_may_forward_job_events(template: Template) -> None:
    policies = template.find_resources("AWS::Events::EventBusPolicy")
    assert len(policies) == 1  # the stack's own account is not listed
    (policy,) = policies.values()
    statement = policy["Properties"]["Statement"]
    assert policy["Properties"]["EventBusName"] == "default"
    assert statement["Action"] == "events:PutEvents"
    assert "222222222222:root" in json.dumps(statement["Principal"])
    assert statement["Condition"] == {
        "StringEquals": {"events:source": ["aws.emr", "aws.emr-serverless", "aws.glue", "aws.states"]}
    }


def test_own_failures_alarm(template: Template) -> None:
    template.has_resource_properties(
        "AWS::CloudWatch::Alarm", {"Namespace": "AWS/Lambda", "MetricName": "Errors", "Threshold": 1}
    )
    # function errors, rule DLQ, function DLQ, own alert DLQ
    template.resource_count_is("AWS::CloudWatch::Alarm", 4)


def test_invalid_combinations() -> None:
    stack = Stack(App(builtin_cloud_formation_validation=False), "Bad", env=HUB)
    with pytest.raises(ValueError, match="slack_channel needs slack_secret"):
        JobFailureAlerts(stack, "NoSecret", slack_channel="#x")
    with pytest.raises(ValueError, match="Step Functions is not among services"):
        JobFailureAlerts(stack, "NoStates", services=[JobService.GLUE], state_machine_arns=[STATE_MACHINE])


def test_services_can_be_limited() -> None:
    stack = Stack(App(builtin_cloud_formation_validation=False), "GlueOnly", env=HUB)
    alerts = JobFailureAlerts(stack, "Alerts", services=[JobService.GLUE])
    assert list(alerts.rules) == [JobService.GLUE]
    assert alerts.metric_failures(JobService.GLUE).metric_name == "TriggeredRules"
    Template.from_stack(stack).resource_count_is("AWS::Events::Rule", 1)


def test_forwarder_sends_the_same_patterns_to_the_hub_bus(forwarder_template: Template) -> None:
    rules = _rules(forwarder_template)
    assert {k: v["EventPattern"] for k, v in rules.items()} == {
        p["detail-type"][0]: p for p in failure_patterns().values()
    }
    for rule in rules.values():
        (target,) = rule["Targets"]
        assert "arn:" in json.dumps(target["Arn"]) and ":events:eu-west-1:111111111111:event-bus/default" in json.dumps(
            target["Arn"]
        )
        assert "RoleArn" in target and "DeadLetterConfig" in target


def test_forwarder_role_dlq_and_alarm(forwarder_template: Template) -> None:
    (policy,) = forwarder_template.find_resources("AWS::IAM::Policy").values()
    (statement,) = policy["Properties"]["PolicyDocument"]["Statement"]
    assert statement["Action"] == "events:PutEvents"
    assert ":events:eu-west-1:111111111111:event-bus/default" in json.dumps(statement["Resource"])
    forwarder_template.has_resource_properties(
        "AWS::CloudWatch::Alarm",
        {
            "MetricName": "ApproximateNumberOfMessagesVisible",
            "AlarmActions": [{"Ref": Match.string_like_regexp("AlarmTopic")}],
        },
    )
    forwarder_template.has_resource_properties(
        "AWS::SNS::Subscription", {"Protocol": "email", "Endpoint": "oncall@example.com"}
    )
