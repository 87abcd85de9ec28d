"""``FileIngestion`` used alone, as its docstring shows, leaves its user no cdk-nag finding and no lookup.

The app of ``tests/ingestion/file_app.py``: the docstring's example with a user role given every public grant
(``Files``), and the MWAA variant without a schedule, on a landing bucket whose EventBridge notifications the
construct turns on (``Mwaa``); both packs on through ``add_policy_checks``.
"""

from __future__ import annotations

import pytest

from tests.ingestion.file_app import file_app


def test_the_app_synthesizes_offline() -> None:
    assert [key for kind, key in file_app().findings if kind == "lookup"] == []


@pytest.mark.parametrize("stack", ["Files", "Mwaa"])
def test_file_ingestion_used_alone_has_no_finding(stack: str) -> None:
    mine = [f"{rule} {path}" for rule, path in file_app().findings if path.startswith(f"{stack}/")]
    assert mine == [], "\n".join(mine)


def test_grants_leave_no_finding_on_the_users_role() -> None:
    assert [rule for rule, path in file_app().findings if path.startswith("Files/UserRole/")] == []
