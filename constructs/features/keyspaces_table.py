"""``KeyspacesTable``: an Amazon Keyspaces table from a typed schema, with its user-defined types.

Secure by default: point-in-time recovery on, encryption with a customer-managed KMS key (a new
``PlatformKey`` unless one is given), on-demand capacity, RETAINED (``core.removal``), schema evolution checked
against a lock file (``schema_lock``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aws_cdk import CfnTag, RemovalPolicy, Stack
from aws_cdk import aws_cassandra as cassandra
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from constructs import Construct
from pydantic import ValidationError

from ..core.nag import arn
from ..core.platform_key import PlatformKey
from ..core.removal import resolve_removal_policy
from ._grantee import acknowledge_grant
from .keyspace import Keyspace
from .keyspaces_schema import KeyspacesTableSchema, validation_message
from .schema_lock import SCHEMA_LOCK_MODE, check_schema_lock


@dataclass(frozen=True)
class ProvisionedCapacity:
    """Provisioned capacity with target-tracking auto scaling (read and write scale independently).

    Args:
        read_capacity_units / write_capacity_units: the provisioned units and the auto-scaling minimum (>= 1).
        max_read_capacity_units / max_write_capacity_units: auto-scaling maximum. Default: 10 x the minimum.
        target_utilization_percent: target utilisation, 20-90. Default: 70.
        auto_scaling: False keeps the units fixed. Default: True.

    Keyspaces allows one capacity-mode switch (on-demand <-> provisioned) per table every 24 hours.
    """

    read_capacity_units: int
    write_capacity_units: int
    max_read_capacity_units: int | None = None
    max_write_capacity_units: int | None = None
    target_utilization_percent: int = 70
    auto_scaling: bool = True


@dataclass(frozen=True)
class WarmThroughput:
    """Pre-warmed capacity (Keyspaces' warm throughput), in read/write units per second (>= 1 each; None leaves
    that side at Keyspaces' default)."""

    read_units_per_second: int | None
    write_units_per_second: int | None


#: Keyspaces' system keyspaces that every driver reads on connect (``system``, ``system_schema``,
#: ``system_schema_mcs``, ``system_multiregion_info``…), as one ARN pattern.
SYSTEM_KEYSPACES = "/keyspace/system*"


class KeyspacesTable(Construct):
    """An Amazon Keyspaces table (``AWS::Cassandra::Table``) and its types (``AWS::Cassandra::Type``).

    Example::

        from pathlib import Path

        from aws_cdk import App, Stack
        from aws_cdk import aws_iam as iam

        from meshworks.constructs.features import Keyspace, KeyspacesTable, KeyspacesTableSchema

        app = App()
        stack = Stack(app, "Features")
        service_role = iam.Role(stack, "Service", assumed_by=iam.ServicePrincipal("ecs-tasks.amazonaws.com"))
        schema = KeyspacesTableSchema.from_cql(Path("schemas/features/customer_features.cql").read_text())
        keyspace = Keyspace(stack, "Features", keyspace_name=schema.keyspace)
        table = KeyspacesTable(stack, "CustomerFeatures", keyspace=keyspace, schema=schema,
                               schema_lock_file=Path("schemas/features/customer_features.lock.json"))
        table.grant_read_data(service_role)
        app.synth()

    Args:
        keyspace: the ``Keyspace`` construct (the table depends on it) or the name of an existing keyspace.
        schema: a ``KeyspacesTableSchema`` or the mapping it validates (YAML/JSON).
        capacity: ``ProvisionedCapacity``; None = on-demand. Default: on-demand.
        warm_throughput: pre-warmed read/write units per second. Default: none.
        point_in_time_recovery: Default: True.
        encryption_key: customer-managed key. Default: a new ``PlatformKey`` (rotation on, retained).
        schema_lock_file: lock file of the last accepted schema (see ``schema_lock``). Default: none (no
            evolution check; recommended for every deployed table).
        tags: tags of the table and its CDC stream. Default: none.
        removal_policy: RETAIN unless ``@meshworks/removeDataOnDestroy`` is set. Default: RETAIN.

    Raises:
        ValueError: bad schema or argument (one message naming the construct, argument, value and fix);
        ``SchemaEvolutionError`` (a ValueError) for a schema change CloudFormation cannot apply.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        keyspace: Keyspace | str,
        schema: KeyspacesTableSchema | Mapping[str, Any],
        capacity: ProvisionedCapacity | None = None,
        warm_throughput: WarmThroughput | None = None,
        point_in_time_recovery: bool = True,
        encryption_key: kms.IKey | None = None,
        schema_lock_file: str | Path | None = None,
        tags: Mapping[str, str] | None = None,
        removal_policy: RemovalPolicy | None = None,
    ) -> None:
        super().__init__(scope, construct_id)
        where = f"KeyspacesTable {self.node.path}"
        if not isinstance(schema, KeyspacesTableSchema):
            try:
                schema = KeyspacesTableSchema.model_validate(schema)
            except ValidationError as error:
                raise ValueError(validation_message(error, f"{where}: schema")) from None
        keyspace_name = keyspace.keyspace_name if isinstance(keyspace, Keyspace) else keyspace
        if keyspace_name != schema.keyspace:
            raise ValueError(f"{where}: keyspace={keyspace_name!r} but the schema's keyspace is {schema.keyspace!r}: "
                             "use the same keyspace in both")
        statics = [c.name for c in schema.columns if c.static]
        if statics:
            raise ValueError(f"{where}: schema column(s) {', '.join(statics)} are STATIC, which AWS::Cassandra::Table "
                             "cannot declare: make them regular columns, or create the table with CQL instead")
        _check_capacity(where, capacity, warm_throughput)
        if schema_lock_file is not None:
            verify = str(self.node.try_get_context(SCHEMA_LOCK_MODE) or "update").lower() == "verify"
            check_schema_lock(schema, Path(schema_lock_file), where=where, verify=verify)
        self.schema = schema
        #: The capacity and warm throughput the table was declared with (``ensure_warm_throughput`` may raise the latter).
        self.capacity = capacity
        self.warm_throughput = warm_throughput
        self.keyspace_name = schema.keyspace
        self.table_name = schema.table
        self.encryption_key: kms.IKey = encryption_key or PlatformKey(
            self, "Key", description=f"meshworks: Keyspaces table {schema.keyspace}.{schema.table}",
            removal_policy=removal_policy,
        )
        policy = resolve_removal_policy(self, removal_policy, "Resource")

        self.types: dict[str, cassandra.CfnType] = {}
        for udt in schema.types:
            cfn_type = cassandra.CfnType(
                self, f"Type{_camel(udt.name)}", keyspace_name=schema.keyspace, type_name=udt.name,
                fields=[cassandra.CfnType.FieldProperty(field_name=f.name, field_type=f.type) for f in udt.fields],
            )
            for used in {n for f in udt.fields for n in _udts(f.type)}:
                cfn_type.node.add_dependency(self.types[used])
            if isinstance(keyspace, Keyspace):
                cfn_type.node.add_dependency(keyspace.keyspace)
            cfn_type.apply_removal_policy(policy)
            self.types[udt.name] = cfn_type

        def column(name: str) -> cassandra.CfnTable.ColumnProperty:
            return cassandra.CfnTable.ColumnProperty(column_name=name, column_type=schema.column(name).type)

        tag_list = [CfnTag(key=k, value=v) for k, v in sorted((tags or {}).items())] or None
        self.table = cassandra.CfnTable(
            self,
            "Resource",
            keyspace_name=schema.keyspace,
            table_name=schema.table,
            partition_key_columns=[column(n) for n in schema.partition_key],
            clustering_key_columns=[
                cassandra.CfnTable.ClusteringKeyColumnProperty(column=column(c.name), order_by=c.order.value)
                for c in schema.clustering
            ] or None,
            regular_columns=[column(c.name) for c in schema.regular_columns] or None,
            billing_mode=_billing_mode(capacity),
            auto_scaling_specifications=_auto_scaling(capacity),
            warm_throughput=cassandra.CfnTable.WarmThroughputProperty(
                read_units_per_second=warm_throughput.read_units_per_second,
                write_units_per_second=warm_throughput.write_units_per_second,
            ) if warm_throughput else None,
            point_in_time_recovery_enabled=point_in_time_recovery,
            encryption_specification=cassandra.CfnTable.EncryptionSpecificationProperty(
                encryption_type="CUSTOMER_MANAGED_KMS_KEY", kms_key_identifier=self.encryption_key.key_arn
            ),
            default_time_to_live=schema.default_time_to_live,
            client_side_timestamps_enabled=schema.client_side_timestamps or None,
            cdc_specification=cassandra.CfnTable.CdcSpecificationProperty(
                status="ENABLED", view_type=schema.cdc.view_type, tags=tag_list
            ) if schema.cdc else None,
            tags=tag_list,
        )
        self.table.apply_removal_policy(policy)
        for cfn_type in self.types.values():
            self.table.node.add_dependency(cfn_type)
        if isinstance(keyspace, Keyspace):
            self.table.node.add_dependency(keyspace.keyspace)
        stack = Stack.of(self)
        self._arn_prefix = f"arn:{stack.partition}:cassandra:{stack.region}:{stack.account}:"
        #: ``arn:<partition>:cassandra:<region>:<account>:/keyspace/<keyspace>/table/<table>``
        self.table_arn = f"{self._arn_prefix}/keyspace/{schema.keyspace}/table/{schema.table}"

    # ------------------------------------------------------------------------------------------ capacity

    def ensure_warm_throughput(self, *, write_units_per_second: int) -> WarmThroughput:
        """Pre-warm the table for at least ``write_units_per_second`` (e.g. a bulk load), keeping higher values.

        Warm throughput changes neither the capacity mode nor the provisioned units, so it is not subject to
        Keyspaces' one capacity-mode switch per 24 hours (William Hill's "create provisioned, then switch to
        on-demand" trick was). New on-demand tables sustain 4,000 writes per second without it (Keyspaces
        developer guide, "Pre-warm a new table for on-demand capacity mode").

        Returns:
            the table's warm throughput after the call.
        Raises:
            ValueError: ``write_units_per_second`` below 1.
        """
        if not isinstance(write_units_per_second, int) or write_units_per_second < 1:
            raise ValueError(f"KeyspacesTable {self.node.path}: write_units_per_second={write_units_per_second!r}: "
                             "give a whole number >= 1")
        current = self.warm_throughput
        if current is not None and (current.write_units_per_second or 0) >= write_units_per_second:
            return current
        self.warm_throughput = WarmThroughput(
            read_units_per_second=current.read_units_per_second if current else None,
            write_units_per_second=write_units_per_second,
        )
        self.table.warm_throughput = cassandra.CfnTable.WarmThroughputProperty(
            read_units_per_second=self.warm_throughput.read_units_per_second,
            write_units_per_second=write_units_per_second,
        )
        return self.warm_throughput

    # ------------------------------------------------------------------------------------------ grants

    def grant_read_data(self, grantee: iam.IGrantable) -> iam.Grant:
        """``cassandra:Select`` on this table and on the system keyspaces drivers read on connect; decrypt with the
        table's key through Keyspaces only (``kms:ViaService``)."""
        return self._grant(grantee, "cassandra:Select")

    def grant_write_data(self, grantee: iam.IGrantable) -> iam.Grant:
        """``cassandra:Modify`` (INSERT/UPDATE/DELETE) on this table, Select on the system keyspaces, and
        encrypt/decrypt with the table's key through Keyspaces only."""
        return self._grant(grantee, "cassandra:Modify")

    def grant_read_write_data(self, grantee: iam.IGrantable) -> iam.Grant:
        """Both :meth:`grant_read_data` and :meth:`grant_write_data`."""
        self._grant(grantee, "cassandra:Select")
        return self._grant(grantee, "cassandra:Modify")

    def _grant(self, grantee: iam.IGrantable, action: str) -> iam.Grant:
        # Keyspaces uses the table's customer-managed key on the caller's behalf (as DynamoDB does): use through
        # Keyspaces only (kms:ViaService), listed actions, this one key.
        key_actions = ["kms:Decrypt", "kms:DescribeKey"]
        if action == "cassandra:Modify":
            key_actions += ["kms:Encrypt", "kms:GenerateDataKey"]
        iam.Grant.add_to_principal(
            grantee=grantee, actions=key_actions, resource_arns=[self.encryption_key.key_arn],
            conditions={"StringEquals": {"kms:ViaService": f"cassandra.{Stack.of(self).region}.amazonaws.com"}},
        )
        iam.Grant.add_to_principal(
            grantee=grantee, actions=["cassandra:Select"], resource_arns=[self._arn_prefix + SYSTEM_KEYSPACES]
        )
        grant = iam.Grant.add_to_principal(grantee=grantee, actions=[action], resource_arns=[self.table_arn])
        acknowledge_grant(grantee, [SYSTEM_KEYSPACES_RULE])
        return grant


