"""The cdk-nag acknowledgements a feature-table grant leaves on the grantee's policy (the user's role)."""

from __future__ import annotations

from aws_cdk import aws_iam as iam
from constructs import Construct

from ..core.nag import Rule, acknowledge_policies

INLINE_GRANT = (
    "Added by this library's grant_read_data/grant_write_data to the grantee's default policy, as every CDK "
    "grant_* method does; each statement names one feature table (and its key or Keyspaces' system keyspaces)."
)


def acknowledge_grant(grantee: iam.IGrantable, rules: list[Rule]) -> None:
    """Acknowledge, on the grantee's IAM policies, the wildcards ``rules`` declare and NIST's inline-policy rule.

    Only roles and users of this app carry a policy here (an imported principal gets none); repeated grants
    add the same acknowledgements again, which cdk-nag tolerates.
    """
    principal = grantee.grant_principal
    if isinstance(principal, Construct):
        acknowledge_policies(principal, rules, extra={"NIST.800.53.R5-IAMNoInlinePolicy": INLINE_GRANT})
