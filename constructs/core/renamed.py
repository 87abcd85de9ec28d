"""Keep a renamed keyword argument working for one release, with a ``DeprecationWarning`` naming the new one.

The naming rule (docs/api-vocabulary in README, "Names"): a physical resource name is ``<resource>_name``
(aws-cdk-lib's ``bucket_name``, ``topic_name``); a prefix a construct puts in front of the names of the
resources it creates (several buckets, topics, SSM parameters ...) is ``name_prefix``; a prefix of S3 object
keys keeps aws-cdk-lib's ``<purpose>_prefix`` (``server_access_logs_prefix``, ``log_prefix``); ARNs of KMS keys
are ``kms_key_arns``.
"""

from __future__ import annotations

import functools
import warnings
from collections.abc import Callable
from typing import Any, TypeVar

F = TypeVar("F", bound=Callable[..., Any])

#: The release in which the old names stop working (one release after the rename).
REMOVED_IN = "0.3"


def renamed_arguments(owner: str, **renames: str) -> Callable[[F], F]:
    """Decorate ``__init__`` (or any function with keyword arguments): ``old=value`` still works, becomes
    ``new=value`` and warns once per call site (``DeprecationWarning``, pointing at the caller's line).
    Passing both names is a ``ValueError``.

    Example::

        from meshworks.constructs.core.renamed import renamed_arguments

        class Thing:
            @renamed_arguments("Thing", prefix="name_prefix")
            def __init__(self, *, name_prefix: str = "x") -> None:
                self.name_prefix = name_prefix

        assert Thing(name_prefix="acme").name_prefix == "acme"
    """

    def decorate(function: F) -> F:
        @functools.wraps(function)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            for old, new in renames.items():
                if old not in kwargs:
                    continue
                if new in kwargs:
                    raise ValueError(f"{owner}: pass {new}= only ({old}= is its old name, deprecated)")
                warnings.warn(
                    f"{owner}: {old}= is deprecated, use {new}= (the old name is removed in meshworks {REMOVED_IN})",
                    DeprecationWarning,
                    stacklevel=2,
                )
                kwargs[new] = kwargs.pop(old)
            return function(*args, **kwargs)

        return wrapper  # type: ignore[return-value]

    return decorate


def none_was_opt_out(owner: str, *fields: str) -> Callable[[F], F]:
    """For one release: an explicit ``field=None`` keeps its old meaning "none" (it becomes ``field=False``) with a
    ``DeprecationWarning``. As in aws-cdk-lib, ``None`` (or leaving the argument out) means "the default"; the
    opt-out is ``False``. Leaving the argument out is not affected."""

    def decorate(function: F) -> F:
        @functools.wraps(function)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            for name in fields:
                if name in kwargs and kwargs[name] is None:
                    warnings.warn(
                        f"{owner}: {name}=None means 'none' in this release only; pass {name}=False for none "
                        f"(from meshworks {REMOVED_IN}, None means the default, as everywhere in aws-cdk-lib)",
                        DeprecationWarning,
                        stacklevel=2,
                    )
                    kwargs[name] = False
            return function(*args, **kwargs)

        return wrapper  # type: ignore[return-value]

    return decorate


def default_or_opt_out(value: Any, default: Callable[[], Any]) -> Any:
    """``None`` (absent) or ``True`` (the former sentinel) -> ``default()``; ``False`` -> ``None`` (opted out)."""
    if value is None or value is True:
        return default()
    if value is False:
        return None
    return value
