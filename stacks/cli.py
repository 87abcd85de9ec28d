"""The ``meshworks`` command line.

``meshworks validate PATH...`` checks data-product contracts (files, or directories searched for
``*.yaml``/``*.yml``) and prints every problem as ``file:line: field: message``.
``meshworks schema`` prints the JSON Schema of a contract (``--output FILE`` writes it).
``meshworks shards`` records every new data product's stack in the shard lock (``--check``: only
report, exit 1 if the lock is not current, for CI).

Exit codes: 0 all contracts pass, 1 problems found, 2 usage error (bad option, missing path, bad
``--allowed-buckets`` file), 3 internal error. A traceback is never printed.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TextIO

__all__ = ["main"]

EXIT_OK = 0
EXIT_PROBLEMS = 1
EXIT_USAGE = 2
EXIT_INTERNAL = 3


class _UsageError(Exception):
    """A usage problem reported as ``meshworks: error: ...`` with exit code 2."""


class _Parser(argparse.ArgumentParser):
    """argparse parser that raises instead of exiting, so ``main()`` can return the code."""

    def error(self, message: str) -> None:  # type: ignore[override]
        raise _UsageError(f"{message}\n{self.format_usage().strip()}")


def _build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="meshworks", description="meshworks data-platform tools.")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    commands.required = True

    validate = commands.add_parser(
        "validate",
        help="check data-product contracts",
        description="Check data-product contracts and report every problem as file:line: field: message.",
    )
    validate.add_argument("paths", nargs="+", metavar="PATH", help="contract file, or directory to search")
    validate.add_argument(
        "--allowed-buckets",
        metavar="FILE",
        type=Path,
        help="JSON/YAML mapping domain -> bucket names; default: bucket names must contain the domain",
    )
    validate.add_argument(
        "--format",
        choices=("text", "github"),
        default="text",
        help="'github' also prints GitHub Actions annotations on stdout (default: text)",
    )

    schema = commands.add_parser("schema", help="print the JSON Schema of a contract file")
    schema.add_argument("--output", metavar="FILE", type=Path, help="write the schema to FILE instead")
    shards = commands.add_parser(
        "shards",
        help="record the stack of every new data product in the shard lock",
        description="Place new data products (and consumer accounts) in the shard lock, keep every recorded "
        "entry, drop removed ones. Paths are relative to the app folder, as in cdk synth.",
    )
    shards.add_argument("--cdk-json", metavar="FILE", type=Path, default=Path("cdk.json"), help="default: cdk.json")
    shards.add_argument("--check", action="store_true", help="write nothing; exit 1 if the lock is not current")
    return parser


def _shards(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    from meshworks.stacks.config import ConfigError, load_cdk_json
    from meshworks.stacks.mesh_hub_stack import place_shards, read_contracts, read_shard_lock

    if not args.cdk_json.is_file():
        raise _UsageError(f"no such file: {args.cdk_json}")
    try:
        mesh = load_cdk_json(args.cdk_json).mesh
        contracts = read_contracts(mesh)
        old = read_shard_lock(mesh)
        new = place_shards(mesh, contracts, old)
    except ConfigError as exc:
        print(exc, file=err)
        return EXIT_PROBLEMS
    path = mesh.shard_lock_file()
    before = {(d, n): i for d, names in (old.products if old else {}).items() for n, i in names.items()}
    after = {(d, n): i for d, names in new.products.items() for n, i in names.items()}
    added = sorted(set(after) - set(before))
    removed = sorted(set(before) - set(after))
    for domain, name in added:
        print(f"  + {domain}/{name} -> mesh-products-{domain.replace('_', '-')}-{after[domain, name]:02d}", file=out)
    for domain, name in removed:
        print(f"  - {domain}/{name} (was in mesh-products-{domain.replace('_', '-')}-{before[domain, name]:02d})", file=out)
    current = old is not None and old.dumps() == new.dumps()
    stacks = len({(d, i) for (d, _), i in after.items()}) + len(set(new.consumers.values()))
    summary = f"{len(after)} data product(s) and {len(new.consumers)} consumer account(s) in {stacks} stack(s)"
    if args.check:
        if current:
            print(f"meshworks shards: {path} is current: {summary}", file=out)
            return EXIT_OK
        print(f"meshworks shards: {path} is not current: run `meshworks shards` and commit the lock", file=err)
        return EXIT_PROBLEMS
    if not current:
        try:
            path.write_text(new.dumps(), encoding="utf-8")
        except OSError as exc:
            raise _UsageError(f"cannot write {path}: {exc.strerror or exc}") from None
    verb = "unchanged" if current else f"written ({len(added)} placed, {len(removed)} removed)"
    print(f"meshworks shards: {path} {verb}: {summary}", file=out)
    return EXIT_OK


def _validate(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    from meshworks.constructs.mesh.loader import ContractError, load_allowed_buckets, load_contracts

    missing = [path for path in args.paths if not Path(path).exists()]
    if missing:
        raise _UsageError(f"no such file or directory: {', '.join(missing)}")
    allowed = None
    if args.allowed_buckets is not None:
        try:
            allowed = load_allowed_buckets(args.allowed_buckets)
        except ContractError as exc:
            raise _UsageError(f"bad --allowed-buckets file:\n{exc}") from None
    try:
        contracts = load_contracts(args.paths, allowed)
    except ContractError as exc:
        problems = exc.problems
    else:
        domains = len({contract.domain for contract in contracts})
        print(
            f"meshworks validate: {len(contracts)} data product(s) in {domains} domain(s) passed validation",
            file=out,
        )
        return EXIT_OK
    for problem in problems:
        print(problem, file=err)
    if args.format == "github":
        for problem in problems:
            print(problem.github_annotation(), file=out)
    count = len(problems)
    files = len({problem.path for problem in problems})
    print(f"meshworks validate: {count} problem{'s' if count != 1 else ''} in {files} file(s)", file=err)
    return EXIT_PROBLEMS


def _schema(args: argparse.Namespace, out: TextIO) -> int:
    from meshworks.constructs.mesh.contract import render_json_schema

    text = render_json_schema()
    if args.output is None:
        out.write(text)
        return EXIT_OK
    try:
        args.output.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise _UsageError(f"cannot write {args.output}: {exc.strerror or exc}") from None
    return EXIT_OK


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI with ``argv`` (default: ``sys.argv[1:]``); returns the exit code, never raises."""
    out, err = sys.stdout, sys.stderr
    try:
        try:
            args = _build_parser().parse_args(argv)
        except SystemExit as exc:  # --help and --version exit through argparse
            return exc.code if isinstance(exc.code, int) else EXIT_OK
        if args.command == "validate":
            return _validate(args, out, err)
        if args.command == "shards":
            return _shards(args, out, err)
        return _schema(args, out)
    except _UsageError as exc:
        print(f"meshworks: error: {exc}", file=err)
        return EXIT_USAGE
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        return EXIT_OK
    except Exception as exc:  # noqa: BLE001 - the contract is: no traceback, ever
        print(f"meshworks: internal error (please report it): {type(exc).__name__}: {exc}", file=err)
        return EXIT_INTERNAL


if __name__ == "__main__":
    sys.exit(main())
