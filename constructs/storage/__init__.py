"""Storage constructs: secure buckets and the data-lake zones."""

from .access_logs_bucket import AccessLogsBucket
from .data_lake_storage import DataLakeStorage, Zone
from .secure_bucket import SecureBucket

__all__ = ["AccessLogsBucket", "DataLakeStorage", "SecureBucket", "Zone"]
