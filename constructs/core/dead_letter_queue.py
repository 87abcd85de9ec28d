"""``DeadLetterQueue``: an encrypted, TLS-only SQS queue that holds what could not be delivered."""

from __future__ import annotations

from aws_cdk import Duration
from aws_cdk import aws_kms as kms
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from .inputs import whole_duration
from .nag import acknowledge


class DeadLetterQueue(sqs.Queue):
    """A dead-letter queue: KMS-encrypted, TLS enforced, messages kept 14 days.

    Example::

        dlq = DeadLetterQueue(self, "RuleDlq", encryption_key=key, receives="the job-failure rules' target")
        rule.add_target(targets.LambdaFunction(fn, dead_letter_queue=dlq))

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
