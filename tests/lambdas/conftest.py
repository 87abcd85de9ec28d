"""Lambda tests: reuse the tests' own boto3 clients across tests.

Creating a botocore client costs tens of milliseconds (service model, endpoint rules); the
moto fixtures create several per test. Clients are stateless with respect to moto (its
interception sits in botocore's global handlers and only acts while a mock is active), so the
plain ``boto3.client(service, region_name=...)`` calls of the tests share one client per
service and region. Calls with any other argument (a ``config``, credentials, an endpoint) —
which is how the handlers build theirs — still get a fresh client.

The patch is in force only while a test of this folder runs (function-scoped; the clients themselves are
cached for the session): a session-long patch leaked into every module collected after the first lambda
test, and tests elsewhere that call ``boto3.client`` under other credentials (IAM-enforced moto tests of
``tests/features``) then got a shared client with the default ones and failed when run in that order
(``pytest tests/lambdas tests/features``, or pytest-xdist).
"""

from __future__ import annotations

import functools
import os
from typing import Any

import boto3
import pytest

_create_client = boto3.client


@functools.cache
def _shared_client(service_name: str, region_name: str) -> Any:
    return _create_client(service_name, region_name=region_name)


def _client(service_name: str, region_name: str | None = None, **kwargs: Any) -> Any:
    if kwargs:
        return _create_client(service_name, region_name=region_name, **kwargs)
    return _shared_client(service_name, region_name or os.environ["AWS_DEFAULT_REGION"])


@pytest.fixture(autouse=True)
def _shared_boto3_clients() -> Any:
    boto3.client = _client
    yield
    boto3.client = _create_client
