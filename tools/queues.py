#!/usr/bin/env python3
"""Prints the messages waiting on the local (moto) SQS queues.

    .venv/bin/python tools/queues.py                       # every queue in the emulator
    .venv/bin/python tools/queues.py --queue salesloft-webhooks-events
    .venv/bin/python tools/queues.py --delete              # print and consume
    make queue [QUEUE=name] [DELETE=1]

For each message: its id, the `provider`, `event_type` and `event_id` message attributes (and
any other), the receive count, and the body pretty-printed.

By default messages are received with VisibilityTimeout=0, so printing does not hide them
(they stay available to the next reader). Note that every receive still counts towards the
queue's redrive policy: `salesloft-webhooks-events` moves a message to its DLQ once it has
been received 5 times, so running this 5 times moves what it shows to the DLQ, exactly as
real SQS would. With VisibilityTimeout=0, SQS keeps handing out the same first messages,
so at most the first 10 or so of a queue are shown; --delete pages through all of them.

Endpoint: --endpoint, else $AWS_ENDPOINT_URL, else http://127.0.0.1:4566. Needs boto3.
(Named queues.py, not queue.py: a tools/queue.py would shadow the standard library's
`queue` module for every script in tools/, and boto3 imports it.)
"""

from __future__ import annotations

import argparse
import json
import os
import sys

import boto3
from botocore.exceptions import ClientError, EndpointConnectionError

DEFAULT_ENDPOINT = "http://127.0.0.1:4566"
MAX_ROUNDS = 20


def receive_all(sqs, url: str, delete: bool) -> tuple[list[dict], int]:
    """Messages on the queue, each once; the number of receive calls made."""
    seen: dict[str, dict] = {}
    rounds = 0
    while rounds < MAX_ROUNDS:
        rounds += 1
        kwargs = dict(
            QueueUrl=url,
            MaxNumberOfMessages=10,
            WaitTimeSeconds=0,
            MessageAttributeNames=["All"],
            AttributeNames=["All"],
        )
        if not delete:
            kwargs["VisibilityTimeout"] = 0
        batch = sqs.receive_message(**kwargs).get("Messages", [])
        new = [m for m in batch if m["MessageId"] not in seen]
        for m in new:
            seen[m["MessageId"]] = m
        if delete and batch:
            sqs.delete_message_batch(
                QueueUrl=url,
                Entries=[
                    {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(batch)
                ],
            )
        if not new:
            break
        if not delete and len(batch) < 10:
            break  # everything visible came back in one go
    return list(seen.values()), rounds


def attribute_value(attr: dict) -> str:
    if "StringValue" in attr:
        return attr["StringValue"]
    if "BinaryValue" in attr:
        return f"<{len(attr['BinaryValue'])} bytes>"
    return json.dumps(attr)


def print_message(index: int, msg: dict, max_receives: int | None) -> None:
    attrs = msg.get("MessageAttributes") or {}
    sys_attrs = msg.get("Attributes") or {}
    received = sys_attrs.get("ApproximateReceiveCount", "?")
    warn = ""
    if max_receives is not None and received.isdigit() and int(received) >= max_receives:
        warn = f"; maxReceiveCount {max_receives} reached: the next receive moves it to the DLQ"
    print(f"  [{index}] MessageId {msg['MessageId']}  (received {received}x{warn})")
    ordered = ["provider", "event_type", "event_id"] + sorted(k for k in attrs if k not in ("provider", "event_type", "event_id"))
    for name in ordered:
        if name in attrs:
            print(f"      {name:<11} = {attribute_value(attrs[name])}")
        elif name in ("provider", "event_type", "event_id"):
            print(f"      {name:<11} = (missing)")
    for name in ("MessageGroupId", "MessageDeduplicationId"):
        if name in sys_attrs:
            print(f"      {name} = {sys_attrs[name]}")
    body = msg.get("Body", "")
    try:
        pretty = json.dumps(json.loads(body), indent=2, ensure_ascii=False)
    except ValueError:
        pretty = body
    print("      body:")
    for line in pretty.splitlines():
        print("        " + line)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--endpoint",
        default=os.environ.get("AWS_ENDPOINT_URL") or DEFAULT_ENDPOINT,
        help="emulator endpoint (default: $AWS_ENDPOINT_URL or %(default)s)",
    )
    parser.add_argument("--region", default=os.environ.get("AWS_REGION") or "us-east-1")
    parser.add_argument("--queue", default=os.environ.get("QUEUE") or None, help="queue name (default: all queues)")
    parser.add_argument("--delete", action="store_true", help="delete the messages after printing them")
    args = parser.parse_args()

    os.environ.setdefault("AWS_ACCESS_KEY_ID", "test")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "test")
    sqs = boto3.session.Session(region_name=args.region).client("sqs", endpoint_url=args.endpoint)

    try:
        if args.queue:
            urls = [sqs.get_queue_url(QueueName=args.queue)["QueueUrl"]]
        else:
            urls = sorted(sqs.list_queues().get("QueueUrls", []))
    except EndpointConnectionError:
        print(f"queue: nothing answers at {args.endpoint}; is `make dev` running?", file=sys.stderr)
        return 2
    except ClientError as err:
        print(f"queue: {err}", file=sys.stderr)
        return 2

    if not urls:
        print(f"no queues at {args.endpoint} (run tools/local_stack.py or `make dev`)")
        return 0

    total = 0
    for url in urls:
        name = url.rstrip("/").rsplit("/", 1)[-1]
        counts = sqs.get_queue_attributes(
            QueueUrl=url,
            AttributeNames=[
                "ApproximateNumberOfMessages",
                "ApproximateNumberOfMessagesNotVisible",
                "RedrivePolicy",
            ],
        )["Attributes"]
        max_receives = None
        if counts.get("RedrivePolicy"):
            try:
                max_receives = int(json.loads(counts["RedrivePolicy"])["maxReceiveCount"])
            except (ValueError, KeyError, TypeError):
                pass
        messages, _ = receive_all(sqs, url, args.delete)
        total += len(messages)
        waiting = int(counts.get("ApproximateNumberOfMessages", "0"))
        hidden = int(counts.get("ApproximateNumberOfMessagesNotVisible", "0"))
        extra = f", {hidden} in flight (hidden)" if hidden else ""
        print(f"== {name}: {waiting} waiting{extra}  [{url}]")
        for i, msg in enumerate(messages, 1):
            print_message(i, msg, None if args.delete else max_receives)
        if not args.delete and waiting > len(messages):
            print(f"  ... {waiting - len(messages)} more not shown (use --delete to page through them)")
        if args.delete and messages:
            print(f"  deleted {len(messages)} message(s)")
    print(f"{total} message(s) {'consumed' if args.delete else 'shown'} across {len(urls)} queue(s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
