"""Ingestion: self-service streaming datasets (``DatasetIngestion``) from dataset files into the raw and curated zones.

Exports are resolved lazily (PEP 562), as in :mod:`meshworks.constructs.mesh`, so that ``meshworks validate``
reads dataset files without importing ``aws_cdk``. The file-ingestion pipeline (``FileIngestion``) lives in
``file_ingestion.py`` of this package.

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

_EXPORTS = {
    "Dataset": "dataset",
    "DatasetError": "dataset_loader",
    "DatasetIngestion": "dataset_ingestion",
    "LoadedDataset": "dataset_loader",
    "load_datasets": "dataset_loader",
}

__all__ = ["Dataset", "DatasetError", "DatasetIngestion", "LoadedDataset", "load_datasets"]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(import_module(f"{__name__}.{module}"), name)
