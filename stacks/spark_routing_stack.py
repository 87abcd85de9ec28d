"""``SparkRoutingStack``: the routing parameters of one shard of the Spark job catalog.

A stack holds at most 500 resources (CDK refuses more at synth with ``TooManyResourcesInStack``) and
every job costs one SSM parameter, so the catalog's job parameters live in ``spark.routing_shards``
stacks of their own (``<prefix>-spark-routing-<nn>``), not in the Spark stack: a job's stack is a
stable hash of its name (:func:`~meshworks.constructs.mesh.data_product_catalog.shard_index`), so
adding or removing jobs never moves another job. Changing ``routing_shards`` moves jobs: their
parameters are deleted from one stack and created in another (the Spark stack deploys first; readers
see a missing parameter in between).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

from aws_cdk import Stack
from constructs import Construct

from meshworks.constructs.mesh.data_product_catalog import shard_index
from meshworks.constructs.spark.job_rollout import JobRollout
from meshworks.constructs.spark.models import JobCatalog

from .creation_stacks import skip_creation_stack_traces

#: Resources one routing stack may hold (CloudFormation: 500; room for CDK's metadata).
MAX_ROUTING_PARAMETERS = 450
#: Template bytes one routing stack may reach (CloudFormation: 1 MB): a job's routing value is up to 4 KB,
#: so 450 large ones would not fit.
MAX_ROUTING_TEMPLATE_BYTES = 900_000
#: Template bytes of one parameter besides its value (logical id, type, name, description, metadata).
PARAMETER_OVERHEAD_BYTES = 700


class RoutingBudgetError(ValueError):
    """A routing stack would hold more than ``MAX_ROUTING_PARAMETERS`` jobs; the message names the key."""


@dataclass
class RoutingShard:
    """The jobs of one routing stack."""

    index: int
    jobs: list[str] = field(default_factory=list)
    template_bytes: int = 2_000  # estimate: the parameters plus the template's own sections

    @property
    def stack_id(self) -> str:
        """``SparkRouting-00``."""
        return f"SparkRouting-{self.index:02d}"

    @property
    def stack_suffix(self) -> str:
        """``spark-routing-00``."""
        return f"spark-routing-{self.index:02d}"


def plan_routing(
    catalog: JobCatalog,
    shards: int,
    *,
    prefix: str = "meshworks",
    max_jobs: int = MAX_ROUTING_PARAMETERS,
    max_bytes: int = MAX_ROUTING_TEMPLATE_BYTES,
) -> list[RoutingShard]:
    """Place every job in its shard (non-empty shards, by index).

    Raises:
        RoutingBudgetError: a shard holds more than ``max_jobs`` jobs, or its template would exceed
            ``max_bytes`` (the message names ``spark.routing_shards`` and the count to set).
    """
    values = {json.loads(value)["job"]: value for value in catalog.routing_parameters(prefix).values()}
    placed: dict[int, RoutingShard] = {}
    for job in sorted(catalog.jobs, key=lambda j: j.name):
        index = shard_index(f"spark-job:{job.name}", shards)
        shard = placed.setdefault(index, RoutingShard(index))
        shard.jobs.append(job.name)
        shard.template_bytes += len(json.dumps(values[job.name])) + PARAMETER_OVERHEAD_BYTES
    full = [s for s in placed.values() if len(s.jobs) > max_jobs or s.template_bytes > max_bytes]
    if full:
        factor = max(max(len(s.jobs) / max_jobs, s.template_bytes / max_bytes) for s in full)
        needed = shards * (int(factor) + 1)
        worst = max(full, key=lambda s: s.template_bytes)
        raise RoutingBudgetError(
            f"meshworks.spark.routing_shards = {shards}: {len(catalog.jobs)} Spark jobs need one SSM routing "
            f"parameter each and a stack holds at most {max_jobs} resources and {max_bytes:,} template bytes "
            f"(CloudFormation: 500 and 1 MB); routing stack {worst.index} would hold {len(worst.jobs)} jobs in about "
            f"{worst.template_bytes:,} bytes. Raise meshworks.spark.routing_shards to {needed} "
            "or more (this moves jobs between routing stacks: do it before the catalog's next deployment)"
        )
    return [placed[index] for index in sorted(placed)]


class SparkRoutingStack(Stack):
    """One shard of the job routing parameters (``JobRollout`` without the index)."""

    def __init__(
        self, scope: Construct, construct_id: str, *, catalog: JobCatalog, prefix: str, shard: RoutingShard, **kwargs
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)
        skip_creation_stack_traces(self)
        self.shard = shard
        self.rollout = JobRollout(self, "Routing", catalog=catalog, name_prefix=prefix, jobs=shard.jobs, index=False)
