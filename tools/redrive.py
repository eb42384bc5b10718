#!/usr/bin/env python3
"""Moves the messages of a dead-letter queue back to its source queue with an SQS message move
task (StartMessageMoveTask), then follows the task (ListMessageMoveTasks) until it ends.

    make redrive                                   # the deployed stack (samconfig.toml's name)
    make redrive STACK_NAME=my-stack               # another stack
    make redrive LOCAL=1                           # the local stack (moto, `make dev`)

    .venv/bin/python tools/redrive.py [--stack-name NAME] [--queue events|example-consumer]
    .venv/bin/python tools/redrive.py --endpoint http://127.0.0.1:4566 [--prefix P]
    .venv/bin/python tools/redrive.py --source-arn DLQ_ARN --destination-arn QUEUE_ARN

Which queues:
* deployed (no endpoint): the stack's outputs, EventsDeadLetterQueueArn -> EventsQueueArn
  (`--queue example-consumer`: ExampleConsumerDeadLetterQueueArn -> ExampleConsumerQueueArn),
  with your usual AWS credentials and region. The stack name defaults to samconfig.toml's
  `stack_name`.
* local (`--endpoint URL`, default $AWS_ENDPOINT_URL): the queues tools/local_stack.py creates,
  `<prefix>salesloft-webhooks-events-dlq` -> `<prefix>salesloft-webhooks-events`. With
  --stack-name as well, the stack's outputs are read from that endpoint instead.
* `--source-arn` and `--destination-arn` name the two queues directly.

SQS moves the messages itself, in the background, at up to --rate messages per second (default:
as fast as SQS allows); the messages get new message ids on the destination. Only a DLQ whose
source is an SQS queue can be a source, and one task per source queue runs at a time. The
caller needs sqs:StartMessageMoveTask, sqs:ListMessageMoveTasks and sqs:GetQueueAttributes
(plus, for SQS on its behalf, sqs:ReceiveMessage and sqs:DeleteMessage on the DLQ and
sqs:SendMessage on the destination), and cloudformation:DescribeStacks for the outputs.

Exit status: 0 when the task completed (or the DLQ was empty), 1 when a request was refused or
the task failed or was cancelled, 2 for bad arguments or an unreachable endpoint, 3 when the
endpoint does not implement the message move task (moto does not, as of 5.2: the tool then
prints one line saying so and moves nothing), 4 when --timeout passed first (the task goes on).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
import tomllib
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))  # tools/
import local_stack  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
# Stack outputs per --queue: (source = the DLQ, destination = the queue it redrives back to).
OUTPUTS = {
    "events": ("EventsDeadLetterQueueArn", "EventsQueueArn"),
    "example-consumer": ("ExampleConsumerDeadLetterQueueArn", "ExampleConsumerQueueArn"),
}
UNSUPPORTED = 3
TIMED_OUT = 4


class Failure(Exception):
    def __init__(self, message: str, status: int = 1):
        super().__init__(message)
        self.status = status


def default_stack_name() -> str | None:
    try:
        with open(ROOT / "samconfig.toml", "rb") as f:
            config = tomllib.load(f)
    except (OSError, tomllib.TOMLDecodeError):
        return None
    return config.get("default", {}).get("global", {}).get("parameters", {}).get("stack_name")


def session(region: str | None):
    import boto3

    return boto3.session.Session(region_name=region)


def client(sess, service: str, endpoint: str | None, attempts: int | None = None):
    from botocore.config import Config

    config = Config(retries={"mode": "standard", "max_attempts": attempts}) if attempts else None
    return sess.client(service, endpoint_url=endpoint or None, config=config)


def queue_url(sqs, arn: str) -> str:
    # arn:aws:sqs:<region>:<account>:<name>
    parts = arn.split(":")
    if len(parts) != 6 or parts[2] != "sqs":
        raise Failure(f"not an SQS queue ARN: {arn}", 2)
    return sqs.get_queue_url(QueueName=parts[5], QueueOwnerAWSAccountId=parts[4])["QueueUrl"]


def stack_arns(sess, endpoint: str | None, stack: str, which: str) -> tuple[str, str]:
    cfn = client(sess, "cloudformation", endpoint)
    outputs = {o["OutputKey"]: o["OutputValue"]
               for o in cfn.describe_stacks(StackName=stack)["Stacks"][0].get("Outputs", [])}
    keys = OUTPUTS[which]
    missing = [k for k in keys if k not in outputs]
    if missing:
        hint = " (deployed with DeployExampleConsumer=true?)" if which == "example-consumer" else ""
        raise Failure(f"stack {stack} has no output {', '.join(missing)}{hint}", 2)
    return outputs[keys[0]], outputs[keys[1]]


def local_arns(sqs, prefix: str) -> tuple[str, str]:
    arns = []
    for name in (local_stack.DLQ_NAME, local_stack.QUEUE_NAME):
        url = sqs.get_queue_url(QueueName=prefix + name)["QueueUrl"]
        arns.append(sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"])
    return arns[0], arns[1]


def counts(sqs, url: str) -> tuple[int, int]:
    attrs = sqs.get_queue_attributes(
        QueueUrl=url,
        AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
    )["Attributes"]
    return int(attrs.get("ApproximateNumberOfMessages", 0)), int(attrs.get("ApproximateNumberOfMessagesNotVisible", 0))


def not_implemented(err, endpoint: str | None) -> bool:
    """Whether a ClientError says the endpoint has no such operation: an emulator's 500/501 with
    no AWS error code (moto answers an unknown action with a bare HTTP 500), or an explicit
    not-implemented code. Never assumed of AWS itself (no endpoint)."""
    if not endpoint:
        return False
    error = err.response.get("Error", {})
    code = str(error.get("Code", ""))
    status = err.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
    if code in ("NotImplemented", "NotImplementedException", "InvalidAction", "UnknownOperationException"):
        return True
    return status in (500, 501) and (code.isdigit() or "not been implemented" in str(error.get("Message", "")))


def redrive(args) -> int:
    from botocore.exceptions import BotoCoreError, ClientError, EndpointConnectionError

    endpoint = args.endpoint or None
    sess = session(args.region)
    sqs = client(sess, "sqs", endpoint)
    # Not retried: a start whose answer was lost would otherwise be refused as a second task.
    sqs_once = client(sess, "sqs", endpoint, attempts=1)
    where = endpoint or f"AWS ({sess.region_name or 'no region configured'})"
    try:
        if args.source_arn:
            source, destination = args.source_arn, args.destination_arn
        elif args.stack_name or not endpoint:
            stack = args.stack_name or default_stack_name()
            if not stack:
                raise Failure("no stack name: pass --stack-name (samconfig.toml names none)", 2)
            source, destination = stack_arns(sess, endpoint, stack, args.queue)
            print(f"redrive: stack {stack} at {where}")
        else:
            if args.queue != "events":
                raise Failure("the local stack has only the events queues", 2)
            source, destination = local_arns(sqs, args.prefix)
            print(f"redrive: local stack at {where}")
        source_url, destination_url = queue_url(sqs, source), queue_url(sqs, destination)
        visible, in_flight = counts(sqs, source_url)
        print(f"redrive: {source} -> {destination}")
        print(f"redrive: {visible} message(s) waiting in the dead-letter queue"
              + (f", {in_flight} in flight (received, not deleted; moved once visible again)" if in_flight else ""))
        if visible + in_flight == 0:
            print("redrive: nothing to move")
            return 0

        request = {"SourceArn": source, "DestinationArn": destination}
        if args.rate:
            request["MaxNumberOfMessagesPerSecond"] = args.rate
        try:
            handle = sqs_once.start_message_move_task(**request)["TaskHandle"]
        except ClientError as err:
            if not_implemented(err, endpoint):
                raise Failure(
                    f"the SQS endpoint {endpoint} does not implement StartMessageMoveTask "
                    "(moto, as of 5.2, has none); nothing was moved", UNSUPPORTED) from None
            raise
        print(f"redrive: message move task started ({handle[:24]}...)")
        if args.no_wait:
            return 0

        deadline = time.monotonic() + args.timeout
        last = None
        while True:
            tasks = sqs.list_message_move_tasks(SourceArn=source, MaxResults=1).get("Results", [])
            task = tasks[0] if tasks else {}
            status = task.get("Status", "UNKNOWN")
            progress = (status, task.get("ApproximateNumberOfMessagesMoved"))
            if progress != last:
                total = task.get("ApproximateNumberOfMessagesToMove")
                print(f"redrive: {status}: {task.get('ApproximateNumberOfMessagesMoved', 0)}"
                      f"{f' of {total}' if total is not None else ''} moved")
                last = progress
            if status == "COMPLETED":
                break
            if status in ("FAILED", "CANCELLED", "CANCELLING"):
                raise Failure(f"the task ended {status}: {task.get('FailureReason') or 'no reason given'}")
            if time.monotonic() > deadline:
                print(f"redrive: still {status} after {args.timeout:g}s; the task goes on in SQS "
                      f"(see ListMessageMoveTasks)", file=sys.stderr)
                return TIMED_OUT
            time.sleep(args.poll)
        visible, in_flight = counts(sqs, source_url)
        dest_visible, _ = counts(sqs, destination_url)
        print(f"redrive: done; dead-letter queue {visible} visible / {in_flight} in flight, "
              f"destination {dest_visible} visible")
        return 0
    except Failure as err:
        print(f"redrive: {err}", file=sys.stderr)
        return err.status
    except EndpointConnectionError as err:
        print(f"redrive: nothing answers at {where}: {err}", file=sys.stderr)
        return 2
    except ClientError as err:
        error = err.response.get("Error", {})
        print(f"redrive: {err.operation_name} refused: {error.get('Code')}: "
              f"{error.get('Message', '').strip()[:300]}", file=sys.stderr)
        return 1
    except BotoCoreError as err:
        print(f"redrive: {err}", file=sys.stderr)
        return 2


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--endpoint", default=os.environ.get("AWS_ENDPOINT_URL") or "",
                        help="AWS endpoint of a local stack (default: $AWS_ENDPOINT_URL; none: AWS)")
    parser.add_argument("--region", default=os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION"))
    parser.add_argument("--stack-name", help="read the queues from this stack's outputs "
                        "(default without --endpoint: samconfig.toml's stack_name)")
    parser.add_argument("--queue", choices=sorted(OUTPUTS), default="events",
                        help="which dead-letter queue of the stack (default: events)")
    parser.add_argument("--prefix", default="", help="local stack: the tools/local_stack.py --prefix")
    parser.add_argument("--source-arn", help="the dead-letter queue to empty (with --destination-arn)")
    parser.add_argument("--destination-arn", help="where its messages go")
    parser.add_argument("--rate", type=int, help="at most this many messages per second (1-500)")
    parser.add_argument("--no-wait", action="store_true", help="start the task and return")
    parser.add_argument("--timeout", type=float, default=900, help="stop following the task after "
                        "SECONDS (default %(default)s; the task goes on)")
    parser.add_argument("--poll", type=float, default=2.0, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if bool(args.source_arn) != bool(args.destination_arn):
        parser.error("--source-arn and --destination-arn go together")
    if args.rate is not None and not 1 <= args.rate <= 500:
        parser.error("--rate must be between 1 and 500")
    return redrive(args)


if __name__ == "__main__":
    sys.exit(main())
