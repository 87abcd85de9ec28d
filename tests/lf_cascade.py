"""Lake Formation's grant-option rule for a consumer account, modelled from the synthesized templates.

What a consumer-side principal may grant on the hub's catalog objects is bounded by what the hub
granted the consumer *account* with the grant option (``PermissionsWithGrantOption``):

- **LF-tag policies** (``Resource.LFTagPolicy``): a consumer may re-grant an LF-tag policy only when it is
  *identical* to the policy the producer granted it, with grantable permissions ("Rule 1: identical
  tag policy with grantable permissions", AWS Lake Formation Developer Guide, *Permission cascading
  rules*; rule 2, DESCRIBE on every tag-value pair, does not apply: the hub grants no LF-tag
  permissions to consumers).
- **Named resources** (``Resource.Table`` / ``Resource.Database`` in the hub's catalog): the consumer's
  data lake administrator can grant permissions on a database or table shared with the account
  (*Granting permissions on a database or table shared with your account*), never more than the
  account holds with the grant option: a named table is covered by a named grant on it, on all
  tables of its database (``TableWildcard``), or by an LF-tag policy that matches the table's tags
  (tables inherit their database's LF-tags). ``TableWildcard`` on a database is covered only by a
  ``TableWildcard`` (or whole-database) grant: an LF-tag grant covers the tagged tables, not the
  database's future or untagged ones.
- Objects of the consumer's own catalog (its resource links) are the consumer's to grant.

This module reads the upstream grants and the hub catalog (tables, LF-tag associations) from
templates, and tells why Lake Formation would refuse a ``GrantPermissions`` request, or ``None``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class UpstreamGrant:
    """One hub grant to the consumer account."""

    resource: Mapping[str, Any]
    grantable: frozenset[str]


@dataclass
class HubCatalog:
    """The hub's databases and tables with their LF-tags (key -> value)."""

    catalog_id: str
    databases: dict[str, dict[str, str]] = field(default_factory=dict)
    tables: dict[tuple[str, str], dict[str, str]] = field(default_factory=dict)

    def table_tags(self, database: str, table: str) -> dict[str, str]:
        """A table's LF-tags, with the ones it inherits from its database."""
        return {**self.databases.get(database, {}), **self.tables.get((database, table), {})}


def _resources(templates: Mapping[str, Mapping[str, Any]], resource_type: str) -> Iterable[dict[str, Any]]:
    for template in templates.values():
        for resource in template.get("Resources", {}).values():
            if resource["Type"] == resource_type:
                yield resource["Properties"]


def upstream_grants(templates: Mapping[str, Mapping[str, Any]], account: str) -> list[UpstreamGrant]:
    """Every ``AWS::LakeFormation::PrincipalPermissions`` of the templates whose principal is ``account``."""
    return [
        UpstreamGrant(props["Resource"], frozenset(props.get("PermissionsWithGrantOption", [])))
        for props in _resources(templates, "AWS::LakeFormation::PrincipalPermissions")
        if props["Principal"]["DataLakePrincipalIdentifier"] == account
    ]


def hub_catalog(templates: Mapping[str, Mapping[str, Any]], catalog_id: str) -> HubCatalog:
    """Databases, tables and their LF-tag associations in the templates (literal names only)."""
    catalog = HubCatalog(catalog_id)
    for props in _resources(templates, "AWS::Glue::Database"):
        catalog.databases.setdefault(props["DatabaseInput"]["Name"], {})
    for props in _resources(templates, "AWS::Glue::Table"):
        name = props["TableInput"]["Name"] if "TableInput" in props else props["Name"]  # Iceberg: top-level Name
        catalog.tables.setdefault((props["DatabaseName"], name), {})
    for props in _resources(templates, "AWS::LakeFormation::TagAssociation"):
        tags = {tag["TagKey"]: tag["TagValues"][0] for tag in props["LFTags"]}
        resource = props["Resource"]
        if "Database" in resource:
            catalog.databases.setdefault(resource["Database"]["Name"], {}).update(tags)
        elif "Table" in resource:
            table = resource["Table"]
            catalog.tables.setdefault((table["DatabaseName"], table["Name"]), {}).update(tags)
    return catalog


def _expression(policy: Mapping[str, Any]) -> tuple[str, str, frozenset[tuple[str, frozenset[str]]]]:
    conditions = frozenset((c["TagKey"], frozenset(c["TagValues"])) for c in policy["Expression"])
    return policy["CatalogId"], policy["ResourceType"], conditions


