"""ARNs are written in the partition of the stack's region, never as a literal ``arn:aws:``.

The reference app is synthesized with every region of its configuration moved to ``cn-north-1`` (partition
``aws-cn``); no template may then hold ``arn:aws:``. Before the fix, several did: the hub's IAM policies and
refresh-bus policy, the products' registered locations and location grants, the spoke's share acceptor, the
Step Functions integrations of the Spark and feature jobs, and the ingestion jobs' refresh bus.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from aws_cdk import App

from meshworks.stacks.config import config_from_context
from meshworks.stacks.platform import build_platform

ROOT = Path(__file__).resolve().parent.parent
#: Values of the shipped configuration that are ARNs of the user's (examples: an EKS OIDC provider default).
CONFIGURED = re.compile(r"arn:aws:iam::\d{12}:oidc-provider/")


def test_no_template_writes_the_aws_partition_in_a_china_region(tmp_path: Path) -> None:
    text = json.dumps(json.loads((ROOT / "cdk.json").read_text())["context"])
    for zone in ("a", "b", "c"):
        text = text.replace(f"eu-west-1{zone}", f"cn-north-1{zone}")
    text = text.replace('"eu-west-1"', '"cn-north-1"').replace(":eu-west-1:", ":cn-north-1:")
    context = json.loads(text.replace("arn:aws:", "arn:aws-cn:"))
    app = App(outdir=str(tmp_path), context=context, builtin_cloud_formation_validation=False)
    build_platform(app, config_from_context(context), policy_checks=False)
    app.synth()
    found = {
        path.name: [m.group(0) for m in re.finditer(r"arn:aws:[^\"\\]{0,60}", path.read_text()) if not CONFIGURED.match(m.group(0))]
        for path in tmp_path.glob("*.template.json")
    }
    assert len(found) >= 15
    assert {name: arns for name, arns in found.items() if arns} == {}
