#!/usr/bin/env python3
"""Byte-identity of written templates before and after a speed change: the reference app and a generated mesh.

Synthesizes (1) the reference app exactly as ``make synth`` does (``cdk synth`` with the app command of
``cdk.json``) and (2) the mesh of ``benchmarks/mesh_scale.py`` (N products, default configuration, the
context ``cdk synth`` adds), then prints one SHA-256 per written template. Save the digests of the
code before a change and compare the code after it:

    .venv/bin/python benchmarks/template_digest.py --products 2000 --save /tmp/before.json   # old code
    .venv/bin/python benchmarks/template_digest.py --products 2000 --compare /tmp/before.json  # new code

``--compare`` lists every template that differs, is missing or is new, and exits 1 if any does.
``--without-analytics`` digests each template with ``CDKMetadata``'s ``Analytics`` value blanked: it is a
compressed list of the construct types in the stack (version reporting, never deployed configuration),
so it changes when resources are written without constructs (rendered product shards) or a construct is
swapped for an equivalent one.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "benchmarks"))

from mesh_scale import RUN  # noqa: E402  (the benchmark's mesh, built and synthesized the same way)

ANALYTICS = re.compile(rb'"Analytics": "v2:deflate64:[^"]*"')
WITHOUT_ANALYTICS = False


def _digests(outdir: Path, label: str) -> dict[str, str]:
    def text(path: Path) -> bytes:
        data = path.read_bytes()
        return ANALYTICS.sub(b'"Analytics": "-"', data) if WITHOUT_ANALYTICS else data

    return {
        f"{label}/{path.name}": hashlib.sha256(text(path)).hexdigest() for path in sorted(outdir.glob("*.template.json"))
    }


def reference_app(outdir: Path) -> dict[str, str]:
    """``cdk synth`` of the reference app (the app command of cdk.json, as ``make synth`` runs it)."""
    env = {**os.environ, "PATH": f"{ROOT / 'node_modules' / '.bin'}{os.pathsep}{os.environ['PATH']}"}
    subprocess.run(
        ["cdk", "synth", "--quiet", "--no-notices", "--ci", "--no-validation", "-o", str(outdir)],
        cwd=ROOT, env=env, check=True, capture_output=True, text=True,
    )
    return _digests(outdir, "reference")


def mesh(products: int, outdir: Path, python_flags: list[str]) -> dict[str, str]:
    """The benchmark's mesh of ``products`` (LF-tag mode, default configuration)."""
    env = {**os.environ, "PATH": f"{ROOT / 'node_modules' / '.bin'}{os.pathsep}{os.environ['PATH']}"}
    subprocess.run(
        [sys.executable, *python_flags, "-c", RUN, str(products), "lf_tags", str(outdir), "bound"],
        cwd=ROOT, env=env, check=True, capture_output=True, text=True,
    )
    return _digests(outdir, f"mesh-{products}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--products", type=int, default=2000)
    parser.add_argument("--optimize", action="store_true", help="build the mesh under python -O")
    parser.add_argument("--save", type=Path, help="write the digests to this JSON file")
    parser.add_argument("--compare", type=Path, help="compare with digests saved earlier; exit 1 on any difference")
    parser.add_argument("--without-analytics", action="store_true", help="blank CDKMetadata's Analytics first")
    args = parser.parse_args()
    global WITHOUT_ANALYTICS
    WITHOUT_ANALYTICS = args.without_analytics
    with tempfile.TemporaryDirectory() as tmp:
        digests = {**reference_app(Path(tmp) / "reference")}
        digests.update(mesh(args.products, Path(tmp) / "mesh", ["-O"] if args.optimize else []))
    if args.save:
        args.save.write_text(json.dumps(digests, indent=1, sort_keys=True) + "\n")
    print(f"{len(digests)} templates: {sum(k.startswith('reference/') for k in digests)} of the reference app, "
          f"{sum(k.startswith('mesh-') for k in digests)} of the {args.products:,}-product mesh")
    if args.compare:
        before = json.loads(args.compare.read_text())
        changed = sorted(k for k in before.keys() & digests.keys() if before[k] != digests[k])
        missing = sorted(before.keys() - digests.keys())
        new = sorted(digests.keys() - before.keys())
        for name in changed:
            print(f"DIFFERS  {name}")
        for name in missing:
            print(f"MISSING  {name}")
        for name in new:
            print(f"NEW      {name}")
        same = len(before.keys() & digests.keys()) - len(changed)
        print(f"byte-identical: {same} of {len(before)} templates; differ {len(changed)}, missing {len(missing)}, "
              f"new {len(new)}")
        sys.exit(1 if changed or missing or new else 0)


if __name__ == "__main__":
    main()
