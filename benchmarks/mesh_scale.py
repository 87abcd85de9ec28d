#!/usr/bin/env python3
"""Data-mesh scale: synth time and resources per stack for 1,000 to 20,000 products, default configuration.

Generates products over 20 domains (5-20 columns, mixed formats, 0-3 consumers each from a pool of
60 accounts, 1.5 on average), places them in a new shard lock (what `meshworks shards` writes), builds
the mesh hub and the data-product shards with the default configuration (budget 450 resources,
900 kB), synthesizes them (cdk-nag off, built-in CloudFormation validation off: those cost the same
per resource in every design) and prints, per size and mode: time (total, of which lock placement
and synth), stacks, resources per stack (min/median/max), the largest template, the resources a
product costs, and the products moved when 1 % of the products are removed and 1 % added with the
lock (must be 0).

    .venv/bin/python benchmarks/mesh_scale.py [--sizes 1000 5000 10000 20000] [--modes lf_tags named_resources]
        [--shards rendered|constructs|both]

Each (size, mode) runs in a fresh Python process (as ``cdk synth`` does). CPU seconds (Python and the
jsii Node kernel, per phase from /proc) are the figure to compare on a shared machine; ``--optimize``
adds a run under ``python -O`` (jsii's runtime type checks off). Templates before/after a speed
change: ``benchmarks/template_digest.py``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

GENERATE = r"""
import json, os, random, sys, time
from pathlib import Path


def tree_cpu():
    # CPU seconds of this process and its live children (the jsii Node kernel), from /proc (Linux; else 0)
    try:
        tick, total, pending = os.sysconf("SC_CLK_TCK"), 0, [os.getpid()]
        while pending:
            pid = pending.pop()
            stat = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            total += int(stat[11]) + int(stat[12])
            for task in Path(f"/proc/{pid}/task").iterdir():
                pending += [int(c) for c in (task / "children").read_text().split()]
        return total / tick
    except OSError:
        return 0.0


t0, c0 = time.perf_counter(), tree_cpu()
from aws_cdk import App
from meshworks.constructs.mesh.contract import DataProductContract
from meshworks.constructs.mesh.data_product import DataProduct
from meshworks.stacks.config import config_from_context
from meshworks.stacks.mesh_hub_stack import build_mesh, place_shards

size, mode, outdir = int(sys.argv[1]), sys.argv[2], sys.argv[3]
rng = random.Random(2026)
domains = [f"domain_{i:02d}" for i in range(20)]
pool = [f"{700000000000 + i}" for i in range(60)]
formats = ["parquet"] * 6 + ["json", "csv", "avro", "orc", "iceberg", "hudi", "delta"]
types = ["string", "bigint", "int", "double", "boolean", "date", "timestamp", "decimal(12,2)", "array<string>"]
contracts = []
for i in range(size):
    domain = domains[i % len(domains)]
    kebab = domain.replace("_", "-")
    fmt = rng.choice(formats)
    column_types = types if fmt != "csv" else types[:-1]  # CSV has no nested types
    contracts.append(DataProductContract.model_validate({
        "name": f"product_{i:05d}",
        "domain": domain,
        "description": f"Generated data product number {i} of the {domain} domain, refreshed daily.",
        "owner": f"{kebab}-team",
        "contact": {"email": f"{kebab}@example.com", "slack_channel": f"#{kebab}-data"},
        "location": f"s3://acme-{kebab}-curated/product_{i:05d}/",
        "format": fmt,
        "columns": [{"name": f"col_{c}", "type": rng.choice(column_types), "description": f"Generated column {c}."}
                    for c in range(rng.randint(5, 20))],
        "partition_keys": [{"name": "dt", "type": "date", "description": "Delivery day (UTC)."}],
        "slo": {"cron": "0 6 * * *", "timezone": "UTC", "grace_minutes": 60},
        "consumers": rng.sample(pool, rng.choice([0, 1, 1, 2, 2, 3])),
        "classification": rng.choice(["public", "internal", "confidential"]),
        "tags": {"tier": rng.choice(["gold", "silver", "bronze"])},
    }))
"""

RUN = GENERATE + r"""
if len(sys.argv) > 5 and sys.argv[5] == "constructs":  # product shards built as constructs (before rendering)
    from meshworks.stacks import data_product_stack
    _stack_init = data_product_stack.DataProductStack.__init__
    def _constructs(self, *args, **kwargs):
        _stack_init(self, *args, render_resources=False, **kwargs)
    data_product_stack.DataProductStack.__init__ = _constructs
