"""The share acceptor asks Lake Formation only for what the hub granted its account with grant option.

The acceptor runs on moto with IAM enforced under its role's policies from the synthesized template
(the Service Catalog product and the spoke stack); every ``GrantPermissions`` it sends is checked
against Lake Formation's grant-option rule (``tests/lf_cascade.py``) with the hub's grants to that
consumer account from the same synthesis: LF-tag mode from the reference app, named-resource mode from
a small catalog built here. moto implements neither RAM invitations nor cross-account Glue, so RAM is
stubbed (its actions are checked against the role's statements by the harness) and the databases the
hub shares are what Glue's ``ResourceShareType=FOREIGN`` listing would show. The test also checks the
other side: the local principals end up able to read exactly the tables shared with the account.
"""

from __future__ import annotations

import json
from typing import Any

import boto3
import pytest
from aws_cdk import App, Environment, Stack
from botocore.stub import Stubber
from moto import mock_aws

from meshworks.constructs.mesh.data_product import SharingMode
from meshworks.constructs.mesh.data_product_catalog import DataProductCatalog
from meshworks.lambdas.share_acceptor import core, handler
from meshworks.lambdas.share_acceptor.core import RunFailedError
from meshworks.stacks.spoke_stack import SpokeStack
from tests.aws_enforcement import EnforcedRole, find_function, placeholder_refs, resolve
from tests.harness import SynthesizedPlatform
from tests.lf_cascade import hub_catalog, refusal, tables_readable, tables_shared, upstream_grants
from tests.mesh.mesh_fixtures import make_contract

REGION = "eu-west-1"
HANDLER = "share_acceptor.handler.main"
PRODUCT = "MeshHubSpokeProductShareAcceptorProductF291CA72.product"


def _setup(platform: SynthesizedPlatform) -> tuple[str, str, list[str]]:
    consumer = platform.config.environments.consumers[0]
    return platform.config.environments.hub.account, consumer.account, list(consumer.principals)


def run_acceptor(
    template: dict[str, Any],
    monkeypatch: pytest.MonkeyPatch,
    *,
    consumer: str,
    principals: list[str],
    shared_arns: list[str],
    foreign_databases: list[str],
    invitations: list[dict[str, Any]] = (),  # type: ignore[assignment]
    throttled_accepts: int = 0,
    existing_databases: list[str] = (),  # type: ignore[assignment]
    expect_errors: int = 0,
) -> EnforcedRole:
    """One scheduled run of the acceptor of ``template`` in ``consumer``, IAM enforced; returns its role.

    ``invitations`` are pending; each accept is first refused ``throttled_accepts`` times;
    ``existing_databases`` already exist in the account (not links: conflicts)."""
    refs = {
        **placeholder_refs(template, account=consumer),
        "ResourceLinkPrefix": "shared_",
        "LocalPrincipalArns": ",".join(principals),
    }
    _, function = find_function(template, HANDLER)
    for name, value in resolve(function["Properties"]["Environment"]["Variables"], refs, account=consumer).items():
        monkeypatch.setenv(name, str(value))
    monkeypatch.setenv("MOTO_ACCOUNT_ID", consumer)
    monkeypatch.setattr(handler, "list_foreign_databases", lambda glue, hub: list(foreign_databases))
    role = EnforcedRole.from_template(template, handler=HANDLER, refs=refs, account=consumer)
    monkeypatch.setattr(core, "_sleep", lambda seconds: None)
    with mock_aws():
        for name in existing_databases:
            boto3.client("glue", region_name=REGION).create_database(DatabaseInput={"Name": name})
        with role.enforced(monkeypatch):
            handler.reset_clients()
            clients = handler.get_clients()
            with Stubber(clients.ram) as ram:
                ram.add_response("get_resource_share_invitations", {"resourceShareInvitations": list(invitations)})
                for invitation in invitations:
                    for _ in range(throttled_accepts):
                        ram.add_client_error("accept_resource_share_invitation", "ThrottlingException")
                    if throttled_accepts < core.MAX_ATTEMPTS:
                        ram.add_response("accept_resource_share_invitation", {"resourceShareInvitation": invitation})
                resources = [
                    {"arn": arn, "type": "glue:Table" if ":table/" in arn else "glue:Database"} for arn in shared_arns
                ]
                ram.add_response("list_resources", {"resources": resources}, {"resourceOwner": "OTHER-ACCOUNTS"})
                try:
                    counts = handler.main({"source": "meshworks.schedule"}, None)
                except RunFailedError as error:
                    counts = {"errors": int(str(error).split(" ", 1)[0])}  # "<n> step(s) failed: ..."
        handler.reset_clients()
    assert counts["errors"] == expect_errors, counts
    role.check_resources()
    return role


def grant_requests(role: EnforcedRole) -> list[dict[str, Any]]:
    return [call.params for call in role.calls if call.action == "lakeformation:GrantPermissions"]


@pytest.mark.parametrize("stack", [PRODUCT, "Spoke-analytics"])
def test_lf_tag_mode_grants_stay_within_the_hub_grant_option(
    platform: SynthesizedPlatform, monkeypatch: pytest.MonkeyPatch, stack: str
) -> None:
    hub, consumer, principals = _setup(platform)
    catalog = hub_catalog(platform.templates, hub)
    upstream = upstream_grants(platform.templates, consumer)
    shared = tables_shared(upstream, catalog)
    assert shared and shared != set(catalog.tables)  # the account sees some tables, not all
    databases = sorted({database for database, _ in shared})

    role = run_acceptor(
        platform.templates[stack], monkeypatch, consumer=consumer, principals=principals,
        shared_arns=[], foreign_databases=databases,
    )

    requests = grant_requests(role)
    refused = [why for request in requests if (why := refusal(request, upstream, catalog, consumer))]
    assert requests and not refused, refused
    for principal in principals:
        assert tables_readable(principal, requests, catalog) == shared


