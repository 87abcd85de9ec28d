"""Load data-product contracts from YAML files and report every problem as ``file:line: field: message``.

Two entry points:

* :func:`validate_paths` returns the sorted list of :class:`Problem` s (the ``meshworks validate`` CLI).
* :func:`load_contracts` returns the contracts or raises one :class:`ContractError` listing every
  problem (the CDK app): it never raises anything else, whatever the files hold.

Example::

    from meshworks.constructs.mesh import MeshTrust, ProducerDomain
    from meshworks.constructs.mesh.loader import ContractError, load_contracts

    trust = MeshTrust({"sales": ProducerDomain(producer_accounts=["444444444444"],
                                               buckets=["s3://acme-sales-curated-eu-west-1/"])},
                      consumer_accounts=["333333333333"])
    try:
        contracts = load_contracts(["contracts/sales/"], trust=trust)
    except ContractError as error:
        raise SystemExit(str(error)) from None

The YAML loader records the line of every mapping key and sequence item, so that a pydantic error at
``("columns", 2, "type")`` points at the line of ``type:`` in the third column.
"""

from __future__ import annotations

import difflib
import os
import re
import reprlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, get_args, get_origin

import yaml
from pydantic import BaseModel, ValidationError

from meshworks.constructs.mesh.contract import LOCATED_ERROR, DataProductContract
from meshworks.constructs.mesh.review import resolve_producer_account, review_contracts
from meshworks.constructs.mesh.trust import MeshTrust

__all__ = [
    "CONTRACT_SUFFIXES",
    "MAX_FILE_BYTES",
    "ContractError",
    "LoadedContract",
    "Problem",
    "discover_files",
    "load_contracts",
    "parse_contract_file",
    "validate_paths",
]

CONTRACT_SUFFIXES = (".yaml", ".yml")
"""File suffixes picked up when a directory is given."""

MAX_FILE_BYTES = 1_000_000
"""Contract files larger than this are rejected unread (a contract is a few kilobytes)."""

FILE = "(file)"
"""The ``field`` of problems about a whole file (unreadable, not YAML ...)."""

Loc = tuple[str | int, ...]


def _one_line(text: str) -> str:
    return text.replace("\r", "\\r").replace("\n", "\\n")


@dataclass(frozen=True, order=True)
class Problem:
    """One problem, at ``path:line``; ``str()`` gives ``path:line: field: message``."""

    path: str
    line: int
    field: str
    message: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {_one_line(self.field)}: {_one_line(self.message)}"

    def github_annotation(self) -> str:
        """The problem as a GitHub Actions ``::error`` workflow command (an annotation on the PR)."""

        def escape(text: str) -> str:
            return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")

        prop = escape(self.path).replace(":", "%3A").replace(",", "%2C")
        title = escape(self.field).replace(":", "%3A").replace(",", "%2C")
        return f"::error file={prop},line={self.line},title={title}::{escape(self.message)}"


class ContractError(ValueError):
    """Contracts failed to load or to pass review; ``problems`` holds every problem, sorted."""

    def __init__(self, problems: Sequence[Problem]) -> None:
        self.problems: list[Problem] = sorted(problems)
        count = len(self.problems)
        lines = "\n".join(f"  {problem}" for problem in self.problems)
        super().__init__(f"{count} problem{'s' if count != 1 else ''} in data-product contracts:\n{lines}")


# --------------------------------------------------------------------------------------------------
# YAML with line numbers
# --------------------------------------------------------------------------------------------------


class LineDict(dict):  # type: ignore[type-arg]
    """A YAML mapping that remembers its own line and the line of each key (1-based)."""

    def __init__(self, line: int) -> None:
        super().__init__()
        self.line = line
        self.key_lines: dict[Any, int] = {}


class LineList(list):  # type: ignore[type-arg]
    """A YAML sequence that remembers its own line and the line of each item (1-based)."""

    def __init__(self, line: int) -> None:
        super().__init__()
        self.line = line
        self.item_lines: list[int] = []


@dataclass(frozen=True)
class _DuplicateKey:
    key: str
    line: int
    first_line: int


