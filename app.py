#!/usr/bin/env python3
"""The meshworks reference app: reads the configuration from cdk.json context and builds the stacks."""

import gc
import sys

# A synth process keeps the ~180,000 objects of the CDK bindings it imports until it exits: with the default
# thresholds the cyclic collector rescans them ~580 times (0.3-0.45 s of a `make synth`); these leave ~7 full
# passes (0.11 s), still bounding memory (benchmarks/RESULTS.md, issue 15).
gc.set_threshold(100_000, 50, 100)

from aws_cdk import App  # noqa: E402

from meshworks.stacks.config import ConfigError, config_from_context, load_cdk_json  # noqa: E402
from meshworks.stacks.platform import build_platform  # noqa: E402

app = App()
try:
    # Under `cdk synth` the CLI passes cdk.json's context; `python app.py` alone reads cdk.json itself.
    context = app.node.get_all_context()
    config = config_from_context(context) if app.node.try_get_context("meshworks") else load_cdk_json()
    build_platform(app, config)  # also reads and reviews the data-product contracts
except ConfigError as error:
    print(error, file=sys.stderr)
    sys.exit(1)
app.synth()
# The interpreter's shutdown runs one more full collection over every object the synth made (~0.4 s); frozen
# objects are left out of it. The assembly is complete here; nothing after this needs a collection.
gc.freeze()
