"""Pure logic of the share acceptor: configuration, summary, retries, ARN parsing and the link plan."""

from __future__ import annotations

import json
import logging
import random
import re
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar

from botocore.exceptions import ClientError

LOGGER = logging.getLogger("meshworks.share_acceptor")
LOGGER.setLevel(logging.INFO)

T = TypeVar("T")

#: Error codes worth retrying with back-off (throttling and brief service-side contention).
TRANSIENT_CODES = frozenset(
    {
        "ThrottlingException",
        "TooManyRequestsException",
        "Throttling",
        "RequestLimitExceeded",
        "ServiceUnavailableException",
        "ConcurrentModificationException",
    }
)
MAX_ATTEMPTS = 5
BASE_DELAY_SECONDS = 0.5
MAX_DELAY_SECONDS = 8.0

_ACCOUNT_RE = re.compile(r"^\d{12}$")
#: Non-empty: the function's Glue write permissions are scoped to ``database/<prefix>*``, and an empty
#: prefix would widen them to every database of the account.
_PREFIX_RE = re.compile(r"^[a-z][a-z0-9_]{0,63}$")
SHARING_MODES = ("lf_tags", "named_resources")
#: LF-tag key the hub puts on the tables it shares with one consumer account (``DataProductCatalog``).
CONSUMER_TAG_PREFIX = "meshworks:consumer:"
CONSUMER_TAG_VALUE = "true"
#: What the hub grants a consumer account on a shared table, with grant option: the most a local
#: principal can be given.
TABLE_PERMISSIONS = ("SELECT", "DESCRIBE")
_PRINCIPAL_RE = re.compile(r"^arn:aws[a-z-]*:iam::\d{12}:(role|user)/[\w+=,.@/-]+$")
_GLUE_ARN_RE = re.compile(r"^arn:aws[a-z-]*:glue:[a-z0-9-]+:(\d{12}):(database|table)/([^/]+)(?:/([^/]+))?$")

_sleep = time.sleep  # replaced in tests


class ShareAcceptorError(Exception):
    """Base class of the errors this function raises on purpose."""


class ConfigurationError(ShareAcceptorError):
    """An environment variable is missing or malformed: fix the deployment."""


class RunFailedError(ShareAcceptorError):
    """The run finished but some steps failed; the summary lists them (the next run retries)."""


class LinkConflictError(ShareAcceptorError):
    """A resource-link name is taken by something this function must not touch."""


def log(level: int, message: str, **fields: Any) -> None:
    """Emit one structured JSON log line."""
    LOGGER.log(level, json.dumps({"message": message, **fields}, default=str, sort_keys=True))


def error_code(error: ClientError) -> str:
    """The AWS error code of a ``ClientError``."""
    return str(error.response.get("Error", {}).get("Code", ""))


