"""Tests of the spoke's share acceptor Lambda (``share_acceptor.handler.main``).

moto 5 does not implement RAM invitations (``GetResourceShareInvitations``,
``AcceptResourceShareInvitation``) nor ``ListResources``, so the RAM client is a real boto3
client driven by ``botocore.stub.Stubber`` (strict: any unexpected RAM call, e.g. accepting a
foreign invitation, fails the test). Glue (resource links), Lake Formation (grants) and
CloudWatch (metrics) run on moto (``mock_aws``). moto's Glue ignores cross-account catalogs,
so the Glue ``ResourceShareType=FOREIGN`` discovery is monkeypatched where a test needs it.
Back-off sleeps are replaced by a recorder.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from types import SimpleNamespace
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from botocore.stub import ANY, Stubber
from moto import mock_aws

from meshworks.lambdas.share_acceptor import core, handler
from meshworks.lambdas.share_acceptor.core import ConfigurationError, RunFailedError, plan_shares

REGION = "eu-west-1"
HUB = "111122223333"
OTHER = "444455556666"
SPOKE = "123456789012"  # moto's default account
ANALYST = f"arn:aws:iam::{SPOKE}:role/analyst"
ETL = f"arn:aws:iam::{SPOKE}:role/etl"
SHARED = [
    f"arn:aws:glue:{REGION}:{HUB}:database/sales",
    f"arn:aws:glue:{REGION}:{HUB}:table/marketing/campaigns",
    f"arn:aws:glue:{REGION}:{HUB}:table/marketing/leads",
    f"arn:aws:glue:{REGION}:{HUB}:table/sales/orders",  # covered by the database share
    f"arn:aws:glue:{REGION}:{OTHER}:database/evil",  # not from the hub
]


def invitation(name: str, sender: str = HUB, status: str = "PENDING", share: str | None = None) -> dict:
    return {
        "resourceShareInvitationArn": f"arn:aws:ram:{REGION}:{sender}:resource-share-invitation/{name}",
        "resourceShareName": f"share-{share or name}",
        "resourceShareArn": f"arn:aws:ram:{REGION}:{sender}:resource-share/{share or name}",
        "senderAccountId": sender,
        "receiverAccountId": SPOKE,
        "invitationTimestamp": datetime(2026, 11, 25, tzinfo=timezone.utc),
        "status": status,
    }


def arn_of(inv: dict) -> str:
    return inv["resourceShareInvitationArn"]


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch):
    """Spoke account: stubbed RAM, moto Glue/LF/CloudWatch, recorded back-off sleeps."""
    monkeypatch.setenv("HUB_ACCOUNT_ID", HUB)
    monkeypatch.setenv("ACCOUNT_ID", SPOKE)
    monkeypatch.delenv("SHARING_MODE", raising=False)
    monkeypatch.setenv("LOCAL_PRINCIPAL_ARNS", f"{ANALYST}, {ETL}")
    monkeypatch.delenv("RESOURCE_LINK_DATABASE_PREFIX", raising=False)
    monkeypatch.delenv("ALARM_METRIC_NAMESPACE", raising=False)
    sleeps: list[float] = []
    monkeypatch.setattr(core, "_sleep", sleeps.append)
    with mock_aws():
        ram = boto3.client("ram", region_name=REGION)
        accepted: list[str] = []
        ram.meta.events.register(
            "provide-client-params.ram.AcceptResourceShareInvitation",
            lambda params, **_: accepted.append(params["resourceShareInvitationArn"]),
        )
        clients = handler.Clients(
            ram=ram,
            glue=boto3.client("glue", region_name=REGION),
            lakeformation=boto3.client("lakeformation", region_name=REGION),
            cloudwatch=boto3.client("cloudwatch", region_name=REGION),
        )
        monkeypatch.setattr(handler, "_CLIENTS", clients)
        with Stubber(ram) as stub:
            yield SimpleNamespace(stub=stub, sleeps=sleeps, accepted=accepted, **vars(clients))
    handler.reset_clients()


def expect_invitations(
    aws: SimpleNamespace, *invitations: dict, token: str | None = None, next_token: str | None = None
) -> None:
    page: dict[str, Any] = {"resourceShareInvitations": list(invitations)}
    if next_token:
        page["nextToken"] = next_token
    aws.stub.add_response("get_resource_share_invitations", page, {"nextToken": token} if token else {})


def expect_accept(aws: SimpleNamespace, inv: dict) -> None:
    response = {"resourceShareInvitation": {**inv, "status": "ACCEPTED"}, "clientToken": "token"}
    expected = {"resourceShareInvitationArn": arn_of(inv), "clientToken": ANY}
    aws.stub.add_response("accept_resource_share_invitation", response, expected)


def expect_accept_error(aws: SimpleNamespace, inv: dict, code: str, times: int = 1) -> None:
    for _ in range(times):
        aws.stub.add_client_error(
            "accept_resource_share_invitation",
            service_error_code=code,
            http_status_code=400,
            expected_params={"resourceShareInvitationArn": arn_of(inv), "clientToken": ANY},
        )


def expect_resources(aws: SimpleNamespace, arns: list[str]) -> None:
    resources = [
        {"arn": arn, "type": "glue:Table" if ":table/" in arn else "glue:Database", "status": "AVAILABLE"}
        for arn in arns
    ]
    aws.stub.add_response("list_resources", {"resources": resources}, {"resourceOwner": "OTHER-ACCOUNTS"})


def metric_sum(aws: SimpleNamespace, name: str) -> float:
    now = datetime.now(timezone.utc)
    stats = aws.cloudwatch.get_metric_statistics(
        Namespace="meshworks/share-acceptor",
        MetricName=name,
        StartTime=now - timedelta(minutes=5),
        EndTime=now + timedelta(minutes=5),
        Period=600,
        Statistics=["Sum"],
    )
    return sum(point["Sum"] for point in stats["Datapoints"])


def test_accepts_hub_invitation_creates_links_and_grants(aws: SimpleNamespace) -> None:
    inv = invitation("inv-1")
    expect_invitations(aws, inv)
    expect_accept(aws, inv)
    expect_resources(aws, SHARED)

    counts = handler.main({}, None)

    aws.stub.assert_no_pending_responses()
    assert aws.accepted == [arn_of(inv)]
    assert counts == {
        "accepted": 1,
        "ignored": 0,
        "already_accepted": 0,
        "expired": 0,
        "links_created": 3,
        "links_existing": 0,
        "grants": 2 * (1 + 1 + 2 + 1),  # links: database, local database, 2 tables; 1 LF-tag policy
        "errors": 0,
    }
    sales = aws.glue.get_database(Name="shared_sales")["Database"]
    assert sales["TargetDatabase"] == {"CatalogId": HUB, "DatabaseName": "sales"}
    marketing = aws.glue.get_database(Name="shared_marketing")["Database"]
    assert "TargetDatabase" not in marketing
    assert marketing["Parameters"]["meshworks:managed-by"] == "share-acceptor"
    tables = aws.glue.get_tables(DatabaseName="shared_marketing")["TableList"]
    assert {t["Name"]: t["TargetTable"] for t in tables} == {
        "campaigns": {"CatalogId": HUB, "DatabaseName": "marketing", "Name": "campaigns"},
        "leads": {"CatalogId": HUB, "DatabaseName": "marketing", "Name": "leads"},
    }
    assert [d["Name"] for d in aws.glue.get_databases()["DatabaseList"]] == ["shared_sales", "shared_marketing"]

    granted = aws.lakeformation.list_permissions()["PrincipalResourcePermissions"]
    by_principal = {
        (g["Principal"]["DataLakePrincipalIdentifier"], repr(g["Resource"])): sorted(g["Permissions"]) for g in granted
    }
    policy = {
        "LFTagPolicy": {
            "CatalogId": HUB,
            "ResourceType": "TABLE",
            "Expression": [{"TagKey": f"meshworks:consumer:{SPOKE}", "TagValues": ["true"]}],
        }
    }
    assert by_principal[(ANALYST, repr(policy))] == ["DESCRIBE", "SELECT"]
    assert by_principal[(ETL, repr({"Database": {"Name": "shared_sales"}}))] == ["DESCRIBE"]
    assert by_principal[(ETL, repr({"Table": {"DatabaseName": "shared_marketing", "Name": "leads"}}))] == ["DESCRIBE"]
    assert not [g for g in granted if "TableWildcard" in g["Resource"].get("Table", {})]
    assert not [g for g in granted if g["PermissionsWithGrantOption"]]
    assert metric_sum(aws, "AcceptedInvitations") == 1
    assert metric_sum(aws, "ExpiredInvitations") == 0


def test_ignores_other_senders_and_never_accepts_them(aws: SimpleNamespace) -> None:
    foreign = invitation("inv-9", sender=OTHER)
    hub = invitation("inv-1")
    expect_invitations(aws, foreign, next_token="page-2")
    expect_invitations(aws, hub, invitation("inv-8", sender=OTHER, status="ACCEPTED"), token="page-2")
    expect_accept(aws, hub)
    expect_resources(aws, [f"arn:aws:glue:{REGION}:{OTHER}:database/evil"])

    counts = handler.main({}, None)

    aws.stub.assert_no_pending_responses()
    assert aws.accepted == [arn_of(hub)]
    assert counts["ignored"] == 1
    assert counts["accepted"] == 1
    assert aws.glue.get_databases()["DatabaseList"] == []
    assert metric_sum(aws, "IgnoredInvitations") == 1


def test_already_accepted_is_a_no_op(aws: SimpleNamespace) -> None:
    expect_invitations(aws, invitation("inv-1", status="ACCEPTED"))
    expect_resources(aws, [])

    counts = handler.main({}, None)

    assert counts["already_accepted"] == 1
    assert counts["accepted"] == 0
    assert aws.accepted == []


def test_accept_race_with_already_accepted_is_fine(aws: SimpleNamespace) -> None:
    inv = invitation("inv-1")
    expect_invitations(aws, inv)
    expect_accept_error(aws, inv, "ResourceShareInvitationAlreadyAcceptedException")
    expect_resources(aws, [])

    assert handler.main({}, None)["already_accepted"] == 1


def test_expired_hub_invitation_emits_metric_without_crashing(aws: SimpleNamespace) -> None:
    expect_invitations(aws, invitation("inv-1", status="EXPIRED"), invitation("inv-2"))
    expect_accept_error(aws, invitation("inv-2"), "ResourceShareInvitationExpiredException")
    expect_resources(aws, [])

    counts = handler.main({}, None)  # no exception: expiry is reported through the alarm metric

    assert counts["expired"] == 2
    assert counts["errors"] == 0
    assert metric_sum(aws, "ExpiredInvitations") == 2


def test_expired_invitation_superseded_by_a_new_one_is_not_reported(aws: SimpleNamespace) -> None:
    expect_invitations(
        aws,
        invitation("inv-old", status="EXPIRED", share="s1"),
        invitation("inv-new", status="ACCEPTED", share="s1"),
    )
    expect_resources(aws, [])

    counts = handler.main({}, None)

    assert counts["expired"] == 0
    assert counts["already_accepted"] == 1


def test_throttled_accept_backs_off_then_succeeds(aws: SimpleNamespace) -> None:
    inv = invitation("inv-1")
    aws.stub.add_client_error("get_resource_share_invitations", service_error_code="TooManyRequestsException")
    expect_invitations(aws, inv)
    expect_accept_error(aws, inv, "ThrottlingException", times=2)
    expect_accept(aws, inv)
    expect_resources(aws, [])

    counts = handler.main({}, None)

    aws.stub.assert_no_pending_responses()
    assert counts["accepted"] == 1
    assert counts["errors"] == 0
    assert len(aws.sleeps) == 3
    assert aws.sleeps[0] <= core.BASE_DELAY_SECONDS
    assert aws.sleeps[2] <= 2 * core.BASE_DELAY_SECONDS


def test_always_throttled_gives_up_after_bounded_retries_and_processes_the_rest(aws: SimpleNamespace) -> None:
    stuck, fine = invitation("inv-1"), invitation("inv-2")
    expect_invitations(aws, stuck, fine)
    expect_accept_error(aws, stuck, "ThrottlingException", times=core.MAX_ATTEMPTS)
    expect_accept(aws, fine)
    expect_resources(aws, [f"arn:aws:glue:{REGION}:{HUB}:database/sales"])

    with pytest.raises(RunFailedError, match="inv-1: ThrottlingException"):
        handler.main({}, None)

    aws.stub.assert_no_pending_responses()
    assert aws.accepted == [arn_of(stuck)] * core.MAX_ATTEMPTS + [arn_of(fine)]
    assert len(aws.sleeps) == core.MAX_ATTEMPTS - 1
    assert all(delay <= core.MAX_DELAY_SECONDS for delay in aws.sleeps)
    assert aws.glue.get_database(Name="shared_sales")["Database"]["TargetDatabase"]["DatabaseName"] == "sales"
    assert metric_sum(aws, "Errors") == 1


def test_links_are_created_once_across_two_runs(aws: SimpleNamespace) -> None:
    inv = invitation("inv-1")
    expect_invitations(aws, inv)
    expect_accept(aws, inv)
    expect_resources(aws, SHARED)
    first = handler.main({}, None)

    expect_invitations(aws, {**inv, "status": "ACCEPTED"})
    expect_resources(aws, SHARED)
    second = handler.main({}, None)

    assert (first["links_created"], first["links_existing"]) == (3, 0)
    assert (second["links_created"], second["links_existing"]) == (0, 3)
    assert second["grants"] == first["grants"]
    assert second["already_accepted"] == 1
    assert len(aws.glue.get_databases()["DatabaseList"]) == 2
    assert len(aws.glue.get_tables(DatabaseName="shared_marketing")["TableList"]) == 2


def test_existing_non_link_database_is_never_overwritten(aws: SimpleNamespace) -> None:
    aws.glue.create_database(DatabaseInput={"Name": "shared_sales", "Description": "analytics team's own"})
    aws.glue.create_database(DatabaseInput={"Name": "shared_marketing", "Description": "not ours either"})
    expect_invitations(aws, invitation("inv-1", status="ACCEPTED"))
    expect_resources(aws, SHARED)

    with pytest.raises(RunFailedError, match="not a resource link"):
        handler.main({}, None)

    sales = aws.glue.get_database(Name="shared_sales")["Database"]
    assert sales["Description"] == "analytics team's own"
    assert not sales.get("TargetDatabase")
    assert aws.glue.get_tables(DatabaseName="shared_marketing")["TableList"] == []
    assert aws.lakeformation.list_permissions()["PrincipalResourcePermissions"] == []


def test_link_pointing_elsewhere_is_a_conflict(aws: SimpleNamespace) -> None:
    aws.glue.create_database(
        DatabaseInput={"Name": "shared_sales", "TargetDatabase": {"CatalogId": OTHER, "DatabaseName": "sales"}}
    )
    expect_invitations(aws)
    expect_resources(aws, [f"arn:aws:glue:{REGION}:{HUB}:database/sales"])

    with pytest.raises(RunFailedError, match=f"not a resource link to {HUB}:sales"):
        handler.main({}, None)
    target = aws.glue.get_database(Name="shared_sales")["Database"]["TargetDatabase"]
    assert target["CatalogId"] == OTHER


def test_lf_tag_shared_databases_found_through_glue_get_databases_foreign(
    aws: SimpleNamespace, monkeypatch: pytest.MonkeyPatch
) -> None:
    """moto's Glue has no cross-account view, so the FOREIGN listing is monkeypatched."""
    monkeypatch.setattr(handler, "list_foreign_databases", lambda glue, hub: ["finance", "marketing"])
    expect_invitations(aws)
    expect_resources(aws, SHARED)

    counts = handler.main({}, None)

    assert counts["links_created"] == 4
    finance = aws.glue.get_database(Name="shared_finance")["Database"]
    assert finance["TargetDatabase"] == {"CatalogId": HUB, "DatabaseName": "finance"}
    assert "TargetDatabase" not in aws.glue.get_database(Name="shared_marketing")["Database"]


