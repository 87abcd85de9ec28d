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

``--phases`` instead runs `make synth`'s command line (``cdk synth --quiet --no-notices --ci --no-validation``)
with ``app.py`` unchanged but watched, and splits each run into phases: the CLI before and after the app,
Python start + ``import aws_cdk`` (which starts the jsii Node kernel and loads aws-cdk-lib's assembly),
importing meshworks, ``App()`` + the configuration, building the stacks (``build_platform``: constructs,
asset staging, contracts), and ``app.synth()`` (aspects, references, construct validations, the cdk-nag
packs, templates written). Each phase has its wall time and its CPU seconds in Python and in the jsii Node
processes (the kernel and its relay), medians over the runs; compare CPU seconds on a shared machine.

    .venv/bin/python benchmarks/synth_bench.py [--runs 5]
    .venv/bin/python benchmarks/synth_bench.py --phases [--runs 5]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import shlex
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

# Runs app.py as the CLI would (``--app``), marking when aws_cdk and meshworks are imported and when
# build_platform and App.synth start and end; writes the marks (wall, Python CPU, Node CPU) as JSON.
PHASE_APP = r"""
import atexit, importlib.abc, importlib.util, json, os, resource, runpy, sys, time

def node_cpu():
    # CPU seconds of this process's descendants still running: the jsii relay and kernel (Node)
    total, todo = 0.0, [str(os.getpid())]
    while todo:
        pid = todo.pop()
        try:
            for task in os.listdir(f"/proc/{pid}/task"):
                with open(f"/proc/{pid}/task/{task}/children") as handle:
                    children = handle.read().split()
                todo += children
                for child in children:
                    with open(f"/proc/{child}/stat") as stat:
                        fields = stat.read().rsplit(")", 1)[1].split()
                    total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
        except OSError:
            pass
    return total

marks = []
def mark(name):
    usage = resource.getrusage(resource.RUSAGE_SELF)
    marks.append((name, time.time(), usage.ru_utime + usage.ru_stime, node_cpu()))

def wrap(module, attribute, name):
    original = getattr(module, attribute)
    def wrapper(*args, **kwargs):
        mark(name + " start")
        try:
            return original(*args, **kwargs)
        finally:
            mark(name + " end")
    setattr(module, attribute, wrapper)

class Watch(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path, target=None):
        if name not in ("aws_cdk", "meshworks.stacks.platform"):
            return None
        sys.meta_path.remove(self)
        try:
            spec = importlib.util.find_spec(name)
        finally:
            sys.meta_path.insert(0, self)
        exec_module = spec.loader.exec_module
        def run(module):
            exec_module(module)
            mark(name + " imported")
            if name == "aws_cdk":
                wrap(module.App, "synth", "synth")
            else:
                wrap(module, "build_platform", "build")
        spec.loader.exec_module = run
        return spec

def write():  # at exit, also when app.py leaves through its own exit handlers
    mark("app end")
    with open(os.environ["MESHWORKS_PHASES"], "w") as handle:
        json.dump(marks, handle)

atexit.register(write)
sys.meta_path.insert(0, Watch())
mark("app start")
sys.argv = ["app.py"]
runpy.run_path("app.py", run_name="__main__")
"""
PHASES = [  # (phase, from mark, to mark); "cli start" / "cli end" are the command's own start and end
    ("CLI start, until the app runs (CPU: CLI + kernel shutdown)", "cli start", "app start"),
    ("Python start + import aws_cdk (jsii kernel, aws-cdk-lib assembly)", "app start", "aws_cdk imported"),
    ("import meshworks (CDK modules used, pydantic models)", "aws_cdk imported", "meshworks.stacks.platform imported"),
    ("App() + configuration", "meshworks.stacks.platform imported", "build start"),
    ("build stacks (constructs, assets, contracts)", "build start", "build end"),
    ("app.synth() (aspects, validations, cdk-nag, templates)", "synth start", "synth end"),
    ("app exit + CLI reads the assembly", "synth end", "cli end"),
]


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


def phases_once(outdir: str, marks_file: str) -> dict[str, tuple[float, float, float]]:
    """One `make synth` command line; phase -> (wall s, Python CPU s, Node CPU s)."""
    command = [str(ROOT / "node_modules" / ".bin" / "cdk"), "synth", "--quiet", "--no-notices", "--ci", "--no-validation"]
    command += ["-o", outdir, "--app", f"{shlex.quote(sys.executable)} -c {shlex.quote(PHASE_APP)}"]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.time()
    subprocess.run(command, cwd=ROOT, env={**_env(), "MESHWORKS_PHASES": marks_file}, check=True, capture_output=True)
    end = time.time()
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    total_cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    marks = {name: (at, python, node) for name, at, python, node in json.loads(Path(marks_file).read_text())}
    # the kernel has stopped by "app end": its CPU is read at "synth end"; what the command used besides the
    # app's Python and that (the CLI, the kernel's shutdown) is put on the first row
    python_cpu, node_cpu = marks["app end"][1], marks["synth end"][2]
    marks["cli start"], marks["cli end"] = (start, 0.0, 0.0), (end, python_cpu, node_cpu)
    result = {}
    for phase, first, last in PHASES:
        wall = marks[last][0] - marks[first][0]
        result[phase] = (wall, marks[last][1] - marks[first][1], marks[last][2] - marks[first][2])
    result[PHASES[0][0]] = (result[PHASES[0][0]][0], 0.0, total_cpu - python_cpu - node_cpu)
    result["total (make synth's command)"] = (end - start, python_cpu, total_cpu - python_cpu)
    return result


def main_phases(runs: int) -> None:
    rows: dict[str, list[tuple[float, float, float]]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for round_ in range(runs):
            for phase, figures in phases_once(f"{tmp}/{round_}", f"{tmp}/marks.json").items():
                rows.setdefault(phase, []).append(figures)
    print(f"load average at end: {', '.join(f'{x:.1f}' for x in os.getloadavg())}")
    print(f"{'phase (medians of ' + str(runs) + ' runs)':68s} {'wall s':>7s} {'Python CPU s':>13s} {'Node CPU s':>11s}")
    for phase, figures in rows.items():
        wall, python, node = (statistics.median(column) for column in zip(*figures, strict=True))
        print(f"{phase:68s} {wall:7.2f} {python:13.2f} {node:11.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--phases", action="store_true", help="split `make synth` into phases (see above)")
    args = parser.parse_args()
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}")
    print(f"load average at start: {', '.join(f'{x:.1f}' for x in os.getloadavg())}")
    if args.phases:
        main_phases(args.runs)
        return
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
