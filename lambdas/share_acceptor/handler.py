"""Spoke-side share acceptor (handler ``share_acceptor.handler.main``).

Runs on a schedule and once at deployment (custom resource through the CDK Provider framework):

1. accepts RAM invitations that are PENDING **and** sent by ``HUB_ACCOUNT_ID`` (never others);
2. reports EXPIRED hub invitations (metric ``ExpiredInvitations``: the hub must re-share);
3. discovers what the hub shared with ``ram:ListResources(resourceOwner=OTHER-ACCOUNTS)``: the
   Glue database/table ARNs carry the owner account and tell database-level from table-level
   shares; ``glue:GetDatabases(ResourceShareType=FOREIGN)`` adds hub databases that RAM does
   not list as named resources (LF-tag grants);
4. creates ``<prefix><db>`` database links, or table links in a local ``<prefix><db>``;
5. grants each local principal DESCRIBE on the links and SELECT+DESCRIBE on the shared hub tables,
   never more than this account holds with grant option: in ``lf_tags`` mode through the identical
   LF-tag policy the hub granted (``meshworks:consumer:<account>=true``), in ``named_resources`` mode on
   each shared table by name. Every grant is checked against the acceptor's scope before it is sent.

Environment: ``HUB_ACCOUNT_ID`` (required), ``ACCOUNT_ID`` (this account; required in ``lf_tags``
mode), ``SHARING_MODE`` (``lf_tags``), ``RESOURCE_LINK_DATABASE_PREFIX`` (``shared_``, non-empty),
``LOCAL_PRINCIPAL_ARNS`` (comma-separated), ``ALARM_METRIC_NAMESPACE`` (``meshworks/share-acceptor``).
"""

from __future__ import annotations

import logging
import os
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import boto3
from botocore.config import Config as BotoConfig
from botocore.exceptions import ClientError

from .catalog import ensure_database_link, ensure_local_database, ensure_table_link, grant
from .core import (
    Config,
    Grant,
    RunFailedError,
    ShareAcceptorError,
    Summary,
    check_grant_scope,
    error_code,
    link_grant,
    log,
    plan_shares,
    shared_table_grants,
    table_link_grant,
    with_backoff,
)

PHYSICAL_RESOURCE_ID = "share-acceptor"
_BOTO_CONFIG = BotoConfig(retries={"mode": "standard", "max_attempts": 2}, connect_timeout=5, read_timeout=20)
_INVITATION_TOKEN_NS = uuid.UUID("5b0f6f5e-5a1c-4a53-9f55-9d1c1b2f7e11")


@dataclass
class Clients:
    """The AWS clients the acceptor uses."""

    ram: Any
    glue: Any
    lakeformation: Any
    cloudwatch: Any


_CLIENTS: Clients | None = None


def get_clients() -> Clients:
    """Create the clients on first use and reuse them across warm invocations."""
    global _CLIENTS
    if _CLIENTS is None:
        _CLIENTS = Clients(
            ram=boto3.client("ram", config=_BOTO_CONFIG),
            glue=boto3.client("glue", config=_BOTO_CONFIG),
            lakeformation=boto3.client("lakeformation", config=_BOTO_CONFIG),
            cloudwatch=boto3.client("cloudwatch", config=_BOTO_CONFIG),
        )
    return _CLIENTS


def reset_clients() -> None:
    """Forget cached clients (tests)."""
    global _CLIENTS
    _CLIENTS = None


def _pages(
    what: str, call: Callable[..., dict[str, Any]], key: str, cursor_field: str = "nextToken", **kwargs: Any
) -> Iterator[dict[str, Any]]:
    """Yield the ``key`` items of every page, following ``cursor_field``; each page retries on throttling."""
    while True:
        page = with_backoff(what, call, **kwargs)
        yield from page.get(key, [])
        if not page.get(cursor_field):
            return
        kwargs[cursor_field] = page[cursor_field]


