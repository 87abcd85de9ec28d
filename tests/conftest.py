"""Session-wide test set-up shared by every test module.

- AWS calls only ever reach moto or loopback servers: fake credentials, fixed region.
- The CDK runs on the pinned Node.js from ``node_modules/.bin`` (installed by ``make``).
- The reference app is synthesized **once per session** (``platform`` fixture) with the policy
  packs on; every template, snapshot, nag and cfn-lint test reads that one assembly.
- aws-cdk-lib's built-in CloudFormation validator is off for every ``App`` of the session
  (``CDK_VALIDATION=false``, which wins over the ``App`` prop): cfn-lint checks every template of
  the reference app (``tests/policy/test_cfn_lint.py``), and the validator runs once, in CI's
  ``make validate`` step (CONTRIBUTING.md).
"""

from __future__ import annotations

import functools
import gc
import os
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

os.environ.update(
    {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",  # noqa: S105 - moto's fake credentials
        "AWS_SECURITY_TOKEN": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_DEFAULT_REGION": "eu-west-1",
        "AWS_REGION": "eu-west-1",
        "CDK_VALIDATION": "false",  # set before aws_cdk starts its Node process, which inherits it
        # Any use of a deprecated CDK API (by our code, the reference app or an example) raises instead of printing
        # a warning once per process: users of meshworks never see a deprecation warning that comes from us.
        "JSII_DEPRECATED": "fail",
        "PATH": f"{ROOT / 'node_modules' / '.bin'}{os.pathsep}{os.environ.get('PATH', '')}",
    }
)
os.environ.pop("AWS_PROFILE", None)

from collections.abc import Iterator  # noqa: E402

import pytest  # noqa: E402

from tests.harness import SynthesizedPlatform, synthesize_platform, synthesize_platform_once  # noqa: E402

# A test process keeps ~1M objects (the CDK bindings, the test modules) alive to its end, and its tests make
# millions more. The session uses app.py's collector thresholds (a test running app.py in-process would set them
# anyway), and what collection imported is frozen: left out of every later full collection and of the one at
# interpreter shutdown. Full collections over tests/importers and tests/mesh went from 2.1 to 0.2 s.
gc.set_threshold(100_000, 50, 100)


def pytest_collection_finish(session: pytest.Session) -> None:
    gc.freeze()


def pytest_unconfigure(config: pytest.Config) -> None:
    gc.freeze()


@pytest.fixture(scope="session")
def platform(tmp_path_factory: pytest.TempPathFactory) -> SynthesizedPlatform:
    """The reference app from the shipped ``cdk.json``, synthesized once, policy checks on.

    Under pytest-xdist (``make test``) once for all workers: the first synthesizes into the run's shared
    temporary folder, the others read that assembly.
    """
    if os.environ.get("PYTEST_XDIST_WORKER"):
        return synthesize_platform_once(tmp_path_factory.getbasetemp().parent / "platform-cdk.out")
    return synthesize_platform(tmp_path_factory.mktemp("cdk.out"))


@pytest.fixture(autouse=True, scope="session")
def _shared_botocore_models() -> Iterator[None]:
    """Parse each botocore model (service, endpoint rules, partitions) once per session, not once per test.

    moto gives every ``mock_aws`` block a new default boto3 session, whose new loader parsed the service
    models again: about 0.1 s of JSON per client created, most of the time of a moto test. Loaders with the
    default search paths (``Loader()``: what every session here builds) share one cache instead; botocore
    already shares each loaded model between the clients of a session, so the data is read-only by contract.
    """
    from botocore import loaders

    shared: dict = {}
    original = loaders.Loader.__init__

    def init(self: loaders.Loader, *args: object, **kwargs: object) -> None:
        original(self, *args, **kwargs)
        if not args and not kwargs:
            self._cache = shared

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(loaders.Loader, "__init__", init)
        yield


@pytest.fixture(autouse=True, scope="session")
def _one_sns_signing_key() -> Iterator[None]:
    """moto's SNS signs each message with a 2048-bit RSA key that it generates for every new subscription
    (about 30 ms each, 100+ times a session): one key serves the whole session. Signatures stay real."""
    from moto.sns import models

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(models.Subscription, "private_key", lambda self: _sns_key())
        yield


@functools.cache
def _sns_key() -> object:
    from cryptography.hazmat.primitives.asymmetric import rsa

    return rsa.generate_private_key(public_exponent=65537, key_size=2048)
