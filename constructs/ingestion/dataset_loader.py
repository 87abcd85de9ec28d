"""Load dataset files (``datasets/<domain>/<name>.yml``) and report every problem as ``file:line: field: message``.

The same reader, line tracking and messages as the data-product contracts
(:mod:`meshworks.constructs.mesh.loader`). A dataset's ``product`` block is validated as the
:class:`~meshworks.constructs.mesh.contract.DataProductContract` it becomes (location in the curated zone,
Parquet), its problems reported at the lines of the dataset file (``product.columns[2].type``).

Example::

    from meshworks.constructs.ingestion.dataset_loader import DatasetError, load_datasets

    try:
        datasets = load_datasets(["datasets/"], curated_bucket_name="acme-222222222222-curated")
    except DatasetError as error:
        raise SystemExit(str(error)) from None
    contracts = [item.contract for item in datasets if item.contract is not None]
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from pydantic import ValidationError

from meshworks.constructs.ingestion.dataset import Dataset
from meshworks.constructs.mesh.contract import DataProductContract
from meshworks.constructs.mesh.loader import (
    FILE,
    LineDict,
    LoadedContract,
    Problem,
    discover_files,
    read_yaml_mapping,
    validation_problems,
)

__all__ = [
    "PLACEHOLDER_CURATED_BUCKET",
    "DatasetError",
    "LoadedDataset",
    "check_datasets",
    "dataset_field",
    "load_datasets",
    "parse_dataset_file",
    "relabel",
]

PLACEHOLDER_CURATED_BUCKET = "curated-zone-bucket"
"""Curated bucket used to check a product's shape when the platform's configuration is not at hand."""

_OWN_FIELDS = frozenset({"name", "domain"})


class DatasetError(ValueError):
    """Dataset files failed to load; ``problems`` holds every problem, sorted."""

    def __init__(self, problems: Sequence[Problem]) -> None:
        self.problems: list[Problem] = sorted(problems)
        count = len(self.problems)
        lines = "\n".join(f"  {problem}" for problem in self.problems)
        super().__init__(f"{count} problem{'s' if count != 1 else ''} in dataset files:\n{lines}")


@dataclass(frozen=True)
class LoadedDataset:
    """A dataset that passed validation, with its file and (when curated) the contract of its product."""

    path: str
    dataset: Dataset
    loaded_contract: LoadedContract | None = field(repr=False, compare=False)

    @property
    def contract(self) -> DataProductContract | None:
        """The data product's contract (``None`` for an HTTP endpoint that backs up failed records only)."""
        return self.loaded_contract.contract if self.loaded_contract is not None else None


def dataset_field(field_name: str) -> str:
    """A contract problem's field as it is written in a dataset file (``columns[0]`` -> ``product.columns[0]``)."""
    head = field_name.split(".", 1)[0].split("[", 1)[0]
    if head in _OWN_FIELDS or field_name.startswith("(") or field_name.startswith("product"):
        return field_name
    if head in {"location", "format", "producer_account"}:
        return "domain"  # derived from the domain and the platform (curated zone, compute account): fix it there
    return f"product.{field_name}"


def relabel(problems: Iterable[Problem], dataset_paths: set[str]) -> list[Problem]:
    """Problems of the contracts' review with the fields of dataset files written as in those files."""
    return [
        Problem(p.path, p.line, dataset_field(p.field), p.message) if p.path in dataset_paths else p for p in problems
    ]


def _contract_view(data: LineDict, product: LineDict, contract_input: dict) -> LineDict:
    """The contract's fields as a mapping whose key lines are those of the dataset file."""
    view = LineDict(product.line)
    for key, value in product.items():
        view[key] = value
        view.key_lines[key] = product.key_lines.get(key, product.line)
    for key in ("name", "domain"):
        view[key] = data[key]
        view.key_lines[key] = data.key_lines[key]
    for key in ("location", "format", "producer_account"):
        if key in contract_input:
            view[key] = contract_input[key]
            view.key_lines[key] = data.key_lines["domain"]
    return view