class _LineLoader(yaml.SafeLoader):
    """``yaml.SafeLoader`` building :class:`LineDict`/:class:`LineList` and noting duplicate keys."""

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self.duplicates: list[_DuplicateKey] = []

    def construct_object(self, node: yaml.Node, deep: bool = False) -> Any:
        """PyYAML's, with an explicit tag on a value it cannot take (``!!int campaigns``, ``!!bool maybe``,
        ``!!map [1]``) refused as invalid YAML at that node's line; PyYAML raises a bare ``ValueError`` /
        ``KeyError`` / ``TypeError`` there, with no line."""
        try:
            return super().construct_object(node, deep=deep)
        except (ValueError, KeyError, TypeError, OverflowError):
            tag = node.tag.rsplit(":", 1)[-1]
            what = f"the value {node.value!r}" if isinstance(node, yaml.ScalarNode) else f"a {node.id}"
            raise yaml.constructor.ConstructorError(
                None, None, f"{what} cannot be read as {tag}: remove the '!!{tag}' tag or write a valid {tag}",
                node.start_mark,
            ) from None


def _construct_map(loader: _LineLoader, node: yaml.MappingNode) -> Any:
    data = LineDict(node.start_mark.line + 1)
    yield data
    own_keys = {id(key_node) for key_node, _ in node.value}
    own_seen: dict[Any, int] = {}
    loader.flatten_mapping(node)  # resolves '<<' merge keys; merged pairs come first
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
        try:
            hash(key)
        except TypeError:
            raise yaml.constructor.ConstructorError(
                "while constructing a mapping", node.start_mark, "found an unhashable key", key_node.start_mark
            ) from None
        line = key_node.start_mark.line + 1
        if id(key_node) in own_keys:
            if key in own_seen:
                loader.duplicates.append(_DuplicateKey(str(key), line, own_seen[key]))
            own_seen.setdefault(key, line)
        data[key] = loader.construct_object(value_node, deep=True)
        data.key_lines[key] = line


def _construct_seq(loader: _LineLoader, node: yaml.SequenceNode) -> Any:
    data = LineList(node.start_mark.line + 1)
    yield data
    for item in node.value:
        data.append(loader.construct_object(item, deep=True))
        data.item_lines.append(item.start_mark.line + 1)


class YamlInt(int):
    """An integer read from YAML that remembers how it was written (``source``), e.g. ``012345670123``.

    YAML 1.1 reads an unquoted number with a leading ``0`` as octal, so the value alone cannot say what
    the author typed; error messages quote ``source`` instead of guessing.
    """

    source: str


def _construct_int(loader: _LineLoader, node: yaml.ScalarNode) -> int:
    value = YamlInt(yaml.SafeLoader.construct_yaml_int(loader, node))
    value.source = str(node.value)
    return value


_LineLoader.add_constructor("tag:yaml.org,2002:map", _construct_map)
_LineLoader.add_constructor("tag:yaml.org,2002:seq", _construct_seq)
_LineLoader.add_constructor("tag:yaml.org,2002:int", _construct_int)


def line_of(data: Any, loc: Loc) -> int:
    """Line of the deepest key or item of ``loc`` that exists in ``data`` (falls back to its parents)."""
    line = getattr(data, "line", 1)
    current = data
    for part in loc:
        if isinstance(current, LineDict) and part in current.key_lines:
            line = current.key_lines[part]
            current = current[part]
        elif isinstance(current, LineList) and isinstance(part, int) and 0 <= part < len(current):
            line = current.item_lines[part]
            current = current[part]
        else:
            break
    return line


# --------------------------------------------------------------------------------------------------
# Turning pydantic errors into problems
# --------------------------------------------------------------------------------------------------


_PLAIN_KEY_RE = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_-]{0,63}$")


def format_loc(loc: Loc) -> str:
    """``("columns", 2, "type")`` -> ``columns[2].type``."""
    text = ""
    for part in loc:
        if isinstance(part, int):
            text += f"[{part}]"
        elif not _PLAIN_KEY_RE.match(part):
            text += f"[{part!r}]"  # a key the user typed with spaces or odd characters
        else:
            text += f".{part}" if text else part
    return text or "(contract)"


def _model_at(loc: Loc, root: type[BaseModel] = DataProductContract) -> type[BaseModel] | None:
    """The pydantic model whose fields live at ``loc`` of ``root`` (for did-you-mean on unknown fields)."""
    model: Any = root
    for part in loc:
        if isinstance(part, int):
            continue
        if not (isinstance(model, type) and issubclass(model, BaseModel)) or part not in model.model_fields:
            return None
        annotation = model.model_fields[part].annotation
        while get_origin(annotation) is not None and not (
            isinstance(annotation, type) and issubclass(annotation, BaseModel)
        ):
            args = [arg for arg in get_args(annotation) if arg is not type(None) and arg is not Ellipsis]
            annotation = args[0] if args else None
        model = annotation
    return model if isinstance(model, type) and issubclass(model, BaseModel) else None


_REPR = reprlib.Repr()
_REPR.maxstring = 60
_REPR.maxother = 60
_REPR.maxlevel = 2


