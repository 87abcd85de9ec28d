"""``log_retention`` given as a number of days is one clear ``ValueError`` naming the argument, in every construct.

CloudWatch Logs accepts only the listed periods, which aws-cdk-lib models as ``logs.RetentionDays``; an int
used to end in a jsii ``TypeError`` naming an inner construct's argument (``SecureLogGroup``'s ``retention``).
"""

from __future__ import annotations

import importlib
import inspect
import pkgutil

import pytest
from aws_cdk import App, Stack

import meshworks.constructs as library
from meshworks.constructs.core import PlatformFunction, PlatformKey, SecureLogGroup


def _constructs_with_log_retention() -> list[type]:
    found = {}
    for module_info in pkgutil.walk_packages(library.__path__, prefix="meshworks.constructs."):
        module = importlib.import_module(module_info.name)
        for _, cls in inspect.getmembers(module, inspect.isclass):
            if cls.__module__ == module.__name__ and "log_retention" in inspect.signature(cls.__init__).parameters:
                found[cls.__qualname__] = cls
    return list(found.values())


CONSTRUCTS = _constructs_with_log_retention()


def test_the_audit_sees_the_constructs() -> None:
    names = {cls.__name__ for cls in CONSTRUCTS}
    assert {"PlatformFunction", "AirflowEnvironment", "EmrServerlessApplication", "FeatureJob"} <= names


@pytest.mark.parametrize("cls", CONSTRUCTS, ids=lambda cls: cls.__name__)
def test_every_construct_checks_log_retention_before_building(cls: type) -> None:
    """Each checks its own argument (so the message names ``log_retention``), itself or through its base."""
    sources = "".join(inspect.getsource(base) for base in cls.__mro__ if base.__module__.startswith("meshworks."))
    assert 'retention_days(' in sources and '"log_retention"' in sources


def test_an_int_is_one_clear_error_naming_the_argument() -> None:
    stack = Stack(App(), "S")
    key = PlatformKey(stack, "Key")
    with pytest.raises(ValueError, match=r"PlatformFunction: log_retention=30 .*RetentionDays"):
        PlatformFunction(stack, "Fn", package="mesh_notifier", handler="mesh_notifier.handler.main",
                         encryption_key=key, log_retention=30)
    with pytest.raises(ValueError, match=r"SecureLogGroup: retention=365 .*RetentionDays.ONE_YEAR"):
        SecureLogGroup(stack, "Logs", encryption_key=key, retention=365)
