"""``SpokeStack``: what a consumer account deploys directly to receive the mesh's shares."""

from __future__ import annotations

from collections.abc import Sequence

from aws_cdk import Duration, Stack
from constructs import Construct

from meshworks.constructs.mesh.share_acceptor import ShareAcceptor

from .creation_stacks import skip_creation_stack_traces


class SpokeStack(Stack):
    """Composes a ``ShareAcceptor`` trusting ``hub_account_id`` and granting ``local_principal_arns``."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        hub_account_id: str,
        local_principal_arns: Sequence[str] = (),
        schedule: Duration = Duration.minutes(30),
        sharing_mode: str = "lf_tags",
        **kwargs,
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)
        skip_creation_stack_traces(self)
        self.acceptor = ShareAcceptor(
            self,
            "ShareAcceptor",
            hub_account_id=hub_account_id,
            local_principal_arns=list(local_principal_arns),
            schedule=schedule,
            sharing_mode=sharing_mode,
        )
