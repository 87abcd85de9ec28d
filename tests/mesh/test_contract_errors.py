"""Every mistake in a contract file is reported once, as ``file:line: field: message``."""

from __future__ import annotations

from pathlib import Path

import pytest

from meshworks.constructs.mesh.loader import ContractError, Problem, load_contracts, validate_paths

# Line numbers matter: the expectations below point into this text.
BASE = """\
name: orders
domain: sales
description: Confirmed web-shop orders, one row per order line.
owner: sales-data
contact:
  email: sales-data@example.com
  slack_channel: "#sales-data"
location: s3://acme-sales-curated/orders/
format: parquet
columns:
  - name: order_id
    type: bigint
    description: Order number from checkout.
  - name: customer_email
    type: string
    description: Email address of the buyer.
    pii: true
  - name: total
    type: decimal(12,2)
    description: Order total in EUR.
partition_keys:
  - name: order_date
    type: date
    description: Day of the order (UTC).
slo:
  cron: "0 6 * * *"
  timezone: Europe/Berlin
  grace_minutes: 60
consumers:
  - "111122223333"
classification: confidential
tags:
  tier: gold
"""


def _write(tmp_path: Path, text: str, name: str = "orders.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def _mutate(old: str, new: str) -> str:
    assert BASE.count(old) >= 1, old
    return BASE.replace(old, new, 1)


def test_base_contract_is_valid(tmp_path: Path) -> None:
    assert validate_paths([_write(tmp_path, BASE)]) == []


# (id, old text, new text, line, field, part of the message)
MISTAKES = [
    ("name-case", "name: orders", "name: Orders", 1, "name", "not snake_case"),
    ("name-too-short", "name: orders", "name: ab", 1, "name", "3-64 characters"),
    ("domain-spaces", "domain: sales", "domain: Sales Team", 2, "domain", "such as 'sales_team'"),
    (
        "description-short",
        "Confirmed web-shop orders, one row per order line.",
        "Web orders.",
        3,
        "description",
        "too short",
    ),
    (
        "description-placeholder",
        "Confirmed web-shop orders, one row per order line.",
        "TODO",
        3,
        "description",
        "placeholder",
    ),
    (
        "description-cdk-token",  # before: accepted, then the construct-path synth failed with a jsii traceback
        "Confirmed web-shop orders, one row per order line.",
        "Confirmed web-shop orders, priced in ${Token[EUR]} per order line.",
        3,
        "description",
        "which the CDK reads as one of its own tokens",
    ),
    ("owner-missing", "owner: sales-data\n", "", 1, "owner", "required field is missing"),
    ("owner-typo", "owner: sales-data", "ownr: sales-data", 4, "ownr", "did you mean 'owner'?"),
    (
        "email",
        "email: sales-data@example.com",
        "email: sales-data(at)example",
        6,
        "contact.email",
        "not a valid email address",
    ),
    ("slack", '"#sales-data"', '"#Sales Data"', 7, "contact.slack_channel", "such as '#sales-data'"),
    ("nested-unknown-field", "  slack_channel:", "  slack:", 7, "contact.slack", "did you mean 'slack_channel'?"),
    (
        "location-scheme",
        "s3://acme-sales-curated/orders/",
        "https://acme-sales-curated/orders/",
        8,
        "location",
        "must be an S3 folder URI",
    ),
    (
        "location-slash",
        "s3://acme-sales-curated/orders/",
        "s3://acme-sales-curated/orders",
        8,
        "location",
        "must end with '/'",
    ),
    (
        "location-bucket-name",
        "s3://acme-sales-curated/orders/",
        "s3://Acme_Sales/orders/",
        8,
        "location",
        "not a valid S3 bucket name",
    ),
    (
        "location-whole-bucket",
        "s3://acme-sales-curated/orders/",
        "s3://acme-sales-curated/",
        8,
        "location",
        "needs a prefix",
    ),
    ("format", "format: parquet", "format: parquett", 9, "format", "did you mean 'parquet'?"),
    (
        "duplicate-yaml-key",
        "format: parquet\n",
        "format: parquet\nformat: orc\n",
        10,
        "format",
        "duplicate key 'format' (first defined on line 9)",
    ),
    ("type-unknown", "type: string", "type: strng", 15, "columns[1].type", "did you mean 'string'?"),
    ("type-alias", "type: bigint", "type: long", 12, "columns[0].type", "did you mean 'bigint'?"),
    ("type-unbalanced", "type: decimal(12,2)", "type: map<string,int", 19, "columns[2].type", "expected '>'"),
    (
        "type-decimal-scale",
        "type: decimal(12,2)",
        "type: decimal(2,12)",
        19,
        "columns[2].type",
        "larger than its precision",
    ),
    (
        "column-description-missing",
        "    description: Order total in EUR.\n",
        "",
        18,
        "columns[2].description",
        "required field is missing",
    ),
    ("column-name", "- name: total", "- name: Total Amount", 18, "columns[2].name", "such as 'total_amount'"),
    (
        "duplicate-column",
        "- name: total",
        "- name: order_id",
        18,
        "columns[2].name",
        "duplicate column 'order_id' (also columns[0])",
    ),
    ("partition-overlaps-column", "- name: order_date", "- name: total", 22, "partition_keys[0].name", "also a column"),
    ("pii-not-bool", "    pii: true", '    pii: "maybe"', 17, "columns[1].pii", "expected"),
    (
        "pii-category-without-pii",
        "    description: Order number from checkout.\n",
        "    description: Order number from checkout.\n    pii_category: email\n",
        14,
        "columns[0].pii_category",
        "pii is false",
    ),
    ("no-columns", "columns:\n", "columns: []\nold_columns:\n", 10, "columns", "must not be empty"),
    ("cron-range", '"0 6 * * *"', '"0 25 * * *"', 26, "slo.cron", "allowed values are 0-23"),
    ("cron-fields", '"0 6 * * *"', '"0 6 * *"', 26, "slo.cron", "expected 5"),
    ("cron-never", '"0 6 * * *"', '"0 6 30 2 *"', 26, "slo.cron", "never fires"),
    ("timezone", "Europe/Berlin", "Europe/Berlinn", 27, "slo.timezone", "did you mean 'Europe/Berlin'?"),
    ("grace", "grace_minutes: 60", "grace_minutes: 2000", 28, "slo.grace_minutes", "less than or equal to 1440"),
    ("account-short", '"111122223333"', '"11112222333"', 30, "consumers[0]", "not a 12-digit AWS account id"),
    ("account-unquoted", '"111122223333"', "111122223333", 30, "consumers[0]", "must be quoted"),
    (
        "account-duplicate",
        '  - "111122223333"\n',
        '  - "111122223333"\n  - "111122223333"\n',
        31,
        "consumers[1]",
        "listed twice",
    ),
    (
        "classification",
        "classification: confidential",
        "classification: secret",
        31,
        "classification",
        "not one of: public, internal, confidential, restricted",
    ),
    ("tag-reserved", "tier: gold", "domain: gold", 33, "tags.domain", "set by the platform"),
    ("tag-key", "tier: gold", "Tier: gold", 33, "tags.Tier", "lowercase"),
    ("tag-value-type", "tier: gold", "tier: [gold]", 33, "tags.tier", "expected"),
    # Governance review (the model is valid, the policy is not).
    ("pii-unflagged", "    pii: true\n", "", 14, "columns[1].pii", "looks like personal data (email)"),
    ("pii-public", "classification: confidential", "classification: public", 31, "classification", "cannot be public"),
    (
        "pii-struct-field",
        "type: decimal(12,2)",
        "type: struct<amount:decimal(12,2),payer_email:string>",
        18,
        "columns[2].pii",
        "struct field total.payer_email",
    ),
]


@pytest.mark.parametrize(
    ("old", "new", "line", "field", "message"), [m[1:] for m in MISTAKES], ids=[m[0] for m in MISTAKES]
)
def test_mistake_is_reported_at_its_line(
    tmp_path: Path, old: str, new: str, line: int, field: str, message: str
) -> None:
    path = _write(tmp_path, _mutate(old, new))
    problems = validate_paths([path])
    expected_prefix = f"{path}:{line}: {field}: "
    matching = [str(p) for p in problems if str(p).startswith(expected_prefix)]
    assert matching, f"expected {expected_prefix}... among:\n" + "\n".join(map(str, problems))
    assert any(message in text for text in matching), "\n".join(matching)


def test_at_least_fifteen_distinct_mistakes() -> None:
    assert len({(m[4], m[5]) for m in MISTAKES}) >= 15


def test_all_problems_of_a_file_are_reported_at_once(tmp_path: Path) -> None:
    text = (
        BASE.replace("name: orders", "name: Orders")
        .replace("format: parquet", "format: xml")
        .replace("Europe/Berlin", "Mars/Olympus")
        .replace('"111122223333"', '"1"')
    )
    problems = validate_paths([_write(tmp_path, text)])
    assert [(p.line, p.field) for p in problems] == [
        (1, "name"),
        (9, "format"),
        (27, "slo.timezone"),
        (30, "consumers[0]"),
    ]
    assert problems == sorted(problems)


@pytest.mark.parametrize(
    ("content", "line", "field", "message"),
    [
        (b"", 1, "(file)", "file is empty"),
        (b"# just a comment\n", 1, "(file)", "file is empty"),
        (b"- name: orders\n- name: customers\n", 1, "(file)", "expected a mapping of contract fields, got a list"),
        (b"just text\n", 1, "(file)", "expected a mapping of contract fields, got text"),
        (b"name: orders\ncolumns: [a, b\n", 3, "(yaml)", "invalid YAML"),
        (b"name: orders\n  domain: sales\n", 2, "(yaml)", "invalid YAML"),
        (b"name: orders\n---\nname: customers\n", 2, "(file)", "one file holds one data product"),
        (b"name: orders\ndescription: caf\xe9\n", 2, "(file)", "not UTF-8 text: byte 0xe9"),
        (b"? [a, b]\n: value\n", 1, "(yaml)", "unhashable key"),
        (b"1: x\nname: orders\n", 1, "1", "keys must be text"),
        (b"name: orders\ncolumns:\n\t- a\n", 3, "(yaml)", "found character '\\t' that cannot start any token"),
        (b"name: *orders\n", 1, "(yaml)", "found undefined alias 'orders'"),
        (b"name: orders\ndomain: !!int sales\n", 2, "(yaml)", "'sales' cannot be read as int: remove the '!!int' tag"),
        (b"name: orders\nx: !!bool maybe\n", 2, "(yaml)", "'maybe' cannot be read as bool"),
        (b"name: orders\nx: !!timestamp 2026-13-45\n", 2, "(yaml)", "cannot be read as timestamp"),
        (b"name: orders\nx: !!map [1]\n", 2, "(yaml)", "a sequence cannot be read as map"),
    ],
    ids=[
        "empty",
        "comment-only",
        "list",
        "scalar",
        "unclosed-flow",
        "bad-indent",
        "two-documents",
        "latin-1",
        "unhashable-key",
        "int-key",
        "tab",
        "undefined-alias",
        "tag-int",  # these four raised a bare ValueError / KeyError / TypeError ("internal error", line 1)
        "tag-bool",
        "tag-timestamp",
        "tag-map",
    ],
)
def test_file_level_problems(tmp_path: Path, content: bytes, line: int, field: str, message: str) -> None:
    path = tmp_path / "bad.yaml"
    path.write_bytes(content)
    problems = validate_paths([path])
    assert any(p.line == line and p.field == field and message in p.message for p in problems), "\n".join(
        map(str, problems)
    )


def test_utf8_bom_is_accepted(tmp_path: Path) -> None:
    path = tmp_path / "bom.yaml"
    path.write_bytes(b"\xef\xbb\xbf" + BASE.encode())
    assert validate_paths([path]) == []


def test_unreadable_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = _write(tmp_path, BASE)
    original = Path.read_bytes

    def deny(self: Path) -> bytes:
        if self == path:
            raise PermissionError(13, "Permission denied")
        return original(self)

    monkeypatch.setattr(Path, "read_bytes", deny)
    assert [str(p) for p in validate_paths([path])] == [f"{path}:1: (file): cannot read file: Permission denied"]


def test_too_large_file(tmp_path: Path) -> None:
    path = _write(tmp_path, BASE + "# padding\n" * 120_000)
    [problem] = validate_paths([path])
    assert problem.field == "(file)"
    assert "too large" in problem.message


def test_missing_path_and_empty_directory(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    problems = validate_paths([tmp_path / "nope.yaml", tmp_path / "empty"])
    assert [p.message for p in problems] == [
        "no *.yaml or *.yml contract files in this directory",
        "no such file or directory",
    ]


def test_anchors_and_merge_keys_are_fine(tmp_path: Path) -> None:
    text = BASE.replace("contact:\n", "contact: &team\n").replace(
        "tags:\n  tier: gold\n", "tags:\n  <<: {tier: silver}\n  tier: gold\n"
    )
    assert validate_paths([_write(tmp_path, text)]) == []


def test_load_contracts_raises_one_error_with_every_problem(tmp_path: Path) -> None:
    good = _write(tmp_path, BASE, "a.yaml")
    bad = _write(tmp_path, _mutate("format: parquet", "format: xml").replace("name: orders", "name: other"), "b.yaml")
    empty = _write(tmp_path, "", "c.yaml")
    with pytest.raises(ContractError) as caught:
        load_contracts([tmp_path])
    error = caught.value
    assert [p.path for p in error.problems] == [str(bad), str(empty)]
    text = str(error)
    assert text.splitlines()[0] == "2 problems in data-product contracts:"
    assert f"  {bad}:9: format: 'xml' is not one of" in text
    assert "Traceback" not in text
    assert isinstance(error, ValueError)
    assert load_contracts([good])[0].name == "orders"


def test_problem_formats() -> None:
    problem = Problem("contracts/a.yaml", 3, "columns[0].type", "bad: 100%\nnext")
    assert str(problem) == "contracts/a.yaml:3: columns[0].type: bad: 100%\\nnext"
    assert problem.github_annotation() == (
        "::error file=contracts/a.yaml,line=3,title=columns[0].type::bad: 100%25%0Anext"
    )


# ``meshworks validate`` suggests a fix only when it is right (issue 11, item 8).
@pytest.mark.parametrize(
    ("written", "expected", "wrong"),
    [
        # YAML 1.1 reads 012345670123 as octal 1402433619: never suggest '001402433619', another account.
        ("012345670123", "must be quoted ('012345670123')", "001402433619"),
        ("111122223333", "must be quoted ('111122223333')", None),
        # A number with fewer than 12 digits lost its leading zeros (or was short): no guessed value.
        ("11112222333", "with all 12 digits as written", "011112222333"),
    ],
)
def test_unquoted_account_is_never_changed_into_another(
    tmp_path: Path, written: str, expected: str, wrong: str | None
) -> None:
    problems = validate_paths([_write(tmp_path, _mutate('"111122223333"', written))])
    messages = [p.message for p in problems if p.field == "consumers[0]"]
    assert len(messages) == 1 and expected in messages[0], messages
    if wrong is not None:
        assert wrong not in messages[0]


@pytest.mark.parametrize(
    ("written", "suggestion"),
    [
        ("CEST", None),  # an abbreviation: not 'EST' (another offset) nor 'CET'
        ("Europe/Frankfurt", None),  # not a zone: not 'Europe/Tirane'
        ("Europe/Munich", None),
        ("europe/berlin", "Europe/Berlin"),
        ("Europe/Berln", "Europe/Berlin"),
        ("Amercia/New_York", "America/New_York"),
    ],
)
def test_timezone_suggestion_only_when_unambiguous(tmp_path: Path, written: str, suggestion: str | None) -> None:
    problems = validate_paths([_write(tmp_path, _mutate("timezone: Europe/Berlin", f"timezone: {written}"))])
    messages = [p.message for p in problems if p.field == "slo.timezone"]
    assert len(messages) == 1, messages
    if suggestion is None:
        assert "did you mean" not in messages[0], messages[0]
    else:
        assert f"did you mean {suggestion!r}?" in messages[0]
    if written == "CEST":
        assert "abbreviation" in messages[0] and "Europe/Berlin" in messages[0]


def test_a_bad_item_of_a_non_empty_list_is_not_also_reported_as_an_empty_list(tmp_path: Path) -> None:
    """pydantic adds ``too_short`` on a tuple whose only item failed: the list is not empty, only the item is wrong."""
    text = BASE.replace(
        "  - name: customer_email\n    type: string\n    description: Email address of the buyer.\n    pii: true\n"
        "  - name: total\n    type: decimal(12,2)\n    description: Order total in EUR.\n",
        "",
    ).replace("Order number from checkout.", "id")
    problems = validate_paths([_write(tmp_path, text)])
    assert [(p.field, p.message) for p in problems if p.field.startswith("columns")] == [
        (
            "columns[0].description",
            "column description is too short (2 characters; at least 5): say what the data is, where it comes "
            "from and how to use it",
        )
    ]

