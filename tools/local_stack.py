#!/usr/bin/env python3
"""Creates the function's DynamoDB tables and SQS queues in a local AWS emulator (moto).

This file is the ONE definition of the local resources: `make dev` (scripts/dev.sh), the SAM
end-to-end test (tools/sam/stack.py), the Lambda benchmark harness (bench/lambda/harness) and
the Rust integration tests (through `--json`) all create them here.

    .venv/bin/python tools/local_stack.py                      # AWS_ENDPOINT_URL or 127.0.0.1:4566
    .venv/bin/python tools/local_stack.py --endpoint http://127.0.0.1:4566 --fifo
    .venv/bin/python tools/local_stack.py --wait 30 --env-out .local/stack.env
    .venv/bin/python tools/local_stack.py --endpoint http://127.0.0.1:PORT --json [--consumer-table]

Creates (every name preceded by --prefix, "" by default):
* DynamoDB table `salesloft-webhooks-dedup`: partition key `pk` (S), on-demand billing,
  TTL on `expires_at` (the function's TABLE_NAME);
* SQS queue `salesloft-webhooks-events` (the function's default QUEUE_URL) and its dead-letter
  queue `salesloft-webhooks-events-dlq` (redrive after 5 receives; 14 days' retention);
* with --fifo, also `salesloft-webhooks-audit.fifo` (for a ROUTES entry);
* with --consumer-table, also the example consumer's idempotency table
  `salesloft-webhooks-consumer` (key `pk` S, TTL on `expires_at`; its CONSUMER_TABLE_NAME).

Idempotent: running it again changes nothing. What already exists is kept; the TTL and the
queues' attributes (the redrive policy) are (re)applied, so they hold even on resources made
by hand; a table that exists with another key schema is an error.

Options:
  --endpoint URL     emulator endpoint (default: $AWS_ENDPOINT_URL, else http://127.0.0.1:4566)
  --region NAME      default: $AWS_REGION, else us-east-1
  --prefix TEXT      put TEXT before every resource name (isolates stacks in one emulator)
  --fifo             also create the FIFO queue
  --consumer-table   also create the consumer's idempotency table
  --wait SECONDS     while nothing listens at the endpoint (connection refused), retry for up
                     to SECONDS (default 0: fail at once). Costs nothing when it answers.
  --json             print the result as one JSON object on stdout, nothing else (progress
                     lines only with --verbose, on stderr)
  --env-out FILE     also write TABLE_NAME, QUEUE_URL, DLQ_URL[, FIFO_QUEUE_URL]
                     [, CONSUMER_TABLE_NAME] as KEY=VALUE lines to FILE
  -v, --verbose      progress lines on stderr even with --json

The --json output (stable; new keys may be added, none removed or renamed while "version"
is 1) is a single line, keys sorted:

    {"consumer_table": null,
     "endpoint": "http://127.0.0.1:PORT",
     "queues": {"default": "http://127.0.0.1:PORT/123456789012/salesloft-webhooks-events",
                "dlq": "http://127.0.0.1:PORT/123456789012/salesloft-webhooks-events-dlq",
                "fifo": null},
     "region": "us-east-1",
     "spool_bucket": "salesloft-webhooks-spool",
     "table": "salesloft-webhooks-dedup",
     "version": 1}

`table` is the dedup table's name; `consumer_table` the consumer table's name with
--consumer-table, else null; `queues.fifo` the FIFO queue's URL with --fifo, else null;
`spool_bucket` the S3 bucket of the spool (always created; the function spools only when
SPOOL_BUCKET names it). Every
key is always present. Exit status: 0 on success, 1 when the emulator refused a request (the
error on stderr), 2 when nothing answers at the endpoint or the arguments are wrong.

As a module (tools/ on sys.path):

    import local_stack
    stack = local_stack.create_stack("http://127.0.0.1:4566", fifo=True)  # the dict above
    aws = local_stack.LocalAws("http://127.0.0.1:4566")
    local_stack.ensure_table(aws, "my-table", key="id", ttl="expiration")
    url = local_stack.ensure_queue(aws, "my-queue")

Standard library only, so it starts in milliseconds (boto3 alone takes ~0.3 s to import):
requests are the AWS JSON protocol (DynamoDB, SQS, Secrets Manager), SigV4-signed with
$AWS_ACCESS_KEY_ID / $AWS_SECRET_ACCESS_KEY, else the fake `test`/`test`. It talks to the
given endpoint only: never to AWS unless that endpoint is AWS.
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import hmac
import http.client
import json
import os
import sys
import time
import urllib.parse
from typing import Callable

DEFAULT_ENDPOINT = "http://127.0.0.1:4566"
DEFAULT_REGION = "us-east-1"

# The local names (deployed, CloudFormation names them; see template.yaml).
TABLE_NAME = "salesloft-webhooks-dedup"
CONSUMER_TABLE_NAME = "salesloft-webhooks-consumer"
QUEUE_NAME = "salesloft-webhooks-events"
DLQ_NAME = "salesloft-webhooks-events-dlq"
FIFO_NAME = "salesloft-webhooks-audit.fifo"
# Like template.yaml: EventsQueue redrives to EventsDeadLetterQueue after 5 receives, and the
# DLQ keeps messages 14 days.
MAX_RECEIVE_COUNT = 5
DLQ_RETENTION_S = "1209600"
# Key and TTL attribute of the function's and the consumer's tables.
KEY = "pk"
TTL = "expires_at"
# S3 bucket names are lowercase and global on AWS; locally any name works.
SPOOL_BUCKET = "salesloft-webhooks-spool"

JSON_VERSION = 1

Log = Callable[[str], None]


def _quiet(_msg: str) -> None:
    pass


# ---------------------------------------------------------------------------------------
# A minimal AWS JSON-protocol client (standard library only)
# ---------------------------------------------------------------------------------------

# service -> (SigV4 signing name, X-Amz-Target prefix, content type)
_SERVICES = {
    "dynamodb": ("dynamodb", "DynamoDB_20120810", "application/x-amz-json-1.0"),
    "sqs": ("sqs", "AmazonSQS", "application/x-amz-json-1.0"),
    "secretsmanager": ("secretsmanager", "secretsmanager", "application/x-amz-json-1.1"),
}


class AwsError(Exception):
    """An error answer: `code` is the short error name (e.g. ResourceInUseException)."""

    def __init__(self, service: str, action: str, status: int, code: str, message: str):
        super().__init__(f"{service} {action}: HTTP {status} {code}: {message}")
        self.status = status
        self.code = code
        self.message = message


class Unreachable(Exception):
    """Nothing answers at the endpoint."""


class LocalAws:
    """Signed AWS JSON-protocol calls to one endpoint over one keep-alive connection."""

    def __init__(self, endpoint: str, region: str = DEFAULT_REGION, wait: float = 0.0):
        url = urllib.parse.urlsplit(endpoint.rstrip("/"))
        if url.scheme not in ("http", "https") or not url.hostname:
            raise ValueError(f"not an http(s) endpoint: {endpoint!r}")
        self.endpoint = endpoint.rstrip("/")
        self.region = region
        self._scheme = url.scheme
        self._host = url.hostname
        self._port = url.port
        self._netloc = url.netloc
        self._conn: http.client.HTTPConnection | None = None
        # Until the first answer, a refused connection is retried until this deadline.
        self._wait_until: float | None = time.monotonic() + wait
        self._key_id = os.environ.get("AWS_ACCESS_KEY_ID") or "test"
        self._secret = os.environ.get("AWS_SECRET_ACCESS_KEY") or "test"
        self._token = os.environ.get("AWS_SESSION_TOKEN") or ""

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def __enter__(self) -> "LocalAws":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def call(self, service: str, action: str, payload: dict) -> dict:
        signing_name, prefix, content_type = _SERVICES[service]
        body = json.dumps(payload).encode("utf-8")
        status, data, query_error = self._send(
            body, lambda: self._signed_headers(signing_name, f"{prefix}.{action}", content_type, body)
        )
        try:
            doc = json.loads(data) if data else {}
        except ValueError:
            doc = {"message": data[:300].decode("utf-8", "replace")}
        if status >= 300:
            code = str(doc.get("__type") or doc.get("code") or "").rsplit("#", 1)[-1]
            # SQS also names the query-protocol code (AWS.SimpleQueueService.NonExistentQueue).
            code = code or query_error.split(";", 1)[0] or f"HTTP{status}"
            message = str(doc.get("message") or doc.get("Message") or "")
            raise AwsError(service, action, status, code, message)
        return doc

    def _send(self, body: bytes, sign: Callable[[], dict[str, str]]) -> tuple[int, bytes, str]:
        reconnected = False
        while True:
            if self._conn is None:
                cls = http.client.HTTPSConnection if self._scheme == "https" else http.client.HTTPConnection
                self._conn = cls(self._host, self._port, timeout=30)
            try:
                self._conn.request("POST", "/", body=body, headers=sign())
                resp = self._conn.getresponse()
                data = resp.read()
            except (ConnectionRefusedError, http.client.RemoteDisconnected, ConnectionResetError,
                    BrokenPipeError) as err:
                self.close()
                if self._wait_until is not None:
                    # No answer yet from this endpoint: maybe still starting.
                    if time.monotonic() < self._wait_until:
                        time.sleep(0.05)
                        continue
                    raise Unreachable(f"nothing answers at {self.endpoint} ({err})") from None
                if reconnected or isinstance(err, ConnectionRefusedError):
                    raise Unreachable(f"{self.endpoint} stopped answering ({err})") from None
                # A kept-alive connection the server closed between requests: reconnect once.
                reconnected = True
                continue
            except OSError as err:
                self.close()
                raise Unreachable(f"no answer from {self.endpoint}: {err}") from None
            self._wait_until = None
            return resp.status, data, resp.getheader("x-amzn-query-error") or ""

    def create_bucket(self, name: str) -> None:
        """S3 CreateBucket (path-style `PUT /{name}`); an existing bucket of ours is kept."""
        if self._conn is None:
            cls = http.client.HTTPSConnection if self._scheme == "https" else http.client.HTTPConnection
            self._conn = cls(self._host, self._port, timeout=30)
        headers = self._signed_headers("s3", "", "application/xml", b"", method="PUT", path=f"/{name}")
        self._conn.request("PUT", f"/{name}", body=b"", headers=headers)
        resp = self._conn.getresponse()
        data = resp.read()
        if resp.status >= 300 and b"BucketAlreadyOwnedByYou" not in data:
            raise AwsError("s3", "CreateBucket", resp.status, f"HTTP{resp.status}",
                           data[:300].decode("utf-8", "replace"))

    def _signed_headers(self, service: str, target: str, content_type: str, body: bytes,
                        method: str = "POST", path: str = "/") -> dict[str, str]:
        """SigV4 (AWS4-HMAC-SHA256) headers for a POST / with this body."""
        now = dt.datetime.now(dt.timezone.utc)
        amz_date = now.strftime("%Y%m%dT%H%M%SZ")
        day = amz_date[:8]
        payload_hash = hashlib.sha256(body).hexdigest()
        headers = {
            "content-type": content_type,
            "host": self._netloc,
            "x-amz-date": amz_date,
        }
        if target:
            headers["x-amz-target"] = target
        if service == "s3":
            headers["x-amz-content-sha256"] = payload_hash
        if self._token:
            headers["x-amz-security-token"] = self._token
        signed = ";".join(sorted(headers))
        canonical = "\n".join(
            [method, path, ""]
            + [f"{k}:{headers[k]}" for k in sorted(headers)]
            + ["", signed, payload_hash]
        )
        scope = f"{day}/{self.region}/{service}/aws4_request"
        to_sign = "\n".join(
            ["AWS4-HMAC-SHA256", amz_date, scope, hashlib.sha256(canonical.encode()).hexdigest()]
        )
        key = ("AWS4" + self._secret).encode()
        for part in (day, self.region, service, "aws4_request"):
            key = hmac.new(key, part.encode(), hashlib.sha256).digest()
        signature = hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()
        headers["authorization"] = (
            f"AWS4-HMAC-SHA256 Credential={self._key_id}/{scope}, "
            f"SignedHeaders={signed}, Signature={signature}"
        )
        headers["content-length"] = str(len(body))
        return headers


# ---------------------------------------------------------------------------------------
# Resources
# ---------------------------------------------------------------------------------------


def ensure_table(aws: LocalAws, name: str, *, key: str = KEY, ttl: str | None = TTL,
                 log: Log = _quiet) -> str:
    """A table with string partition key `key`, on-demand billing and TTL on `ttl` (none when
    None). The function's and the consumer's tables use the defaults; other shapes (the
    benchmark's Powertools peer: `id`/`expiration`) pass theirs. Returns the name."""
    try:
        desc = aws.call("dynamodb", "CreateTable", {
            "TableName": name,
            "AttributeDefinitions": [{"AttributeName": key, "AttributeType": "S"}],
            "KeySchema": [{"AttributeName": key, "KeyType": "HASH"}],
            "BillingMode": "PAY_PER_REQUEST",
        })["TableDescription"]
        created = True
    except AwsError as err:
        if err.code != "ResourceInUseException":
            raise
        desc = aws.call("dynamodb", "DescribeTable", {"TableName": name})["Table"]
        created = False
        have = [(k["AttributeName"], k["KeyType"]) for k in desc.get("KeySchema", [])]
        if have != [(key, "HASH")]:
            raise AwsError("dynamodb", "CreateTable", 400, "TableShapeMismatch",
                           f"table {name} exists with key schema {have}, expected [({key!r}, 'HASH')]")
    log(f"table   {name} ({'created' if created else 'exists'})")
    # moto creates tables ACTIVE; a real service (or another emulator) may take a moment.
    deadline = time.monotonic() + 60
    while desc.get("TableStatus", "ACTIVE") != "ACTIVE":
        if time.monotonic() > deadline:
            raise AwsError("dynamodb", "DescribeTable", 0, "Timeout", f"{name} is still {desc.get('TableStatus')}")
        time.sleep(0.2)
        desc = aws.call("dynamodb", "DescribeTable", {"TableName": name})["Table"]
    if ttl is None:
        return name
    if not created:
        current = aws.call("dynamodb", "DescribeTimeToLive", {"TableName": name})["TimeToLiveDescription"]
        if current.get("TimeToLiveStatus") in ("ENABLED", "ENABLING") and current.get("AttributeName") == ttl:
            log(f"        TTL on {ttl} (already enabled)")
            return name
    aws.call("dynamodb", "UpdateTimeToLive", {
        "TableName": name,
        "TimeToLiveSpecification": {"Enabled": True, "AttributeName": ttl},
    })
    log(f"        TTL on {ttl} (enabled)")
    return name


def ensure_queue(aws: LocalAws, name: str, attributes: dict[str, str] | None = None,
                 *, log: Log = _quiet) -> str:
    """A queue with these attributes (FIFO when the name ends in `.fifo`); returns its URL.
    An existing queue keeps its URL and gets the attributes (re)applied."""
    attributes = dict(attributes or {})
    if name.endswith(".fifo"):
        attributes.setdefault("FifoQueue", "true")
    try:
        req: dict = {"QueueName": name}
        if attributes:
            req["Attributes"] = attributes
        url = aws.call("sqs", "CreateQueue", req)["QueueUrl"]
        log(f"queue   {name} (created or unchanged)")
    except AwsError as err:
        # Exists with other attributes: keep it, (re)apply what can be changed.
        if err.code not in ("QueueAlreadyExists", "QueueNameExists"):
            raise
        url = aws.call("sqs", "GetQueueUrl", {"QueueName": name})["QueueUrl"]
        settable = {k: v for k, v in attributes.items() if k != "FifoQueue"}
        if settable:
            aws.call("sqs", "SetQueueAttributes", {"QueueUrl": url, "Attributes": settable})
        log(f"queue   {name} (exists; attributes updated)")
    log(f"        {url}")
    return url


def queue_arn(aws: LocalAws, url: str) -> str:
    return aws.call("sqs", "GetQueueAttributes", {"QueueUrl": url, "AttributeNames": ["QueueArn"]})[
        "Attributes"]["QueueArn"]


def create_stack(endpoint: str, fifo: bool = False, consumer_table: bool = False, prefix: str = "",
                 *, region: str = DEFAULT_REGION, wait: float = 0.0, log: Log = _quiet) -> dict:
    """Creates (or keeps) the local resources; returns the --json document (see the module
    docstring). Raises Unreachable when nothing answers, AwsError when a request is refused."""
    with LocalAws(endpoint, region, wait=wait) as aws:
        log(f"endpoint {aws.endpoint} ({region})")
        table = ensure_table(aws, prefix + TABLE_NAME, log=log)
        consumer = ensure_table(aws, prefix + CONSUMER_TABLE_NAME, log=log) if consumer_table else None
        dlq_name = prefix + DLQ_NAME
        dlq_url = ensure_queue(aws, dlq_name, {"MessageRetentionPeriod": DLQ_RETENTION_S}, log=log)
        redrive = json.dumps({"deadLetterTargetArn": queue_arn(aws, dlq_url),
                              "maxReceiveCount": str(MAX_RECEIVE_COUNT)})
        queue_url = ensure_queue(aws, prefix + QUEUE_NAME, {"RedrivePolicy": redrive}, log=log)
        log(f"        redrive to {dlq_name} after {MAX_RECEIVE_COUNT} receives")
        fifo_url = ensure_queue(aws, prefix + FIFO_NAME, log=log) if fifo else None
        # The spool's bucket (the function spools only when SPOOL_BUCKET names it).
        bucket = prefix + SPOOL_BUCKET
        aws.create_bucket(bucket)
        log(f"bucket  {bucket} (the spool)")
    return {
        "version": JSON_VERSION,
        "endpoint": aws.endpoint,
        "region": region,
        "table": table,
        "consumer_table": consumer,
        "queues": {"default": queue_url, "dlq": dlq_url, "fifo": fifo_url},
        "spool_bucket": bucket,
    }


def env_lines(stack: dict) -> list[str]:
    """The function's (and the consumer's) settings for this stack, as KEY=VALUE lines."""
    lines = [f"TABLE_NAME={stack['table']}", f"QUEUE_URL={stack['queues']['default']}",
             f"DLQ_URL={stack['queues']['dlq']}"]
    if stack["queues"]["fifo"]:
        lines.append(f"FIFO_QUEUE_URL={stack['queues']['fifo']}")
    if stack["consumer_table"]:
        lines.append(f"CONSUMER_TABLE_NAME={stack['consumer_table']}")
    lines.append(f"SPOOL_BUCKET={stack['spool_bucket']}")
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--endpoint",
        default=os.environ.get("AWS_ENDPOINT_URL") or DEFAULT_ENDPOINT,
        help="emulator endpoint (default: $AWS_ENDPOINT_URL or %(default)s)",
    )
    parser.add_argument("--region", default=os.environ.get("AWS_REGION") or DEFAULT_REGION)
    parser.add_argument("--prefix", default="", help="put this before every resource name")
    parser.add_argument("--fifo", action="store_true", help=f"also create {FIFO_NAME}")
    parser.add_argument("--consumer-table", action="store_true",
                        help=f"also create {CONSUMER_TABLE_NAME} (the consumer's idempotency table)")
    parser.add_argument(
        "--wait", type=float, default=0, metavar="SECONDS",
        help="retry a refused connection for up to SECONDS (no delay when the endpoint answers)",
    )
    parser.add_argument("--json", action="store_true", help="print the result as JSON on stdout")
    parser.add_argument(
        "--env-out", metavar="FILE",
        help="also write TABLE_NAME=..., QUEUE_URL=... (KEY=VALUE lines) to FILE",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="progress on stderr with --json")
    args = parser.parse_args(argv)

    if args.json:
        log: Log = (lambda m: print(m, file=sys.stderr, flush=True)) if args.verbose else _quiet
    else:
        log = lambda m: print(m, flush=True)  # noqa: E731

    try:
        stack = create_stack(args.endpoint, fifo=args.fifo, consumer_table=args.consumer_table,
                             prefix=args.prefix, region=args.region, wait=args.wait, log=log)
    except ValueError as err:
        print(f"local_stack: {err}", file=sys.stderr)
        return 2
    except Unreachable as err:
        waited = f" after {args.wait:g}s" if args.wait else " (--wait SECONDS to wait for it)"
        print(f"local_stack: {err}{waited}", file=sys.stderr)
        return 2
    except AwsError as err:
        print(f"local_stack: {err}", file=sys.stderr)
        return 1

    if args.fifo and not args.json:
        route = [{"name": "audit", "queue_url": stack["queues"]["fifo"], "events": ["*"],
                  "providers": ["salesloft"]}]
        log(f"        to route every event there too: ROUTES='{json.dumps(route)}'")
    if args.env_out:
        with open(args.env_out, "w", encoding="utf-8") as f:
            f.write("".join(line + "\n" for line in env_lines(stack)))
    if args.json:
        sys.stdout.write(json.dumps(stack, sort_keys=True) + "\n")
        sys.stdout.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
