#!/usr/bin/env python3
"""The meshworks reference app: reads the configuration from cdk.json context and builds the stacks."""

import atexit
import gc
import os
import sys

# A synth is one short-lived process that creates almost no cyclic garbage, while Python's cyclic collector would
# rescan the ~180,000 objects of the imported CDK bindings hundreds of times (0.2-0.4 s of a `make synth`, same
# peak memory without it: benchmarks/RESULTS.md, issue 15). Reference counting still frees everything else.
gc.disable()

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
# The cloud assembly is written. Stop the jsii kernel and remove its temporary files (the exit handlers), then
# leave without tearing the interpreter's objects down one by one (0.3-0.5 s of `make synth`, issue 15).
atexit._run_exitfuncs()
sys.stdout.flush()
sys.stderr.flush()
os._exit(0)
