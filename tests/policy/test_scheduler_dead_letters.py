"""EventBridge Scheduler delivers dead letters with the schedule's execution role (Scheduler user guide,
"Configuring a schedule's dead-letter queue": execution role permissions), and SQS lets a producer send to a
KMS-encrypted queue only with ``kms:GenerateDataKey`` and ``kms:Decrypt`` on the queue's key (SQS developer
guide, key management). A role with ``sqs:SendMessage`` alone loses every dead letter silently.

Checked on every schedule with a dead-letter queue, in the reference app and in ``FileIngestion``'s app.
"""

from __future__ import annotations

import fnmatch
import json
from typing import Any

import pytest

from tests.harness import SynthesizedPlatform
from tests.ingestion.file_app import file_app


def _allows(statements: list[dict[str, Any]], action: str, resource: Any) -> bool:
    target = json.dumps(resource, sort_keys=True)
    for statement in statements:
        if statement.get("Effect") != "Allow":
            continue
        actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
        resources = statement.get("Resource", [])
        resources = resources if isinstance(resources, list) else [resources]
        if any(fnmatch.fnmatchcase(action, a) for a in actions) and (
            "*" in resources or target in {json.dumps(r, sort_keys=True) for r in resources}
        ):
            return True
    return False


def dead_letter_problems(name: str, template: dict[str, Any]) -> list[str]:
    resources = template["Resources"]
    problems = []
    for logical_id, resource in resources.items():
        if resource["Type"] != "AWS::Scheduler::Schedule":
            continue
        target = resource["Properties"]["Target"]
        queue_arn = target.get("DeadLetterConfig", {}).get("Arn")
        if not queue_arn or "Fn::GetAtt" not in queue_arn:
            continue
        role_id = target["RoleArn"]["Fn::GetAtt"][0]
        statements = [
            s for r in resources.values() if r["Type"] == "AWS::IAM::Policy" and {"Ref": role_id} in r["Properties"]["Roles"]
            for s in r["Properties"]["PolicyDocument"]["Statement"]
        ]
        queue = resources[queue_arn["Fn::GetAtt"][0]]["Properties"]
        needed = [("sqs:SendMessage", queue_arn)]
        key = queue.get("KmsMasterKeyId")
        if key is not None:
            needed += [("kms:GenerateDataKey", key), ("kms:Decrypt", key)]
        problems += [f"{name}/{logical_id}: {action} on {json.dumps(arn)}" for action, arn in needed
                     if not _allows(statements, action, arn)]
    return problems


def test_file_ingestion_schedule_can_deliver_its_dead_letters() -> None:
    templates = file_app().templates
    assert any(r["Type"] == "AWS::Scheduler::Schedule" for r in templates["Files"]["Resources"].values())
    assert [p for name, t in templates.items() for p in dead_letter_problems(name, t)] == []


@pytest.mark.usefixtures("platform")
def test_every_schedule_of_the_reference_app_can_deliver_its_dead_letters(platform: SynthesizedPlatform) -> None:
    assert [p for name, t in platform.templates.items() for p in dead_letter_problems(name, t)] == []


def rule_dead_letter_problems(name: str, template: dict[str, Any]) -> list[str]:
    """EventBridge (rules) sends dead letters as ``events.amazonaws.com``: the queue's key policy must let that
    service ``kms:GenerateDataKey`` and ``kms:Decrypt`` (EventBridge user guide, dead-letter queues: encrypted
    queues need a customer managed key whose policy allows EventBridge)."""
    resources = template["Resources"]
    problems = []
    for logical_id, resource in resources.items():
        if resource["Type"] != "AWS::Events::Rule":
            continue
        for target in resource["Properties"].get("Targets", []):
            queue_arn = target.get("DeadLetterConfig", {}).get("Arn")
            if not isinstance(queue_arn, dict) or "Fn::GetAtt" not in queue_arn:
                continue
            key = resources[queue_arn["Fn::GetAtt"][0]]["Properties"].get("KmsMasterKeyId")
            if not isinstance(key, dict) or "Fn::GetAtt" not in key:
                continue
            statements = resources[key["Fn::GetAtt"][0]]["Properties"]["KeyPolicy"]["Statement"]
            service = [s for s in statements if s.get("Effect") == "Allow"
                       and "events.amazonaws.com" in json.dumps(s.get("Principal", {}))]
            for action in ("kms:GenerateDataKey", "kms:Decrypt"):
                if not _allows(service, action, "*"):
                    problems.append(f"{name}/{logical_id}: key {key['Fn::GetAtt'][0]} does not let EventBridge {action}")
    return problems


def test_file_ingestion_rule_can_deliver_its_dead_letters() -> None:
    assert [p for name, t in file_app().templates.items() for p in rule_dead_letter_problems(name, t)] == []


@pytest.mark.usefixtures("platform")
def test_every_rule_of_the_reference_app_can_deliver_its_dead_letters(platform: SynthesizedPlatform) -> None:
    assert [p for name, t in platform.templates.items() for p in rule_dead_letter_problems(name, t)] == []
