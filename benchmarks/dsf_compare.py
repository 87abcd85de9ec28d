#!/usr/bin/env python3
"""Same work, meshworks vs AWS's Data Solutions Framework (DSF): a data-lake storage stack, paired ratios.

Each round synthesizes, in fresh processes and in alternating order, one stack holding a data-lake
storage construct — meshworks' ``DataLakeStorage`` (key, access-log bucket, raw/stage/curated/backup
buckets) and DSF's ``storage.DataLakeStorage`` (key, access-log bucket, bronze/silver/gold
buckets) — with aws-cdk-lib's built-in CloudFormation validator on ("checks on"; neither adds
cdk-nag here) and off. It prints the median of the per-round ratios meshworks / DSF (wall and CPU
seconds of the process tree), which a shared machine's load affects far less than absolute times.

DSF is not a dependency of meshworks; install it next to the venv's aws-cdk-lib first:

    .venv/bin/pip install --no-deps --target /tmp/dsf cdklabs.aws-data-solutions-framework \\
        'aws-cdk.lambda-layer-kubectl-v33>=2,<3'
    .venv/bin/python benchmarks/dsf_compare.py --dsf-path /tmp/dsf [--rounds 5]
"""

from __future__ import annotations

import argparse
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
import sys
from aws_cdk import App, Stack
which, validate, outdir = sys.argv[1], sys.argv[2] == "on", sys.argv[3]
app = App(outdir=outdir, builtin_cloud_formation_validation=validate)
stack = Stack(app, "Storage")
if which == "meshworks":
    from meshworks.constructs.storage import DataLakeStorage
    DataLakeStorage(stack, "Lake")
else:
    from cdklabs.aws_data_solutions_framework import storage
    storage.DataLakeStorage(stack, "Lake")
app.synth()
"""


def once(which: str, validate: str, outdir: str, dsf_path: str) -> tuple[float, float]:
    env = {**os.environ, "PATH": f"{ROOT / 'node_modules' / '.bin'}{os.pathsep}{os.environ['PATH']}"}
    env.pop("CDK_VALIDATION", None)
    if which == "dsf":
        env["PYTHONPATH"] = dsf_path
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run([sys.executable, "-c", RUN, which, validate, outdir], cwd=ROOT, env=env, check=True, capture_output=True)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dsf-path", required=True, help="folder DSF was installed into (pip --target)")
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}")
    print(f"load average at start: {', '.join(f'{x:.1f}' for x in os.getloadavg())}")
    with tempfile.TemporaryDirectory() as tmp:
        for validate in ("on", "off"):
            ratios_wall, ratios_cpu, walls = [], [], {"meshworks": [], "dsf": []}
            for round_ in range(args.rounds):
                order = ("meshworks", "dsf") if round_ % 2 == 0 else ("dsf", "meshworks")
                result = {w: once(w, validate, f"{tmp}/{validate}-{round_}-{w}", args.dsf_path) for w in order}
                ratios_wall.append(result["meshworks"][0] / result["dsf"][0])
                ratios_cpu.append(result["meshworks"][1] / result["dsf"][1])
                for which in walls:
                    walls[which].append(result[which][0])
            print(
                f"validator {validate:3s}: meshworks / DSF median ratio {statistics.median(ratios_wall):.2f} wall, "
                f"{statistics.median(ratios_cpu):.2f} CPU ({args.rounds} rounds; median wall meshworks "
                f"{statistics.median(walls['meshworks']):.1f} s, DSF {statistics.median(walls['dsf']):.1f} s)"
            )
    print(f"load average at end: {', '.join(f'{x:.1f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