def handle_invitations(ram: Any, config: Config, summary: Summary) -> None:
    """Accept the hub's pending invitations; ignore other senders; report expired ones."""
    invitations = list(
        _pages("ram:GetResourceShareInvitations", ram.get_resource_share_invitations, "resourceShareInvitations")
    )
    hub = [i for i in invitations if i.get("senderAccountId") == config.hub_account_id]
    for invitation in invitations:
        if invitation.get("senderAccountId") != config.hub_account_id and invitation.get("status") == "PENDING":
            summary.ignored += 1
            log(
                logging.WARNING,
                "ignoring invitation from an account that is not the hub",
                sender=invitation.get("senderAccountId"),
                share=invitation.get("resourceShareName"),
                invitation=invitation.get("resourceShareInvitationArn"),
            )
    live = {i.get("resourceShareArn") for i in hub if i.get("status") in {"PENDING", "ACCEPTED"}}
    for invitation in hub:
        status, arn = invitation.get("status"), invitation["resourceShareInvitationArn"]
        if status == "ACCEPTED":
            summary.already_accepted += 1
        elif status == "EXPIRED" and invitation.get("resourceShareArn") not in live:
            _report_expired(summary, invitation)
        elif status == "PENDING":
            _accept(ram, summary, invitation, arn)
        elif status == "REJECTED":
            log(logging.WARNING, "hub invitation was rejected; ask the hub to re-share", invitation=arn)


def _report_expired(summary: Summary, invitation: dict[str, Any]) -> None:
    summary.expired += 1
    log(
        logging.ERROR,
        "hub invitation expired before it was accepted; the hub must share again",
        invitation=invitation.get("resourceShareInvitationArn"),
        share=invitation.get("resourceShareName"),
    )


def _accept(ram: Any, summary: Summary, invitation: dict[str, Any], arn: str) -> None:
    token = str(uuid.uuid5(_INVITATION_TOKEN_NS, arn))  # same token on retries: idempotent
    try:
        with_backoff(
            "ram:AcceptResourceShareInvitation",
            ram.accept_resource_share_invitation,
            resourceShareInvitationArn=arn,
            clientToken=token,
        )
    except ClientError as error:
        code = error_code(error)
        if code == "ResourceShareInvitationAlreadyAcceptedException":
            summary.already_accepted += 1
        elif code == "ResourceShareInvitationExpiredException":
            _report_expired(summary, invitation)
        else:
            summary.errors.append(f"accept {arn}: {code or error}")
            log(logging.ERROR, "could not accept hub invitation", invitation=arn, code=code, error=str(error))
        return
    summary.accepted += 1
    log(logging.INFO, "accepted hub invitation", invitation=arn, share=invitation.get("resourceShareName"))


def list_shared_arns(ram: Any) -> list[str]:
    """ARNs of every resource other accounts share with this one (filtered to the hub later)."""
    resources = _pages("ram:ListResources", ram.list_resources, "resources", resourceOwner="OTHER-ACCOUNTS")
    return [r["arn"] for r in resources if str(r.get("type", "")).startswith("glue:")]


def list_foreign_databases(glue: Any, hub: str) -> list[str]:
    """Hub databases that Lake Formation shows this account (covers LF-tag shares)."""
    pages = _pages("glue:GetDatabases", glue.get_databases, "DatabaseList", "NextToken", ResourceShareType="FOREIGN")
    return [d["Name"] for d in pages if d.get("CatalogId") == hub and not d.get("TargetDatabase")]


def link_and_grant(clients: Clients, config: Config, summary: Summary) -> None:
    """Create the resource links for what the hub shared and grant the local principals."""
    hub, prefix, glue = config.hub_account_id, config.link_prefix, clients.glue
    shared_arns = list_shared_arns(clients.ram)
    ok, foreign = _attempt(summary, "glue:GetDatabases(FOREIGN)", list_foreign_databases, glue, hub)
    plan = plan_shares(shared_arns, hub, foreign if ok else ())
    grants: list[Grant] = []
    linked: set[str] = set()  # hub databases reachable through a link
    for database in plan.databases:
        link = f"{prefix}{database}"
        ok, created = _attempt(summary, f"link {link}", ensure_database_link, glue, link, hub, database)
        if ok:
            _count_link(summary, created)
            grants.append(link_grant(link))
            linked.add(database)
    for database, tables in plan.tables.items():
        local = f"{prefix}{database}"
        ok, state = _attempt(summary, f"database {local}", ensure_local_database, glue, local, hub, database)
        if not ok:
            continue
        grants.append(link_grant(local))
        linked.add(database)
        if state == "linked":  # an existing link to the same hub database already exposes the tables
            continue
        for table in tables:
            ok, created = _attempt(summary, f"link {local}.{table}", ensure_table_link, glue, local, table, hub, database)
            if ok:
                _count_link(summary, created)
                grants.append(table_link_grant(local, table))
    if linked:
        grants += shared_table_grants(config, plan, linked)
    for principal in config.principal_arns:
        for item in grants:
            ok, _ = _attempt(summary, f"grant {item} to {principal}", _scoped_grant, clients, config, principal, item)
            summary.grants += int(ok)


