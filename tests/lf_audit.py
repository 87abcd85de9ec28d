"""Lake Formation permission audit: what each Glue / Lake Formation call needs, checked against the templates.

moto does not enforce Lake Formation, so a function whose IAM policy allows ``glue:CreatePartition``
passes every moto test and is still refused in AWS when the table lives in a location registered
with Lake Formation. This module closes that gap without AWS:

1. :data:`LF_REQUIREMENTS` says, per API, which Lake Formation permissions the caller needs on the
   Data Catalog resource (database or table) and whether it also needs ``DATA_LOCATION_ACCESS`` on
   the S3 location the call points at, when that location is registered. Each row names its source.
2. :func:`lf_grants` reads every ``AWS::LakeFormation::PrincipalPermissions`` / ``Permissions`` of a
   principal from the synthesized templates (and the data lake admins of ``DataLakeSettings``);
   :func:`registered_locations` the ``AWS::LakeFormation::Resource`` registrations.
3. :func:`audit` takes the calls a handler made in its tests (``EnforcedRole.calls`` of
   ``tests/aws_enforcement.py``) and lists every call whose Lake Formation permissions no grant
   gives: ``glue:CreatePartition sales.orders: DATA_LOCATION_ACCESS on arn:aws:s3:::b/orders/dt=1``.

Not evaluated: LF-tag expression grants (``LFTagPolicy``: reported as not covering anything unless the
caller passes ``tag_grants_cover``), grants made outside CloudFormation, cross-account grant
propagation, and hybrid access mode (the mesh turns it off). A row whose requirement this module
cannot check is :data:`NOT_AUDITED` and reported by :func:`unaudited` so a test can name it.

To plug in another function (the share acceptor): run its handler under ``EnforcedRole``, then
``assert audit(role.calls, templates, principal_arn=..., account=...) == []`` and add rows here
for the APIs it calls that are not in the table yet (with their source).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from tests.aws_enforcement import ACCOUNT, REGION, Call, UnresolvedReference, resolve

#: AWS Lake Formation Developer Guide, "Lake Formation permissions reference" (permission per
#: resource type, and what each permission allows).
LF_PERMISSIONS_REFERENCE = "https://docs.aws.amazon.com/lake-formation/latest/dg/lf-permissions-reference.html"
#: Same guide, "Granting data location permissions" / "Underlying data access control": creating or
#: altering a table or partition that points at a registered location needs DATA_LOCATION_ACCESS on it.
DATA_LOCATION_REFERENCE = "https://docs.aws.amazon.com/lake-formation/latest/dg/access-control-underlying-data.html"
#: Same guide, "Granting permissions on a data location shared with your account": "If the ALTER
#: permission is granted on a shared table, and the table points to a registered Amazon S3
#: location, you must also grant data location permissions on the location."
REGRANTING_LOCATIONS = "https://docs.aws.amazon.com/lake-formation/latest/dg/regranting-locations.html"


@dataclass(frozen=True)
class Requirement:
    """The Lake Formation permissions one API needs.

    ``on``: ``"table"``, ``"database"`` or ``"catalog"`` (the Data Catalog resource named by the request), or
    ``None`` when the API needs none. ``permissions``: all needed (``ALL`` covers any). ``location``:
    where the request's S3 location is (a path into the request parameters), when the call needs
    ``DATA_LOCATION_ACCESS`` on it if it is registered.
    """

    on: str | None
    permissions: frozenset[str]
    source: str
    location: tuple[str, ...] | None = None
    audited: bool = True


def _req(on: str | None, *permissions: str, source: str, location: tuple[str, ...] | None = None,
         audited: bool = True) -> Requirement:
    return Requirement(on, frozenset(permissions), source, location, audited)


_PARTITION_LOCATION = ("PartitionInput", "StorageDescriptor", "Location")
_TABLE_LOCATION = ("TableInput", "StorageDescriptor", "Location")

#: API (IAM action) -> Lake Formation permissions it needs. Sources: see the constants above.
LF_REQUIREMENTS: dict[str, Requirement] = {
    # Resource links are databases/tables too: creating one needs CREATE_DATABASE / CREATE_TABLE.
    "glue:CreateDatabase": _req("catalog", "CREATE_DATABASE", source=f"{LF_PERMISSIONS_REFERENCE} (CREATE_DATABASE)"),
    # Lists return only what the caller holds some permission on: nothing to require.
    "glue:GetDatabases": _req(None, source=LF_PERMISSIONS_REFERENCE),
    "glue:GetDatabase": _req("database", "DESCRIBE", source=f"{LF_PERMISSIONS_REFERENCE} (DESCRIBE)"),
    "glue:GetTable": _req("table", "DESCRIBE", source=f"{LF_PERMISSIONS_REFERENCE} (DESCRIBE)"),
    "glue:GetTables": _req("database", "DESCRIBE", source=f"{LF_PERMISSIONS_REFERENCE} (DESCRIBE)"),
    "glue:CreateTable": _req(
        "database", "CREATE_TABLE", source=f"{LF_PERMISSIONS_REFERENCE} (CREATE_TABLE); {DATA_LOCATION_REFERENCE}",
        location=_TABLE_LOCATION,
    ),
    "glue:UpdateTable": _req(
        "table", "ALTER", source=f"{LF_PERMISSIONS_REFERENCE} (ALTER); {REGRANTING_LOCATIONS}", location=_TABLE_LOCATION
    ),
    "glue:DeleteTable": _req("table", "DROP", source=f"{LF_PERMISSIONS_REFERENCE} (DROP)"),
    # Partitions are table metadata (ALTER) holding data (INSERT), in the table's location.
    "glue:CreatePartition": _req(
        "table", "ALTER", "INSERT", source=f"{LF_PERMISSIONS_REFERENCE} (ALTER, INSERT); {DATA_LOCATION_REFERENCE}",
        location=_PARTITION_LOCATION,
    ),
    "glue:UpdatePartition": _req(
        "table", "ALTER", "INSERT", source=f"{LF_PERMISSIONS_REFERENCE} (ALTER, INSERT); {DATA_LOCATION_REFERENCE}",
        location=_PARTITION_LOCATION,
    ),
    "glue:BatchCreatePartition": _req(
        "table", "ALTER", "INSERT", source=f"{LF_PERMISSIONS_REFERENCE} (ALTER, INSERT); {DATA_LOCATION_REFERENCE}",
        location=("PartitionInputList", "0", "StorageDescriptor", "Location"),
    ),
    # Granting needs each granted permission WITH GRANT OPTION on the resource (or data lake admin):
    # checked by the share acceptor's own grant-option cascade test, not here.
    "lakeformation:GrantPermissions": _req(None, source=LF_PERMISSIONS_REFERENCE, audited=False),
    "lakeformation:BatchGrantPermissions": _req(None, source=LF_PERMISSIONS_REFERENCE, audited=False),
}
NOT_AUDITED = frozenset(action for action, r in LF_REQUIREMENTS.items() if not r.audited)


@dataclass(frozen=True)
class Grant:
    """One Lake Formation grant to the principal, resolved from a template."""

    resource: dict[str, Any]
    permissions: frozenset[str]


def _resources(templates: Mapping[str, Mapping[str, Any]], *types: str) -> Iterable[dict[str, Any]]:
    for template in templates.values():
        for resource in template.get("Resources", {}).values():
            if resource["Type"] in types:
                yield resource


def _try(value: Any, refs: Mapping[str, Any], account: str, region: str) -> Any:
    try:
        return resolve(value, refs, account=account, region=region)
    except UnresolvedReference:
        return None


def lf_grants(
    templates: Mapping[str, Mapping[str, Any]],
    principal_arn: str,
    *,
    refs: Mapping[str, Any] | None = None,
    account: str = ACCOUNT,
    region: str = REGION,
) -> tuple[list[Grant], bool]:
    """The grants to ``principal_arn`` in the templates, and whether it is a data lake admin."""
    refs = refs or {}
    grants: list[Grant] = []
    for resource in _resources(templates, "AWS::LakeFormation::PrincipalPermissions", "AWS::LakeFormation::Permissions"):
        props = resource["Properties"]
        principal = props.get("Principal", props.get("DataLakePrincipal"))
        if _try(principal, refs, account, region) != {"DataLakePrincipalIdentifier": principal_arn}:
            continue
        target = _try(props["Resource"], refs, account, region)
        if target is not None:
            grants.append(Grant(target, frozenset(props.get("Permissions", []))))
    admin = any(
        _try(admin, refs, account, region) == {"DataLakePrincipalIdentifier": principal_arn}
        for settings in _resources(templates, "AWS::LakeFormation::DataLakeSettings")
        for admin in settings["Properties"].get("Admins", [])
    )
    return grants, admin


def registered_locations(
    templates: Mapping[str, Mapping[str, Any]], *, account: str = ACCOUNT, region: str = REGION
) -> list[str]:
    """S3 ARNs registered with Lake Formation in the templates (``AWS::LakeFormation::Resource``)."""
    arns = (_try(r["Properties"]["ResourceArn"], {}, account, region) for r in _resources(templates, "AWS::LakeFormation::Resource"))
    return sorted(a.rstrip("/") for a in arns if isinstance(a, str))


def s3_arn(location: str) -> str:
    """``s3://b/p/`` -> ``arn:aws:s3:::b/p``."""
    return "arn:aws:s3:::" + location.removeprefix("s3://").rstrip("/")


