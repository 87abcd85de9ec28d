"""Run a Lambda handler on moto with IAM enforced, under the exact policies the template gives its role.

What AWS enforces at run time, and how much of it this reproduces:

- **Actions** are enforced by moto itself (``moto.core.enable_iam_authentication``): the handler's
  clients sign with the credentials of a moto role that holds the function role's policies as
  synthesized, so a missing action fails the call with ``AccessDenied`` exactly as in AWS.
- **Resources.** moto checks S3 object and bucket ARNs, but evaluates every other service's
  request against the resource ``*`` — a correctly scoped statement would never match. So the
  policies handed to moto keep their S3 resources and have ``*`` elsewhere, and this module checks
  the other resources itself: every call the handler makes is recorded, its ARNs derived from the
  request (:func:`request_arns`), and each must be allowed by a statement whose ``Resource``
  matches (:meth:`EnforcedRole.check_resources`). An operation whose ARNs are not derived here is
  listed by :meth:`EnforcedRole.unchecked`, never silently passed.
- **Conditions** are not evaluated: moto denies any statement with a condition it cannot read,
  so ``Allow`` statements are handed over without their conditions and conditional ``Deny``
  statements are dropped. Tests assert conditions on the template instead.
- **What moto cannot see at all**: resource policies (KMS key policies, bucket policies of another
  account, SNS topic policies), Lake Formation permissions, service control policies. Cover them
  with template assertions (key policy statements) and the Lake Formation audit.

Usage::

    role = EnforcedRole.from_template(template, handler="mesh_notifier.handler.main", refs={...})
    ...create the moto resources with the default test credentials...
    with role.enforced(monkeypatch):
        handler.reset_clients()
        handler.main(event, context)
    role.check_resources()
"""

from __future__ import annotations

import contextlib
import fnmatch
import json
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import boto3
import botocore.client
import pytest
from moto.core import enable_iam_authentication
from moto.iam import access_control

#: Services whose request signatures moto recomputes wrongly (REST paths): moto's signature check is
#: skipped for them, its action check still runs (and this module checks their resources).
_MOTO_SIGNATURE_UNSUPPORTED = frozenset({"emr-serverless"})

ACCOUNT = "123456789012"  # moto's default account
REGION = "eu-west-1"
PARTITION = "aws"

#: botocore signing names whose IAM action prefix differs.
_IAM_PREFIX = {"monitoring": "cloudwatch", "email": "ses", "states": "states"}
#: API operations authorised under another IAM action (Service Authorization Reference).
_OPERATION_ACTIONS = {
    "s3:HeadObject": "s3:GetObject",
    "s3:HeadBucket": "s3:ListBucket",
    "s3:ListObjectsV2": "s3:ListBucket",
    "s3:ListObjectVersions": "s3:ListBucketVersions",
}


class UnresolvedReference(KeyError):
    """A template reference the test has not mapped to a moto resource."""


def find_function(template: Mapping[str, Any], handler: str) -> tuple[str, dict[str, Any]]:
    """The (logical id, resource) of the one ``AWS::Lambda::Function`` whose ``Handler`` is ``handler``."""
    found = [
        (logical_id, resource)
        for logical_id, resource in template["Resources"].items()
        if resource["Type"] == "AWS::Lambda::Function" and resource["Properties"].get("Handler") == handler
    ]
    if len(found) != 1:
        raise AssertionError(f"expected one function with handler {handler!r}, found {[f[0] for f in found]}")
    return found[0]


def role_policy_documents(template: Mapping[str, Any], role_logical_id: str) -> list[dict[str, Any]]:
    """Every policy document attached to a role in the template: inline, ``AWS::IAM::Policy`` and
    ``AWS::IAM::ManagedPolicy`` resources naming it (unresolved). AWS managed policies are not
    included (the functions use none beyond basic execution, which only concerns logs)."""
    resources = template["Resources"]
    documents = [p["PolicyDocument"] for p in resources[role_logical_id]["Properties"].get("Policies", [])]
    for resource in resources.values():
        if resource["Type"] not in ("AWS::IAM::Policy", "AWS::IAM::ManagedPolicy"):
            continue
        roles = resource["Properties"].get("Roles", [])
        if {"Ref": role_logical_id} in roles:
            documents.append(resource["Properties"]["PolicyDocument"])
    return documents


