"""The mesh's trust model: which accounts may produce and consume what, owned by the platform's configuration.

A data-product contract is written by a producer team and merged by pull request; it must never be able
to widen what the mesh trusts. Everything that decides *who* and *where* comes from here instead:

- :class:`ProducerDomain`: one domain's producer accounts (who may announce its refreshes, one of them
  is recorded on each table), its S3 locations (``s3://bucket/`` or ``s3://bucket/prefix/``: products
  must live under one of them; the hub's data-access role reads exactly these) and the KMS keys of
  those locations;
- :class:`MeshTrust`: the domain map plus the allowlist of consumer accounts (the only accounts a
  contract may share with, and the only ones admitted to the hub's topic, key and portfolio).

The reference app builds it from ``cdk.json`` (``PlatformConfig.mesh_trust()``: ``mesh.domains`` and
``environments.consumers``); ``meshworks validate --config cdk.json`` reads the same keys with
:func:`trust_from_context` (pydantic only, no CDK import). Library users build it directly::

    from meshworks.constructs.mesh.trust import MeshTrust, ProducerDomain

    trust = MeshTrust(
        domains={"sales": ProducerDomain(producer_accounts=["444455556666"],
                                         buckets=["s3://acme-sales-curated/"],
                                         kms_key_arns=["arn:aws:kms:eu-west-1:444455556666:key/1234abcd-..."])},
        consumer_accounts=["777788889999"],
    )
    contracts = load_contracts(["contracts/"], trust=trust)
"""

from __future__ import annotations

import json
import re
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    TypeAdapter,
    ValidationError,
)

__all__ = [
    "CONFIG_ROOT",
    "DomainMap",
    "MeshTrust",
    "ProducerDomain",
    "TrustConfigError",
    "check_s3_folder",
    "config_key",
    "location_within",
    "require_allowed_consumers",
    "trust_from_context",
]

CONFIG_ROOT = "meshworks"
"""Context key of the configuration (``cdk.json``'s ``context.meshworks``)."""

GLOB_CHARACTERS = "*?[]{}"
"""Characters that IAM (``*``, ``?``) or shell/S3 tools treat as patterns: never part of a trusted location."""

_BUCKET_RE = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")
_SEGMENT_RE = re.compile(r"^[A-Za-z0-9!_.'()=+-]+$")


def check_s3_folder(value: str, *, what: str = "location", allow_bucket_root: bool = False) -> str:
    """Check an ``s3://bucket/prefix/`` folder URI; returns it, or raises ``ValueError`` saying what to fix.

    Rejected: another scheme, an invalid bucket name, glob characters (``*?[]{}``), ``.``/``..`` and empty
    segments, a missing trailing ``/``, and (unless ``allow_bucket_root``) a bare bucket.
    """
    if not isinstance(value, str) or not value.startswith("s3://"):
        raise ValueError(f"{what} {value!r} must be an S3 folder URI such as 's3://my-bucket/prefix/'")
    bucket, _, prefix = value.removeprefix("s3://").partition("/")
    if not _BUCKET_RE.match(bucket) or ".." in bucket or ".-" in bucket or "-." in bucket:
        raise ValueError(f"{bucket!r} is not a valid S3 bucket name: 3-63 lowercase letters, digits, '-' and '.'")
    if re.match(r"^\d+\.\d+\.\d+\.\d+$", bucket):
        raise ValueError(f"S3 bucket name {bucket!r} must not look like an IP address")
    globs = sorted({ch for ch in prefix if ch in GLOB_CHARACTERS})
    if globs:
        raise ValueError(
            f"{what} {value!r} contains the glob character {globs[0]!r}: name one folder, without wildcards"
        )
    if not prefix:
        if allow_bucket_root and "/" in value.removeprefix("s3://"):
            return value
        if allow_bucket_root:
            raise ValueError(f"{what} {value!r} must end with '/': use {value + '/'!r}")
        raise ValueError(
            f"{what} {value!r} needs a prefix inside the bucket, such as 's3://{bucket}/<product>/': "
            "a data product must not own a whole bucket"
        )
    if not prefix.endswith("/"):
        raise ValueError(f"{what} {value!r} must end with '/' (it is a folder): use {value + '/'!r}")
    for segment in prefix[:-1].split("/"):
        if not segment:
            raise ValueError(f"{what} {value!r} has an empty segment ('//'): use single '/' between folders")
        if segment in {".", ".."}:
            raise ValueError(
                f"{what} {value!r} has the segment {segment!r}: name the folder itself, without '.' or '..'"
            )
        if not _SEGMENT_RE.match(segment):
            raise ValueError(
                f"{what} {value!r} has an invalid segment {segment!r}: use letters, digits and !_.'()=+- "
                "between single '/'"
            )
    if len(prefix) > 700:
        raise ValueError(f"{what} prefix is longer than 700 characters")
    return value