def _scoped_grant(clients: Clients, config: Config, principal: str, item: Grant) -> None:
    check_grant_scope(config, item)
    grant(clients.lakeformation, principal, item)


def _attempt(summary: Summary, what: str, call: Callable[..., Any], *args: Any) -> tuple[bool, Any]:
    """Run one link/grant step; record (never raise) its failure so the other steps still run."""
    try:
        return True, call(*args)
    except (ClientError, ShareAcceptorError) as error:
        summary.errors.append(f"{what}: {error}")
        log(logging.ERROR, "step failed", step=what, error=str(error))
        return False, None


def _count_link(summary: Summary, created: bool) -> None:
    if created:
        summary.links_created += 1
    else:
        summary.links_existing += 1


def emit_metrics(cloudwatch: Any, config: Config, summary: Summary) -> None:
    """Publish the run's counters (``ExpiredInvitations`` drives the alarm) even when they are 0."""
    data = [
        ("ExpiredInvitations", summary.expired),
        ("AcceptedInvitations", summary.accepted),
        ("IgnoredInvitations", summary.ignored),
        ("Errors", len(summary.errors)),
    ]
    try:
        with_backoff(
            "cloudwatch:PutMetricData",
            cloudwatch.put_metric_data,
            Namespace=config.metric_namespace,
            MetricData=[{"MetricName": n, "Value": float(v), "Unit": "Count"} for n, v in data],
        )
    except ClientError as error:
        summary.errors.append(f"put metrics: {error}")
        log(logging.ERROR, "could not publish metrics", error=str(error))


def run(config: Config, clients: Clients) -> Summary:
    """One full pass; failures are collected in the summary, never half-applied."""
    summary = Summary()
    try:
        handle_invitations(clients.ram, config, summary)
    except ClientError as error:  # listing failed even after back-off
        summary.errors.append(f"list invitations: {error}")
        log(logging.ERROR, "could not list invitations", error=str(error))
    try:
        link_and_grant(clients, config, summary)
    except ClientError as error:  # discovery failed: links are retried by the next run
        summary.errors.append(f"discover shared resources: {error}")
        log(logging.ERROR, "could not discover shared resources", error=str(error))
    emit_metrics(clients.cloudwatch, config, summary)
    log(
        logging.ERROR if summary.errors else logging.INFO,
        "share acceptor run finished",
        hub=config.hub_account_id,
        errors_detail=summary.errors,
        **summary.counts(),
    )
    return summary


def main(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Lambda entry point for the schedule and the deployment-time custom resource.

    A custom-resource Delete does nothing (shares and links stay). On Create/Update, step
    failures are returned in ``Data.errors`` rather than failing the deployment (the schedule
    retries); configuration errors always fail. A scheduled run with errors raises.
    """
    request_type = event.get("RequestType") if isinstance(event, dict) else None
    if request_type == "Delete":
        return {"PhysicalResourceId": event.get("PhysicalResourceId") or PHYSICAL_RESOURCE_ID, "Data": {}}
    config = Config.from_env(os.environ)
    summary = run(config, get_clients())
    if request_type:
        return {"PhysicalResourceId": PHYSICAL_RESOURCE_ID, "Data": summary.counts()}
    if summary.errors:
        raise RunFailedError(f"{len(summary.errors)} step(s) failed: {'; '.join(summary.errors)[:2000]}")
    return summary.counts()