def _named_mode_templates(hub: str, consumer: str, principals: list[str]) -> dict[str, dict[str, Any]]:
    """A hub catalog in named-resource mode (one shared table per database, one not shared) and a spoke."""
    app = App(builtin_cloud_formation_validation=False)
    stack = Stack(app, "Products", env=Environment(account=hub, region=REGION))
    DataProductCatalog(
        stack, "Products", catalog_id=hub, data_access_role_arn=None, sharing_mode=SharingMode.NAMED_RESOURCES,
        allowed_consumer_accounts=[consumer, "444455556666"],
        contracts=[
            make_contract("sales", "orders", consumers=[consumer]),
            make_contract("sales", "customers", consumers=["444455556666"]),
            make_contract("marketing", "campaigns", consumers=[consumer]),
        ],
    )
    spoke = SpokeStack(
        app, "Spoke", env=Environment(account=consumer, region=REGION), hub_account_id=hub,
        local_principal_arns=principals, sharing_mode="named_resources",
    )
    assembly = app.synth()
    return {name: assembly.get_stack_by_name(s.stack_name).template for name, s in
            (("Products", stack), ("Spoke", spoke))}


@pytest.mark.parametrize("ram_lists_databases", [False, True])
def test_named_resource_mode_grants_stay_within_the_hub_grant_option(
    platform: SynthesizedPlatform, monkeypatch: pytest.MonkeyPatch, ram_lists_databases: bool
) -> None:
    hub, consumer, principals = _setup(platform)
    templates = _named_mode_templates(hub, consumer, principals)
    catalog = hub_catalog(templates, hub)
    catalog.databases.update({"sales": {}, "marketing": {}})
    upstream = upstream_grants(templates, consumer)
    shared = {("sales", "orders"), ("marketing", "campaigns")}
    arns = [f"arn:aws:glue:{REGION}:{hub}:table/{db}/{table}" for db, table in sorted(shared)]
    if ram_lists_databases:  # RAM may list the databases of shared tables too
        arns += [f"arn:aws:glue:{REGION}:{hub}:database/{db}" for db in ("marketing", "sales")]

    role = run_acceptor(
        templates["Spoke"], monkeypatch, consumer=consumer, principals=principals,
        shared_arns=arns, foreign_databases=["marketing", "sales"],
    )

    requests = grant_requests(role)
    refused = [why for request in requests if (why := refusal(request, upstream, catalog, consumer))]
    assert requests and not refused, refused
    for principal in principals:
        assert tables_readable(principal, requests, catalog) == shared


def test_the_rule_refuses_what_the_acceptor_used_to_ask(platform: SynthesizedPlatform) -> None:
    """The model itself: a TableWildcard of a hub database exceeds an LF-tag grant; the identical policy does not."""
    hub, consumer, principals = _setup(platform)
    catalog = hub_catalog(platform.templates, hub)
    upstream = upstream_grants(platform.templates, consumer)
    wildcard = {"Table": {"CatalogId": hub, "DatabaseName": "sales", "TableWildcard": {}}}
    policy = next(g.resource for g in upstream if "LFTagPolicy" in g.resource
                  and g.resource["LFTagPolicy"]["ResourceType"] == "TABLE")
    request = {"Principal": {"DataLakePrincipalIdentifier": principals[0]}, "Permissions": ["SELECT", "DESCRIBE"]}
    assert "TableWildcard" in (refusal({**request, "Resource": wildcard}, upstream, catalog, consumer) or "")
    assert refusal({**request, "Resource": policy}, upstream, catalog, consumer) is None
    other = {"LFTagPolicy": {**policy["LFTagPolicy"], "Expression": [{"TagKey": "domain", "TagValues": ["sales"]}]}}
    assert refusal({**request, "Resource": other}, upstream, catalog, consumer)


def test_aws_errors_with_iam_enforced(platform: SynthesizedPlatform, monkeypatch: pytest.MonkeyPatch) -> None:
    """Throttled accepts (given up after the bounded retries) and a name conflict: reported, metrics
    still published, the other database still linked and granted; nothing the role does is denied."""
    hub, consumer, principals = _setup(platform)
    invitation = {
        "resourceShareInvitationArn": f"arn:aws:ram:{REGION}:{hub}:resource-share-invitation/inv-1",
        "resourceShareArn": f"arn:aws:ram:{REGION}:{hub}:resource-share/s1",
        "senderAccountId": hub, "status": "PENDING",
    }
    role = run_acceptor(
        platform.templates[PRODUCT], monkeypatch, consumer=consumer, principals=principals,
        shared_arns=[], foreign_databases=["marketing", "sales"], invitations=[invitation],
        throttled_accepts=core.MAX_ATTEMPTS, existing_databases=["shared_sales"], expect_errors=2,
    )
    assert role.actions() >= {"ram:AcceptResourceShareInvitation", "cloudwatch:PutMetricData"}
    links = [c.params["DatabaseInput"]["Name"] for c in role.calls if c.action == "glue:CreateDatabase"]
    assert links == ["shared_marketing", "shared_sales"]
    granted = {json.dumps(r["Resource"], sort_keys=True) for r in grant_requests(role)}
    assert json.dumps({"Database": {"Name": "shared_marketing"}}, sort_keys=True) in granted
    assert json.dumps({"Database": {"Name": "shared_sales"}}, sort_keys=True) not in granted