def parse_dataset_file(
    path: Path,
    display: str | None = None,
    *,
    curated_bucket_name: str = PLACEHOLDER_CURATED_BUCKET,
    producer_account: str | None = None,
) -> tuple[LoadedDataset | None, list[Problem]]:
    """Read, parse and validate one dataset file, its product as a contract; returns it (or ``None``) and its problems.

    ``producer_account``: the account the ingestion runs in; the product's producer account (the contracts' review
    then checks it is one of its domain's). Default: none (the domain's only producer account).
    """
    shown = display if display is not None else str(path)
    data, problems = read_yaml_mapping(path, shown, what="dataset")
    if data is None:
        return None, problems
    try:
        dataset = Dataset.model_validate(data)
    except ValidationError as exc:
        return None, problems + validation_problems(shown, data, exc, Dataset)
    except RecursionError:
        return None, problems + [Problem(shown, 1, FILE, "dataset is nested too deeply")]
    if not dataset.curated:
        return (LoadedDataset(shown, dataset, None), []) if not problems else (None, problems)
    product = data["product"]
    if not isinstance(product, LineDict):  # validated as a mapping: a plain dict only when built in code
        product = LineDict(data.key_lines.get("product", 1))
        product.update(dataset.product or {})
    view = _contract_view(data, product, dataset.contract_input(curated_bucket_name, producer_account))
    try:
        contract = DataProductContract.model_validate(view)
    except ValidationError as exc:
        found = validation_problems(shown, view, exc)
        return None, problems + [Problem(p.path, p.line, dataset_field(p.field), p.message) for p in found]
    if problems:
        return None, problems
    return LoadedDataset(shown, dataset, LoadedContract(shown, contract, view)), []


def check_datasets(
    paths: Iterable[str | os.PathLike[str]],
    *,
    curated_bucket_name: str = PLACEHOLDER_CURATED_BUCKET,
    producer_account: str | None = None,
) -> tuple[list[LoadedDataset], list[Problem]]:
    """Every dataset under ``paths`` (files, or directories searched for ``*.yml``/``*.yaml``) and all problems.

    Two datasets of the same ``domain.name`` are a problem here; a dataset whose product repeats a contract's
    (or overlaps its location) is found by the contracts' review: pass the ``loaded_contract`` s as ``extra`` to
    :func:`~meshworks.constructs.mesh.loader.load_contracts`.
    """
    if isinstance(paths, (str, os.PathLike)):
        paths = [paths]
    files, problems = discover_files(paths)
    loaded: list[LoadedDataset] = []
    first: dict[str, LoadedDataset] = {}
    for path, display in files:
        try:
            item, file_problems = parse_dataset_file(
                path, display, curated_bucket_name=curated_bucket_name, producer_account=producer_account
            )
        except Exception as exc:  # noqa: BLE001 - one odd file must not hide the others' problems
            item, file_problems = None, [Problem(display, 1, FILE, f"internal error while checking: {exc!r}")]
        problems += file_problems
        if item is None:
            continue
        other = first.get(item.dataset.qualified_name)
        if other is not None:
            problems.append(Problem(display, 1, "name", f"dataset {item.dataset.qualified_name!r} is already "
                                    f"defined in {other.path}: one file per dataset"))
            continue
        first.setdefault(item.dataset.qualified_name, item)
        loaded.append(item)
    return loaded, sorted(set(problems))


def load_datasets(
    paths: Iterable[str | os.PathLike[str]],
    *,
    curated_bucket_name: str = PLACEHOLDER_CURATED_BUCKET,
    producer_account: str | None = None,
) -> list[LoadedDataset]:
    """Load every dataset under ``paths``, in a stable order (domain, then name).

    Args:
        paths: dataset files, or directories searched recursively.
        curated_bucket_name: the curated zone's bucket, where each product lives (``<domain>/<name>/``).
            Default: a placeholder, enough to check the files' shape.
        producer_account: the account the ingestion runs in: each product's producer account, so that the review
            refuses a domain whose producers do not include it (its refresh events would be rejected at run time).
            Default: none (the domain's only producer account).

    Raises:
        DatasetError: listing every problem as ``file:line: field: message``; nothing else for bad input.
    """
    loaded, problems = check_datasets(paths, curated_bucket_name=curated_bucket_name, producer_account=producer_account)
    if problems:
        raise DatasetError(problems)
    return sorted(loaded, key=lambda item: (item.dataset.domain, item.dataset.name))