@dataclass(frozen=True)
class Config:
    """Settings read from the environment.

    ``SHARING_MODE`` tells how the hub shares (``lf_tags``, the default, or ``named_resources``) and so
    what this account holds with grant option; ``ACCOUNT_ID`` (this account) is required in
    ``lf_tags`` mode, whose grants name the account's LF-tag key.

    Example:
        >>> Config.from_env({"HUB_ACCOUNT_ID": "111122223333", "ACCOUNT_ID": "444455556666"}).link_prefix
        'shared_'
    """

    hub_account_id: str
    link_prefix: str = "shared_"
    principal_arns: tuple[str, ...] = ()
    metric_namespace: str = "meshworks/share-acceptor"
    account_id: str = ""
    sharing_mode: str = "lf_tags"

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> Config:
        """Validate the environment, naming the variable and the fix in every error."""
        hub = env.get("HUB_ACCOUNT_ID", "").strip()
        if not _ACCOUNT_RE.match(hub):
            raise ConfigurationError(
                f"HUB_ACCOUNT_ID must be the hub's 12-digit AWS account id, got {hub or '<unset>'!r}"
            )
        prefix = env.get("RESOURCE_LINK_DATABASE_PREFIX", "shared_")
        if not _PREFIX_RE.match(prefix):
            raise ConfigurationError(
                "RESOURCE_LINK_DATABASE_PREFIX must start with a lowercase letter and hold only lowercase letters, "
                f"digits and '_' (1 to 64 characters), got {prefix!r}"
            )
        principals = tuple(p.strip() for p in env.get("LOCAL_PRINCIPAL_ARNS", "").split(",") if p.strip())
        bad = [p for p in principals if not _PRINCIPAL_RE.match(p)]
        if bad:
            raise ConfigurationError(f"LOCAL_PRINCIPAL_ARNS must list IAM role/user ARNs, got {bad}")
        namespace = env.get("ALARM_METRIC_NAMESPACE") or "meshworks/share-acceptor"
        mode = env.get("SHARING_MODE") or "lf_tags"
        if mode not in SHARING_MODES:
            raise ConfigurationError(f"SHARING_MODE must be one of {', '.join(SHARING_MODES)}, got {mode!r}")
        account = env.get("ACCOUNT_ID", "").strip()
        if mode == "lf_tags" and not _ACCOUNT_RE.match(account):
            raise ConfigurationError(
                f"ACCOUNT_ID must be this account's 12-digit id in lf_tags mode, got {account or '<unset>'!r}"
            )
        return cls(hub, prefix, principals, namespace, account, mode)

    def consumer_tag_policy(self) -> dict[str, Any]:
        """The LF-tag policy the hub granted this account (tables tagged ``meshworks:consumer:<account>``)."""
        return {
            "LFTagPolicy": {
                "CatalogId": self.hub_account_id,
                "ResourceType": "TABLE",
                "Expression": [{"TagKey": f"{CONSUMER_TAG_PREFIX}{self.account_id}", "TagValues": [CONSUMER_TAG_VALUE]}],
            }
        }


@dataclass
class Summary:
    """What one run did; ``counts()`` is what the custom resource returns as ``Data``."""

    accepted: int = 0
    ignored: int = 0
    already_accepted: int = 0
    expired: int = 0
    links_created: int = 0
    links_existing: int = 0
    grants: int = 0
    errors: list[str] = field(default_factory=list)

    def counts(self) -> dict[str, int]:
        """Every counter, with ``errors`` as a count."""
        return {
            "accepted": self.accepted,
            "ignored": self.ignored,
            "already_accepted": self.already_accepted,
            "expired": self.expired,
            "links_created": self.links_created,
            "links_existing": self.links_existing,
            "grants": self.grants,
            "errors": len(self.errors),
        }


def with_backoff(what: str, call: Callable[..., T], /, **kwargs: Any) -> T:
    """Return ``call(**kwargs)``, retrying throttling/transient errors with full-jitter back-off.

    At most ``MAX_ATTEMPTS`` calls; other errors, and the last transient one, propagate unchanged.

    Example:
        >>> with_backoff("glue:GetDatabase", glue.get_database, Name="shared_sales")  # doctest: +SKIP
    """
    for attempt in range(MAX_ATTEMPTS):
        try:
            return call(**kwargs)
        except ClientError as error:
            if error_code(error) not in TRANSIENT_CODES or attempt == MAX_ATTEMPTS - 1:
                raise
            delay = random.uniform(0, min(MAX_DELAY_SECONDS, BASE_DELAY_SECONDS * 2**attempt))
            log(
                logging.WARNING,
                "transient error, backing off",
                call=what,
                code=error_code(error),
                attempt=attempt + 1,
                delay_seconds=round(delay, 3),
            )
            _sleep(delay)
    raise AssertionError("unreachable")  # pragma: no cover


@dataclass(frozen=True)
class SharePlan:
    """What the hub shared: whole databases, and tables whose database is not shared as a whole.

    ``named_tables`` lists every table RAM names (database -> tables), including those of databases
    linked as a whole: in named-resource mode they are what the account holds with grant option.
    """

    databases: tuple[str, ...] = ()
    tables: dict[str, tuple[str, ...]] = field(default_factory=dict)
    named_tables: dict[str, tuple[str, ...]] = field(default_factory=dict)