if sys.argv[4] == "exact":  # the size check as before: resolve every resource through jsii
    from meshworks.stacks import data_product_stack
    _init = data_product_stack.TemplateSizeCheck.__init__
    def _exact(self, stack, max_bytes, *, bound):
        _init(self, stack, max_bytes, bound=None)
    data_product_stack.TemplateSizeCheck.__init__ = _exact
context = json.load(open("cdk.json"))["context"]
meshworks = context["meshworks"]
# the trust configuration of the generated mesh: its domains and its consumer accounts (no Spoke stacks)
meshworks["environments"]["consumers"] = [
    {"name": f"bench-{i:02d}", "account": account, "region": "eu-west-1", "spoke": False} for i, account in enumerate(pool)
]
meshworks["mesh"] = {
    **meshworks.get("mesh", {}),
    "sharing_mode": mode,
    "domains": {
        d: {"producer_accounts": ["444444444444"], "buckets": [f"s3://acme-{d.replace('_', '-')}-curated/"]}
        for d in domains
    },
}
config = config_from_context(context)
t1, c1 = time.perf_counter(), tree_cpu()
lock = place_shards(config.mesh, contracts)  # a new lock: what `meshworks shards` writes
t2, c2 = time.perf_counter(), tree_cpu()
# the context `cdk synth` adds: path metadata and version reporting (a CDKMetadata resource per stack)
cli_context = {"aws:cdk:enable-path-metadata": True, "aws:cdk:version-reporting": True}
app = App(outdir=outdir, context={**context, **cli_context},
          builtin_cloud_formation_validation=False)
