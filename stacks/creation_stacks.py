"""Skip the CDK's per-construct creation stack traces in the platform's stacks (they carry nothing in a Python app)."""

from __future__ import annotations

from aws_cdk import Stack

#: aws-cdk-lib's context key (``cx_api.DISABLE_CREATION_STACK_TRACES``, not exported to Python). The CDK CLI
#: refuses user context under ``aws:`` (``-c`` or cdk.json), so a stack sets it on itself.
DISABLE_CREATION_STACK_TRACES = "aws:cdk:disable-creation-stack-traces"


def skip_creation_stack_traces(stack: Stack) -> None:
    """Stop ``stack``'s constructs recording their creation stack (``aws:cdk:creationStack`` metadata).

    In a Python app the captured frames are the jsii kernel's own JavaScript ("no user code in 10 frames"), so
    the entries say nothing, yet capturing them costs Node time for every CloudFormation element and they made up
    ~24 % of the reference app's ``*.metadata.json`` (640 entries). ``cdk synth --debug`` (``CDK_DEBUG``) still
    records them. Call it first in the stack's constructor, right after ``Stack.__init__``: CDK context can only
    be set before a construct has children (``RuntimeError`` otherwise). The stack's own entry, recorded before
    this call, remains. Templates are unaffected.
    """
    stack.node.set_context(DISABLE_CREATION_STACK_TRACES, True)
