#!/usr/bin/env python3
"""The meshworks reference app: reads the configuration from cdk.json context and builds the stacks."""

import sys

from aws_cdk import App

from meshworks.stacks.config import ConfigError, config_from_context, load_cdk_json
from meshworks.stacks.platform import build_platform

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
