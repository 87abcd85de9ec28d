"""Run the reference app's ``app.py`` the way ``cdk synth`` does, inside the test process.

``cdk synth`` runs ``app.py`` with the context it assembled (cdk.json's plus every ``-c key=value``, values as
typed: strings) and an output folder. Here ``app.py``'s own code runs in this process (``runpy``) with that
context and folder given to the ``App`` it creates: no second Python and Node start-up per test (1-2 s each).
What a process would show is kept: the exit status (``sys.exit``) and what ``app.py`` printed on stderr; an
exception ``app.py`` lets through (a traceback in a process) propagates and fails the test.
``tests/change/test_plan_reference_app.py`` still runs an ``app.py`` in a process of its own, end to end.
"""

from __future__ import annotations

import runpy
from pathlib import Path
from typing import Any

import aws_cdk
import pytest

from tests.harness import ROOT


def run_app(context: dict[str, Any], outdir: Path, capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    """(exit status, stderr) of ``app.py`` given ``context`` as the CDK CLI passes it, writing into ``outdir``."""
    real_app = aws_cdk.App

    def app(**props: Any) -> aws_cdk.App:
        return real_app(**{**props, "context": context, "outdir": str(outdir)})

    capsys.readouterr()
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(aws_cdk, "App", app)
        try:
            runpy.run_path(str(ROOT / "app.py"), run_name="__main__")
            status = 0
        except SystemExit as exit_:
            status = 0 if exit_.code is None else exit_.code if isinstance(exit_.code, int) else 1
    return status, capsys.readouterr().err