def _short(value: Any) -> str:
    """A short repr, safe for huge or deeply nested values (YAML aliases can build those)."""
    text = _REPR.repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


_TYPE_NAMES = {
    "str": "text",
    "int": "a number",
    "float": "a number",
    "bool": "true/false",
    "NoneType": "null",
    "LineDict": "a mapping",
    "LineList": "a list",
    "dict": "a mapping",
    "list": "a list",
    "date": "a date",
    "datetime": "a timestamp",
}


_EXPECTED = {
    "string_type": "text",
    "int_type": "a whole number",
    "int_parsing": "a whole number",
    "int_from_float": "a whole number",
    "bool_type": "true or false",
    "model_type": "a mapping of fields",
    "dict_type": "a mapping",
    "list_type": "a list",
    "tuple_type": "a list",
}


def _message(error: Mapping[str, Any], root: type[BaseModel] = DataProductContract) -> str:
    """A readable message for one pydantic error of a ``root`` model."""
    kind = error["type"]
    message = str(error["msg"])
    value = error.get("input")
    got = _TYPE_NAMES.get(type(value).__name__, type(value).__name__)
    if kind == "missing":
        return "required field is missing"
    if kind == "extra_forbidden":
        loc = tuple(error["loc"])
        model = _model_at(loc[:-1], root)
        hint = _suggest_field(str(loc[-1]), model)
        return f"unknown field {str(loc[-1])!r}{hint}"
    if kind == "invalid_key":
        return f"keys must be text, got {got} {_short(value)}"
    if kind in {"enum", "literal_error"}:
        expected = re.findall(r"'([^']*)'", str(error.get("ctx", {}).get("expected", "")))
        close = difflib.get_close_matches(str(value).lower(), expected, n=1, cutoff=0.5)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        return f"{_short(value)} is not one of: {', '.join(expected)}{hint}"
    if kind.endswith("_type") or kind.endswith("_parsing") or kind == "model_type":
        expected = _EXPECTED.get(kind, message.removeprefix("Input should be ").removeprefix("a valid "))
        suffix = f" {_short(value)}" if value is not None and not isinstance(value, (dict, list)) else ""
        return f"expected {expected}, got {got}{suffix}"
    if kind == "value_error":
        return message.removeprefix("Value error, ")
    if kind == "too_short" and isinstance(value, (list, tuple)):
        return "must not be empty"
    return f"{message[:1].lower()}{message[1:]} (got {_short(value)})" if value is not None else message


def _only_its_items_failed(error: Mapping[str, Any]) -> bool:
    """pydantic also reports ``too_short`` on a list whose items failed (it counts the valid ones): the items'
    own errors already say what is wrong, and "must not be empty" would be false."""
    value = error.get("input")
    minimum = error.get("ctx", {}).get("min_length")
    return (
        error["type"] == "too_short"
        and isinstance(value, (list, tuple))
        and isinstance(minimum, int)
        and len(value) >= minimum
    )


def _suggest_field(name: str, model: type[BaseModel] | None) -> str:
    if model is None:
        return ""
    fields = sorted(model.model_fields)
    lowered = name.lower()
    close = difflib.get_close_matches(lowered, fields, n=1, cutoff=0.6)
    close += [f for f in fields if len(lowered) >= 3 and (f.startswith(lowered) or lowered.startswith(f))]
    if close:
        return f" (did you mean {close[0]!r}?)"
    return f"; allowed fields: {', '.join(fields)}"


def validation_problems(
    path: str, data: Any, error: ValidationError, root: type[BaseModel] = DataProductContract
) -> list[Problem]:
    """One :class:`Problem` per error of ``root.model_validate(data)``, at the YAML line of its key."""
    problems: list[Problem] = []
    for item in error.errors():
        loc: Loc = tuple(part for part in item["loc"] if part != "[key]")
        if item["type"] == LOCATED_ERROR:
            for sub_loc, message in item.get("ctx", {}).get("issues", ()):
                full = loc + tuple(sub_loc)
                problems.append(Problem(path, line_of(data, full), format_loc(full), message))
            continue
        if _only_its_items_failed(item):
            continue
        shown = loc[:-1] + (str(loc[-1]),) if item["type"] == "invalid_key" and loc else loc
        problems.append(Problem(path, line_of(data, loc), format_loc(shown), _message(item, root)))
    return problems


# --------------------------------------------------------------------------------------------------
# Files
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class LoadedContract:
    """A contract that passed model validation, with where it came from (for review messages)."""

    path: str
    contract: DataProductContract
    data: Any = field(repr=False, compare=False)

    def line(self, loc: Loc) -> int:
        """YAML line of ``loc`` in this contract's file."""
        return line_of(self.data, loc)


