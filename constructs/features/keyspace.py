"""``Keyspace``: an Amazon Keyspaces keyspace (``AWS::Cassandra::Keyspace``), retained by default."""

from __future__ import annotations

from collections.abc import Mapping

from aws_cdk import CfnTag, RemovalPolicy, Stack
from aws_cdk import aws_cassandra as cassandra
from constructs import Construct

from ..core.removal import resolve_removal_policy
from .keyspaces_schema import NAME_PATTERN


class Keyspace(Construct):
    """A Keyspaces keyspace (single-Region replication, Keyspaces' default).

    Example::

        from pathlib import Path

        from aws_cdk import App, Stack

        from meshworks.constructs.features import Keyspace, KeyspacesTable, KeyspacesTableSchema

        app = App()
        stack = Stack(app, "Features")
        schema = KeyspacesTableSchema.from_cql(Path("schemas/features/customer_features.cql").read_text())
        keyspace = Keyspace(stack, "Features", keyspace_name=schema.keyspace)
        KeyspacesTable(stack, "Customers", keyspace=keyspace, schema=schema)
        app.synth()

    Args:
        keyspace_name: 2-48 characters, lower-case letters, digits and ``_`` (CloudFormation's pattern).
        tags: tags of the keyspace. Default: none.
        removal_policy: RETAIN unless ``@meshworks/removeDataOnDestroy`` is set (``core.removal``).
            Default: RETAIN.

    Raises:
        ValueError: a name outside the pattern, naming the construct and the fix.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        keyspace_name: str,
        tags: Mapping[str, str] | None = None,
        removal_policy: RemovalPolicy | None = None,
    ) -> None:
        super().__init__(scope, construct_id)
        if not isinstance(keyspace_name, str) or not NAME_PATTERN.fullmatch(keyspace_name):
            raise ValueError(
                f"Keyspace {self.node.path}: keyspace_name={keyspace_name!r} is not a valid Keyspaces name: use "
                "2-48 lower-case letters, digits and '_' (CloudFormation's ^[a-zA-Z0-9][a-zA-Z0-9_]{1,47}$)"
            )
        self.keyspace_name = keyspace_name
        self.keyspace = cassandra.CfnKeyspace(
            self,
            "Resource",
            keyspace_name=keyspace_name,
            tags=[CfnTag(key=k, value=v) for k, v in sorted((tags or {}).items())] or None,
        )
        self.keyspace.apply_removal_policy(resolve_removal_policy(self, removal_policy, "Resource"))
        stack = Stack.of(self)
        #: ``arn:<partition>:cassandra:<region>:<account>:/keyspace/<name>/`` (IAM's resource form for a keyspace)
        self.keyspace_arn = f"arn:{stack.partition}:cassandra:{stack.region}:{stack.account}:/keyspace/{keyspace_name}/"