def resolve(value: Any, refs: Mapping[str, Any], *, account: str = ACCOUNT, region: str = REGION) -> Any:
    """Resolve CloudFormation intrinsics in ``value``.

    ``refs`` maps a logical id to its ``Ref`` value and ``"<logical id>.<attribute>"`` to a
    ``Fn::GetAtt`` value. Raises :class:`UnresolvedReference` naming the first unmapped reference.
    """
    pseudo = {
        "AWS::AccountId": account,
        "AWS::Region": region,
        "AWS::Partition": PARTITION,
        "AWS::URLSuffix": "amazonaws.com",
        "AWS::StackName": "stack",
    }

    def walk(node: Any) -> Any:
        if isinstance(node, list):
            return [walk(item) for item in node]
        if not isinstance(node, dict):
            return node
        if len(node) == 1:
            (key, arg), = node.items()
            if key == "Ref":
                if arg in pseudo:
                    return pseudo[arg]
                if arg not in refs:
                    raise UnresolvedReference(f"Ref {arg}: map it in refs=")
                return refs[arg]
            if key == "Fn::GetAtt":
                name = ".".join(arg) if isinstance(arg, list) else arg
                if name not in refs:
                    raise UnresolvedReference(f"Fn::GetAtt {name}: map it in refs=")
                return refs[name]
            if key == "Fn::Join":
                separator, parts = arg
                return separator.join(str(part) for part in walk(parts))
            if key == "Fn::Select":
                index, items = walk(arg)
                return items[int(index)]
            if key == "Fn::Split":
                separator, text = walk(arg)
                return text.split(separator)
            if key == "Fn::Sub":
                text, variables = (arg, {}) if isinstance(arg, str) else (arg[0], walk(arg[1]))

                def substitute(match: re.Match[str]) -> str:
                    name = match.group(1)
                    if name in variables:
                        return str(variables[name])
                    if name in pseudo:
                        return pseudo[name]
                    return str(walk({"Fn::GetAtt": name} if "." in name else {"Ref": name}))

                return re.sub(r"\$\{([^!}][^}]*)\}", substitute, text)
        return {key: walk(item) for key, item in node.items()}

    return walk(value)


def placeholder_refs(template: Mapping[str, Any], *, account: str = ACCOUNT, region: str = REGION) -> dict[str, str]:
    """A ``Ref`` and an ``.Arn`` for every resource of ``template``, named after its logical id.

    For the resources a test does not create in moto (its own log group, key, dead-letter queue ...):
    merge the real values over these (``{**placeholder_refs(t), **refs}``). ARNs follow the resource
    type's service (``AWS::SQS::Queue`` -> ``arn:aws:sqs:<region>:<account>:<logical id>``).
    """
    refs: dict[str, str] = {}
    for logical_id, resource in template.get("Resources", {}).items():
        service = resource["Type"].split("::")[1].lower()
        refs[logical_id] = logical_id
        refs[f"{logical_id}.Arn"] = f"arn:{PARTITION}:{service}:{region}:{account}:{logical_id}"
    for name in template.get("Parameters", {}):
        refs.setdefault(name, name)
    return refs


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


#: moto names some actions after the API's signing name, not the IAM prefix AWS evaluates.
_MOTO_ACTION_ALIASES = {"cloudwatch:": "monitoring:"}


def _moto_actions(actions: Any) -> list[str]:
    result = []
    for action in _as_list(actions):
        result.append(action)
        for prefix, alias in _MOTO_ACTION_ALIASES.items():
            if str(action).lower().startswith(prefix):
                result.append(alias + str(action)[len(prefix):])
    return result