def location_within(location: str, folder: str) -> bool:
    """True when S3 folder URI ``location`` is ``folder`` or below it (whole segments: ``s3://b/a/`` holds
    ``s3://b/a/x/`` but not ``s3://b/ab/``; both must end with ``/``)."""
    return location.startswith(folder) and folder.endswith("/")


def _folder(value: str) -> str:
    return check_s3_folder(value, what="folder", allow_bucket_root=True)


def _unique(value: list[str]) -> list[str]:
    repeated = sorted({item for item in value if value.count(item) > 1})
    if repeated:
        raise ValueError(f"repeats {', '.join(repeated)}; list each entry once")
    return value


#: What each pattern of this module means, in words (error messages say these, not the regular expression).
PATTERN_WORDS: dict[str, str] = {
    r"^\d{12}$": "must be a 12-digit AWS account id (quote it in YAML/JSON so leading zeros stay)",
    r"^arn:aws[a-z-]*:kms:[a-z]{2}(-gov)?-[a-z]+-\d:\d{12}:key/[A-Za-z0-9-]{1,128}$": (
        "must be a KMS key ARN, e.g. arn:aws:kms:eu-west-1:123456789012:key/<key-id> (not an alias)"
    ),
    r"^[a-z][a-z0-9_]{1,62}$": "must be 2-63 lower-case letters, digits or '_', starting with a letter",
}
AccountId = Annotated[str, StringConstraints(pattern=r"^\d{12}$")]
KmsKeyArn = Annotated[
    str, StringConstraints(pattern=r"^arn:aws[a-z-]*:kms:[a-z]{2}(-gov)?-[a-z]+-\d:\d{12}:key/[A-Za-z0-9-]{1,128}$")
]
DomainName = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]{1,62}$")]
S3Folder = Annotated[str, AfterValidator(_folder)]


class ProducerDomain(BaseModel):
    """One domain of the mesh, as the platform team configures it.

    Attributes:
        producer_accounts: accounts that produce the domain's data (at least one): their refresh events
            are accepted, and a contract's ``producer_account`` must be one of them.
        buckets: S3 folders (``s3://bucket/`` for a whole bucket, or ``s3://bucket/prefix/``) the domain's
            products live in; the hub's data-access role reads exactly these.
        kms_key_arns: KMS keys (key ARNs, not aliases) of those buckets. Default: none (SSE-S3).
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    producer_accounts: Annotated[list[AccountId], Field(min_length=1), AfterValidator(_unique)] = Field(
        description="12-digit accounts that produce this domain's data (at least one)."
    )
    buckets: Annotated[list[S3Folder], Field(min_length=1), AfterValidator(_unique)] = Field(
        description="S3 folders of the domain's data: 's3://bucket/' or 's3://bucket/prefix/' (at least one)."
    )
    kms_key_arns: Annotated[list[KmsKeyArn], AfterValidator(_unique)] = Field(
        default_factory=list, description="KMS key ARNs of those buckets; default: none (SSE-S3)."
    )

    def folder_of(self, location: str) -> str | None:
        """The configured folder that holds ``location``, or ``None``."""
        return next((folder for folder in self.buckets if location_within(location, folder)), None)


def _no_shared_locations(domains: dict[str, ProducerDomain]) -> dict[str, ProducerDomain]:
    owners = [(folder, name) for name, domain in domains.items() for folder in domain.buckets]
    for i, (outer, outer_domain) in enumerate(owners):
        for j, (inner, inner_domain) in enumerate(owners):
            if i == j or not location_within(inner, outer):
                continue
            if inner == outer and inner_domain != outer_domain:
                raise ValueError(
                    f"{inner} is listed by domains {outer_domain!r} and {inner_domain!r}: a location belongs to one "
                    "domain only, or one domain's producers could publish the other's data"
                )
            if inner_domain == outer_domain:
                raise ValueError(f"{inner} is inside {outer}, both of domain {inner_domain!r}: list only {outer}")
            raise ValueError(
                f"{inner} (domain {inner_domain!r}) is inside {outer} (domain {outer_domain!r}): a location "
                "belongs to one domain only, or one domain's producers could publish the other's data"
            )
    return domains


DomainMap = Annotated[dict[DomainName, ProducerDomain], AfterValidator(_no_shared_locations)]
"""``mesh.domains``: domain -> :class:`ProducerDomain`; no folder of one domain inside another's."""


