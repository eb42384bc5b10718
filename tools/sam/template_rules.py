#!/usr/bin/env python3
"""Project rules for template.yaml that the generic linters cannot know (run by
scripts/sam/checks.sh). Exit status 1 and one line per broken rule.

1. No SQS event source of a function filters EventsQueue: Lambda deletes the records a
   filter does not match, so a filter on a shared queue takes events from every other
   consumer. A filtering consumer needs its own queue.
2. The example consumer reads its own queue, which has a dead-letter queue, and the webhook
   fills it through a copy route (TEMPLATE_ROUTES, "copy": true) that it may send to.

    .venv/bin/python tools/sam/template_rules.py [template.yaml]
"""

from __future__ import annotations

import json
import re
import sys

import yaml  # PyYAML (a dependency of aws-sam-cli and cfn-lint)


class CfnLoader(yaml.SafeLoader):
    """Reads CloudFormation's short-form tags (!Ref, !GetAtt, !If, ...) as plain mappings."""


def _tag(loader: CfnLoader, suffix: str, node: yaml.Node):
    name = "Ref" if suffix == "Ref" else f"Fn::{suffix}"
    if isinstance(node, yaml.ScalarNode):
        value = loader.construct_scalar(node)
        if suffix == "GetAtt":
            value = value.split(".", 1)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)
    return {name: value}


CfnLoader.add_multi_constructor("!", _tag)


def refers_to(value, resource: str) -> bool:
    """Whether `value` is a Ref or GetAtt of `resource`."""
    return value in ({"Ref": resource}, {"Fn::GetAtt": [resource, "Arn"]})


def main() -> int:
    path = sys.argv[1] if len(sys.argv) > 1 else "template.yaml"
    with open(path, encoding="utf-8") as f:
        resources = yaml.load(f, Loader=CfnLoader)["Resources"]
    broken: list[str] = []

    for name, resource in resources.items():
        if resource.get("Type") != "AWS::Serverless::Function":
            continue
        for event_name, event in (resource["Properties"].get("Events") or {}).items():
            props = event.get("Properties") or {}
            if event.get("Type") == "SQS" and refers_to(props.get("Queue"), "EventsQueue") and "FilterCriteria" in props:
                broken.append(
                    f"{name}.{event_name} filters EventsQueue: Lambda would delete the records "
                    "it does not match from a queue others read; give the consumer its own queue"
                )

    consumer = resources.get("ConsumerFunction", {}).get("Properties", {})
    queues = [e["Properties"]["Queue"] for e in (consumer.get("Events") or {}).values() if e.get("Type") == "SQS"]
    if queues != [{"Fn::GetAtt": ["ExampleConsumerQueue", "Arn"]}]:
        broken.append(f"ConsumerFunction must read ExampleConsumerQueue only, reads {queues}")
    redrive = resources.get("ExampleConsumerQueue", {}).get("Properties", {}).get("RedrivePolicy", {})
    if not refers_to(redrive.get("deadLetterTargetArn"), "ExampleConsumerDeadLetterQueue"):
        broken.append("ExampleConsumerQueue has no dead-letter queue")

    webhook = resources["WebhookFunction"]["Properties"]
    routes = webhook["Environment"]["Variables"].get("TEMPLATE_ROUTES", {})
    # !If [DeployConsumer, !Sub '<json>', ""]
    branch = routes.get("Fn::If", [None, {}])[1] if isinstance(routes, dict) else {}
    sub = branch.get("Fn::Sub", "") if isinstance(branch, dict) else ""
    try:
        specs = json.loads(re.sub(r"\$\{[^}]+\}", "https://queue", sub)) if sub else []
    except json.JSONDecodeError as err:
        specs = []
        broken.append(f"TEMPLATE_ROUTES is not a JSON list: {err}")
    copies = [s for s in specs if s.get("copy") is True and "${ExampleConsumerQueue}" in sub]
    if not copies:
        broken.append("WebhookFunction's TEMPLATE_ROUTES has no copy route to ExampleConsumerQueue")
    statements = json.dumps(webhook.get("Policies", []))
    if '"ExampleConsumerQueue", "Arn"' not in statements:
        broken.append("WebhookFunction may not send to ExampleConsumerQueue")

    for line in broken:
        print(f"template rules: {line}", file=sys.stderr)
    if not broken:
        print(f"template rules: {path} follows the project's rules")
    return 1 if broken else 0


if __name__ == "__main__":
    sys.exit(main())
