#!/usr/bin/env python3
"""Creates the function's DynamoDB table and SQS queues in a local AWS emulator (moto).

Idempotent: what already exists is left as it is (the TTL and the redrive policy are
(re)applied, so they hold even on resources made by hand). Prints the table name and the
queue URLs.

    .venv/bin/python tools/local_stack.py                      # AWS_ENDPOINT_URL or 127.0.0.1:4566
    .venv/bin/python tools/local_stack.py --endpoint http://127.0.0.1:4566 --fifo
    .venv/bin/python tools/local_stack.py --wait 30 --env-out .local/stack.env

Creates:
* DynamoDB table `salesloft-webhooks-dedup`: partition key `pk` (S), on-demand billing,
  TTL on `expires_at`.
* SQS queue `salesloft-webhooks-events` (the function's default QUEUE_URL) and its dead-letter
  queue `salesloft-webhooks-events-dlq` (redrive after 5 receives).
* with --fifo, also `salesloft-webhooks-audit.fifo` (for a ROUTES entry).

Needs boto3 (the project venv has it). Never talks to real AWS unless told to: without
--endpoint or AWS_ENDPOINT_URL it uses http://127.0.0.1:4566; fake credentials are filled in
when none are set.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
import urllib.error
import urllib.request

import boto3
from botocore.exceptions import ClientError

TABLE_NAME = "salesloft-webhooks-dedup"
QUEUE_NAME = "salesloft-webhooks-events"
DLQ_NAME = "salesloft-webhooks-events-dlq"
FIFO_NAME = "salesloft-webhooks-audit.fifo"
MAX_RECEIVE_COUNT = 5
DEFAULT_ENDPOINT = "http://127.0.0.1:4566"


def log(msg: str) -> None:
    print(msg, flush=True)


def wait_for(endpoint: str, seconds: float) -> None:
    """Waits until something answers HTTP at `endpoint` (any status counts)."""
    deadline = time.monotonic() + seconds
    last: Exception | None = None
    while True:
        try:
            urllib.request.urlopen(endpoint + "/moto-api/", timeout=2).read()
            return
        except urllib.error.HTTPError:
            return  # it answered
        except (urllib.error.URLError, OSError) as err:
            last = err
        if time.monotonic() >= deadline:
            sys.exit(f"local_stack: nothing answers at {endpoint} after {seconds:.0f}s ({last})")
        time.sleep(0.3)


def ensure_table(ddb, name: str) -> None:
    try:
        ddb.describe_table(TableName=name)
        log(f"table   {name} (exists)")
    except ClientError as err:
        if err.response["Error"]["Code"] != "ResourceNotFoundException":
            raise
        ddb.create_table(
            TableName=name,
            AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
            BillingMode="PAY_PER_REQUEST",
        )
        ddb.get_waiter("table_exists").wait(
            TableName=name, WaiterConfig={"Delay": 1, "MaxAttempts": 30}
        )
        log(f"table   {name} (created)")
    ttl = ddb.describe_time_to_live(TableName=name)["TimeToLiveDescription"]
    if ttl.get("TimeToLiveStatus") in ("ENABLED", "ENABLING") and ttl.get("AttributeName") == "expires_at":
        log("        TTL on expires_at (already enabled)")
    else:
        ddb.update_time_to_live(
            TableName=name,
            TimeToLiveSpecification={"Enabled": True, "AttributeName": "expires_at"},
        )
        log("        TTL on expires_at (enabled)")


def queue_url_if_exists(sqs, name: str) -> str | None:
    try:
        return sqs.get_queue_url(QueueName=name)["QueueUrl"]
    except ClientError as err:
        if err.response["Error"]["Code"] in (
            "AWS.SimpleQueueService.NonExistentQueue",
            "QueueDoesNotExist",
        ):
            return None
        raise


def ensure_queue(sqs, name: str, attributes: dict[str, str]) -> str:
    url = queue_url_if_exists(sqs, name)
    if url is None:
        url = sqs.create_queue(QueueName=name, Attributes=attributes)["QueueUrl"]
        log(f"queue   {name} (created)")
    else:
        # FifoQueue cannot be changed after creation; the rest is (re)applied.
        settable = {k: v for k, v in attributes.items() if k != "FifoQueue"}
        if settable:
            sqs.set_queue_attributes(QueueUrl=url, Attributes=settable)
        log(f"queue   {name} (exists)")
    log(f"        {url}")
    return url


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--endpoint",
        default=os.environ.get("AWS_ENDPOINT_URL") or DEFAULT_ENDPOINT,
        help="emulator endpoint (default: $AWS_ENDPOINT_URL or %(default)s)",
    )
    parser.add_argument("--region", default=os.environ.get("AWS_REGION") or "us-east-1")
    parser.add_argument("--fifo", action="store_true", help=f"also create {FIFO_NAME}")
    parser.add_argument(
        "--wait", type=float, default=0, metavar="SECONDS",
        help="first wait up to SECONDS for the endpoint to answer",
    )
    parser.add_argument(
        "--env-out", metavar="FILE",
        help="also write TABLE_NAME=... and QUEUE_URL=... (KEY=VALUE lines) to FILE",
    )
    args = parser.parse_args()
    endpoint = args.endpoint.rstrip("/")

    os.environ.setdefault("AWS_ACCESS_KEY_ID", "test")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "test")

    if args.wait > 0:
        wait_for(endpoint, args.wait)

    session = boto3.session.Session(region_name=args.region)
    ddb = session.client("dynamodb", endpoint_url=endpoint)
    sqs = session.client("sqs", endpoint_url=endpoint)

    log(f"endpoint {endpoint} ({args.region})")
    ensure_table(ddb, TABLE_NAME)

    dlq_url = ensure_queue(sqs, DLQ_NAME, {"MessageRetentionPeriod": "1209600"})
    dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq_url, AttributeNames=["QueueArn"])[
        "Attributes"
    ]["QueueArn"]
    redrive = json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": str(MAX_RECEIVE_COUNT)})
    queue_url = ensure_queue(sqs, QUEUE_NAME, {"RedrivePolicy": redrive})
    log(f"        redrive to {DLQ_NAME} after {MAX_RECEIVE_COUNT} receives")

    fifo_url = None
    if args.fifo:
        fifo_url = ensure_queue(sqs, FIFO_NAME, {"FifoQueue": "true"})
        route = [{"name": "audit", "queue_url": fifo_url, "events": ["*"], "providers": ["salesloft"]}]
        log(f"        to route every event there too: ROUTES='{json.dumps(route)}'")

    if args.env_out:
        with open(args.env_out, "w", encoding="utf-8") as f:
            f.write(f"TABLE_NAME={TABLE_NAME}\n")
            f.write(f"QUEUE_URL={queue_url}\n")
            f.write(f"DLQ_URL={dlq_url}\n")
            if fifo_url:
                f.write(f"FIFO_QUEUE_URL={fifo_url}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