@dataclass(frozen=True, init=False)
class MeshTrust:
    """What the mesh trusts: the domain map and the consumer allowlist.

    Attributes:
        domains: domain -> :class:`ProducerDomain` (a contract in another domain fails review).
        consumer_accounts: the only accounts products may be shared with.
    """

    domains: Mapping[str, ProducerDomain]
    consumer_accounts: frozenset[str] = field(default_factory=frozenset)

    def __init__(self, domains: Mapping[str, ProducerDomain], consumer_accounts: Iterable[str] = ()) -> None:
        if isinstance(consumer_accounts, str | bytes) or not isinstance(consumer_accounts, Iterable):
            raise ValueError(
                f"MeshTrust: consumer_accounts must be a list of account ids, not {consumer_accounts!r}: "
                f"pass a list, e.g. [{str(consumer_accounts)!r}]"
            )
        if not isinstance(domains, Mapping):
            raise ValueError(f"MeshTrust: domains must map domain names to ProducerDomain, got {domains!r}")
        object.__setattr__(self, "domains", dict(domains))
        object.__setattr__(self, "consumer_accounts", frozenset(consumer_accounts))


class TrustConfigError(ValueError):
    """The trust configuration itself is wrong; one ``key = value: message`` line per problem."""


def config_key(loc: Iterable[str | int]) -> str:
    """``("mesh", "domains", "sales", "buckets", 0)`` -> ``meshworks.mesh.domains.sales.buckets[0]``."""
    text = CONFIG_ROOT
    for part in loc:
        text += f"[{part}]" if isinstance(part, int) else f".{part}"
    return text


def _error_lines(exc: ValidationError, prefix: tuple[str | int, ...]) -> list[str]:
    lines = []
    for err in exc.errors():
        value = "" if err["type"] == "missing" else f" = {json.dumps(err.get('input'), default=str)[:80]}"
        message = str(err["msg"]).removeprefix("Value error, ")
        if err["type"] == "missing":
            message = "this key is required"
        elif err["type"] == "extra_forbidden":
            message = "this key is not allowed here (check its spelling and its section)"
        elif "pattern" in (err.get("ctx") or {}):
            pattern = err["ctx"]["pattern"]
            message = PATTERN_WORDS.get(pattern, f"{message.lower()} (expected pattern {pattern})")
        lines.append(f"  {config_key((*prefix, *err['loc']))}{value}: {message}")
    return lines


_DOMAINS = TypeAdapter(DomainMap)
_ACCOUNT = TypeAdapter(AccountId)


def trust_from_context(meshworks: Any, source: str = "cdk.json") -> MeshTrust:
    """The trust of a ``meshworks`` configuration object (``cdk.json``'s ``context.meshworks``).

    Reads ``mesh.domains`` and ``environments.consumers[].account`` only (``meshworks validate`` uses it
    without loading the whole platform configuration).

    Raises:
        TrustConfigError: listing every problem as ``meshworks.<key> = <value>: <message>``.
    """
    if not isinstance(meshworks, Mapping):
        raise TrustConfigError(f"Invalid meshworks configuration ({source}): '{CONFIG_ROOT}' must be an object")
    mesh = meshworks.get("mesh") or {}
    environments = meshworks.get("environments") or {}
    consumers = environments.get("consumers") or [] if isinstance(environments, Mapping) else []
    lines: list[str] = []
    domains: dict[str, ProducerDomain] = {}
    try:
        domains = _DOMAINS.validate_python(mesh.get("domains", {}) if isinstance(mesh, Mapping) else {})
    except ValidationError as exc:
        lines += _error_lines(exc, ("mesh", "domains"))
    accounts: list[str] = []
    for index, consumer in enumerate(consumers if isinstance(consumers, list) else []):
        account = consumer.get("account") if isinstance(consumer, Mapping) else consumer
        try:
            accounts.append(_ACCOUNT.validate_python(account))
        except ValidationError as exc:
            lines += _error_lines(exc, ("environments", "consumers", index, "account"))
    if lines:
        raise TrustConfigError("\n".join([f"Invalid meshworks configuration ({source}):", *lines]))
    return MeshTrust(domains=domains, consumer_accounts=accounts)


def require_allowed_consumers(
    path: str, contracts: Iterable[Any], allowed: Collection[str], *, extra: Iterable[str] = ()
) -> None:
    """Refuse any consumer account (of ``contracts`` or ``extra``) outside the allowlist ``allowed``.

    Constructs that share products call it, so that a contract alone never widens who receives data.

    Raises:
        ValueError: naming each account, where it comes from, and the fix.
    """
    outside: dict[str, list[str]] = {}
    for contract in contracts:
        for account in contract.consumers:
            if account not in allowed:
                outside.setdefault(account, []).append(contract.qualified_name)
    for account in extra:
        if account not in allowed:
            outside.setdefault(account, []).append("consumers")
    if outside:
        named = ", ".join(
            f"{account} ({where[0]}{f' and {len(where) - 1} more' if len(where) > 1 else ''})"
            for account, where in sorted(outside.items())
        )
        raise ValueError(
            f"{path}: {named} not in allowed_consumer_accounts ({', '.join(sorted(allowed)) or 'empty'}): "
            "products are shared only with the platform's allowed consumer accounts; add the account there "
            "(reference app: environments.consumers) or remove it from the contract"
        )
