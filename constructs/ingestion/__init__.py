"""Ingestion: landed files to Parquet (FileIngestion)."""

from .file_ingestion import FileIngestion

__all__ = ["FileIngestion"]
