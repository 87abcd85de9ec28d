#!/usr/bin/env python3
"""Ingestion figures: synth time of the reference app with ``ingestion`` on and off, and resources and synth time
of the ``ingestion`` stack with 1, 10 and 28 datasets (the per-stack budget).

Each measurement is a fresh process (as `cdk synth` starts one) with cdk-nag on, in interleaved rounds so that load
on a shared machine hits the configurations alike; the median is printed.

    .venv/bin/python benchmarks/ingestion_bench.py [--runs 3]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent

APP = """
import json, sys
from aws_cdk import App
from meshworks.stacks.config import config_from_context
from meshworks.stacks.platform import build_platform
context = json.load(open("cdk.json"))["context"]
context["meshworks"]["ingestion"] = {"enabled": sys.argv[1] == "on", "datasets_path": sys.argv[2]}
app = App(outdir=sys.argv[3], context=context, builtin_cloud_formation_validation=False)
build_platform(app, config_from_context(context))
try:
    app.synth()
except RuntimeError as error:
    sys.exit(f"findings: {error}")
"""


def _datasets(folder: Path, count: int) -> Path:
    data = yaml.safe_load((ROOT / "datasets/clickstream/app_events.yml").read_text())
    target = folder / f"datasets-{count}" / "clickstream"
    target.mkdir(parents=True)
    for index in range(count):
        data["name"] = "app_events" if index == 0 else f"app_events_{index:02d}"
        (target / f"{data['name']}.yml").write_text(yaml.safe_dump(data, sort_keys=False))
    return target.parent


def _run(mode: str, datasets: Path, outdir: Path) -> float:
    started = time.monotonic()
    subprocess.run([sys.executable, "-c", APP, mode, str(datasets), str(outdir)], cwd=ROOT, check=True,
                   capture_output=True, text=True)
    return time.monotonic() - started


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=3)
    runs = parser.parse_args().runs
    with tempfile.TemporaryDirectory() as scratch:
        work = Path(scratch)
        shipped = ROOT / "datasets"
        configs = {"ingestion off": ("off", shipped), "ingestion on, 1 dataset": ("on", shipped)}
        # The shard lock records only the shipped product: extra datasets run with the mesh reading the shipped one.
        timings: dict[str, list[float]] = {name: [] for name in configs}
        for round_ in range(runs):
            for name, (mode, datasets) in configs.items():
                timings[name].append(_run(mode, datasets, work / f"{round_}-{mode}"))
        for name, values in timings.items():
            print(f"{name:28s} median {statistics.median(values):6.1f} s  ({', '.join(f'{v:.1f}' for v in values)})")
        template = json.loads((work / "0-on" / "Ingestion.template.json").read_text())
        print(f"ingestion stack, 1 dataset: {len(template['Resources'])} resources, "
              f"{len(json.dumps(template)):,} bytes")
        _stack_scale(work)


STACK = """
import json, sys, time
from aws_cdk import App, Environment
from meshworks.stacks.config import load_cdk_json
from meshworks.stacks.foundation_stack import FoundationStack
from meshworks.stacks.ingestion_stack import IngestionStack
config = load_cdk_json("cdk.json")
config = config.model_copy(update={"ingestion": config.ingestion.model_copy(update={"datasets_path": sys.argv[1]})})
started = time.monotonic()
app = App(outdir=sys.argv[2], builtin_cloud_formation_validation=False)
env = Environment(account=config.environments.compute.account, region=config.environments.compute.region)
foundation = FoundationStack(app, "Foundation", config=config, env=env)
IngestionStack(app, "Ingestion", config=config, foundation=foundation, env=env)
app.synth()
print(time.monotonic() - started)
"""


def _stack_scale(work: Path) -> None:
    for count in (1, 10, 28):
        datasets = _datasets(work, count)
        outdir = work / f"stack-{count}"
        result = subprocess.run([sys.executable, "-c", STACK, str(datasets), str(outdir)], cwd=ROOT, check=True,
                                capture_output=True, text=True)
        template = json.loads((outdir / "Ingestion.template.json").read_text())
        print(f"ingestion stack, {count:2d} dataset(s): {len(template['Resources']):3d} resources, "
              f"{len(json.dumps(template)):>9,} bytes, build+synth {float(result.stdout.strip().splitlines()[-1]):.1f} s")


if __name__ == "__main__":
    main()
