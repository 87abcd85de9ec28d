"""The ``meshworks`` command line.

``meshworks validate PATH...`` checks data-product contracts (files, or directories searched for
``*.yaml``/``*.yml``) and prints every problem as ``file:line: field: message``.
``meshworks schema`` prints the JSON Schema of a contract (``--output FILE`` writes it).
``meshworks producer-policy --domain D`` prints, as JSON, the bucket policies and key-policy
statements the producer of domain ``D`` applies so the hub's roles can use its buckets and keys
(from ``cdk.json`` and the contracts; see docs/mesh.md "Producer prerequisites").

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
    producer = commands.add_parser(
        "producer-policy",
        help="print the bucket and key policy statements a producer applies",
        description="Print (JSON) the bucket policies and KMS key-policy statements the producer of a domain "
        "applies so the hub's Lake Formation, notifier and SLO sweeper roles can use its buckets and keys.",
    )
    producer.add_argument("--domain", required=True, help="the producer's domain, e.g. sales")
    producer.add_argument("--config", type=Path, default=Path("cdk.json"), help="cdk.json (default: ./cdk.json)")
    return parser


def _producer_policy(args: argparse.Namespace, out: TextIO) -> int:
    import json

    from meshworks.constructs.mesh.producer_policy import producer_policy
    from meshworks.stacks.config import ConfigError, load_cdk_json
    from meshworks.stacks.mesh_hub_stack import read_contracts

    if not args.config.exists():
        raise _UsageError(f"no such configuration file: {args.config}")
    try:
        config = load_cdk_json(args.config)
        contracts = read_contracts(config.mesh)
    except ConfigError as exc:
        raise _UsageError(str(exc)) from None
    mesh = config.mesh
    locations = [c.location for c in contracts if c.domain == args.domain]
    locations += [f"s3://{bucket}" for bucket in mesh.producer_buckets.get(args.domain, [])]
    if not locations:
        raise _UsageError(
            f"no data product of domain {args.domain!r} and no mesh.producer_buckets[{args.domain!r}] in {args.config}"
        )
    hub = config.environments.hub
    try:
        policy = producer_policy(
            hub_account=hub.account,
            name_prefix=config.prefix,
            region=hub.region,
            locations=sorted(set(locations)),
            kms_key_arns=mesh.producer_kms_key_arns,
        )
    except ValueError as exc:
        raise _UsageError(f"{args.config}: {exc}") from None
    json.dump({"domain": args.domain, **policy}, out, indent=2, sort_keys=True)
    out.write("\n")
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
        if args.command == "producer-policy":
            return _producer_policy(args, out)
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
