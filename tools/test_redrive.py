#!/usr/bin/env python3
"""Test of tools/redrive.py (`make test-tools`) against moto on 127.0.0.1; no AWS account.

Starts moto (tools/moto_serial.py) on a free port, creates the local stack with
tools/local_stack.py (names prefixed "redrive-test-"), then:

1. an empty dead-letter queue: the tool moves nothing and exits 0;
2. three messages on the dead-letter queue, queues found by local name (--endpoint --prefix);
3. the same, queues found from a CloudFormation stack's outputs (--stack-name, the path used
   against AWS; the stack is created in moto with EventsDeadLetterQueueArn/EventsQueueArn);
4. --queue example-consumer on that stack, which lacks those outputs: exit 2, said plainly;
5. in process, with botocore's Stubber in place of SQS (what moto cannot show): the task is
   started with the right ARNs and followed RUNNING -> COMPLETED (exit 0), a FAILED task is
   exit 1 with its reason, and AWS's own errors are never taken for "not implemented".

For 2 and 3: when moto implements SQS StartMessageMoveTask, the messages must end up on the
events queue (bodies and attributes intact) and the DLQ must be empty. moto 5.2 does not
implement it: the tool must then exit 3 with exactly one line saying so, and the messages must
still be on the DLQ (nothing lost). Which case applies is read from moto's source, so the test
follows a moto upgrade by itself.

The moto process is stopped on every exit (also on SIGTERM/SIGINT).

    .venv/bin/python tools/test_redrive.py [-v]
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
from pathlib import Path

TOOLS = Path(__file__).resolve().parent
sys.path.insert(0, str(TOOLS))
import local_stack  # noqa: E402

PREFIX = "redrive-test-"
STACK = "redrive-test-stack"
UNSUPPORTED_LINE = "does not implement StartMessageMoveTask"
ENV = {
    **{k: v for k, v in os.environ.items() if not k.startswith("AWS_")},
    "AWS_ACCESS_KEY_ID": "test",
    "AWS_SECRET_ACCESS_KEY": "test",
    "AWS_REGION": "us-east-1",
    "AWS_DEFAULT_REGION": "us-east-1",
    # Nothing from the user's AWS configuration (profiles, endpoints) applies.
    "AWS_CONFIG_FILE": os.devnull,
    "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
}
VERBOSE = "-v" in sys.argv[1:]
failures: list[str] = []


def log(msg: str) -> None:
    print(f"test-redrive: {msg}", flush=True)


def check(ok: bool, what: str) -> None:
    log(f"{'PASS' if ok else 'FAIL'} {what}")
    if not ok:
        failures.append(what)


def moto_has_move_task() -> bool:
    from moto.sqs.responses import SQSResponse

    return hasattr(SQSResponse, "start_message_move_task")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def run_redrive(*args: str) -> subprocess.CompletedProcess:
    cmd = [sys.executable, str(TOOLS / "redrive.py"), "--poll", "0.2", "--timeout", "30", *args]
    proc = subprocess.run(cmd, env=ENV, capture_output=True, text=True, timeout=120)
    if VERBOSE or proc.returncode not in (0, 2, 3):
        sys.stdout.write("".join(f"   | {line}\n" for line in proc.stdout.splitlines()))
        sys.stdout.write("".join(f"   ! {line}\n" for line in proc.stderr.splitlines()))
    return proc


def drain(sqs, url: str) -> list[dict]:
    """Every message on the queue (received and deleted)."""
    got: list[dict] = []
    for _ in range(20):
        msgs = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=0,
                                   MessageAttributeNames=["All"]).get("Messages", [])
        if not msgs:
            break
        for m in msgs:
            got.append(m)
            sqs.delete_message(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"])
    return got


def put(sqs, url: str, n: int) -> list[str]:
    bodies = []
    for i in range(n):
        body = json.dumps({"event_id": f"redrive-{i}", "event_type": "person_updated"})
        sqs.send_message(QueueUrl=url, MessageBody=body, MessageAttributes={
            "provider": {"DataType": "String", "StringValue": "salesloft"},
            "event_id": {"DataType": "String", "StringValue": f"redrive-{i}"},
        })
        bodies.append(body)
    return bodies


def case_redrive(sqs, stack: dict, label: str, *args: str) -> None:
    dlq, events = stack["queues"]["dlq"], stack["queues"]["default"]
    bodies = put(sqs, dlq, 3)
    proc = run_redrive(*args)
    if moto_has_move_task():
        check(proc.returncode == 0, f"{label}: exit 0 (moto implements the move task), got {proc.returncode}")
        moved = drain(sqs, events)
        check(sorted(m["Body"] for m in moved) == sorted(bodies),
              f"{label}: the 3 messages are on the events queue ({len(moved)} found)")
        check(all(m.get("MessageAttributes", {}).get("provider", {}).get("StringValue") == "salesloft"
                  for m in moved), f"{label}: their attributes are intact")
        check(drain(sqs, dlq) == [], f"{label}: the dead-letter queue is empty")
    else:
        lines = proc.stderr.strip().splitlines()
        check(proc.returncode == 3, f"{label}: exit 3 (moto lacks StartMessageMoveTask), got {proc.returncode}")
        check(len(lines) == 1 and UNSUPPORTED_LINE in lines[0],
              f"{label}: one line saying '{UNSUPPORTED_LINE}' on stderr, got {lines}")
        if lines:
            log(f"     the tool said: {lines[-1]}")
        left = drain(sqs, dlq)
        check(sorted(m["Body"] for m in left) == sorted(bodies),
              f"{label}: nothing lost: the 3 messages are still on the dead-letter queue ({len(left)})")
        check(drain(sqs, events) == [], f"{label}: nothing on the events queue")


def stubbed_cases() -> None:
    """Case 5: the tool's AWS path against recorded answers (the request parameters are checked
    against the SQS API model by the Stubber)."""
    import contextlib
    import io

    import boto3
    from botocore.stub import Stubber

    import redrive

    account, region = "123456789012", "us-east-1"
    dlq_arn = f"arn:aws:sqs:{region}:{account}:stack-EventsDeadLetterQueue-X"
    dest_arn = f"arn:aws:sqs:{region}:{account}:stack-EventsQueue-Y"
    dlq_url = f"https://sqs.{region}.amazonaws.invalid/{account}/stack-EventsDeadLetterQueue-X"
    dest_url = f"https://sqs.{region}.amazonaws.invalid/{account}/stack-EventsQueue-Y"
    count_names = ["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]

    def attrs(visible: int, in_flight: int = 0) -> dict:
        return {"Attributes": {"ApproximateNumberOfMessages": str(visible),
                               "ApproximateNumberOfMessagesNotVisible": str(in_flight)}}

    def run(final: dict, start_error: str | None = None) -> tuple[int, str, str, list[Stubber]]:
        sess = boto3.session.Session(region_name=region)
        sqs, once = sess.client("sqs"), sess.client("sqs")
        stub, stub_once = Stubber(sqs), Stubber(once)
        for name, url in (("stack-EventsDeadLetterQueue-X", dlq_url), ("stack-EventsQueue-Y", dest_url)):
            stub.add_response("get_queue_url", {"QueueUrl": url},
                              {"QueueName": name, "QueueOwnerAWSAccountId": account})
        stub.add_response("get_queue_attributes", attrs(3), {"QueueUrl": dlq_url, "AttributeNames": count_names})
        start = {"SourceArn": dlq_arn, "DestinationArn": dest_arn}
        if start_error:
            stub_once.add_client_error("start_message_move_task", service_error_code=start_error,
                                       http_status_code=500, expected_params=start)
        else:
            stub_once.add_response("start_message_move_task", {"TaskHandle": "handle-0123456789abcdef0123456789"}, start)
            listing = {"SourceArn": dlq_arn, "MaxResults": 1}
            stub.add_response("list_message_move_tasks", {"Results": [{
                "Status": "RUNNING", "SourceArn": dlq_arn, "DestinationArn": dest_arn,
                "ApproximateNumberOfMessagesMoved": 1, "ApproximateNumberOfMessagesToMove": 3}]}, listing)
            stub.add_response("list_message_move_tasks", {"Results": [final]}, listing)
            if final["Status"] == "COMPLETED":
                stub.add_response("get_queue_attributes", attrs(0), {"QueueUrl": dlq_url, "AttributeNames": count_names})
                stub.add_response("get_queue_attributes", attrs(3), {"QueueUrl": dest_url, "AttributeNames": count_names})
        clients = iter([sqs, once])
        real_client = redrive.client
        redrive.client = lambda *_a, **_k: next(clients)
        out, err = io.StringIO(), io.StringIO()
        try:
            with stub, stub_once, contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
                rc = redrive.main(["--endpoint", "", "--source-arn", dlq_arn, "--destination-arn", dest_arn,
                                   "--poll", "0", "--region", region])
        finally:
            redrive.client = real_client
        if VERBOSE:
            sys.stdout.write("".join(f"   | {line}\n" for line in out.getvalue().splitlines()))
            sys.stdout.write("".join(f"   ! {line}\n" for line in err.getvalue().splitlines()))
        return rc, out.getvalue(), err.getvalue(), [stub, stub_once]

    def consumed(stubs: list[Stubber]) -> bool:
        try:
            for s in stubs:
                s.assert_no_pending_responses()
        except AssertionError:
            return False
        return True

    done = {"Status": "COMPLETED", "SourceArn": dlq_arn, "DestinationArn": dest_arn,
            "ApproximateNumberOfMessagesMoved": 3, "ApproximateNumberOfMessagesToMove": 3}
    rc, out, err, stubs = run(done)
    check(rc == 0 and "COMPLETED: 3 of 3 moved" in out and consumed(stubs),
          f"stubbed SQS: task started with the ARNs, followed to COMPLETED, exit 0 (exit {rc}) {err.strip()}")

    failed = {"Status": "FAILED", "SourceArn": dlq_arn, "FailureReason": "AccessDenied on the destination",
              "ApproximateNumberOfMessagesMoved": 1}
    rc, out, err, stubs = run(failed)
    check(rc == 1 and "FAILED: AccessDenied on the destination" in err and consumed(stubs),
          f"stubbed SQS: a FAILED task is exit 1 with its reason (exit {rc}: {err.strip()})")

    rc, out, err, stubs = run({}, start_error="InternalError")
    check(rc == 1 and UNSUPPORTED_LINE not in err and "InternalError" in err,
          f"stubbed SQS: an AWS 500 is an error, not 'not implemented' (exit {rc}: {err.strip()})")


def main() -> int:
    import boto3

    work = Path(tempfile.mkdtemp(prefix="test-redrive."))
    port = free_port()
    endpoint = f"http://127.0.0.1:{port}"
    moto_log = open(work / "moto.log", "w")
    moto = subprocess.Popen([sys.executable, str(TOOLS / "moto_serial.py"), "-H", "127.0.0.1", "-p", str(port)],
                            stdout=moto_log, stderr=subprocess.STDOUT, env=ENV, start_new_session=True)

    def stop(*_):
        raise SystemExit(143)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGHUP, stop)
    try:
        log(f"moto at {endpoint} (pid {moto.pid}); implements StartMessageMoveTask: {moto_has_move_task()}")
        # In this process too (local_stack, the stubbed clients): only the fake settings.
        for name in [k for k in os.environ if k.startswith("AWS_")]:
            del os.environ[name]
        os.environ.update({k: v for k, v in ENV.items() if k.startswith("AWS_")})
        stack = local_stack.create_stack(endpoint, prefix=PREFIX, wait=30)
        sess = boto3.session.Session(region_name="us-east-1")
        sqs = sess.client("sqs", endpoint_url=endpoint)

        # 1. nothing to move
        proc = run_redrive("--endpoint", endpoint, "--prefix", PREFIX)
        check(proc.returncode == 0 and "nothing to move" in proc.stdout,
              f"empty dead-letter queue: exit 0, nothing to move (exit {proc.returncode})")

        # 2. local names
        case_redrive(sqs, stack, "local queues", "--endpoint", endpoint, "--prefix", PREFIX)

        # 3. stack outputs, as against AWS
        arn = lambda url: sqs.get_queue_attributes(  # noqa: E731
            QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        template = {
            "Resources": {"Handle": {"Type": "AWS::CloudFormation::WaitConditionHandle"}},
            "Outputs": {
                "EventsDeadLetterQueueArn": {"Value": arn(stack["queues"]["dlq"])},
                "EventsQueueArn": {"Value": arn(stack["queues"]["default"])},
            },
        }
        sess.client("cloudformation", endpoint_url=endpoint).create_stack(
            StackName=STACK, TemplateBody=json.dumps(template))
        case_redrive(sqs, stack, "stack outputs", "--endpoint", endpoint, "--stack-name", STACK)

        # 4. outputs the stack lacks
        proc = run_redrive("--endpoint", endpoint, "--stack-name", STACK, "--queue", "example-consumer")
        check(proc.returncode == 2 and "has no output ExampleConsumerDeadLetterQueueArn" in proc.stderr,
              f"missing stack outputs: exit 2, named (exit {proc.returncode}: {proc.stderr.strip()})")

        # 5. the AWS path, stubbed
        stubbed_cases()
    except (local_stack.AwsError, local_stack.Unreachable) as err:
        failures.append(f"local stack: {err}")
        log(f"FAIL local stack: {err}")
    finally:
        if moto.poll() is None:
            moto.terminate()
            try:
                moto.wait(10)
            except subprocess.TimeoutExpired:
                moto.kill()
                moto.wait()
        moto_log.close()
        if failures:
            log(f"moto log kept: {work / 'moto.log'}")
        else:
            (work / "moto.log").unlink(missing_ok=True)
            work.rmdir()

    if failures:
        log(f"{len(failures)} check(s) FAILED")
        return 1
    log("all passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
