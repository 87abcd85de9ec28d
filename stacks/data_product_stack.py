"""``DataProductStack``: one shard of data products (see ``plan_shards``), checked against the CloudFormation limits."""

from __future__ import annotations

import json
from collections.abc import Collection, Sequence
from weakref import WeakKeyDictionary

import jsii
from aws_cdk import CfnResource, Stack, Token
from constructs import Construct, IConstruct, IValidation

from meshworks.constructs.core.rendered_resources import RenderedResourcesSynthesizer, write_template_text
from meshworks.constructs.mesh.data_product import SharingMode
from meshworks.constructs.mesh.data_product_catalog import ROLE_ARN_ALLOWANCE, DataProductCatalog, ShardPlan

from .creation_stacks import skip_creation_stack_traces

#: Children a DataProductStack has at validation: its catalog and what `cdk synth` adds (CDKMetadata
#: with version reporting on, the bootstrap-version parameter and rule), all within TEMPLATE_BASE_BYTES.
CDK_CHILDREN = frozenset({"Products", "CDKMetadata", "BootstrapVersion", "CheckBootstrapVersion"})
#: Bytes a resource adds to the written template besides its properties (logical id, Type,
#: DeletionPolicy, DependsOn, aws:cdk:path metadata and the one-space indentation CDK writes).
RESOURCE_OVERHEAD_BYTES = 600


@jsii.implements(IValidation)
class TemplateSizeCheck:
    """Synth-time check: the stack's template stays under ``max_bytes`` (CloudFormation: 1 MB).

    CDK refuses more than 500 resources but never checks the size. The check costs nothing on the
    happy path: the shard's plan carries an upper bound of its written template computed in Python
    from the contracts (``ShardPlan.template_bytes``). Only when that bound exceeds the budget (or
    the stack holds more than the plan, or the role ARN or account is a token) does it run the exact
    estimate, :func:`estimate_template_bytes`, which resolves every resource through jsii.
    ``tests/mesh`` checks both estimates are never below the real size.
    """

    def __init__(self, stack: DataProductStack, max_bytes: int, *, bound: int | None) -> None:
        self._stack = stack
        self._max = max_bytes
        self._bound = bound
        #: The figure checked: the plan's bound, or the exact estimate when the bound was not enough.
        self.estimate = 0
        #: True when the exact (jsii) estimate ran.
        self.resolved = False

    def validate(self) -> list[str]:
        if self._bound is not None and self._bound <= self._max and self._holds_only_the_plan():
            self.estimate = self._bound
            return []
        self.resolved = True
        self.estimate = estimate_template_bytes(self._stack)
        if self.estimate <= self._max:
            return []
        return [
            f"{self._stack.stack_name}: template estimated at {self.estimate:,} bytes, over the budget of "
            f"{self._max:,} (CloudFormation rejects templates over 1 MB). Its products grew after the shard lock "
            "placed them (more columns, consumers or longer descriptions): delete the lock entries of products "
            "not deployed yet from this shard and run `meshworks shards` to place them elsewhere"
        ]


    def _holds_only_the_plan(self) -> bool:
        """The stack holds the catalog and what CDK adds (metadata, bootstrap-version check), nothing else."""
        return {child.node.id for child in self._stack.node.children} <= CDK_CHILDREN


def app_default_synthesizer(scope: IConstruct) -> object | None:
    """The app's ``App(default_stack_synthesizer=...)``, which every stack not given ``synthesizer=`` uses.

    aws-cdk-lib keeps it in the context under a private key (``aws-cdk-private:<random>:core/defaultStackSynthesizer``).
    Read once per scope (all of its context crosses jsii): a node's context cannot change once it has children.
    """
    if scope not in _DEFAULT_SYNTHESIZERS:
        _DEFAULT_SYNTHESIZERS[scope] = next(
            (
                value
                for key, value in scope.node.get_all_context().items()
                if key.startswith("aws-cdk-private:") and key.endswith(":core/defaultStackSynthesizer")
            ),
            None,
        )
    return _DEFAULT_SYNTHESIZERS[scope]


_DEFAULT_SYNTHESIZERS: WeakKeyDictionary[IConstruct, object | None] = WeakKeyDictionary()


