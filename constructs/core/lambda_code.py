"""Where the Lambda handlers' code is, in a checkout and in an installed wheel alike."""

from __future__ import annotations

from pathlib import Path

from aws_cdk import IgnoreMode
from aws_cdk import aws_lambda as lambda_

#: ``meshworks/lambdas`` (``lambdas/`` in a checkout): one sub-package per handler.
LAMBDAS_ROOT = Path(__file__).resolve().parent.parent.parent / "lambdas"


def lambda_code(package: str) -> lambda_.Code:
    """The asset of one handler package: ``lambdas/<package>/`` only, without bytecode.

    The asset root is ``lambdas/`` so that the handler is ``<package>.<module>.<function>`` and
    relative imports inside the package work in Lambda exactly as in tests.
    """
    if not (LAMBDAS_ROOT / package / "__init__.py").is_file():
        raise ValueError(f"no Lambda package {package!r} under {LAMBDAS_ROOT}")
    return lambda_.Code.from_asset(
        str(LAMBDAS_ROOT),
        exclude=["*", f"!{package}", f"!{package}/**", "**/__pycache__", "**/*.pyc"],
        ignore_mode=IgnoreMode.GLOB,
    )
