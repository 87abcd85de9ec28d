"""Each check runs once: the test session never pays aws-cdk-lib's built-in CloudFormation validator.

cfn-lint checks every template of the reference app (``tests/policy/test_cfn_lint.py``); the
built-in validator runs once, in CI's ``make validate`` step (see CONTRIBUTING.md).
"""

from __future__ import annotations

from pathlib import Path

from aws_cdk import App, CfnResource, Stack


def test_a_bare_app_in_the_session_skips_the_builtin_validator(tmp_path: Path) -> None:
    app = App(outdir=str(tmp_path))  # as a test may write it, without builtin_cloud_formation_validation=False
    stack = Stack(app, "Bare")
    CfnResource(stack, "Queue", type="AWS::SQS::Queue", properties={"NotAProperty": 1})
    app.synth()
    # the validator writes its report (here: a warning for the bad property) whenever it runs
    assert not (tmp_path / "validation-report.json").exists()