def test_plan_separates_database_and_table_shares() -> None:
    plan = plan_shares(SHARED + [f"arn:aws:glue:{REGION}:{HUB}:table/hr/*"], HUB, ["ops"])
    assert plan.databases == ("hr", "ops", "sales")
    assert plan.tables == {"marketing": ("campaigns", "leads")}


@pytest.mark.parametrize("request_type", ["Create", "Update"])
def test_custom_resource_create_and_update_return_counts(aws: SimpleNamespace, request_type: str) -> None:
    expect_invitations(aws, invitation("inv-1", status="ACCEPTED"))
    expect_resources(aws, [f"arn:aws:glue:{REGION}:{HUB}:database/sales"])

    result = handler.main({"RequestType": request_type, "ResourceProperties": {}}, None)

    assert result["PhysicalResourceId"] == "share-acceptor"
    assert result["Data"]["already_accepted"] == 1
    assert result["Data"]["links_created"] == 1


def test_custom_resource_create_reports_step_errors_without_failing_the_deployment(aws: SimpleNamespace) -> None:
    aws.glue.create_database(DatabaseInput={"Name": "shared_sales"})
    expect_invitations(aws)
    expect_resources(aws, [f"arn:aws:glue:{REGION}:{HUB}:database/sales"])

    result = handler.main({"RequestType": "Create"}, None)

    assert result["Data"]["errors"] == 1


