"""Glue resource links and Lake Formation grants in the consumer account, all idempotent.

A name that already exists is reused only when it is a link to the same hub object (or, for
table links, a local database this function created); anything else is a conflict that is
reported and left untouched.
"""

from __future__ import annotations

from typing import Any

from botocore.exceptions import ClientError

from .core import Grant, LinkConflictError, error_code, with_backoff

MANAGED_BY_KEY = "meshworks:managed-by"
MANAGED_BY_VALUE = "share-acceptor"
HUB_DATABASE_KEY = "meshworks:hub-database"


def _same_target(target: dict[str, Any] | None, hub: str, database: str) -> bool:
    return bool(target) and target.get("CatalogId") == hub and target.get("DatabaseName") == database


def ensure_database_link(glue: Any, link: str, hub: str, database: str) -> bool:
    """Create database resource link ``link`` -> ``hub:database``; return True if created.

    Raises:
        LinkConflictError: ``link`` exists and is not a link to that database.
    """
    try:
        with_backoff(
            f"glue:CreateDatabase {link}",
            glue.create_database,
            DatabaseInput={"Name": link, "TargetDatabase": {"CatalogId": hub, "DatabaseName": database}},
        )
        return True
    except ClientError as error:
        if error_code(error) != "AlreadyExistsException":
            raise
    existing = with_backoff(f"glue:GetDatabase {link}", glue.get_database, Name=link)["Database"]
    if _same_target(existing.get("TargetDatabase"), hub, database):
        return False
    raise LinkConflictError(
        f"database {link!r} already exists and is not a resource link to {hub}:{database} "
        f"(target={existing.get('TargetDatabase')}); left untouched - rename or delete it, or change "
        "RESOURCE_LINK_DATABASE_PREFIX"
    )


def ensure_local_database(glue: Any, name: str, hub: str, database: str) -> str:
    """Make sure a local database can hold table links to ``hub:database``.

    Returns ``"created"``, ``"existing"`` (one this function created before) or ``"linked"``
    (``name`` is already a database link to ``hub:database``, which exposes the shared tables).

    Raises:
        LinkConflictError: ``name`` belongs to someone else or links elsewhere.
    """
    params = {MANAGED_BY_KEY: MANAGED_BY_VALUE, HUB_DATABASE_KEY: f"{hub}:{database}"}
    try:
        with_backoff(
            f"glue:CreateDatabase {name}",
            glue.create_database,
            DatabaseInput={
                "Name": name,
                "Description": f"Table resource links to tables shared from {hub}:{database}",
                "Parameters": params,
            },
        )
        return "created"
    except ClientError as error:
        if error_code(error) != "AlreadyExistsException":
            raise
    existing = with_backoff(f"glue:GetDatabase {name}", glue.get_database, Name=name)["Database"]
    if existing.get("TargetDatabase"):
        if _same_target(existing["TargetDatabase"], hub, database):
            return "linked"
    elif (existing.get("Parameters") or {}).get(HUB_DATABASE_KEY) == params[HUB_DATABASE_KEY]:
        return "existing"
    raise LinkConflictError(
        f"database {name!r} already exists and was not created by the share acceptor for {hub}:{database}; "
        "no table links were added to it"
    )


def ensure_table_link(glue: Any, local_db: str, table: str, hub: str, database: str) -> bool:
    """Create table resource link ``local_db.table`` -> ``hub:database.table``; return True if created."""
    target = {"CatalogId": hub, "DatabaseName": database, "Name": table}
    try:
        with_backoff(
            f"glue:CreateTable {local_db}.{table}",
            glue.create_table,
            DatabaseName=local_db,
            TableInput={"Name": table, "TargetTable": target},
        )
        return True
    except ClientError as error:
        if error_code(error) != "AlreadyExistsException":
            raise
    existing = with_backoff(f"glue:GetTable {local_db}.{table}", glue.get_table, DatabaseName=local_db, Name=table)[
        "Table"
    ]
    found = existing.get("TargetTable") or {}
    if all(found.get(k) == v for k, v in target.items()):
        return False
    raise LinkConflictError(f"table {local_db}.{table} exists and is not a link to {hub}:{database}.{table}")


def grant(lakeformation: Any, principal: str, item: Grant) -> None:
    """Grant one Lake Formation permission set; an existing identical grant is fine."""
    resource, permissions = item
    try:
        with_backoff(
            "lakeformation:GrantPermissions",
            lakeformation.grant_permissions,
            Principal={"DataLakePrincipalIdentifier": principal},
            Resource=resource,
            Permissions=list(permissions),
        )
    except ClientError as error:
        if error_code(error) != "AlreadyExistsException":
            raise
