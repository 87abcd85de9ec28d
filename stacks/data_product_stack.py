"""``DataProductStack``: one shard of data products (see ``plan_shards``), checked against the CloudFormation limits."""

from __future__ import annotations

import json
from collections.abc import Collection, Sequence

import jsii
from aws_cdk import CfnResource, Stack
from constructs import Construct, IConstruct, IValidation

from meshworks.constructs.mesh.data_product import SharingMode
from meshworks.constructs.mesh.data_product_catalog import DataProductCatalog, ShardPlan

#: Bytes a resource adds to the written template besides its properties (logical id, Type,
#: DeletionPolicy, DependsOn, aws:cdk:path metadata and the one-space indentation CDK writes).
RESOURCE_OVERHEAD_BYTES = 600


@jsii.implements(IValidation)
class TemplateSizeCheck:
    """Synth-time check: the stack's template stays under ``max_bytes`` (CloudFormation: 1 MB).

    CDK refuses more than 500 resources but never checks the size, so this estimates the written
    template from each resource's resolved properties (indented as CDK writes them) plus a fixed
    overhead per resource; ``tests/mesh`` checks the estimate is never below the real size.
    """

    def __init__(self, stack: Stack, max_bytes: int) -> None:
        self._stack = stack
        self._max = max_bytes
        self.estimate = 0

    def validate(self) -> list[str]:
        self.estimate = estimate_template_bytes(self._stack)
        if self.estimate <= self._max:
            return []
        return [
            f"{self._stack.stack_name}: template estimated at {self.estimate:,} bytes, over the budget of "
            f"{self._max:,} (CloudFormation rejects templates over 1 MB): raise mesh.shards_per_domain "
            "(or mesh.domain_shards for this domain) before the domain's first deployment"
        ]


def _resources(scope: IConstruct) -> list[CfnResource]:
    return [c for c in scope.node.find_all() if isinstance(c, CfnResource) and Stack.of(c) is Stack.of(scope)]


def estimate_template_bytes(stack: Stack) -> int:
    """Estimated size of ``stack``'s written template (properties as CDK writes them + overhead)."""
    total = 2_000  # Description, Parameters (bootstrap version), Rules, Conditions
    for resource in _resources(stack):
        properties = stack.resolve(resource._render_properties(resource._cfn_properties))  # noqa: SLF001
        total += len(json.dumps(properties, indent=1)) * 13 // 10 + RESOURCE_OVERHEAD_BYTES
    return total


class DataProductStack(Stack):
    """Composes a ``DataProductCatalog`` for one shard and checks the stack's size limits at synth."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        plan: ShardPlan,
        catalog_id: str,
        data_access_role_arn: str | None,
        sharing_mode: SharingMode | str = SharingMode.LF_TAGS,
        max_resources: int = 450,
        max_template_bytes: int = 900_000,
        allowed_consumer_accounts: Collection[str] = (),
        location_access_role_arns: Sequence[str] = (),
        **kwargs,
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)
        self.plan = plan
        self.catalog = DataProductCatalog(
            self,
            "Products",
            plan=plan,
            catalog_id=catalog_id,
            data_access_role_arn=data_access_role_arn,
            sharing_mode=sharing_mode,
            max_resources=max_resources,
            allowed_consumer_accounts=allowed_consumer_accounts,
            location_access_role_arns=location_access_role_arns,
        )
        self.size_check = TemplateSizeCheck(self, max_template_bytes)
        self.node.add_validation(self.size_check)
