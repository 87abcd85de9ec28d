"""Constants and value patterns shared by the Spark models (see :mod:`meshworks.constructs.spark.models`)."""

from __future__ import annotations

import re

from pydantic import ConfigDict
from pydantic_core import PydanticCustomError

#: Version of the routing document (see the module docstring).
ROUTING_DOCUMENT_VERSION = 1
#: Largest value of a Standard-tier SSM parameter.
SSM_STANDARD_VALUE_LIMIT_BYTES = 4096
#: Belcorp: more cores per executor than this hurt throughput.
MAX_EXECUTOR_CORES_ADVISED = 5
#: vCPU sizes of an EMR Serverless worker; executor and driver cores must be one of them there.
SERVERLESS_WORKER_VCPUS = (1, 2, 4, 8, 16)
#: Newest EMR 7.x release at the time of writing (released 2026-04-21, available on EMR Serverless).
DEFAULT_EMR_SERVERLESS_RELEASE = "emr-7.13.0"
#: Belcorp: at least one core unit for this many task units.
TASK_UNITS_PER_CORE_UNIT = 6

_STRICT = ConfigDict(extra="forbid")
_SPARK_SIZE = re.compile(r"^([1-9][0-9]*)([mg])$", re.IGNORECASE)
_DISK_SIZE = re.compile(r"^([1-9][0-9]*)\s*g(?:b)?$", re.IGNORECASE)
_JOB_NAME = re.compile(r"^[a-z][a-z0-9]*(?:[_-][a-z0-9]+)*$")
_S3_URI = re.compile(r"^s3://[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]/\S+$")
_RELEASE_LABEL = re.compile(r"^emr-(\d+)\.(\d+)\.(\d+)$")
_INSTANCE_TYPE = re.compile(r"^[a-z][a-z0-9-]*\.[a-z0-9-]+$")
_SSM_SEGMENT = re.compile(r"^[A-Za-z0-9_.-]+$")
_CPU = re.compile(r"^([1-9][0-9]*)\s*(?:vcpu)?$", re.IGNORECASE)
_GB = re.compile(r"^([1-9][0-9]*)\s*(?:gb)?$", re.IGNORECASE)
_GB_REQUIRED = re.compile(r"^([1-9][0-9]*)\s*gb$", re.IGNORECASE)


def _error(kind: str, message: str) -> PydanticCustomError:
    """A validation error whose text is exactly ``message`` (no ``Value error,`` prefix)."""
    return PydanticCustomError(kind, message)