def _yaml_problem(path: str, error: yaml.YAMLError, what: str = "contract") -> Problem:
    mark = getattr(error, "problem_mark", None) or getattr(error, "context_mark", None)
    line = mark.line + 1 if mark is not None else 1
    problem = getattr(error, "problem", None) or str(error).splitlines()[0]
    context = getattr(error, "context", None)
    if problem == "expected a single document in the stream" or context == "expected a single document in the stream":
        one = "data product" if what == "contract" else what
        return Problem(path, line, FILE, f"one file holds one {one}: remove the extra '---' document")
    text = f"{context}: {problem}" if context else str(problem)
    return Problem(path, line, "(yaml)", f"invalid YAML: {text}")


def _read_text(path: Path, display: str) -> tuple[str | None, list[Problem]]:
    try:
        size = path.stat().st_size
        if size > MAX_FILE_BYTES:
            return None, [Problem(display, 1, FILE, f"file is too large ({size} bytes; at most {MAX_FILE_BYTES})")]
        raw = path.read_bytes()
    except OSError as exc:
        return None, [Problem(display, 1, FILE, f"cannot read file: {exc.strerror or exc}")]
    try:
        return raw.decode("utf-8-sig"), []
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        return None, [
            Problem(display, line, FILE, f"not UTF-8 text: byte 0x{raw[exc.start]:02x} at offset {exc.start}")
        ]


def read_yaml_mapping(path: Path, display: str | None = None, *, what: str = "contract") -> tuple[Any, list[Problem]]:
    """Read one YAML file that holds one mapping of ``what``'s fields (a contract, a dataset ...).

    Returns the mapping (a :class:`LineDict`, ``None`` when unusable) and the problems found: unreadable
    file, not UTF-8, invalid YAML, several documents, duplicate keys, not a mapping.
    """
    shown = display if display is not None else str(path)
    text, problems = _read_text(path, shown)
    if text is None:
        return None, problems
    loader = _LineLoader(text)
    try:
        data = loader.get_single_data()
    except yaml.YAMLError as exc:
        return None, [_yaml_problem(shown, exc, what)]
    except RecursionError:
        return None, [Problem(shown, 1, "(yaml)", "invalid YAML: nested too deeply")]
    finally:
        loader.dispose()
    problems = [
        Problem(shown, dup.line, dup.key, f"duplicate key {dup.key!r} (first defined on line {dup.first_line})")
        for dup in loader.duplicates
    ]
    if data is None:
        return None, [Problem(shown, 1, FILE, f"file is empty: a {what} is a YAML mapping (name, domain, ...)")]
    if not isinstance(data, dict):
        got = _TYPE_NAMES.get(type(data).__name__, type(data).__name__)
        return None, [Problem(shown, getattr(data, "line", 1), FILE, f"expected a mapping of {what} fields, got {got}")]
    return data, problems


def parse_contract_file(path: Path, display: str | None = None) -> tuple[LoadedContract | None, list[Problem]]:
    """Read, parse and validate one contract file; returns the contract (or ``None``) and its problems."""
    shown = display if display is not None else str(path)
    data, problems = read_yaml_mapping(path, shown)
    if data is None:
        return None, problems
    try:
        contract = DataProductContract.model_validate(data)
    except ValidationError as exc:
        return None, problems + validation_problems(shown, data, exc)
    except RecursionError:
        return None, problems + [Problem(shown, 1, FILE, "contract is nested too deeply")]
    if problems:
        return None, problems
    return LoadedContract(shown, contract, data), []


def discover_files(paths: Iterable[str | os.PathLike[str]]) -> tuple[list[tuple[Path, str]], list[Problem]]:
    """Expand files and directories (recursively, ``*.yaml``/``*.yml``, skipping hidden entries).

    Returns ``(path, display name)`` pairs in a stable order without repeats, and a problem for every path
    that does not exist or is a directory without contracts.
    """
    if isinstance(paths, str | bytes | os.PathLike) or not isinstance(paths, Iterable):
        # One path would be iterated character by character ("c", "o", ...): say so instead.
        raise ValueError(f"contract paths must be a list of files or folders, not one path {paths!r}: pass [{str(paths)!r}]")
    found: list[tuple[Path, str]] = []
    problems: list[Problem] = []
    seen: set[Path] = set()

    def add(file: Path) -> None:
        key = file.resolve()
        if key not in seen:
            seen.add(key)
            found.append((file, str(file)))

    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            before = len(found)
            for root, dirs, files in os.walk(path):
                dirs[:] = sorted(d for d in dirs if not d.startswith("."))
                for name in sorted(files):
                    if name.endswith(CONTRACT_SUFFIXES) and not name.startswith("."):
                        add(Path(root) / name)
            if len(found) == before:
                problems.append(Problem(str(path), 1, FILE, "no *.yaml or *.yml contract files in this directory"))
        elif path.exists():
            add(path)
        else:
            problems.append(Problem(str(path), 1, FILE, "no such file or directory"))
    return found, problems


