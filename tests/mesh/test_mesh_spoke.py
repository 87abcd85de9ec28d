"""ShareAcceptor (spoke) and SpokeProduct (Service Catalog product in the hub)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from aws_cdk import App, Environment, Stack
from aws_cdk.assertions import Template

from meshworks.constructs.mesh.share_acceptor import ShareAcceptor
from meshworks.constructs.mesh.spoke_product import SpokeProduct
from tests.mesh.mesh_fixtures import HUB, actions, only, statements

SPOKE = "333333333333"
PRINCIPALS = ["arn:aws:iam::333333333333:role/analysts", "arn:aws:iam::333333333333:role/bi"]


@pytest.fixture(scope="module")
def acceptor_template() -> Template:
    app = App(builtin_cloud_formation_validation=False)
    stack = Stack(app, "Spoke", env=Environment(account=SPOKE, region="eu-west-1"))
    ShareAcceptor(stack, "Acceptor", hub_account_id=HUB, local_principal_arns=PRINCIPALS)
    return Template.from_stack(stack)


def by_sid(template: Template) -> dict[str, dict]:
    return {s["Sid"]: s for s in statements(template) if "Sid" in s}


def test_function_environment(acceptor_template: Template) -> None:
    function = next(
        f["Properties"]
        for f in acceptor_template.find_resources("AWS::Lambda::Function").values()
        if f["Properties"].get("Handler") == "share_acceptor.handler.main"
    )
    assert function["Environment"]["Variables"] == {
        "HUB_ACCOUNT_ID": HUB,
        "ACCOUNT_ID": SPOKE,
        "SHARING_MODE": "lf_tags",
        "RESOURCE_LINK_DATABASE_PREFIX": "shared_",
        "LOCAL_PRINCIPAL_ARNS": ",".join(PRINCIPALS),
        "ALARM_METRIC_NAMESPACE": "meshworks/share-acceptor",
    }
    assert function["ReservedConcurrentExecutions"] == 1


def test_accepts_invitations_of_the_hub_only(acceptor_template: Template) -> None:
    sids = by_sid(acceptor_template)
    accept = sids["AcceptHubInvitationsOnly"]
    assert actions(accept) == ["ram:AcceptResourceShareInvitation"]
    assert accept["Resource"] == f"arn:aws:ram:eu-west-1:{HUB}:resource-share-invitation/*"
    for statement in statements(acceptor_template):
        if "ram:AcceptResourceShareInvitation" in actions(statement):
            assert statement is accept or statement == accept


def test_least_privilege_glue_and_lake_formation(acceptor_template: Template) -> None:
    sids = by_sid(acceptor_template)
    links = sids["ManageResourceLinks"]
    assert set(actions(links)) == {"glue:CreateDatabase", "glue:GetDatabase", "glue:CreateTable", "glue:GetTable"}
    assert all(f":{SPOKE}:" in arn for arn in links["Resource"])
    assert f"arn:aws:glue:eu-west-1:{SPOKE}:database/shared_*" in links["Resource"]
    hub_reads = sids["ReadHubCatalog"]
    assert all(a.startswith("glue:Get") for a in actions(hub_reads))
    assert all(f":{HUB}:" in arn for arn in hub_reads["Resource"])
    assert actions(sids["GrantLocalPrincipals"]) == ["lakeformation:GrantPermissions"]
    metrics = sids["PublishRunMetrics"]
    assert metrics["Condition"] == {"StringEquals": {"cloudwatch:namespace": "meshworks/share-acceptor"}}
    for statement in statements(acceptor_template):
        for action in actions(statement):
            assert not action.endswith(":*") and action != "*"


def test_registers_itself_as_lake_formation_admin_with_append(acceptor_template: Template) -> None:
    settings = only(acceptor_template, "AWS::LakeFormation::DataLakeSettings")["Properties"]
    assert settings["MutationType"] == "APPEND"
    assert "AcceptorFunctionRole" in json.dumps(settings["Admins"])
    assert "CreateDatabaseDefaultPermissions" not in settings  # the spoke's own defaults are left alone


def test_runs_on_a_schedule_and_once_at_deployment(acceptor_template: Template) -> None:
    schedule = only(acceptor_template, "AWS::Scheduler::Schedule")["Properties"]
    assert schedule["ScheduleExpression"] == "rate(30 minutes)"
    assert schedule["Target"]["RetryPolicy"]["MaximumRetryAttempts"] == 2  # was 0, without a dead-letter queue
    assert "DeadLetterConfig" in schedule["Target"]
    trigger = only(acceptor_template, "Custom::MeshworksShareAcceptor")
    assert trigger["Properties"]["HubAccountId"] == HUB
    assert trigger["Properties"]["LocalPrincipalArns"] == ",".join(PRINCIPALS)
    assert "ServiceToken" in trigger["Properties"]
    assert any("AcceptorLakeFormationAdmin" in d for d in trigger.get("DependsOn", []))


def test_alarms_notify_a_topic(acceptor_template: Template) -> None:
    alarms = acceptor_template.find_resources("AWS::CloudWatch::Alarm")
    names = {a["Properties"]["MetricName"]: a["Properties"] for a in alarms.values()}
    assert set(names) == {"ExpiredInvitations", "Errors", "ApproximateNumberOfMessagesVisible"}
    queues = {
        json.dumps(a["Properties"]["Dimensions"]) for a in alarms.values()
        if a["Properties"]["MetricName"] == "ApproximateNumberOfMessagesVisible"
    }
    assert len(queues) == 2  # the schedule's and the function's dead-letter queues
    assert all(a["Properties"]["AlarmActions"] for a in alarms.values())
    assert "re-grant" in names["ExpiredInvitations"]["AlarmDescription"]
    topic = only(acceptor_template, "AWS::SNS::Topic")["Properties"]
    assert "KmsMasterKeyId" in topic


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"hub_account_id": "12345"}, "12-digit"),
        ({"hub_account_id": HUB, "local_principal_arns": ["analysts"]}, "IAM role or user ARNs"),
        ({"hub_account_id": HUB, "resource_link_prefix": "Shared-"}, "lowercase"),
        ({"hub_account_id": HUB, "resource_link_prefix": ""}, "1 to 64 characters"),
        ({"hub_account_id": HUB, "sharing_mode": "tags"}, "sharing_mode"),
    ],
)
def test_bad_settings_are_refused(kwargs: dict, message: str) -> None:
    app = App(builtin_cloud_formation_validation=False)
    stack = Stack(app, "Bad", env=Environment(account=SPOKE, region="eu-west-1"))
    with pytest.raises(ValueError, match=message):
        ShareAcceptor(stack, "Acceptor", **kwargs)


# ---- Service Catalog --------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def product() -> tuple[SpokeProduct, Template, dict]:
    app = App(builtin_cloud_formation_validation=False)
    stack = Stack(app, "Hub", env=Environment(account=HUB, region="eu-west-1"))
    spoke = SpokeProduct(
        stack,
        "Spoke",
        hub_account_id=HUB,
        consumer_accounts=["444455556666", "555566667777"],
        asset_bucket_name="acme-111111111111-sc-assets",
    )
    spoke.share_with("444455556666")  # idempotent
    assembly = app.synth()
    product_template = next(
        json.loads(path.read_text()) for path in Path(assembly.directory).glob("*.product.template.json")
    )
    return spoke, Template.from_stack(stack), product_template


def test_portfolio_shared_with_each_consumer(product) -> None:
    _, template, _ = product
    shares = template.find_resources("AWS::ServiceCatalog::PortfolioShare")
    assert sorted(s["Properties"]["AccountId"] for s in shares.values()) == ["444455556666", "555566667777"]
    template.resource_count_is("AWS::ServiceCatalog::PortfolioProductAssociation", 1)
    only(template, "AWS::ServiceCatalog::CloudFormationProduct")


def test_product_assets_readable_by_consumers_only(product) -> None:
    _, template, _ = product
    buckets = template.find_resources("AWS::S3::Bucket", {"Properties": {"BucketName": "acme-111111111111-sc-assets"}})
    assert len(buckets) == 1
    policies = [
        p["Properties"]["PolicyDocument"]["Statement"]
        for p in template.find_resources("AWS::S3::BucketPolicy").values()
    ]
    readers = {
        account
        for statements_ in policies
        for s in statements_
        if s["Effect"] == "Allow" and "s3:GetObject*" in actions(s)
        for account in re.findall(r":iam::(\d{12}):root", json.dumps(s.get("Principal")))
    }
    assert readers == {"444455556666", "555566667777"}


def test_product_template_deploys_a_share_acceptor_trusting_the_hub(product) -> None:
    _, _, product_template = product
    assert set(product_template["Parameters"]) >= {"LocalPrincipalArns", "ResourceLinkPrefix"}
    pattern = re.compile(product_template["Parameters"]["ResourceLinkPrefix"]["AllowedPattern"])
    assert pattern.match("shared_") and not pattern.match("")  # an empty prefix would mean every database
    functions = [
        r["Properties"] for r in product_template["Resources"].values() if r["Type"] == "AWS::Lambda::Function"
    ]
    acceptor = next(f for f in functions if f.get("Handler") == "share_acceptor.handler.main")
    assert acceptor["Environment"]["Variables"]["HUB_ACCOUNT_ID"] == HUB
    assert acceptor["Code"]["S3Bucket"] == "acme-111111111111-sc-assets"
    types = {r["Type"] for r in product_template["Resources"].values()}
    assert {
        "AWS::Scheduler::Schedule",
        "Custom::MeshworksShareAcceptor",
        "AWS::LakeFormation::DataLakeSettings",
    } <= types


def test_consumers_decrypt_product_assets_only_through_s3_with_the_asset_key(product) -> None:
    """Issue 9 item 5: the asset bucket has its own key; consumers' kms:Decrypt is conditioned."""
    spoke, template, _ = product
    keys = template.find_resources("AWS::KMS::Key")
    assert len(keys) == 1  # its own key; no other (hub) key is reused
    consumer_statements = [
        s for k in keys.values() for s in k["Properties"]["KeyPolicy"]["Statement"]
        if "444455556666" in json.dumps(s.get("Principal"))
    ]
    assert len(consumer_statements) == 1
    statement = consumer_statements[0]
    assert statement["Action"] == "kms:Decrypt"
    assert statement["Condition"]["StringEquals"] == {"kms:ViaService": "s3.eu-west-1.amazonaws.com"}
    assert "acme-111111111111-sc-assets" in json.dumps(statement["Condition"]["ArnLike"])
