"""Audits over every synthesized template: failure paths are watched, other accounts' key use is scoped.

- Every dead-letter queue (a Lambda's ``DeadLetterConfig``, an EventBridge rule or Scheduler
  target's ``DeadLetterConfig``, an SQS redrive target) has a CloudWatch alarm on it in the same
  template: a message there is a lost event, and nobody looks at a queue nobody is paged for.
- Every EventBridge rule target and Scheduler target that invokes something has a dead-letter queue
  and retries (no ``RetryPolicy`` means the services' default, 185 attempts over 24 hours; an explicit
  ``MaximumRetryAttempts`` of 0 is refused): a failed delivery is retried, then kept and seen.
- A KMS key policy never lets another account use the key without ``kms:ViaService`` (issue 9
  item 5: consumer accounts had unconditioned ``kms:Decrypt`` on the hub key).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

from tests.harness import SynthesizedPlatform

#: Instances owned by another branch of this round (the hub's notifier alarms: h-notifier).
OWNED_ELSEWHERE = {("MeshHub", "HubNotifierDeadLetterQueue")}


def _refs(node: Any) -> set[str]:
    return set(re.findall(r'"(?:Ref|Fn::GetAtt)": \[?"([A-Za-z0-9]+)"', json.dumps(node)))


def dead_letter_queues(template: dict[str, Any]) -> dict[str, str]:
    """Logical id of each queue used as a dead-letter queue -> what uses it."""
    queues: dict[str, str] = {}
    for logical_id, resource in template.get("Resources", {}).items():
        props = resource.get("Properties", {})
        found: list[Any] = []
        if resource["Type"] == "AWS::Lambda::Function":
            found = [props.get("DeadLetterConfig")]
        elif resource["Type"] == "AWS::Events::Rule":
            found = [target.get("DeadLetterConfig") for target in props.get("Targets", [])]
        elif resource["Type"] == "AWS::Scheduler::Schedule":
            found = [props["Target"].get("DeadLetterConfig")]
        elif resource["Type"] == "AWS::SQS::Queue":
            found = [props.get("RedrivePolicy")]
        for config in filter(None, found):
            for queue in _refs(config):
                queues[queue] = f"{resource['Type']} {logical_id}"
    return queues


def targets(template: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    """(``<type> <logical id>``, target) of every rule and schedule target."""
    for logical_id, resource in template.get("Resources", {}).items():
        props = resource.get("Properties", {})
        if resource["Type"] == "AWS::Events::Rule":
            for target in props.get("Targets", []):
                yield f"rule {logical_id} target {target.get('Id')}", target
        elif resource["Type"] == "AWS::Scheduler::Schedule":
            yield f"schedule {logical_id}", props["Target"]


def alarmed(template: dict[str, Any]) -> set[str]:
    return {
        ref
        for resource in template.get("Resources", {}).values()
        if resource["Type"] == "AWS::CloudWatch::Alarm"
        for ref in _refs([resource["Properties"].get("Dimensions", []), resource["Properties"].get("Metrics", [])])
    }


def _owned_elsewhere(stack: str, logical_id: str) -> bool:
    return any(stack == s and logical_id.startswith(prefix) for s, prefix in OWNED_ELSEWHERE)


def test_every_dead_letter_queue_has_an_alarm(platform: SynthesizedPlatform) -> None:
    unwatched = [
        f"{stack}/{queue} (dead-letter queue of {user})"
        for stack, template in platform.templates.items()
        for queue, user in dead_letter_queues(template).items()
        if queue not in alarmed(template) and not _owned_elsewhere(stack, queue)
    ]
    assert not unwatched, "dead-letter queues nobody is alarmed about:\n" + "\n".join(sorted(unwatched))


def test_every_rule_and_schedule_target_retries_into_a_dead_letter_queue(platform: SynthesizedPlatform) -> None:
    problems = [
        f"{stack}/{name}: DeadLetterConfig={'DeadLetterConfig' in target}, "
        f"retries={target.get('RetryPolicy', {}).get('MaximumRetryAttempts')}"
        for stack, template in platform.templates.items()
        for name, target in targets(template)
        if "DeadLetterConfig" not in target or target.get("RetryPolicy", {}).get("MaximumRetryAttempts", 185) < 1
    ]
    assert not problems, "targets without retries or dead-letter queue:\n" + "\n".join(sorted(problems))


def test_the_audits_see_what_they_check(platform: SynthesizedPlatform) -> None:
    """The audits are not vacuous: the platform has dead-letter queues, targets and alarms."""
    queues = {q for t in platform.templates.values() for q in dead_letter_queues(t)}
    assert len(queues) >= 8
    assert sum(1 for t in platform.templates.values() for _ in targets(t)) >= 6


def _principal_accounts(statement: dict[str, Any]) -> set[str]:
    aws = statement.get("Principal", {}).get("AWS", []) if isinstance(statement.get("Principal"), dict) else []
    text = json.dumps(aws)
    return set(re.findall(r"arn:aws:iam::(\d{12}):", text)) | set(re.findall(r'"(\d{12})"', text))


def _own_account(statements: list[dict[str, Any]]) -> set[str]:
    """The key's own account: the principal of its ``kms:*`` administration statement (if literal)."""
    return {a for st in statements if st.get("Action") == "kms:*" for a in _principal_accounts(st)}


def test_no_other_account_uses_a_key_without_via_service(platform: SynthesizedPlatform) -> None:
    problems = []
    for stack, logical_id, resource in platform.resources("AWS::KMS::Key"):
        statements = resource["Properties"]["KeyPolicy"]["Statement"]
        own = _own_account(statements)
        for statement in statements:
            others = _principal_accounts(statement) - own
            if others and statement["Effect"] == "Allow" and "kms:ViaService" not in json.dumps(
                statement.get("Condition", {})
            ):
                problems.append(f"{stack}/{logical_id}: {sorted(others)} may {statement['Action']} unconditioned")
    assert not problems, "\n".join(problems)
