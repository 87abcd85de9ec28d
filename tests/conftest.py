"""Session-wide test set-up shared by every test module.

AWS calls in tests only ever reach moto or loopback servers: fake credentials and a fixed
region are set before any boto3 client exists.
"""

from __future__ import annotations

import os

os.environ.update(
    {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",  # noqa: S105 - moto's fake credentials
        "AWS_SECURITY_TOKEN": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_DEFAULT_REGION": "eu-west-1",
        "AWS_REGION": "eu-west-1",
    }
)
os.environ.pop("AWS_PROFILE", None)