def _resources(scope: IConstruct) -> list[CfnResource]:
    return [c for c in scope.node.find_all() if isinstance(c, CfnResource) and Stack.of(c) is Stack.of(scope)]


def estimate_template_bytes(stack: Stack) -> int:
    """Estimated size of ``stack``'s written template (properties as CDK writes them + overhead).

    Resolves every resource through jsii (three round trips each): exact but slow at scale, so
    ``TemplateSizeCheck`` runs it only when the plan's own bound is not enough. Resources rendered
    in Python (a rendered catalog) are measured as written, without jsii.
    """
    total = 2_000  # Description, Parameters (bootstrap version), Rules, Conditions
    rendered = getattr(getattr(stack, "catalog", None), "rendered_resources", None)
    if rendered:
        # bytes, not characters: CloudFormation's limit is in bytes, and a non-ASCII character is 2-4 in UTF-8
        total += len(write_template_text({"Resources": rendered}).encode("utf-8")) + 1_000
    for resource in _resources(stack):
        properties = stack.resolve(resource._render_properties(resource._cfn_properties))  # noqa: SLF001
        total += len(json.dumps(properties, indent=1)) * 13 // 10 + RESOURCE_OVERHEAD_BYTES
    return total


class DataProductStack(Stack):
    """Composes a ``DataProductCatalog`` for one shard and checks the stack's size limits at synth.

    Args:
        plan, catalog_id, data_access_role_arn, sharing_mode, allowed_consumer_accounts,
            location_access_role_arns: as ``DataProductCatalog``'s.
        max_resources: resource budget of the stack. Default: 450 (CloudFormation allows 500).
        max_template_bytes: template budget. Default: 900,000 (CloudFormation allows 1 MB).
        render_resources: render the catalog's resources in Python into the template
            (``DataProductCatalog(render_into=...)``: byte-identical templates, no jsii round trip per
            resource; 10,000 products build and synthesize about 2x faster, ``benchmarks/RESULTS.md``)
            instead of building them as constructs. Rendered resources are not visited by Aspects
            (none of their types is taggable or checked by the cdk-nag packs meshworks runs) and have no
            escape hatch each: pass False to get constructs. Ignored (constructs) when the stack's
            synthesizer (``synthesizer=``, else ``App(default_stack_synthesizer=...)``) is given and is not a
            ``RenderedResourcesSynthesizer``. Default: True.
        kwargs: ``Stack`` properties.
    """

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
        render_resources: bool = True,
        **kwargs,
    ) -> None:
        if render_resources and kwargs.get("synthesizer") is None and app_default_synthesizer(scope) is None:
            kwargs["synthesizer"] = RenderedResourcesSynthesizer()
        super().__init__(scope, construct_id, **kwargs)
        synthesizer = self.synthesizer
        skip_creation_stack_traces(self)  # capturing them cost ~10 % of building a shard
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
            render_into=synthesizer
            if render_resources and isinstance(synthesizer, RenderedResourcesSynthesizer)
            else None,
        )
        # The plan's bound assumes a 12-digit account, a role ARN of at most ROLE_ARN_ALLOWANCE
        # characters and this stack id; anything else is measured exactly.
        plain = (
            len(catalog_id) == 12
            and not Token.is_unresolved(catalog_id)
            and (
                data_access_role_arn is None
                or (len(data_access_role_arn) <= ROLE_ARN_ALLOWANCE and not Token.is_unresolved(data_access_role_arn))
            )
            and construct_id == plan.stack_id
            and self.catalog.resource_count == plan.resources
        )
        self.size_check = TemplateSizeCheck(self, max_template_bytes, bound=plan.template_bytes if plain else None)
        self.node.add_validation(self.size_check)

    def rename_logical_id(self, old_id: str, new_id: str) -> None:
        """``Stack.rename_logical_id``; refused (``ValueError``) for a rendered resource, which the CDK cannot rename.

        Without this check the CDK fails the synth saying the id was "not found" although the template holds it.
        """
        if old_id in self.catalog.rendered_resources:
            raise ValueError(
                f"{self.node.path}: {old_id} is rendered (DataProductStack(render_resources=True), the default), and "
                "the CDK renames only the logical ids of constructs: pass render_resources=False to rename it"
            )
        super().rename_logical_id(old_id, new_id)