stacks = build_mesh(app, config, contracts, lock)
t3, c3 = time.perf_counter(), tree_cpu()
app.synth()
t4, c4 = time.perf_counter(), tree_cpu()
# churn: remove 1 % of the products, add 1 % new ones (half in one domain, so it outgrows its shards)
removed = set(rng.sample(range(size), size // 100))
kept = [c for i, c in enumerate(contracts) if i not in removed]
added = [c.model_copy(update={"name": f"new_{i:05d}", "domain": domains[0] if i % 2 else c.domain})
         for i, c in enumerate(rng.sample(contracts, size // 100))]
churned = place_shards(config.mesh, kept + added, lock)
moved = sum(churned.product_shard(c) != lock.product_shard(c) for c in kept)
moved += sum(churned.consumers[a] != lock.consumers[a] for a in churned.consumers if a in lock.consumers)
product_resources = sum(DataProduct.resource_count(c, mode, location_access_grants=1) for c in contracts)
print(json.dumps({
    "generate_s": t1 - t0, "place_s": t2 - t1, "build_s": t3 - t2, "synth_s": t4 - t3, "total_s": t4 - t0,
    "cpu": {"generate": c1 - c0, "place": c2 - c1, "build": c3 - c2, "synth": c4 - c3}, "optimized": sys.flags.optimize,
    "products": size, "consumers": sum(len(c.consumers) for c in contracts),
    "product_resources": product_resources, "moved": moved,
    "resolved": sum(getattr(getattr(s, "size_check", None), "resolved", False) for s in stacks.values()),
}))
"""


# Placement only (no synth): the shard lock against a hash ring of V fixed shards per domain.
DESIGNS = GENERATE + r"""
from collections import Counter
from meshworks.constructs.mesh.data_product_catalog import ShardLock, shard_index
t1 = time.perf_counter()
lock = ShardLock.place(contracts, sharing_mode=mode)
t2 = time.perf_counter()
cost = {c.qualified_name: DataProduct.resource_count(c, mode) for c in contracts}
loads = Counter()
for c in contracts:
    loads[c.domain, lock.product_shard(c)] += cost[c.qualified_name]
rows = [{"design": "shard lock (default)", "stacks": len(loads), "max": max(loads.values()),
         "over": sum(v > 450 for v in loads.values()), "place_ms": (t2 - t1) * 1000}]
for spread in (4, 8, 16, 32):
    loads = Counter()
    for c in contracts:
        loads[c.domain, shard_index(f"{c.domain}/{c.name}", spread)] += cost[c.qualified_name]
    rows.append({"design": f"hash, {spread} fixed shards per domain", "stacks": len(loads),
                 "max": max(loads.values()), "over": sum(v > 450 for v in loads.values()), "place_ms": 0})
print(json.dumps(rows))
"""


def designs(size: int, mode: str) -> list[dict]:
    done = subprocess.run(
        [sys.executable, "-c", DESIGNS, str(size), mode, "-", "-"], cwd=ROOT, check=True, capture_output=True, text=True
    )
    return json.loads(done.stdout.strip().splitlines()[-1])


def run(
    size: int,
    mode: str,
    outdir: Path,
    size_check: str = "bound",
    python_flags: tuple[str, ...] = (),
    shards: str = "rendered",
) -> dict:
    env = {**os.environ, "PATH": f"{ROOT / 'node_modules' / '.bin'}{os.pathsep}{os.environ['PATH']}"}
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    done = subprocess.run(
        [sys.executable, *python_flags, "-c", RUN, str(size), mode, str(outdir), size_check, shards],
        cwd=ROOT,
        env=env,
        check=True,
        capture_output=True,
        text=True,
    )
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    result = json.loads(done.stdout.strip().splitlines()[-1])
    # CPU seconds of the run's processes (Python and the jsii Node kernel): less sensitive than wall
    # time to other jobs on a shared machine.
    result["cpu_s"] = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    manifest = json.loads((outdir / "manifest.json").read_text())
    stacks = {}
    for artifact_id, artifact in manifest["artifacts"].items():
        if artifact["type"] == "aws:cloudformation:stack":
            path = outdir / artifact["properties"]["templateFile"]
            template = json.loads(path.read_text())
            stacks[artifact_id] = (len(template["Resources"]), path.stat().st_size)
    result["stacks"] = stacks
    return result


def report(size: int, mode: str, result: dict) -> str:
    products = [r for k, (r, _) in result["stacks"].items() if k.startswith("MeshProducts-")]
    consumers = [r for k, (r, _) in result["stacks"].items() if k.startswith("MeshConsumers-")]
    shards = products + consumers
    biggest = max(b for _, b in result["stacks"].values())
    hub = result["stacks"]["MeshHub"][0]
    return (
        f"| {size:,} | {mode} | {result['total_s']:.1f} s ({result['place_s']:.1f} s lock, "
        f"{result['build_s']:.1f} s build, {result['synth_s']:.1f} s synth; {result['cpu_s']:.0f} CPU s: "
        f"{result['cpu']['build']:.0f} build, {result['cpu']['synth']:.0f} synth; load {os.getloadavg()[0]:.1f}) "
        f"| {len(products)} + {len(consumers)} + hub | {min(shards)} / {statistics.median(shards):.0f} / {max(shards)} "
        f"| {hub} | {biggest / 1024:.0f} kB | {result['product_resources'] / size:.2f} "
        f"| {sum(consumers)} | {sum(shards) / size:.2f} | {result['moved']} | {result['resolved']} "
        f"| {sum(r > 500 or b > 1_000_000 for r, b in result['stacks'].values())} |"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 5000, 10000, 20000])
    parser.add_argument("--modes", nargs="+", default=["lf_tags"])
    parser.add_argument("--designs", action="store_true", help="compare placements only (no synth)")
    parser.add_argument(
        "--size-check",
        choices=("bound", "exact", "both"),
        default="bound",
        help="'bound': the plan's bound (default); 'exact': resolve every resource as before; 'both': interleaved",
    )
    parser.add_argument("--optimize", action="store_true", help="also run each size under python -O (no jsii type checks)")
    parser.add_argument(
        "--shards",
        choices=("rendered", "constructs", "both"),
        default="rendered",
        help="product shards rendered in Python (default, as DataProductStack does) or built as constructs; "
        "'both': interleaved",
    )
    args = parser.parse_args()
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}")
    if args.designs:
        print("| products | design | product stacks | resources in the fullest stack | stacks over 450 |")
        print("|---|---|---|---|---|")
        for size in args.sizes:
            for row in designs(size, args.modes[0]):
                print(f"| {size:,} | {row['design']} | {row['stacks']} | {row['max']} | {row['over']} |", flush=True)
        return
    print(
        "| products | mode | wall time (total, of which lock, build, synth; CPU time) | stacks (products + consumers + hub) "
        "| resources per shard min / median / max | hub resources | largest template | resources per product "
        "| consumer-shard resources | all shard resources per product | moved by 1 % churn | exact size checks "
        "| stacks over 500 resources or 1 MB |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    with tempfile.TemporaryDirectory() as tmp:
        for size in args.sizes:
            for mode in args.modes:
                checks = ("bound", "exact") if args.size_check == "both" else (args.size_check,)
                for check in checks:
                    for flags in [(), ("-O",)] if args.optimize else [()]:
                        for shards in ("constructs", "rendered") if args.shards == "both" else (args.shards,):
                            outdir = Path(tmp) / f"{size}-{mode}-{check}-{shards}"
                            label = mode if args.size_check == "bound" else f"{mode}, {check} size check"
                            label += ", python -O" if flags else ""
                            label += ", shards as constructs" if shards == "constructs" else ""
                            print(report(size, label, run(size, mode, outdir, check, flags, shards)), flush=True)
                            shutil.rmtree(outdir)


if __name__ == "__main__":
    main()
