#!/usr/bin/env python3
"""Synth time of the reference app with ``orchestration.pipelines`` on and off (cdk-nag on, as `make synth`).

Each configuration is a fresh process (as `cdk synth` starts one), run in interleaved rounds so that load on a
shared machine hits both alike; the median, the minimum and the orchestration stack's size are printed.

    .venv/bin/python benchmarks/pipelines_synth.py [--runs 5]
"""

from __future__ import annotations

import argparse
import json
import os
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
from meshworks.stacks.config import config_from_context
from meshworks.stacks.platform import build_platform
context = json.load(open("cdk.json"))["context"]
context["meshworks"].setdefault("orchestration", {})["pipelines"] = {"enabled": sys.argv[1] == "on"}
app = App(outdir=sys.argv[2], context=context, builtin_cloud_formation_validation=False)
build_platform(app, config_from_context(context), policy_checks=True)
app.synth()
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    env = {**os.environ, "PATH": f"{ROOT / 'node_modules' / '.bin'}{os.pathsep}{os.environ['PATH']}",
           "JSII_SILENCE_WARNING_UNTESTED_NODE_VERSION": "1", "JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION": "1"}  # fmt: skip
    times: dict[str, list[float]] = {"on": [], "off": []}
    sizes: dict[str, tuple[int, int]] = {}
    for _ in range(args.runs):
        for mode in ("on", "off"):
            with tempfile.TemporaryDirectory() as out:
                start = time.perf_counter()
                subprocess.run([sys.executable, "-c", RUN, mode, out], cwd=ROOT, env=env, check=True, capture_output=True)  # noqa: S603
                times[mode].append(time.perf_counter() - start)
                template = (Path(out) / "Orchestration.template.json").read_text()
                sizes[mode] = (len(json.loads(template)["Resources"]), len(template))
    for mode, values in times.items():
        resources, size = sizes[mode]
        print(f"pipelines {mode:3}: median {statistics.median(values):5.1f} s, min {min(values):5.1f} s over {len(values)} runs; "
              f"Orchestration stack {resources} resources, {size / 1000:.0f} kB")  # fmt: skip


if __name__ == "__main__":
    main()
