"""Every EventBridge Scheduler dead-letter queue of the reference app can be written by the schedule's role.

EventBridge Scheduler delivers dead letters with the schedule's execution role (Scheduler user guide,
"Configuring a schedule's dead-letter queue": the role needs ``sqs:SendMessage``). SQS encrypts each message with
the queue's KMS key on the sender's behalf, so the sender also needs ``kms:GenerateDataKey`` on that key (SQS
developer guide, key management). CDK's scheduler targets grant ``sqs:SendMessage`` only: with a CMK-encrypted
queue every dead letter would be refused, silently. Before the fix the share acceptor's schedule (spoke stacks and
the Service Catalog product) failed this audit; the feature job's schedule is covered from its first version.
"""

from __future__ import annotations

import fnmatch

from tests.aws_enforcement import role_policy_documents
from tests.harness import SynthesizedPlatform


def _as_list(value: object) -> list:
    return value if isinstance(value, list) else [value]


def _gaps(template: dict) -> list[str]:
    resources = template["Resources"]
    problems = []
    for schedule_id, schedule in resources.items():
        if schedule["Type"] != "AWS::Scheduler::Schedule":
            continue
        target = schedule["Properties"]["Target"]
        queue_arn = target.get("DeadLetterConfig", {}).get("Arn")
        if not queue_arn:
            problems.append(f"{schedule_id}: no dead-letter queue")
            continue
        queue = resources[queue_arn["Fn::GetAtt"][0]]
        key = queue["Properties"].get("KmsMasterKeyId")
        if key is None or isinstance(key, str):
            continue  # SQS-managed or AWS-managed key: no key grant needed
        role = target["RoleArn"]["Fn::GetAtt"][0]
        statements = [s for d in role_policy_documents(template, role) for s in _as_list(d["Statement"])]
        needed = {"sqs:SendMessage": queue_arn, "kms:GenerateDataKey": key}
        for action, resource in needed.items():
            if not any(
                s["Effect"] == "Allow"
                and any(fnmatch.fnmatchcase(action, a) for a in _as_list(s["Action"]))
                and resource in _as_list(s["Resource"])
                for s in statements
            ):
                problems.append(f"{schedule_id}: role {role} lacks {action} on {resource}")
    return problems


def test_schedule_roles_can_write_their_encrypted_dead_letter_queues(platform: SynthesizedPlatform) -> None:
    checked = [name for name, t in platform.templates.items()
               if any(r["Type"] == "AWS::Scheduler::Schedule" for r in t["Resources"].values())]
    assert {"Features"} <= set(checked) and any(name.startswith("Spoke-") for name in checked)
    problems = {name: _gaps(platform.templates[name]) for name in checked}
    assert {name: p for name, p in problems.items() if p} == {}