#: The one wildcard of the grants: drivers read the system keyspaces (peers, schema) on connect.
SYSTEM_KEYSPACES_RULE = (
    r"Resource::" + arn("cassandra", r"/keyspace/system\*"),
    "Select on Keyspaces' system keyspaces (system, system_schema, system_schema_mcs...), read-only metadata "
    "every Cassandra driver queries on connect (peers, schema); no user data.",
)


def _check_capacity(where: str, capacity: ProvisionedCapacity | None, warm: WarmThroughput | None) -> None:
    if capacity is not None:
        for name in ("read_capacity_units", "write_capacity_units"):
            value = getattr(capacity, name)
            if not isinstance(value, int) or value < 1:
                raise ValueError(f"{where}: capacity.{name}={value!r}: give a whole number of units >= 1")
        for name, minimum in (("max_read_capacity_units", capacity.read_capacity_units),
                              ("max_write_capacity_units", capacity.write_capacity_units)):
            value = getattr(capacity, name)
            if value is not None and (not isinstance(value, int) or value < minimum):
                raise ValueError(f"{where}: capacity.{name}={value!r} is below the minimum {minimum}: "
                                 f"give a maximum >= {minimum}")
        if not 20 <= capacity.target_utilization_percent <= 90:
            raise ValueError(f"{where}: capacity.target_utilization_percent={capacity.target_utilization_percent!r}: "
                             "give 20 to 90 (Application Auto Scaling's range for Keyspaces)")
    if warm is not None:
        if warm.read_units_per_second is None and warm.write_units_per_second is None:
            raise ValueError(f"{where}: warm_throughput sets neither side: give read_units_per_second and/or "
                             "write_units_per_second, or no warm_throughput")
        for name in ("read_units_per_second", "write_units_per_second"):
            value = getattr(warm, name)
            if value is not None and (not isinstance(value, int) or value < 1):
                raise ValueError(f"{where}: warm_throughput.{name}={value!r}: give a whole number >= 1")