#: Operations moto authorises under an action AWS does not have: AWS authorises each item of a
#: transaction as ``PutItem``/``UpdateItem``/``DeleteItem``/``ConditionCheckItem``/``GetItem``
#: ("Using IAM with DynamoDB transactions"). moto is told to allow them; the harness checks the items.
_MOTO_ONLY_ACTIONS = ["dynamodb:TransactWriteItems", "dynamodb:TransactGetItems"]
_TRANSACT_ITEM_ACTIONS = {
    "Put": "dynamodb:PutItem",
    "Update": "dynamodb:UpdateItem",
    "Delete": "dynamodb:DeleteItem",
    "ConditionCheck": "dynamodb:ConditionCheckItem",
    "Get": "dynamodb:GetItem",
}


def transact_item_actions(call_params: Mapping[str, Any], region: str, account: str) -> list[tuple[str, str]]:
    """(IAM action, table ARN) of each item of a ``TransactWriteItems``/``TransactGetItems`` request."""
    return [
        (_TRANSACT_ITEM_ACTIONS[kind], f"arn:aws:dynamodb:{region}:{account}:table/{item[kind]['TableName']}")
        for item in call_params.get("TransactItems", [])
        for kind in item
    ]


def for_moto(statements: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The statements as moto can evaluate them: S3 resources kept, others ``*``, conditions dropped,
    CloudWatch actions also under moto's ``monitoring:`` name, DynamoDB transactions allowed (their
    items are checked by :meth:`EnforcedRole.denied_resources`)."""
    result: list[dict[str, Any]] = [{"Effect": "Allow", "Action": list(_MOTO_ONLY_ACTIONS), "Resource": "*"}]
    for statement in statements:
        if "Condition" in statement and statement["Effect"] == "Deny":
            continue
        converted = {k: v for k, v in statement.items() if k not in ("Condition", "Sid")}
        if "Action" in converted:
            converted["Action"] = _moto_actions(converted["Action"])
        resources = _as_list(statement.get("Resource", "*"))
        if not all(str(r).startswith("arn:aws:s3:::") for r in resources):
            converted["Resource"] = "*"
        result.append(converted)
    return result


def _schema_registry_arns(params: Mapping[str, Any], region: str, account: str) -> list[str]:
    """Schema Registry calls act on the registry and the schema (``GetSchemaVersion``: ``registry*`` and ``schema*``
    in the Service Authorization Reference), not on the Data Catalog."""
    schema = params.get("SchemaId") or {}
    if schema.get("SchemaArn"):
        registry_name = schema["SchemaArn"].split(":schema/", 1)[1].split("/", 1)[0]
        return [f"arn:aws:glue:{region}:{account}:registry/{registry_name}", schema["SchemaArn"]]
    registry = schema.get("RegistryName") or (params.get("RegistryId") or {}).get("RegistryName") or "default-registry"
    arns = [f"arn:aws:glue:{region}:{account}:registry/{registry}"]
    if schema.get("SchemaName"):
        arns.append(f"arn:aws:glue:{region}:{account}:schema/{registry}/{schema['SchemaName']}")
    return arns


def _glue_arns(params: Mapping[str, Any], region: str, account: str) -> list[str]:
    if "SchemaId" in params or "RegistryId" in params:
        return _schema_registry_arns(params, region, account)
    if "JobName" in params:  # job runs are authorised on the job (Service Authorization Reference: glue:GetJobRuns)
        return [f"arn:aws:glue:{region}:{account}:job/{params['JobName']}"]
    catalog = params.get("CatalogId", account)
    arns = [f"arn:aws:glue:{region}:{catalog}:catalog"]
    database = params.get("DatabaseName") or (params.get("DatabaseInput") or {}).get("Name")
    if database:
        arns.append(f"arn:aws:glue:{region}:{catalog}:database/{database}")
        table = params.get("TableName") or (params.get("TableInput") or {}).get("Name")
        if table:
            arns.append(f"arn:aws:glue:{region}:{catalog}:table/{database}/{table}")
    return arns


def request_arns(service: str, operation: str, params: Mapping[str, Any], region: str, account: str) -> list[str] | None:
    """The ARNs one AWS call acts on (all must be allowed), or ``None`` when not derived here."""
    if service == "dynamodb":
        names = list(params.get("RequestItems", {})) or [params.get("TableName")]
        names += [
            item[kind]["TableName"]
            for item in params.get("TransactItems", [])
            for kind in item
        ]
        return [f"arn:aws:dynamodb:{region}:{account}:table/{name}" for name in names if name]
    if service == "sns" and "TopicArn" in params:
        return [params["TopicArn"]]
    if service == "sqs" and "QueueUrl" in params:
        *_, queue_account, name = params["QueueUrl"].rstrip("/").split("/")
        return [f"arn:aws:sqs:{region}:{queue_account}:{name}"]
    if service == "glue":
        return _glue_arns(params, region, account)
    if service == "secretsmanager" and "SecretId" in params:
        secret = params["SecretId"]
        return [secret if secret.startswith("arn:") else f"arn:aws:secretsmanager:{region}:{account}:secret:{secret}-??????"]
    if service == "events" and operation == "PutEvents":
        buses = {entry.get("EventBusName", "default") for entry in params.get("Entries", [])}
        return [b if b.startswith("arn:") else f"arn:aws:events:{region}:{account}:event-bus/{b}" for b in buses]
    if service == "emr-serverless" and "applicationId" in params:
        arn = f"arn:aws:emr-serverless:{region}:{account}:/applications/{params['applicationId']}"
        return [f"{arn}/jobruns/{params['jobRunId']}" if "jobRunId" in params else arn]
    if service == "lakeformation" or (service == "cloudwatch" and operation == "PutMetricData"):
        return ["*"]  # these APIs have no resource-level permissions
    if service == "sts" and operation == "GetCallerIdentity":
        return ["*"]
    if service == "ram":
        if operation == "AcceptResourceShareInvitation":
            return [params["resourceShareInvitationArn"]]
        if operation in ("GetResourceShareInvitations", "ListResources"):
            return ["*"]  # no resource-level permissions
    if service == "s3":
        return ["*"]  # moto enforces S3 resources itself
    return None


def _matches(pattern: str, value: str) -> bool:
    return pattern == "*" or fnmatch.fnmatchcase(value, pattern) or value == "*"


@dataclass
class Call:
    """One AWS API call the handler made."""

    service: str  # IAM action prefix, e.g. "dynamodb"
    operation: str  # e.g. "PutItem"
    params: dict[str, Any]

    @property
    def action(self) -> str:
        """The IAM action AWS evaluates for the call (``s3:HeadObject`` is ``s3:GetObject``)."""
        name = f"{self.service}:{self.operation}"
        return _OPERATION_ACTIONS.get(name, name)


@dataclass
class EnforcedRole:
    """A function's role, its resolved policy statements, and the calls made under it."""

    role_name: str
    statements: list[dict[str, Any]]
    account: str = ACCOUNT
    region: str = REGION
    calls: list[Call] = field(default_factory=list)

    @classmethod
    def from_template(
        cls,
        template: Mapping[str, Any],
        *,
        handler: str,
        refs: Mapping[str, Any],
        account: str = ACCOUNT,
        region: str = REGION,
    ) -> EnforcedRole:
        """The role of the function with ``handler`` in ``template``, references resolved via ``refs``."""
        _, function = find_function(template, handler)
        role = function["Properties"]["Role"]["Fn::GetAtt"][0]
        statements = [
            statement
            for document in role_policy_documents(template, role)
            for statement in _as_list(resolve(document, refs, account=account, region=region)["Statement"])
        ]
        name = template["Resources"][role].get("Properties", {}).get("RoleName")
        name = name if isinstance(name, str) else role  # the deterministic name when the template has one
        return cls(role_name=name[:64], statements=statements, account=account, region=region)

    def allows(self, action: str, arn: str) -> bool:
        """Whether the resolved statements allow ``action`` on ``arn`` (conditions not evaluated)."""
        allowed = False
        for statement in self.statements:
            actions = _as_list(statement.get("Action", []))
            if not any(fnmatch.fnmatchcase(action.lower(), a.lower()) for a in actions):
                continue
            if not any(_matches(str(r), arn) for r in _as_list(statement.get("Resource", "*"))):
                continue
            if statement["Effect"] == "Deny" and "Condition" not in statement:
                return False
            allowed = allowed or statement["Effect"] == "Allow"
        return allowed

    def denied_resources(self) -> list[str]:
        """Each recorded call whose derived ARN no statement allows, as ``action on arn``."""
        problems = []
        for call in self.calls:
            if call.action in _MOTO_ONLY_ACTIONS:
                problems += [
                    f"{action} on {arn} (in {call.operation})"
                    for action, arn in transact_item_actions(call.params, self.region, self.account)
                    if not self.allows(action, arn)
                ]
                continue
            arns = request_arns(call.service, call.operation, call.params, self.region, self.account)
            for arn in arns or []:
                if not self.allows(call.action, arn):
                    problems.append(f"{call.action} on {arn}")
        return problems

    def check_resources(self) -> None:
        """Fail the test when a call acted on a resource its policy does not allow."""
        problems = self.denied_resources()
        assert not problems, "the function's policy does not allow: " + "; ".join(sorted(set(problems)))

    def unchecked(self) -> set[str]:
        """Actions called whose resource this module does not derive (checked for the action only)."""
        return {
            c.action
            for c in self.calls
            if c.action not in _MOTO_ONLY_ACTIONS
            and request_arns(c.service, c.operation, c.params, self.region, self.account) is None
        }

    def actions(self) -> set[str]:
        """Every ``service:Operation`` the handler called."""
        return {call.action for call in self.calls}

    def _create_in_moto(self) -> dict[str, str]:
        iam = boto3.client("iam", region_name=self.region)
        trust = {
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{self.account}:root"}, "Action": "sts:AssumeRole"}],
        }
        with contextlib.suppress(iam.exceptions.EntityAlreadyExistsException):
            iam.create_role(RoleName=self.role_name, AssumeRolePolicyDocument=json.dumps(trust))
        document = {"Version": "2012-10-17", "Statement": for_moto(self.statements)}
        iam.put_role_policy(RoleName=self.role_name, PolicyName="function", PolicyDocument=json.dumps(document))
        response = boto3.client("sts", region_name=self.region).assume_role(
            RoleArn=f"arn:aws:iam::{self.account}:role/{self.role_name}", RoleSessionName="handler"
        )
        return response["Credentials"]

    @contextlib.contextmanager
    def enforced(self, monkeypatch: pytest.MonkeyPatch) -> Iterator[EnforcedRole]:
        """Within: AWS calls sign as the function's role, moto enforces IAM, and calls are recorded.

        Create the test's moto resources *before* entering (the default test credentials are no
        moto principal), and reset the handler's cached clients inside, so they pick up the role.
        """
        credentials = self._create_in_moto()
        monkeypatch.setenv("AWS_ACCESS_KEY_ID", credentials["AccessKeyId"])
        monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", credentials["SecretAccessKey"])
        monkeypatch.setenv("AWS_SESSION_TOKEN", credentials["SessionToken"])
        monkeypatch.delenv("AWS_SECURITY_TOKEN", raising=False)
        original: Callable[..., Any] = botocore.client.BaseClient._make_api_call
        role = self

        def recording(client: Any, operation_name: str, api_params: dict[str, Any]) -> Any:
            signing = client.meta.service_model.signing_name
            role.calls.append(Call(_IAM_PREFIX.get(signing, signing), operation_name, dict(api_params)))
            return original(client, operation_name, api_params)

        monkeypatch.setattr(botocore.client.BaseClient, "_make_api_call", recording)
        check_signature = access_control.IAMRequestBase.check_signature

        def signature(request: Any) -> None:
            if request._service not in _MOTO_SIGNATURE_UNSUPPORTED:
                check_signature(request)

        monkeypatch.setattr(access_control.IAMRequestBase, "check_signature", signature)
        # botocore sessions cache the credentials they first resolved: start from a fresh default.
        monkeypatch.setattr(boto3, "DEFAULT_SESSION", None)
        try:
            with enable_iam_authentication():
                yield self
        finally:
            monkeypatch.setattr(botocore.client.BaseClient, "_make_api_call", original)
            monkeypatch.setattr(access_control.IAMRequestBase, "check_signature", check_signature)
            for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"):
                monkeypatch.setenv(name, "testing")
            boto3.DEFAULT_SESSION = None