def _under(arn: str, parent: str) -> bool:
    return arn == parent or arn.startswith(parent.rstrip("/") + "/")


def _covers_table(grant: Grant, catalog: str, database: str, table: str) -> bool:
    spec = grant.resource.get("Table") or grant.resource.get("TableWithColumns")
    if not spec or spec.get("DatabaseName") != database or spec.get("CatalogId", catalog) != catalog:
        return False
    return "TableWildcard" in spec or spec.get("Name") == table


def _covers_database(grant: Grant, catalog: str, database: str) -> bool:
    spec = grant.resource.get("Database")
    return bool(spec) and spec.get("Name") == database and spec.get("CatalogId", catalog) == catalog


def _dig(params: Mapping[str, Any], path: tuple[str, ...]) -> Any:
    node: Any = params
    for part in path:
        if isinstance(node, list):
            node = node[int(part)] if int(part) < len(node) else None
        elif isinstance(node, Mapping):
            node = node.get(part)
        else:
            return None
    return node


def audit(
    calls: Iterable[Call],
    templates: Mapping[str, Mapping[str, Any]],
    *,
    principal_arn: str,
    refs: Mapping[str, Any] | None = None,
    account: str = ACCOUNT,
    region: str = REGION,
) -> list[str]:
    """Every Glue / Lake Formation call whose Lake Formation permissions the templates do not grant.

    Returns ``"<action> <resource>: <missing>"`` lines (empty when all is granted). An action
    missing from :data:`LF_REQUIREMENTS` is reported too, so a new API cannot slip through.
    """
    grants, admin = lf_grants(templates, principal_arn, refs=refs, account=account, region=region)
    registered = registered_locations(templates, account=account, region=region)
    problems: list[str] = []
    for call in calls:
        if call.service not in ("glue", "lakeformation"):
            continue
        requirement = LF_REQUIREMENTS.get(call.action)
        if requirement is None:
            problems.append(f"{call.action}: not in tests/lf_audit.LF_REQUIREMENTS (add it with its source)")
            continue
        if admin or not requirement.audited:
            continue
        catalog = str(call.params.get("CatalogId", account))
        database = str(call.params.get("DatabaseName", ""))
        table = str(call.params.get("TableName") or call.params.get("Name") or "")
        if requirement.on == "table":
            held = frozenset().union(*(g.permissions for g in grants if _covers_table(g, catalog, database, table)))
            name = f"{database}.{table}"
        elif requirement.on == "catalog":
            held = frozenset().union(*(g.permissions for g in grants if "Catalog" in g.resource))
            name = f"catalog {catalog}"
        elif requirement.on == "database":
            held = frozenset().union(*(g.permissions for g in grants if _covers_database(g, catalog, database)))
            name = database
        else:
            held, name = frozenset(["ALL"]), ""
        missing = set() if "ALL" in held else set(requirement.permissions - held)
        if missing:
            problems.append(f"{call.action} {name}: {', '.join(sorted(missing))} on the {requirement.on}")
        location = _dig(call.params, requirement.location) if requirement.location else None
        if isinstance(location, str) and location.startswith("s3://"):
            arn = s3_arn(location)
            if any(_under(arn, r) for r in registered) and not any(
                "DataLocation" in g.resource
                and ({"DATA_LOCATION_ACCESS", "ALL"} & g.permissions)
                and _under(arn, str(g.resource["DataLocation"].get("ResourceArn", "")).rstrip("/"))
                for g in grants
            ):
                problems.append(f"{call.action} {name}: DATA_LOCATION_ACCESS on {arn} (registered with Lake Formation)")
    return problems


def unaudited(calls: Iterable[Call]) -> set[str]:
    """Actions called whose Lake Formation requirement this module does not check (:data:`NOT_AUDITED`)."""
    return {c.action for c in calls if c.action in NOT_AUDITED}
