"""Automated governance review of a set of data-product contracts.

GoDaddy's governance team reviews every new data product; the common review items are automated. The
:class:`~meshworks.constructs.mesh.contract.DataProductContract` model already enforces the rules about
single fields: snake_case names, descriptions on the product and on every column (long enough, not
placeholders), valid Glue types, 12-digit unique consumer accounts, unique column names and partition keys
that are not columns. :func:`review_contracts` adds the rules that need policy, configuration, or several
contracts at once. The trust rules (domain, location, consumers, producer) need the platform's
:class:`~meshworks.constructs.mesh.trust.MeshTrust`; without one only the other rules run (for tools that
build no grants, such as the SLO manifest):

========================  ===============================================================================
rule                      finding
========================  ===============================================================================
``pii-column``            a column (or struct field) whose name suggests personal data is not ``pii: true``
``pii-classification``    a product with personal data is classified ``public``
``domain-unknown``        the domain is not in the platform's domain map (``mesh.domains``)
``location-bucket``       the location is outside the S3 folders configured for the domain
``consumer-allowlist``    a consumer account is not an allowed consumer of the mesh
``producer-account``      ``producer_account`` is not one of the domain's producer accounts, or is missing
                          while the domain has several
``location-overlap``      two products' locations nest (one product's grants would expose the other's files)
``duplicate-product``     two contracts define the same ``domain.name``
========================  ===============================================================================

Example::

    from meshworks.constructs.mesh import MeshTrust, ProducerDomain, load_contracts, review_contracts

    contracts = load_contracts(["contracts/sales/"])
    trust = MeshTrust({"sales": ProducerDomain(producer_accounts=["444444444444"],
                                               buckets=["s3://acme-sales-curated-eu-west-1/"])})
    findings = review_contracts(contracts, trust=trust)
    for finding in findings:
        print(contracts[finding.index].qualified_name, finding.loc, finding.message)
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass

from meshworks.constructs.mesh.contract import Classification, DataProductContract, PiiCategory
from meshworks.constructs.mesh.trust import MeshTrust

__all__ = ["Finding", "resolve_producer_account", "review_contracts", "suggested_pii_category"]

Loc = tuple[str | int, ...]


@dataclass(frozen=True, order=True)
class Finding:
    """One governance finding about ``contracts[index]``, at field ``loc`` (pydantic-style path)."""

    index: int
    loc: Loc
    rule: str
    message: str


# Each pattern matches a whole column name (or struct field name); the first match wins.
_PII_PATTERNS: tuple[tuple[PiiCategory, re.Pattern[str]], ...] = tuple(
    (category, re.compile(pattern))
    for category, pattern in (
        (PiiCategory.EMAIL, r"(?:^|_)e_?mail(?:_?addr(?:ess)?)?$"),
        (PiiCategory.IP_ADDRESS, r"(?:^|_)ip(?:v4|v6)?(?:_?addr(?:ess)?)?$"),
        (
            PiiCategory.PHONE,
            r"(?:^|_)(?:(?:tele|cell_?|mobile_?)?phone|fax)(?:_?(?:number|num|no))?$|(?:^|_)mobile_?(?:number|num|no)$",
        ),
        (
            PiiCategory.GOVERNMENT_ID,
            r"(?:^|_)(?:ssn|social_security(?:_number|_no)?|passport(?:_number|_no)?|national_id"
            r"|tax_id|drivers?_licen[cs]e(?:_number)?)$",
        ),
        (PiiCategory.BIRTH_DATE, r"(?:^|_)(?:birth|birthday|birthdate|dob)(?:_|$)"),
        (
            PiiCategory.ADDRESS,
            r"(?:^|_)(?:address|street|street_address|addr)(?:_?line)?(?:_?\d+)?$",
        ),
        (
            PiiCategory.PERSON_NAME,
            r"^name$|(?:^|_)(?:first|last|full|given|family|middle|maiden|nick|sur|customer|contact|user|person"
            r"|holder|cardholder|recipient|billing|shipping|legal|account_holder)_?name$",
        ),
    )
)


def suggested_pii_category(name: str) -> PiiCategory | None:
    """The kind of personal data a column name suggests (``customer_email`` -> email), or ``None``.

    Names are matched as words: ``email_campaign_id`` and ``campaign_name`` are not personal data, but
    ``email``, ``billing_address``, ``date_of_birth``, ``client_ip`` and a bare ``name`` are.
    """
    lowered = name.lower()
    for category, pattern in _PII_PATTERNS:
        if pattern.search(lowered):
            return category
    return None


def _pii_findings(index: int, contract: DataProductContract) -> Iterator[Finding]:
    for group in ("columns", "partition_keys"):
        for position, column in enumerate(getattr(contract, group)):
            if column.pii:
                continue
            category = suggested_pii_category(column.name)
            if category is not None:
                rename = " or rename it to say what it names (e.g. 'campaign_name')" if column.name == "name" else ""
                yield Finding(
                    index,
                    (group, position, "pii"),
                    "pii-column",
                    f"column {column.name!r} looks like personal data ({category.value}): set 'pii: true' and "
                    f"'pii_category: {category.value}'{rename}",
                )
                continue
            for path in column.glue_type.struct_fields():
                category = suggested_pii_category(path.rsplit(".", 1)[-1])
                if category is not None:
                    yield Finding(
                        index,
                        (group, position, "pii"),
                        "pii-column",
                        f"struct field {column.name}.{path} looks like personal data ({category.value}): "
                        "set 'pii: true' on the column",
                    )
                    break
    if contract.has_pii and contract.classification is Classification.PUBLIC:
        names = ", ".join(column.name for column in contract.all_columns if column.pii)
        yield Finding(
            index,
            ("classification",),
            "pii-classification",
            f"a product with personal data ({names}) cannot be public: use confidential or restricted",
        )


def _trust_findings(index: int, contract: DataProductContract, trust: MeshTrust) -> Iterator[Finding]:
    domain = trust.domains.get(contract.domain)
    if domain is None:
        configured = ", ".join(sorted(trust.domains)) or "none"
        yield Finding(
            index,
            ("domain",),
            "domain-unknown",
            f"domain {contract.domain!r} is not in the platform's domain map (configured: {configured}): use one "
            f"of them, or ask the platform team to add meshworks.mesh.domains.{contract.domain} with its producer "
            "accounts, buckets and KMS keys",
        )
    else:
        if domain.folder_of(contract.location) is None:
            yield Finding(
                index,
                ("location",),
                "location-bucket",
                f"location {contract.location!r} is outside the locations of domain {contract.domain!r} "
                f"({', '.join(domain.buckets)}): put the data under one of them, or ask the platform team to add "
                f"its folder to meshworks.mesh.domains.{contract.domain}.buckets",
            )
        producers = domain.producer_accounts
        if contract.producer_account is not None and contract.producer_account not in producers:
            yield Finding(
                index,
                ("producer_account",),
                "producer-account",
                f"account {contract.producer_account} is not a producer account of domain {contract.domain!r} "
                f"({', '.join(producers)}): use one of them, or ask the platform team to add it to "
                f"meshworks.mesh.domains.{contract.domain}.producer_accounts",
            )
        elif contract.producer_account is None and len(producers) > 1:
            yield Finding(
                index,
                ("producer_account",),
                "producer-account",
                f"domain {contract.domain!r} has several producer accounts ({', '.join(producers)}): set "
                "producer_account to the one that writes and announces this product",
            )
    allowed = ", ".join(sorted(trust.consumer_accounts)) or "none"
    for position, account in enumerate(contract.consumers):
        if account not in trust.consumer_accounts:
            yield Finding(
                index,
                ("consumers", position),
                "consumer-allowlist",
                f"account {account} is not an allowed consumer of this mesh (allowed: {allowed}): remove it, or "
                "ask the platform team to add the account to meshworks.environments.consumers",
            )


def resolve_producer_account(contract: DataProductContract, trust: MeshTrust) -> DataProductContract:
    """``contract`` with ``producer_account`` filled in: its own, or its domain's only producer account.

    Call it on a contract that passed :func:`review_contracts` with the same ``trust``.
    """
    if contract.producer_account is not None:
        return contract
    domain = trust.domains.get(contract.domain)
    if domain is None or len(domain.producer_accounts) != 1:
        raise ValueError(f"{contract.qualified_name}: review it first (domain map or producer_account problem)")
    return contract.model_copy(update={"producer_account": domain.producer_accounts[0]})


def review_contracts(
    contracts: Sequence[DataProductContract],
    *,
    trust: MeshTrust | None = None,
    describe: Callable[[int, Loc], str] | None = None,
) -> list[Finding]:
    """Run every governance rule over ``contracts``; returns the findings, sorted.

    Args:
        contracts: validated contracts (one per data product).
        trust: the platform's domain map and consumer allowlist. With it, a contract must be in a
            configured domain, live under one of its folders, share only with allowed consumers and
            name (or default to) one of the domain's producer accounts. ``None`` skips these rules:
            only for tools that build no grants or IAM from the contracts. Default: ``None``.
        describe: ``describe(index, loc)`` names another contract in messages (the loader passes
            ``"path:line"``); defaults to ``"contract #<index>"``.
    """

    def name_of(index: int, loc: Loc) -> str:
        return describe(index, loc) if describe is not None else f"contract #{index}"

    findings: list[Finding] = []
    first_by_name: dict[tuple[str, str], int] = {}
    for index, contract in enumerate(contracts):
        findings += _pii_findings(index, contract)
        if trust is not None:
            findings += _trust_findings(index, contract, trust)
        key = (contract.domain, contract.name)
        if key in first_by_name:
            findings.append(
                Finding(
                    index,
                    ("name",),
                    "duplicate-product",
                    f"data product {contract.qualified_name!r} is already defined in "
                    f"{name_of(first_by_name[key], ('name',))}",
                )
            )
        else:
            first_by_name[key] = index

    # Nested locations: after sorting, every location's ancestors are on the stack.
    stack: list[int] = []
    for index in sorted(range(len(contracts)), key=lambda i: (contracts[i].location, i)):
        location = contracts[index].location
        while stack and not location.startswith(contracts[stack[-1]].location):
            stack.pop()
        if stack:
            other = stack[-1]
            same = "the same location as" if contracts[other].location == location else "a location inside that of"
            findings.append(
                Finding(
                    index,
                    ("location",),
                    "location-overlap",
                    f"{same} {contracts[other].qualified_name!r} ({name_of(other, ('location',))}): products "
                    "need separate folders, or one product's grants expose the other's files",
                )
            )
        stack.append(index)
    return sorted(findings)
