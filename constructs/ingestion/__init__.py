"""Ingestion: self-service streaming datasets (``DatasetIngestion``) from dataset files into the raw and curated zones,
and landed files (CSV, compressed too) converted to Parquet (``FileIngestion``).

Exports are resolved lazily (PEP 562), as in :mod:`meshworks.constructs.mesh`, so that ``meshworks validate``
reads dataset files without importing ``aws_cdk``.

Example::

    from meshworks.constructs.ingestion import DatasetIngestion, load_datasets
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from meshworks.constructs.ingestion.dataset import Dataset
    from meshworks.constructs.ingestion.dataset_ingestion import DatasetIngestion
    from meshworks.constructs.ingestion.dataset_loader import DatasetError, LoadedDataset, load_datasets
    from meshworks.constructs.ingestion.file_ingestion import FileIngestion

_EXPORTS = {
    "Dataset": "dataset",
    "DatasetError": "dataset_loader",
    "DatasetIngestion": "dataset_ingestion",
    "FileIngestion": "file_ingestion",
    "LoadedDataset": "dataset_loader",
    "load_datasets": "dataset_loader",
}

__all__ = ["Dataset", "DatasetError", "DatasetIngestion", "FileIngestion", "LoadedDataset", "load_datasets"]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(import_module(f"{__name__}.{module}"), name)
