"""MeshHub: Lake Formation settings, data-access role, domain databases, refresh bus, notifier, topic."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from aws_cdk.assertions import Match, Template

from meshworks.constructs.mesh.mesh_hub import MeshHub
from tests.mesh.mesh_fixtures import HUB, actions, new_stack, only, statements

PRODUCER = "444455556666"
OTHER_PRODUCER = "555566667777"
CONSUMERS = ["777788889999", "888899990000"]
ADMIN = "arn:aws:iam::111111111111:role/platform-admins"
KEY_ARN = "arn:aws:kms:eu-west-1:444455556666:key/1234abcd-12ab-34cd-56ef-1234567890ab"


@pytest.fixture(scope="module")
def built() -> tuple[MeshHub, Template]:
    _, stack = new_stack("Hub")
    hub = MeshHub(
        stack,
        "Hub",
        name_prefix="acme",
        lf_admin_role_arns=[ADMIN],
        producer_buckets=["acme-sales-curated"],
        producer_kms_key_arns=[KEY_ARN],
    )
    hub.add_domain("sales", producer_accounts=[PRODUCER])
    hub.add_domain("marketing", producer_accounts=[OTHER_PRODUCER, PRODUCER])
    hub.add_domain("finance")  # hub account only
    hub.add_producer_location("s3://acme-marketing-lake/raw/")
    for account in CONSUMERS:
        hub.add_consumer_account(account)
    hub.add_consumer_account(CONSUMERS[0])  # idempotent
    hub.add_lf_tag("classification", ["public", "internal"])
    hub.add_lf_tag("classification", ["internal", "restricted"])
    return hub, Template.from_stack(stack)


@pytest.fixture(scope="module")
def template(built: tuple[MeshHub, Template]) -> Template:
    return built[1]


def test_lake_formation_settings_append_admins_cross_account_v4(template: Template) -> None:
    settings = only(template, "AWS::LakeFormation::DataLakeSettings")["Properties"]
    assert settings["MutationType"] == "APPEND"
    assert settings["Parameters"] == {"CROSS_ACCOUNT_VERSION": "4"}
    admins = [a["DataLakePrincipalIdentifier"] for a in settings["Admins"]]
    assert admins[0] == ADMIN
    assert "cdk-hnb659fds-cfn-exec-role-111111111111-eu-west-1" in json.dumps(admins[1])


def test_no_iam_allowed_principals_defaults(template: Template) -> None:
    settings = only(template, "AWS::LakeFormation::DataLakeSettings")["Properties"]
    assert settings["CreateDatabaseDefaultPermissions"] == []
    assert settings["CreateTableDefaultPermissions"] == []
    for database in template.find_resources("AWS::Glue::Database").values():
        assert database["Properties"]["DatabaseInput"]["CreateTableDefaultPermissions"] == []
    assert "IAM_ALLOWED_PRINCIPALS" not in json.dumps(template.to_json())


def test_one_retained_database_per_domain_tagged_with_its_domain(template: Template) -> None:
    databases = template.find_resources("AWS::Glue::Database")
    assert sorted(d["Properties"]["DatabaseInput"]["Name"] for d in databases.values()) == [
        "finance",
        "marketing",
        "sales",
    ]
    assert all(d["DeletionPolicy"] == "Retain" and d["UpdateReplacePolicy"] == "Retain" for d in databases.values())
    tags = template.find_resources("AWS::LakeFormation::Tag")
    domain = next(t for t in tags.values() if t["Properties"]["TagKey"] == "domain")
    assert domain["Properties"]["TagValues"] == ["finance", "marketing", "sales"]
    associations = template.find_resources("AWS::LakeFormation::TagAssociation")
    tagged = {a["Properties"]["Resource"]["Database"]["Name"]: a["Properties"]["LFTags"] for a in associations.values()}
    assert tagged["sales"] == [{"CatalogId": HUB, "TagKey": "domain", "TagValues": ["sales"]}]


def test_lf_tag_values_merge_and_are_capped(built: tuple[MeshHub, Template]) -> None:
    hub, template = built
    tags = template.find_resources("AWS::LakeFormation::Tag")
    classification = next(t for t in tags.values() if t["Properties"]["TagKey"] == "classification")
    assert classification["Properties"]["TagValues"] == ["internal", "public", "restricted"]
    with pytest.raises(ValueError, match="at most 50"):
        hub.add_lf_tag("cost_center", [f"cc-{i}" for i in range(51)])


def test_data_access_role_reads_producer_buckets_with_their_keys(template: Template) -> None:
    roles = template.find_resources("AWS::IAM::Role", {"Properties": {"RoleName": "acme-lf-data-access"}})
    ((logical_id, role),) = roles.items()
    trust = role["Properties"]["AssumeRolePolicyDocument"]["Statement"]
    assert {a for s in trust for a in actions(s)} == {"sts:AssumeRole", "sts:SetContext"}
    assert all(s["Principal"] == {"Service": "lakeformation.amazonaws.com"} for s in trust)
    policy = next(
        p["Properties"]["PolicyDocument"]["Statement"]
        for p in template.find_resources("AWS::IAM::Policy").values()
        if p["Properties"]["Roles"] == [{"Ref": logical_id}]
    )
    by_sid = {s["Sid"]: s for s in policy if "Sid" in s}
    assert actions(by_sid["ReadProducerLocations"]) == ["s3:GetObject"]
    assert by_sid["ReadProducerLocations"]["Resource"] == [
        "arn:aws:s3:::acme-sales-curated/*",  # a whole bucket
        "arn:aws:s3:::acme-marketing-lake/raw/*",  # one folder only
    ]
    listing = [s for s in policy if actions(s) == ["s3:ListBucket"]]
    assert sorted((s["Resource"], json.dumps(s.get("Condition"))) for s in listing) == [
        ("arn:aws:s3:::acme-marketing-lake", json.dumps({"StringLike": {"s3:prefix": ["raw/*"]}})),
        ("arn:aws:s3:::acme-sales-curated", "null"),
    ]
    assert by_sid["DecryptProducerData"]["Resource"] == KEY_ARN
    assert by_sid["DecryptProducerData"]["Condition"] == {
        "StringLike": {"kms:ViaService": "s3.eu-west-1.amazonaws.com"}
    }
    assert not [a for s in policy for a in actions(s) if a.startswith("s3:Put") or a.startswith("s3:Delete")]


def test_bus_policy_admits_exactly_the_external_producers(template: Template) -> None:
    policy = only(template, "AWS::Events::EventBusPolicy")["Properties"]
    statement = policy["Statement"]
    assert statement["Principal"] == {"AWS": [f"arn:aws:iam::{PRODUCER}:root", f"arn:aws:iam::{OTHER_PRODUCER}:root"]}
    assert statement["Action"] == "events:PutEvents"
    assert statement["Condition"] == {
        "StringEquals": {"events:source": "meshworks.producer", "events:detail-type": "DataProductRefreshed"}
    }


def test_each_domain_rule_accepts_only_its_own_producers_and_domain(template: Template) -> None:
    rules = {
        r["Properties"]["EventPattern"]["detail"]["domain"][0]: r["Properties"]
        for r in template.find_resources("AWS::Events::Rule").values()
    }
    assert rules["sales"]["EventPattern"]["account"] == [PRODUCER]
    assert rules["marketing"]["EventPattern"]["account"] == [PRODUCER, OTHER_PRODUCER]
    assert rules["finance"]["EventPattern"]["account"] == [HUB]
    target = rules["sales"]["Targets"][0]
    assert target["RetryPolicy"] == {"MaximumEventAgeInSeconds": 86400, "MaximumRetryAttempts": 8}
    assert "DeadLetterConfig" in target


def topics(template: Template) -> dict[str, tuple[dict[str, Any], list[dict[str, Any]]]]:
    """Topic name -> (properties, statements of its topic policy)."""
    out = {}
    policies = template.find_resources("AWS::SNS::TopicPolicy")
    for logical_id, topic in template.find_resources("AWS::SNS::Topic").items():
        statements_ = [
            st
            for p in policies.values()
            if {"Ref": logical_id} in p["Properties"]["Topics"]
            for st in p["Properties"]["PolicyDocument"]["Statement"]
        ]
        out[topic["Properties"]["TopicName"]] = (topic["Properties"], statements_)
    return out


def test_hub_topic_is_encrypted_tls_only_and_admits_no_consumer_account(template: Template) -> None:
    """Issue 9 item 4: the hub-wide topic carries every product: no consumer account may subscribe to it."""
    props, document = topics(template)["acme-mesh-refreshed"]
    assert "KmsMasterKeyId" in props
    assert not re.findall(r":iam::(\d{12}):root", json.dumps([s for s in document if s["Effect"] == "Allow"]))
    denies = [s for s in document if s["Effect"] == "Deny"]
    assert denies and denies[0]["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}


def test_each_consumer_account_has_its_own_topic_admitting_only_it(template: Template) -> None:
    """Issue 9 item 4: a topic per consumer account (cost per account, not per product, like the LF-tags)."""
    by_name = topics(template)
    for account in CONSUMERS:
        props, document = by_name[f"acme-mesh-refreshed-{account}"]
        assert "KmsMasterKeyId" in props
        allows = [s for s in document if s["Effect"] == "Allow"]
        assert len(allows) == 1
        assert re.findall(r":iam::(\d{12}):root", json.dumps(allows[0]["Principal"])) == [account]
        assert allows[0]["Action"] == "sns:Subscribe"
        assert allows[0]["Condition"] == {"StringEquals": {"sns:Protocol": ["sqs", "lambda"]}}
        assert any(s["Effect"] == "Deny" and s["Condition"] == {"Bool": {"aws:SecureTransport": "false"}} for s in document)
    assert set(by_name) == {
        "acme-mesh-refreshed", "acme-mesh-hub-alarms", *(f"acme-mesh-refreshed-{a}" for a in CONSUMERS)
    }


def test_delivery_table_retained_pitr_cmk(template: Template) -> None:
    table = only(template, "AWS::DynamoDB::Table")
    props = table["Properties"]
    assert table["DeletionPolicy"] == "Retain" and table["UpdateReplacePolicy"] == "Retain"
    assert props["TableName"] == "acme-deliveries"
    assert props["KeySchema"] == [
        {"AttributeName": "product_key", "KeyType": "HASH"},
        {"AttributeName": "period_key", "KeyType": "RANGE"},
    ]
    assert props["PointInTimeRecoverySpecification"] == {"PointInTimeRecoveryEnabled": True}
    assert props["SSESpecification"]["SSEEnabled"] is True
    assert props["SSESpecification"]["SSEType"] == "KMS"
    assert props["DeletionProtectionEnabled"] is True


def test_notifier_environment_and_least_privilege(template: Template) -> None:
    function = next(
        f["Properties"]
        for f in template.find_resources("AWS::Lambda::Function").values()
        if f["Properties"].get("Handler") == "mesh_notifier.handler.main"
    )
    env = function["Environment"]["Variables"]
    assert set(env) == {
        "DELIVERY_TABLE", "TOPIC_ARN", "CATALOG_ID", "DATABASE_PREFIX", "CONSUMER_TOPIC_PREFIX", "PRODUCER_ACCOUNTS",
        "LEASE_SECONDS", "REJECTED_QUEUE_URL",
    }
    assert env["CATALOG_ID"] == HUB and env["DATABASE_PREFIX"] == ""
    assert env["PRODUCER_ACCOUNTS"] == f"{HUB},{PRODUCER},{OTHER_PRODUCER}"
    assert "acme-mesh-refreshed-" in json.dumps(env["CONSUMER_TOPIC_PREFIX"])
    # Fault 6: the lease outlives the invocation that holds it (timeout) plus a margin.
    assert int(env["LEASE_SECONDS"]) >= function["Timeout"] + 60
    # Rejected events (bad partition values...) go to the function's own DLQ at once, without Lambda's retries.
    dlq = function["DeadLetterConfig"]["TargetArn"]["Fn::GetAtt"][0]
    assert env["REJECTED_QUEUE_URL"] == {"Ref": dlq}
    assert any("sqs:SendMessage" in actions(s) and dlq in json.dumps(s["Resource"]) for s in statements(template))
    by_sid: dict[str, Any] = {s.get("Sid"): s for s in statements(template)}
    glue = by_sid["ReadTablesAddPartitions"]
    assert actions(glue) == ["glue:GetTable", "glue:CreatePartition", "glue:UpdatePartition"]
    glue_arns = json.dumps(glue["Resource"])
    for domain in ("sales", "marketing", "finance"):
        assert f"table/{domain}/*" in glue_arns and f"database/{domain}" in glue_arns
    assert by_sid["WriteSuccessMarkers"]["Resource"] == [
        "arn:aws:s3:::acme-sales-curated/*_SUCCESS",
        "arn:aws:s3:::acme-marketing-lake/raw/*_SUCCESS",
    ]
    dynamo = [s for s in statements(template) if any(a.startswith("dynamodb:") for a in actions(s))]
    assert {a for s in dynamo for a in actions(s)} == {"dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem"}
    assert any("sns:Publish" in actions(s) for s in statements(template))


def test_notifier_lake_formation_access_per_domain(template: Template) -> None:
    grants = [
        g["Properties"]
        for g in template.find_resources("AWS::LakeFormation::PrincipalPermissions").values()
        if "TableWildcard" in json.dumps(g["Properties"]["Resource"])
    ]
    assert sorted(g["Resource"]["Table"]["DatabaseName"] for g in grants) == ["finance", "marketing", "sales"]
    assert all(
        g["Permissions"] == ["DESCRIBE", "ALTER", "INSERT"] and g["PermissionsWithGrantOption"] == [] for g in grants
    )


def test_no_service_wide_wildcards(template: Template) -> None:
    for statement in statements(template):
        for action in actions(statement):
            assert action != "*" and not action.endswith(":*"), statement


def test_grant_methods() -> None:
    from aws_cdk import aws_iam as iam

    _, stack = new_stack("Grants")
    hub = MeshHub(stack, "Hub")
    role = iam.Role(stack, "Checker", assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"))
    hub.grant_read_deliveries(role)
    hub.grant_put_events(role)
    hub.grant_subscribe(role)
    template = Template.from_stack(stack)
    granted = {a for s in statements(template) for a in actions(s)}
    assert {"dynamodb:GetItem", "dynamodb:Query", "events:PutEvents", "sns:Subscribe", "kms:Decrypt"} <= granted
    template.has_resource_properties("AWS::Events::EventBus", {"Name": "meshworks-mesh-refresh"})
    assert hub.producer_accounts == [] and hub.consumer_accounts == []
    assert "role/meshworks-lf-data-access" in json.dumps(stack.resolve(hub.data_access_role_arn))
    template.has_resource_properties("AWS::IAM::Role", {"RoleName": Match.string_like_regexp("lf-data-access")})


def test_notifier_role_has_a_deterministic_name_producers_can_name() -> None:
    """Fault 5: producers' bucket and key policies name the notifier role: its name is <prefix>-mesh-notifier."""
    _, stack = new_stack("Names")
    hub = MeshHub(stack, "Hub", name_prefix="acme")
    template = Template.from_stack(stack)
    template.has_resource_properties("AWS::IAM::Role", {"RoleName": "acme-mesh-notifier"})
    assert "role/acme-mesh-notifier" in json.dumps(stack.resolve(hub.notifier_role_arn))


