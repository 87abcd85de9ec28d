#!/usr/bin/env python3
"""Synth time of the reference app (median of several runs, validation on and off) and per-stack size.

"Validation on" = cdk-nag packs + the CDK's built-in CloudFormation validation, as `make synth`;
"off" = neither. Each run is a fresh Python process, as `cdk synth` starts one.

    .venv/bin/python benchmarks/synth_bench.py [--runs 5]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

RUN = """
import json, sys
from aws_cdk import App
from meshworks.stacks.config import load_cdk_json
from meshworks.stacks.platform import build_platform
validate = sys.argv[1] == "on"
context = json.load(open("cdk.json"))["context"]
app = App(outdir=sys.argv[2], context=context, builtin_cloud_formation_validation=validate)
build_platform(app, load_cdk_json("cdk.json"), policy_checks=validate)
app.synth()
"""


def synth_once(validate: bool, outdir: str) -> float:
    env = {**os.environ, "PATH": f"{ROOT / 'node_modules' / '.bin'}{os.pathsep}{os.environ['PATH']}"}
    start = time.perf_counter()
    subprocess.run(
        [sys.executable, "-c", RUN, "on" if validate else "off", outdir], cwd=ROOT, env=env, check=True, capture_output=True
    )
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}")
    with tempfile.TemporaryDirectory() as tmp:
        for validate in (True, False):
            times = [synth_once(validate, f"{tmp}/{validate}-{i}") for i in range(args.runs)]
            label = "on " if validate else "off"
            print(
                f"synth, validation {label}: median {statistics.median(times):.1f} s "
                f"(min {min(times):.1f}, max {max(times):.1f}, {args.runs} runs)"
            )
        outdir = Path(tmp) / "True-0"
        manifest = json.loads((outdir / "manifest.json").read_text())
        print(f"{'stack':40s} {'resources':>9s} {'template KB':>12s}")
        total = 0
        for artifact_id, artifact in sorted(manifest["artifacts"].items()):
            if artifact["type"] != "aws:cloudformation:stack":
                continue
            path = outdir / artifact["properties"]["templateFile"]
            resources = len(json.loads(path.read_text())["Resources"])
            total += resources
            print(f"{artifact_id:40s} {resources:9d} {path.stat().st_size / 1024:12.1f}")
        print(f"{'total':40s} {total:9d}")


if __name__ == "__main__":
    main()
