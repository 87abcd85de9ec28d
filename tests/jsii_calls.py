"""Count the requests Python sends to the jsii kernel: what building CDK constructs costs, counted, never timed."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from jsii._kernel.providers import process


@contextmanager
def round_trips() -> Iterator[Counter]:
    """Count the requests Python sends to the jsii kernel (by request type) inside the block."""
    counter: Counter = Counter()
    original = process._NodeProcess.send

    def send(self, request, response_type):  # noqa: ANN001, ANN202 - jsii's private signature
        counter[type(request).__name__] += 1
        return original(self, request, response_type)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(process._NodeProcess, "send", send)
        yield counter
