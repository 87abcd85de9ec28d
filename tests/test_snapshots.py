"""A syrupy snapshot per stack of the reference app (complements, never replaces, the assertions).

Update after an intended change with ``.venv/bin/python -m pytest tests/test_snapshots.py --snapshot-update``
and review the diff like code.
"""

from __future__ import annotations

import pytest
from syrupy.assertion import SnapshotAssertion
from syrupy.extensions.json import JSONSnapshotExtension

from tests.harness import SynthesizedPlatform


@pytest.fixture
def snapshot_json(snapshot: SnapshotAssertion) -> SnapshotAssertion:
    return snapshot.use_extension(JSONSnapshotExtension)


def test_stack_templates_match_snapshots(platform: SynthesizedPlatform, snapshot_json: SnapshotAssertion) -> None:
    for artifact_id, template in sorted(platform.templates.items()):
        assert template == snapshot_json(name=artifact_id), f"{artifact_id} changed"
