"""``DeadLetterQueue``: an encrypted, TLS-only SQS queue that holds what could not be delivered."""

from __future__ import annotations

from aws_cdk import Duration
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_kms as kms
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from .inputs import whole_duration
from .nag import acknowledge


class DeadLetterQueue(sqs.Queue):
    """A dead-letter queue: KMS-encrypted, TLS enforced, messages kept 14 days.

    Example::

        from aws_cdk import App, Stack
        from aws_cdk import aws_events as events
        from aws_cdk import aws_events_targets as targets
        from aws_cdk import aws_sqs as sqs

        from meshworks.constructs.core import DeadLetterQueue, PlatformKey

        app = App()
        stack = Stack(app, "Jobs")
        key = PlatformKey(stack, "Key")
        dlq = DeadLetterQueue(stack, "RuleDlq", encryption_key=key, receives="the job-failure rule's target")
        rule = events.Rule(stack, "JobFailed", event_pattern=events.EventPattern(source=["aws.glue"]))
        inbox = sqs.Queue(stack, "Inbox", encryption_master_key=key, enforce_ssl=True, dead_letter_queue=sqs.DeadLetterQueue(queue=dlq, max_receive_count=3))
        rule.add_target(targets.SqsQueue(inbox, dead_letter_queue=dlq))
        app.synth()

    Args:
        encryption_key: the CMK encrypting messages.
        receives: what the queue is the dead-letter queue of (goes into the cdk-nag acknowledgement
            of ``AwsSolutions-SQS3``: a dead-letter queue needs no dead-letter queue of its own).
        retention_period: Default: 14 days (the SQS maximum).
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        encryption_key: kms.IKey,
        receives: str,
        retention_period: Duration = Duration.days(14),
    ) -> None:
        whole_duration("DeadLetterQueue", "retention_period", retention_period, "seconds", minimum=60, maximum=1_209_600)
        super().__init__(
            scope,
            construct_id,
            encryption=sqs.QueueEncryption.KMS,
            encryption_master_key=encryption_key,
            enforce_ssl=True,
            retention_period=retention_period,
        )
        acknowledge(self, {"AwsSolutions-SQS3": f"This queue is the dead-letter queue of {receives}."})


def dead_letter_alarm(scope: Construct, construct_id: str, queue: sqs.IQueue, what: str) -> cloudwatch.Alarm:
    """An alarm as soon as one message waits in ``queue`` (maximum of ``ApproximateNumberOfMessagesVisible``
    over 5 minutes >= 1; no data is not breaching). Every dead-letter queue gets one: a message there
    is an event nobody processed.

    Example::

        from aws_cdk import App, Stack
        from aws_cdk import aws_cloudwatch_actions as cw_actions
        from aws_cdk import aws_sns as sns

        from meshworks.constructs.core import DeadLetterQueue, PlatformKey
        from meshworks.constructs.core.dead_letter_queue import dead_letter_alarm

        app = App()
        stack = Stack(app, "Jobs")
        key = PlatformKey(stack, "Key")
        dlq = DeadLetterQueue(stack, "RuleDlq", encryption_key=key, receives="the job-failure rule's target")
        ops_topic = sns.Topic(stack, "Ops", master_key=key, enforce_ssl=True)
        alarm = dead_letter_alarm(stack, "RuleDlqDepth", dlq, "Job-failure events not delivered")
        alarm.add_alarm_action(cw_actions.SnsAction(ops_topic))
        app.synth()
    """
    return cloudwatch.Alarm(
        scope,
        construct_id,
        alarm_description=f"{what}: at least one message is waiting in {queue.node.path}; inspect and redrive it.",
        metric=queue.metric_approximate_number_of_messages_visible(period=Duration.minutes(5), statistic="Maximum"),
        threshold=1,
        evaluation_periods=1,
        comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
    )
