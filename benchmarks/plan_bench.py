#!/usr/bin/env python3
"""Wall time of ``meshworks plan`` on the reference app (median of several runs) and the machine's load.

Each run exports ``--base`` (default ``HEAD``) with git archive, synthesizes it and the working tree side
by side (two fresh Python processes, cdk-nag and the CDK's validation off) and classifies the changes.

    .venv/bin/python benchmarks/plan_bench.py [--runs 3] [--base HEAD]
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import subprocess
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--base", default="HEAD")
    args = parser.parse_args()
    env = {**os.environ, "PATH": f"{ROOT / 'node_modules' / '.bin'}{os.pathsep}{os.environ.get('PATH', '')}"}
    times = []
    for _ in range(args.runs):
        started = time.monotonic()
        result = subprocess.run(  # noqa: S603
            [str(ROOT / ".venv" / "bin" / "meshworks"), "plan", "--base", args.base, "--repo", str(ROOT)],
            cwd=ROOT, env=env, capture_output=True, text=True, check=False,
        )  # fmt: skip
        times.append(time.monotonic() - started)
        if result.returncode not in (0, 1):
            raise SystemExit(result.stderr)
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f}")
    print(
        f"meshworks plan --base {args.base}: median {statistics.median(times):.1f} s "
        f"(min {min(times):.1f}, max {max(times):.1f}, {len(times)} runs)"
    )


if __name__ == "__main__":
    main()