def test_custom_resource_delete_does_nothing(aws: SimpleNamespace, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("HUB_ACCOUNT_ID")  # even a broken configuration must not block stack deletion
    result = handler.main({"RequestType": "Delete", "PhysicalResourceId": "share-acceptor"}, None)
    assert result == {"PhysicalResourceId": "share-acceptor", "Data": {}}
    aws.stub.assert_no_pending_responses()
    assert aws.accepted == []


@pytest.mark.parametrize("value", [None, "", "12345", "11112222333a", "1111222233334", "arn:aws:iam::1:root"])
def test_bad_or_missing_hub_account_id_is_a_clear_error(monkeypatch: pytest.MonkeyPatch, value: str | None) -> None:
    if value is None:
        monkeypatch.delenv("HUB_ACCOUNT_ID", raising=False)
    else:
        monkeypatch.setenv("HUB_ACCOUNT_ID", value)
    with pytest.raises(ConfigurationError, match="HUB_ACCOUNT_ID must be the hub's 12-digit AWS account id"):
        handler.main({}, None)


def test_named_resource_mode_grants_each_shared_table_by_name(
    aws: SimpleNamespace, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SHARING_MODE", "named_resources")
    monkeypatch.delenv("ACCOUNT_ID")  # not needed: no LF-tag policy is granted
    expect_invitations(aws)
    expect_resources(aws, SHARED)

    handler.main({}, None)

    granted = aws.lakeformation.list_permissions()["PrincipalResourcePermissions"]
    hub_tables = sorted(
        (g["Resource"]["Table"]["DatabaseName"], g["Resource"]["Table"].get("Name", "*"))
        for g in granted
        if g["Resource"].get("Table", {}).get("CatalogId") == HUB and g["Principal"]["DataLakePrincipalIdentifier"] == ETL
    )
    assert hub_tables == [("marketing", "campaigns"), ("marketing", "leads"), ("sales", "orders")]
    assert not [g for g in granted if "LFTagPolicy" in g["Resource"]]


@pytest.mark.parametrize("prefix", ["", "_x", "1db", "Shared_"])
def test_empty_or_unsafe_resource_link_prefix_is_refused(monkeypatch: pytest.MonkeyPatch, prefix: str) -> None:
    """An empty prefix would make the Glue write scope ``database/*``: every database of the account."""
    monkeypatch.setenv("HUB_ACCOUNT_ID", HUB)
    monkeypatch.setenv("ACCOUNT_ID", SPOKE)
    monkeypatch.setenv("RESOURCE_LINK_DATABASE_PREFIX", prefix)
    with pytest.raises(ConfigurationError, match="RESOURCE_LINK_DATABASE_PREFIX must start with a lowercase letter"):
        handler.main({}, None)


@pytest.mark.parametrize(
    ("resource", "permissions"),
    [
        ({"Database": {"Name": "finance"}}, ("DESCRIBE",)),  # a local database that is not a link
        ({"Database": {"Name": "shared_sales"}}, ("ALTER",)),
        ({"Table": {"DatabaseName": "hr", "Name": "salaries"}}, ("DESCRIBE",)),
        ({"Table": {"CatalogId": HUB, "DatabaseName": "sales", "TableWildcard": {}}}, ("SELECT",)),
        ({"Table": {"CatalogId": OTHER, "DatabaseName": "sales", "Name": "orders"}}, ("SELECT",)),
        ({"Table": {"CatalogId": HUB, "DatabaseName": "sales", "Name": "orders"}}, ("SELECT", "ALTER")),
        ({"LFTagPolicy": {"CatalogId": HUB, "ResourceType": "TABLE",
                          "Expression": [{"TagKey": "domain", "TagValues": ["sales"]}]}}, ("SELECT",)),
        ({"Catalog": {}}, ("CREATE_DATABASE",)),
        ({"DataLocation": {"ResourceArn": "arn:aws:s3:::bucket"}}, ("DATA_LOCATION_ACCESS",)),
    ],
)
def test_grants_outside_the_acceptor_scope_are_refused(resource: dict, permissions: tuple[str, ...]) -> None:
    """The acceptor is a data lake administrator: its code refuses anything but its links and shared tables."""
    config = core.Config(HUB, account_id=SPOKE)
    with pytest.raises(core.ShareAcceptorError, match="outside the acceptor's scope"):
        core.check_grant_scope(config, (resource, permissions))


def test_bad_principal_arn_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HUB_ACCOUNT_ID", HUB)
    monkeypatch.setenv("LOCAL_PRINCIPAL_ARNS", "analyst")
    with pytest.raises(ConfigurationError, match="LOCAL_PRINCIPAL_ARNS"):
        handler.main({"RequestType": "Create"}, None)


def test_glue_foreign_listing_failure_does_not_block_ram_links(
    aws: SimpleNamespace, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The FOREIGN listing is replaced by one raising AccessDenied (moto cannot deny it)."""

    def denied(glue: Any, hub: str) -> list[str]:
        raise ClientError({"Error": {"Code": "AccessDeniedException", "Message": "no"}}, "GetDatabases")

    monkeypatch.setattr(handler, "list_foreign_databases", denied)
    expect_invitations(aws)
    expect_resources(aws, [f"arn:aws:glue:{REGION}:{HUB}:database/sales"])

    with pytest.raises(RunFailedError, match="AccessDeniedException"):
        handler.main({}, None)
    assert aws.glue.get_database(Name="shared_sales")["Database"]["TargetDatabase"]["DatabaseName"] == "sales"
