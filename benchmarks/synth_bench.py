#!/usr/bin/env python3
"""Synth time of the reference app with each check on and off (interleaved rounds), and per-stack size.

Configurations, each a fresh process as `cdk synth` starts one, run in interleaved rounds (one of
each per round, so a burst of load on a shared machine hits them alike); the median is printed:

- ``app: nag + cfn-validator``: cdk-nag packs and aws-cdk-lib's built-in CloudFormation validator
  (what `make synth` ran before each check ran once);
- ``app: nag``: cdk-nag only (what `make synth` runs now; the tests cfn-lint every template);
- ``app: cfn-validator``, ``app: none``: the validator alone, neither;
- ``cli: make synth`` / ``cli: make validate``: the full `cdk synth` command line (CLI start, app,
  cloud-assembly read) with ``--no-validation`` / ``--validation``.

    .venv/bin/python benchmarks/synth_bench.py [--runs 5]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
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
nag, validate = sys.argv[1] == "on", sys.argv[2] == "on"
context = json.load(open("cdk.json"))["context"]
app = App(outdir=sys.argv[3], context=context, builtin_cloud_formation_validation=validate)
build_platform(app, load_cdk_json("cdk.json"), policy_checks=nag)
app.synth()
"""

APP = {
    "app: nag + cfn-validator": ("on", "on"),
    "app: nag": ("on", "off"),
    "app: cfn-validator": ("off", "on"),
    "app: none": ("off", "off"),
}
CLI = {"cli: make synth": "--no-validation", "cli: make validate": "--validation"}


def _env() -> dict[str, str]:
    env = {**os.environ, "PATH": f"{ROOT / 'node_modules' / '.bin'}{os.pathsep}{os.environ['PATH']}"}
    env.pop("CDK_VALIDATION", None)
    return env


def synth_once(name: str, outdir: str) -> tuple[float, float]:
    """Wall and CPU seconds (the process tree: Python, the jsii Node kernel, the CLI) of one synth."""
    if name in APP:
        command = [sys.executable, "-c", RUN, *APP[name], outdir]
    else:
        command = [str(ROOT / "node_modules" / ".bin" / "cdk"), "synth", "--quiet", "--no-notices", "--ci", CLI[name]]
        command += ["-o", outdir]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run(command, cwd=ROOT, env=_env(), check=True, capture_output=True)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}")
    print(f"load average at start: {', '.join(f'{x:.1f}' for x in os.getloadavg())}")
    names = [*APP, *CLI]
    times: dict[str, list[float]] = {name: [] for name in names}
    cpu: dict[str, list[float]] = {name: [] for name in names}
    with tempfile.TemporaryDirectory() as tmp:
        for round_ in range(args.runs):
            for name in names:
                wall, used = synth_once(name, f"{tmp}/{round_}-{names.index(name)}")
                times[name].append(wall)
                cpu[name].append(used)
        print(f"load average at end: {', '.join(f'{x:.1f}' for x in os.getloadavg())}")
        base = statistics.median(cpu["app: nag + cfn-validator"])
        for name in names:
            median = statistics.median(times[name])
            used = statistics.median(cpu[name])
            print(
                f"{name:26s} wall median {median:5.1f} s (min {min(times[name]):.1f}, max {max(times[name]):.1f}); "
                f"CPU median {used:5.1f} s ({used / base:.2f} x nag + cfn-validator); {args.runs} runs"
            )
        outdir = Path(tmp) / "0-0"
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
