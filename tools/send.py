#!/usr/bin/env python3
"""Replays a Lambda Function URL event file as a real HTTP request to `cargo lambda watch`.

    python3 tools/send.py [EVENT_FILE] [--port 9000] [--function webhook] [--host 127.0.0.1]
    make send EVENT=events/salesloft/person_created.json

The request is rebuilt from the event: method from requestContext.http.method, path from
rawPath (plus rawQueryString), every header, and the body (base64-decoded first when
isBase64Encoded is true). It goes to

    http://HOST:PORT/lambda-url/FUNCTION<rawPath>

where `cargo lambda watch` turns it back into a Function URL event for the function. Prints
the status, the response headers that matter and the response body (pretty-printed when it
is JSON).

With --invoke the event file is not turned into HTTP: it is posted as is to the watch
server's Lambda Invoke API (/2015-03-31/functions/FUNCTION/invocations) and the function's
own {statusCode, headers, body} answer is printed. That bypasses cargo lambda's Function URL
emulation, which is useful to replay an event exactly (e.g. an isBase64Encoded body that is
not base64, which real HTTP cannot carry) or when that emulation is what fails.

Exit status: 0 when an HTTP response came back (whatever its status, unless --expect names
another), 1 when --expect did not match, 2 when there was none
(nothing listening, timeout) or the event file is unusable.

Standard library only: any python3 (3.8+) runs it.
"""

from __future__ import annotations

import argparse
import base64
import binascii
import gzip
import json
import sys
import urllib.error
import urllib.request

DEFAULT_EVENT = "events/salesloft/person_updated.json"
# Framing headers describe the original connection, not this one: http.client sets them.
SKIP_HEADERS = {"content-length", "transfer-encoding", "connection", "keep-alive"}
SHOW_RESPONSE_HEADERS = ("content-type", "retry-after", "allow")


def load_event(path: str) -> dict:
    try:
        with open(path, "rb") as f:
            event = json.load(f)
    except OSError as err:
        sys.exit(f"send: cannot read {path}: {err}")
    except ValueError as err:
        sys.exit(f"send: {path} is not JSON: {err}")
    if not isinstance(event, dict):
        sys.exit(f"send: {path} is not a Function URL event (not a JSON object)")
    return event


def body_bytes(event: dict) -> bytes:
    body = event.get("body")
    if body is None:
        return b""
    if event.get("isBase64Encoded"):
        try:
            return base64.b64decode(body, validate=True)
        except (binascii.Error, ValueError):
            print(
                "send: warning: isBase64Encoded is true but the body is not base64; sending it "
                "as is (over real HTTP, cargo lambda decides the encoding itself)",
                file=sys.stderr,
            )
    return body.encode("utf-8")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("event", nargs="?", default=DEFAULT_EVENT, help="default: %(default)s")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=9000)
    parser.add_argument("--function", default="webhook", help="function name in the URL")
    parser.add_argument("--timeout", type=float, default=60.0, help="seconds (the first call may wait for a build)")
    parser.add_argument("-v", "--verbose", action="store_true", help="also print the request")
    parser.add_argument(
        "--expect", type=int, metavar="STATUS",
        help="exit 1 unless the answer has this HTTP status (for scripts and smoke tests)",
    )
    parser.add_argument(
        "--invoke", action="store_true",
        help="post the event itself to the Lambda Invoke API instead of replaying it as HTTP",
    )
    args = parser.parse_args()

    event = load_event(args.event)
    if args.invoke:
        return invoke(args, event)
    http = (event.get("requestContext") or {}).get("http") or {}
    method = (http.get("method") or "POST").upper()
    raw_path = event.get("rawPath") or http.get("path") or "/"
    if not raw_path.startswith("/"):
        raw_path = "/" + raw_path
    query = event.get("rawQueryString") or ""
    url = f"http://{args.host}:{args.port}/lambda-url/{args.function}{raw_path}"
    if query:
        url += "?" + query

    headers = {
        str(k): str(v)
        for k, v in (event.get("headers") or {}).items()
        if str(k).lower() not in SKIP_HEADERS
    }
    data = body_bytes(event)

    print(f"> {method} {url}  ({len(data)} body bytes, from {args.event})")
    if args.verbose:
        for k, v in headers.items():
            print(f"> {k}: {v}")

    req = urllib.request.Request(
        url, data=data if (data or method not in ("GET", "HEAD")) else None,
        headers=headers, method=method,
    )
    try:
        resp = urllib.request.urlopen(req, timeout=args.timeout)
    except urllib.error.HTTPError as err:
        resp = err  # a 4xx/5xx is still an answer
    except (urllib.error.URLError, OSError) as err:
        reason = getattr(err, "reason", err)
        print(
            f"send: no response from {url}: {reason}\n"
            f"      is `make dev` running (watch port {args.port})?",
            file=sys.stderr,
        )
        return 2

    with resp:
        status = resp.status if hasattr(resp, "status") else resp.code
        raw = resp.read()
        if (resp.headers.get("content-encoding") or "").lower() == "gzip":
            raw = gzip.decompress(raw)
        print(f"< HTTP {status} {resp.reason}")
        for name in SHOW_RESPONSE_HEADERS:
            if resp.headers.get(name):
                print(f"< {name}: {resp.headers.get(name)}")
    text = raw.decode("utf-8", errors="replace")
    print_body(text)
    if status == 500 and "httpstatuses.com/500" in text:
        # cargo lambda's own problem+json answer, not the function's.
        print(
            "send: note: this 500 comes from cargo lambda watch, not from the function: it could "
            "not turn the function's reply into an HTTP response. The watch log shows what the "
            "function answered; `make send INVOKE=1` shows the reply itself.",
            file=sys.stderr,
        )
    if args.expect is not None and status != args.expect:
        print(f"send: expected HTTP {args.expect}, got {status}", file=sys.stderr)
        return 1
    return 0


def print_body(text: str) -> None:
    try:
        print(json.dumps(json.loads(text), indent=2, ensure_ascii=False))
    except ValueError:
        print(text)


def invoke(args: argparse.Namespace, event: dict) -> int:
    url = f"http://{args.host}:{args.port}/2015-03-31/functions/{args.function}/invocations"
    print(f"> POST {url}  (the event itself, from {args.event})")
    req = urllib.request.Request(
        url, data=json.dumps(event).encode("utf-8"), method="POST",
        headers={"content-type": "application/json"},
    )
    try:
        with urllib.request.urlopen(req, timeout=args.timeout) as resp:
            raw = resp.read()
    except urllib.error.HTTPError as err:
        print(f"< HTTP {err.code} {err.reason} (from the invoke API)")
        print_body(err.read().decode("utf-8", errors="replace"))
        return 0
    except (urllib.error.URLError, OSError) as err:
        reason = getattr(err, "reason", err)
        print(f"send: no response from {url}: {reason}\n      is `make dev` running?", file=sys.stderr)
        return 2
    text = raw.decode("utf-8", errors="replace")
    try:
        reply = json.loads(text)
    except ValueError:
        reply = None
    if not isinstance(reply, dict) or "statusCode" not in reply:
        print("< (not a Function URL response)")
        print_body(text)
        return 0
    print(f"< statusCode {reply.get('statusCode')}  (the function's reply)")
    for name, value in (reply.get("headers") or {}).items():
        print(f"< {name}: {value}")
    body = reply.get("body") or ""
    if reply.get("isBase64Encoded"):
        body = base64.b64decode(body).decode("utf-8", errors="replace")
    print_body(body)
    return 0


if __name__ == "__main__":
    sys.exit(main())