def _review_problems(loaded: Sequence[LoadedContract], trust: MeshTrust | None) -> list[Problem]:
    def describe(index: int, loc: Loc = ()) -> str:
        item = loaded[index]
        return f"{item.path}:{item.line(loc)}"

    findings = review_contracts([item.contract for item in loaded], trust=trust, describe=describe)
    problems = [Problem(loaded[f.index].path, loaded[f.index].line(f.loc), format_loc(f.loc), f.message) for f in findings]
    return problems + _folder_problems(loaded, trust)


def _folder_problems(loaded: Sequence[LoadedContract], trust: MeshTrust | None) -> list[Problem]:
    """A contract in a configured domain's folder (``contracts/<domain>/``, which that domain's team owns through
    CODEOWNERS) must be of that domain: otherwise one team's approval could publish into another's domain."""
    if trust is None:
        return []
    problems = []
    for item in loaded:
        folder = Path(item.path).parent.name
        if folder in trust.domains and folder != item.contract.domain:
            problems.append(
                Problem(
                    item.path,
                    item.line(("domain",)),
                    "domain",
                    f"'{item.contract.domain}' in the folder of domain '{folder}': a domain's folder holds only its "
                    f"own products (its team owns the folder): move the file to the folder of domain "
                    f"'{item.contract.domain}', or set domain: {folder}",
                )
            )
    return problems


def _check_all(
    paths: Iterable[str | os.PathLike[str]], trust: MeshTrust | None, extra: Sequence[LoadedContract] = ()
) -> tuple[list[LoadedContract], list[Problem]]:
    if isinstance(paths, (str, os.PathLike)):
        paths = [paths]
    files, problems = discover_files(paths)
    loaded: list[LoadedContract] = []
    for path, display in files:
        try:
            item, file_problems = parse_contract_file(path, display)
        except Exception as exc:  # noqa: BLE001 - one odd file must not hide the others' problems
            item, file_problems = None, [Problem(display, 1, FILE, f"internal error while checking: {exc!r}")]
        problems += file_problems
        if item is not None:
            loaded.append(item)
    loaded += extra  # contracts made by other files (datasets): reviewed with the rest (duplicates, overlaps)
    problems += _review_problems(loaded, trust)
    return loaded, sorted(set(problems))


def validate_paths(
    paths: Iterable[str | os.PathLike[str]], *, trust: MeshTrust | None = None, extra: Sequence[LoadedContract] = ()
) -> list[Problem]:
    """Check every contract under ``paths`` (files or directories); returns all problems, sorted.

    Args:
        paths: contract files, or directories searched recursively for ``*.yaml``/``*.yml``.
        trust: the platform's domain map and consumer allowlist (``PlatformConfig.mesh_trust()``); the
            trust rules of :func:`~meshworks.constructs.mesh.review.review_contracts` run only with it.
            Default: ``None``.
        extra: contracts that other files made (a dataset's product), reviewed together with these.
            Default: none.
    """
    return _check_all(paths, trust, extra)[1]


def load_contracts(
    paths: Iterable[str | os.PathLike[str]], *, trust: MeshTrust | None = None, extra: Sequence[LoadedContract] = ()
) -> list[DataProductContract]:
    """Load and review every contract under ``paths``, in a stable order (by domain, then name).

    Args:
        paths: contract files, or directories searched recursively.
        trust: the platform's domain map and consumer allowlist. With it, every contract is checked
            against it and comes back with ``producer_account`` filled in (its domain's only producer
            account when the contract names none). Anything that builds grants or IAM from the
            contracts must pass it. Default: ``None`` (no trust rules, ``producer_account`` as written).
        extra: contracts that other files made (a dataset's product, see
            :mod:`meshworks.constructs.ingestion.dataset_loader`), reviewed and returned with these. Default: none.

    Raises:
        ContractError: listing every problem, as ``file:line: field: message`` lines. Nothing else is
            raised for bad input.
    """
    loaded, problems = _check_all(paths, trust, extra)
    if problems:
        raise ContractError(problems)
    contracts = [item.contract for item in loaded]
    if trust is not None:
        contracts = [resolve_producer_account(contract, trust) for contract in contracts]
    return sorted(contracts, key=lambda c: (c.domain, c.name))