def _billing_mode(capacity: ProvisionedCapacity | None) -> cassandra.CfnTable.BillingModeProperty:
    if capacity is None:
        return cassandra.CfnTable.BillingModeProperty(mode="ON_DEMAND")
    return cassandra.CfnTable.BillingModeProperty(
        mode="PROVISIONED",
        provisioned_throughput=cassandra.CfnTable.ProvisionedThroughputProperty(
            read_capacity_units=capacity.read_capacity_units, write_capacity_units=capacity.write_capacity_units
        ),
    )


def _auto_scaling(capacity: ProvisionedCapacity | None) -> cassandra.CfnTable.AutoScalingSpecificationProperty | None:
    if capacity is None or not capacity.auto_scaling:
        return None

    def setting(minimum: int, maximum: int | None) -> cassandra.CfnTable.AutoScalingSettingProperty:
        return cassandra.CfnTable.AutoScalingSettingProperty(
            minimum_units=minimum,
            maximum_units=maximum or minimum * 10,
            scaling_policy=cassandra.CfnTable.ScalingPolicyProperty(
                target_tracking_scaling_policy_configuration=(
                    cassandra.CfnTable.TargetTrackingScalingPolicyConfigurationProperty(
                        target_value=capacity.target_utilization_percent
                    )
                )
            ),
        )

    return cassandra.CfnTable.AutoScalingSpecificationProperty(
        read_capacity_auto_scaling=setting(capacity.read_capacity_units, capacity.max_read_capacity_units),
        write_capacity_auto_scaling=setting(capacity.write_capacity_units, capacity.max_write_capacity_units),
    )


def _camel(name: str) -> str:
    return "".join(part.capitalize() for part in name.split("_"))


def _udts(cql_type: str) -> set[str]:
    from .cql_types import parse_cql_type

    return parse_cql_type(cql_type).udt_names()