def _matches(policy: Mapping[str, Any], tags: Mapping[str, str]) -> bool:
    return all(tags.get(c["TagKey"]) in c["TagValues"] for c in policy["Expression"])


def _covers_table(grant: UpstreamGrant, catalog: HubCatalog, database: str, table: str) -> bool:
    resource = grant.resource
    if "Table" in resource:
        target = resource["Table"]
        if target.get("DatabaseName") != database:
            return False
        return "TableWildcard" in target or target.get("Name") == table
    if "LFTagPolicy" in resource and resource["LFTagPolicy"]["ResourceType"] == "TABLE":
        return (database, table) in catalog.tables and _matches(
            resource["LFTagPolicy"], catalog.table_tags(database, table)
        )
    return False


def _covers_database(grant: UpstreamGrant, catalog: HubCatalog, database: str) -> bool:
    resource = grant.resource
    if "Database" in resource:
        return resource["Database"].get("Name") == database
    if "LFTagPolicy" in resource and resource["LFTagPolicy"]["ResourceType"] == "DATABASE":
        return database in catalog.databases and _matches(resource["LFTagPolicy"], catalog.databases[database])
    return False


def refusal(
    request: Mapping[str, Any], upstream: list[UpstreamGrant], catalog: HubCatalog, consumer: str
) -> str | None:
    """Why Lake Formation refuses ``request`` (``GrantPermissions`` parameters) in ``consumer``, or None."""
    wanted = set(request["Permissions"]) | set(request.get("PermissionsWithGrantOption", []))
    resource = request["Resource"]
    kind, target = next(iter(resource.items()))
    if target.get("CatalogId", consumer) == consumer and kind in ("Database", "Table"):
        return None  # the consumer's own catalog (resource links)
    if target.get("CatalogId") != catalog.catalog_id:
        return f"{kind} of catalog {target.get('CatalogId')}: not shared by the hub"
    holders = [g for g in upstream if wanted <= g.grantable]
    if kind == "LFTagPolicy":
        if any("LFTagPolicy" in g.resource and _expression(g.resource["LFTagPolicy"]) == _expression(target)
               for g in holders):
            return None
        return f"LF-tag policy {_expression(target)} is not identical to one granted to {consumer} with {wanted}"
    if kind == "Table" and "TableWildcard" in target:
        database = target["DatabaseName"]
        if any("Table" in g.resource and g.resource["Table"].get("DatabaseName") == database
               and "TableWildcard" in g.resource["Table"] for g in holders):
            return None
        return f"TableWildcard of {database}: {consumer} holds {wanted} with grant option on some tables only"
    if kind == "Table":
        database, table = target["DatabaseName"], target["Name"]
        if any(_covers_table(g, catalog, database, table) for g in holders):
            return None
        return f"table {database}.{table}: {consumer} holds no {wanted} with grant option on it"
    if kind == "Database":
        if any(_covers_database(g, catalog, target["Name"]) for g in holders):
            return None
        return f"database {target['Name']}: {consumer} holds no {wanted} with grant option on it"
    return f"{kind}: not modelled"


def tables_readable(
    principal: str, grants: Iterable[Mapping[str, Any]], catalog: HubCatalog
) -> set[tuple[str, str]]:
    """Hub tables on which ``principal`` was granted SELECT by ``grants`` (GrantPermissions parameters)."""
    readable: set[tuple[str, str]] = set()
    for request in grants:
        if request["Principal"]["DataLakePrincipalIdentifier"] != principal or "SELECT" not in request["Permissions"]:
            continue
        grant = UpstreamGrant(request["Resource"], frozenset(request["Permissions"]))
        target = next(iter(request["Resource"].values()))
        if target.get("CatalogId") != catalog.catalog_id:
            continue
        readable |= {key for key in catalog.tables if _covers_table(grant, catalog, *key)}
    return readable


def tables_shared(upstream: Iterable[UpstreamGrant], catalog: HubCatalog, permission: str = "SELECT") -> set[tuple[str, str]]:
    """Hub tables on which the consumer account holds ``permission`` with grant option."""
    return {
        key for key in catalog.tables
        for grant in upstream
        if permission in grant.grantable and _covers_table(grant, catalog, *key)
    }
