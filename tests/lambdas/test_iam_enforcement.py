"""The IAM-enforcement harness (``tests/aws_enforcement.py``) catches what AWS would refuse."""

from __future__ import annotations

from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from moto import mock_aws

from tests.aws_enforcement import ACCOUNT, REGION, Call, EnforcedRole, UnresolvedReference, resolve

TABLE_ARN = {"Fn::GetAtt": ["Table", "Arn"]}


def template(*statements: dict[str, Any]) -> dict[str, Any]:
    """A function, its role and one grant policy, as CDK synthesizes them."""
    return {
        "Resources": {
            "Role": {"Type": "AWS::IAM::Role", "Properties": {}},
            "Policy": {
                "Type": "AWS::IAM::Policy",
                "Properties": {"PolicyDocument": {"Statement": list(statements)}, "Roles": [{"Ref": "Role"}]},
            },
            "Fn": {
                "Type": "AWS::Lambda::Function",
                "Properties": {"Handler": "app.main", "Role": {"Fn::GetAtt": ["Role", "Arn"]}},
            },
        }
    }


def run(role: EnforcedRole, monkeypatch: pytest.MonkeyPatch, table: str = "t") -> None:
    with role.enforced(monkeypatch):
        boto3.client("dynamodb", region_name=REGION, config=None).get_item(TableName=table, Key={"pk": {"S": "a"}})


@pytest.fixture
def dynamodb_table() -> Any:
    with mock_aws():
        boto3.client("dynamodb", region_name=REGION).create_table(
            TableName="t",
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )
        yield


REFS = {"Table.Arn": f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/t"}


def test_an_allowed_call_passes_and_is_recorded(dynamodb_table: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    role = EnforcedRole.from_template(
        template({"Effect": "Allow", "Action": "dynamodb:GetItem", "Resource": TABLE_ARN}), handler="app.main", refs=REFS
    )
    run(role, monkeypatch)
    role.check_resources()
    assert role.actions() == {"dynamodb:GetItem"}


def test_a_missing_action_is_refused_by_moto(dynamodb_table: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    role = EnforcedRole.from_template(
        template({"Effect": "Allow", "Action": "dynamodb:PutItem", "Resource": TABLE_ARN}), handler="app.main", refs=REFS
    )
    with pytest.raises(ClientError, match="AccessDenied|not authorized"):
        run(role, monkeypatch)


def test_a_call_on_another_resource_is_reported(dynamodb_table: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    refs = {"Table.Arn": f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/other"}
    role = EnforcedRole.from_template(
        template({"Effect": "Allow", "Action": "dynamodb:GetItem", "Resource": TABLE_ARN}), handler="app.main", refs=refs
    )
    run(role, monkeypatch)  # moto sees only the action...
    assert role.denied_resources() == [f"dynamodb:GetItem on arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/t"]
    with pytest.raises(AssertionError, match="does not allow"):
        role.check_resources()


def test_an_unconditional_deny_wins() -> None:
    role = EnforcedRole.from_template(
        template(
            {"Effect": "Allow", "Action": "dynamodb:*", "Resource": "*"},
            {"Effect": "Deny", "Action": "dynamodb:DeleteTable", "Resource": TABLE_ARN},
        ),
        handler="app.main",
        refs=REFS,
    )
    assert role.allows("dynamodb:GetItem", REFS["Table.Arn"])
    assert not role.allows("dynamodb:DeleteTable", REFS["Table.Arn"])


def test_unmapped_references_are_named() -> None:
    with pytest.raises(UnresolvedReference, match="Fn::GetAtt Table.Arn"):
        resolve(TABLE_ARN, {})
    assert resolve({"Fn::Sub": "arn:${AWS::Partition}:sqs:${AWS::Region}:${AWS::AccountId}:q"}, {}) == (
        f"arn:aws:sqs:{REGION}:{ACCOUNT}:q"
    )


def test_a_transaction_is_checked_item_by_item() -> None:
    """AWS authorises TransactWriteItems as PutItem/UpdateItem/... per item; moto knows one action."""
    role = EnforcedRole.from_template(
        template({"Effect": "Allow", "Action": "dynamodb:PutItem", "Resource": TABLE_ARN}), handler="app.main", refs=REFS
    )
    items = [{"Put": {"TableName": "t", "Item": {}}}, {"Update": {"TableName": "t", "Key": {}}}]
    role.calls.append(Call("dynamodb", "TransactWriteItems", {"TransactItems": items}))
    assert role.denied_resources() == [f"dynamodb:UpdateItem on {REFS['Table.Arn']} (in TransactWriteItems)"]
    assert role.unchecked() == set()
