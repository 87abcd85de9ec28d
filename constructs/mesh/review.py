"""Automated governance review of a set of data-product contracts.

GoDaddy's governance team reviews every new data product; the common review items are automated. The
:class:`~meshworks.constructs.mesh.contract.DataProductContract` model already enforces the rules about
single fields: snake_case names, descriptions on the product and on every column (long enough, not
placeholders), valid Glue types, 12-digit unique consumer accounts, unique column names and partition keys
that are not columns. :func:`review_contracts` adds the rules that need policy, configuration, or several
contracts at once:

========================  ===============================================================================
rule                      finding
========================  ===============================================================================
``pii-column``            a column (or struct field) whose name suggests personal data is not ``pii: true``
``pii-classification``    a product with personal data is classified ``public``
``location-bucket``       the location is outside the buckets registered for the producer's domain
``location-overlap``      two products' locations nest (one product's grants would expose the other's files)
``duplicate-product``     two contracts define the same ``domain.name``
========================  ===============================================================================

Example::

    findings = review_contracts(contracts, allowed_buckets={"sales": ["acme-sales-curated"]})
    for finding in findings:
        print(contracts[finding.index].qualified_name, finding.loc, finding.message)
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass

from meshworks.constructs.mesh.contract import Classification, DataProductContract, PiiCategory

__all__ = ["DEFAULT_BUCKET_PATTERN", "Finding", "review_contracts", "suggested_pii_category"]

DEFAULT_BUCKET_PATTERN = r"(?:^|[.-]){domain}(?:[.-]|$)"
"""Bucket rule used when no domain -> buckets mapping is given: the bucket name holds the domain (in
kebab-case) as a whole ``-``/``.``-separated part, e.g. ``acme-sales-curated`` for domain ``sales``."""

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


def _bucket_findings(
    index: int,
    contract: DataProductContract,
    allowed_buckets: Mapping[str, Sequence[str]] | None,
    bucket_pattern: str,
) -> Iterator[Finding]:
    bucket = contract.bucket_name
    if allowed_buckets is not None:
        allowed = allowed_buckets.get(contract.domain)
        if not allowed:
            yield Finding(
                index,
                ("location",),
                "location-bucket",
                f"domain {contract.domain!r} has no registered buckets; ask the platform team to register "
                "the producer's bucket for it",
            )
        elif bucket not in allowed:
            yield Finding(
                index,
                ("location",),
                "location-bucket",
                f"bucket {bucket!r} is not registered for domain {contract.domain!r} "
                f"(registered: {', '.join(sorted(allowed))})",
            )
        return
    kebab = contract.domain.replace("_", "-")
    pattern = bucket_pattern.replace("{domain}", re.escape(kebab))
    if not re.search(pattern, bucket):
        yield Finding(
            index,
            ("location",),
            "location-bucket",
            f"bucket {bucket!r} does not belong to domain {contract.domain!r}: its name must contain "
            f"'{kebab}' as a whole part (e.g. 'acme-{kebab}-curated'), or register the bucket in an "
            "allowed-buckets mapping",
        )


def review_contracts(
    contracts: Sequence[DataProductContract],
    *,
    allowed_buckets: Mapping[str, Sequence[str]] | None = None,
    bucket_pattern: str = DEFAULT_BUCKET_PATTERN,
    describe: Callable[[int, Loc], str] | None = None,
) -> list[Finding]:
    """Run every governance rule over ``contracts``; returns the findings, sorted.

    Args:
        contracts: validated contracts (one per data product).
        allowed_buckets: domain -> names of the S3 buckets registered for that domain's producers. When
            given, a product's location must be in one of its domain's buckets.
        bucket_pattern: when ``allowed_buckets`` is ``None``, a regular expression the bucket name must
            match; ``{domain}`` stands for the domain in kebab-case. Defaults to
            :data:`DEFAULT_BUCKET_PATTERN`.
        describe: ``describe(index, loc)`` names another contract in messages (the loader passes
            ``"path:line"``); defaults to ``"contract #<index>"``.
    """

    def name_of(index: int, loc: Loc) -> str:
        return describe(index, loc) if describe is not None else f"contract #{index}"

    findings: list[Finding] = []
    first_by_name: dict[tuple[str, str], int] = {}
    for index, contract in enumerate(contracts):
        findings += _pii_findings(index, contract)
        findings += _bucket_findings(index, contract, allowed_buckets, bucket_pattern)
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