def plan_shares(resource_arns: Iterable[str], hub_account_id: str, extra_databases: Iterable[str] = ()) -> SharePlan:
    """Group the hub's shared Glue ARNs into database-level and table-level shares.

    ``arn:aws:glue:<region>:<hub>:database/<db>`` is a database share; ``.../table/<db>/<table>``
    is a table share, kept only when ``<db>`` is not shared as a whole (the database link
    already exposes it). ``extra_databases`` come from Glue (``ResourceShareType=FOREIGN``) for
    shares that RAM does not list as named resources (LF-tag grants). Other owners are dropped.
    """
    databases: set[str] = set()
    tables: dict[str, set[str]] = {}
    for arn in resource_arns:
        match = _GLUE_ARN_RE.match(arn)
        if not match or match.group(1) != hub_account_id:
            continue
        kind, database, table = match.group(2), match.group(3), match.group(4)
        if kind == "database" and table is None:
            databases.add(database)
        elif kind == "table" and table and table != "*":
            tables.setdefault(database, set()).add(table)
        elif kind == "table":
            databases.add(database)  # all tables of the database: same as a database share
    databases |= {db for db in extra_databases if db not in tables}
    return SharePlan(
        tuple(sorted(databases)),
        {db: tuple(sorted(names)) for db, names in sorted(tables.items()) if db not in databases},
        {db: tuple(sorted(names)) for db, names in sorted(tables.items())},
    )


Grant = tuple[dict[str, Any], tuple[str, ...]]


def link_grant(link: str) -> Grant:
    """DESCRIBE on a local resource link (database) so that local principals see it."""
    return ({"Database": {"Name": link}}, ("DESCRIBE",))


def table_link_grant(local_db: str, table: str) -> Grant:
    """DESCRIBE on a local table resource link."""
    return ({"Table": {"DatabaseName": local_db, "Name": table}}, ("DESCRIBE",))


def shared_table_grants(config: Config, plan: SharePlan, linked: Iterable[str]) -> list[Grant]:
    """SELECT+DESCRIBE on the hub's shared tables: never more than the account holds with grant option.

    ``lf_tags``: the hub granted the account an LF-tag policy on the tables tagged
    ``meshworks:consumer:<account>=true``; Lake Formation lets the account cascade exactly that policy
    ("identical tag policy with grantable permissions"), which also covers tables shared later.
    ``named_resources``: each table the hub shared by name, by name. Never ``TableWildcard``: the
    account holds no permission on a hub database's other tables. Only tables of ``linked`` hub
    databases (reachable through a link created or found this run) are granted by name.
    """
    if config.sharing_mode == "lf_tags":
        return [(config.consumer_tag_policy(), TABLE_PERMISSIONS)]
    reachable = set(linked)
    return [
        ({"Table": {"CatalogId": config.hub_account_id, "DatabaseName": database, "Name": table}}, TABLE_PERMISSIONS)
        for database, tables in plan.named_tables.items()
        if database in reachable
        for table in tables
    ]


def check_grant_scope(config: Config, item: Grant) -> None:
    """Refuse any grant outside what the acceptor exists for (a bug must not grant on the whole lake).

    Allowed: DESCRIBE on this account's ``<prefix>*`` databases and their tables (the links), and
    SELECT/DESCRIBE on hub tables by name or through this account's consumer LF-tag policy.

    Raises:
        ShareAcceptorError: naming the grant.
    """
    resource, permissions = item
    kind, target = next(iter(resource.items()))
    local = target.get("CatalogId", config.account_id or None) in (None, config.account_id)
    ok = False
    if kind == "Database" and local:
        ok = target["Name"].startswith(config.link_prefix) and set(permissions) <= {"DESCRIBE"}
    elif kind == "Table" and local and "CatalogId" not in target:
        ok = target["DatabaseName"].startswith(config.link_prefix) and set(permissions) <= {"DESCRIBE"}
    elif kind == "Table":
        ok = target.get("CatalogId") == config.hub_account_id and bool(target.get("Name"))
        ok = ok and "TableWildcard" not in target and set(permissions) <= set(TABLE_PERMISSIONS)
    elif kind == "LFTagPolicy":
        ok = resource == config.consumer_tag_policy() and set(permissions) <= set(TABLE_PERMISSIONS)
    if not ok:
        raise ShareAcceptorError(f"refusing to grant {list(permissions)} on {resource}: outside the acceptor's scope")