def test_role_names_over_64_characters_fail_at_synth_with_the_fix() -> None:
    _, stack = new_stack("LongNames")
    with pytest.raises(ValueError, match=r"name_prefix .* 64 characters"):
        MeshHub(stack, "Hub", name_prefix="a" * 60)


def test_producer_buckets_without_kms_keys_warn_at_synth() -> None:
    """Fault 5: without producer KMS keys a KMS-encrypted producer bucket cannot work: say so at synth."""
    from aws_cdk.assertions import Annotations

    _, stack = new_stack("NoKeys")
    MeshHub(stack, "Hub", producer_buckets=["acme-sales-curated"])
    warnings = Annotations.from_stack(stack).find_warning("*", Match.string_like_regexp("producer_kms_key_arns"))
    assert warnings, "expected a synth-time warning naming mesh.producer_kms_key_arns"


def test_notifier_dead_letters_and_errors_are_alarmed(template: Template) -> None:
    """Fault 7: the notifier's DLQ (Lambda on-failure and the EventBridge targets' DLQ) and its errors are watched."""
    alarms = [a["Properties"] for a in template.find_resources("AWS::CloudWatch::Alarm").values()]
    metrics = {(a.get("Namespace"), a.get("MetricName")) for a in alarms}
    assert ("AWS/SQS", "ApproximateNumberOfMessagesVisible") in metrics
    assert ("AWS/Lambda", "Errors") in metrics
    assert all(a["AlarmActions"] for a in alarms), "every alarm notifies the hub's alarm topic"
    queues = template.find_resources("AWS::SQS::Queue")
    dlq_alarms = [a for a in alarms if a.get("MetricName") == "ApproximateNumberOfMessagesVisible"]
    watched = {a["Dimensions"][0]["Value"]["Fn::GetAtt"][0] for a in dlq_alarms}
    assert watched == set(queues), "every queue of the hub is a dead-letter queue and each one is watched"
