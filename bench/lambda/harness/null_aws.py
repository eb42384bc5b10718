"""null-AWS: a small, fast local stand-in for the AWS calls the benchmark rows make, so that
warm and first-invoke figures measure each runtime, SDK and code path instead of moto's
4-7 ms per call. Benchmark code only (never part of the test suite); Python stdlib only.

What it answers (everything else: 400 UnknownOperationException, logged):

* DynamoDB (AWS JSON 1.0, `x-amz-target: DynamoDB_20120810.*`): PutItem, UpdateItem,
  DeleteItem, GetItem, with a real in-memory item store per (table, key): a PutItem whose
  ConditionExpression contains `attribute_not_exists` fails with
  ConditionalCheckFailedException when the key is already there (with `Item` when
  `ReturnValuesOnConditionCheckFailure=ALL_OLD`), so a second delivery of an event is a
  duplicate for every row, as on moto. UpdateItem applies `SET a = :v, ...` and `REMOVE a`
  (the forms the rows use) and checks `#x = :v` conditions; `x-amz-crc32` is set (botocore
  checks it).
* SQS in both protocols: AWS JSON 1.0 (`x-amz-target: AmazonSQS.*`, what the Rust SDK, SDK v3
  for JavaScript and boto3 >= 1.34 send) and the query protocol (form-encoded `Action=...`,
  older SDKs): SendMessage (MD5OfMessageBody and MD5OfMessageAttributes computed the way SQS
  does; SDKs validate them), GetQueueAttributes (ApproximateNumberOfMessages: the messages
  sent to that queue), GetQueueUrl, CreateQueue.
* Secrets Manager (AWS JSON 1.1, `secretsmanager.GetSecretValue`): the SecretString given with
  `--secret NAME=VALUE` (repeatable), ResourceNotFoundException otherwise.

Modes:
    null_aws.py --port P                      # plain HTTP/1.1 keep-alive
    null_aws.py --port P --tls CERT KEY       # the same behind TLS
    null_aws.py --port P --tls CERT KEY --proxy-to 127.0.0.1:Q
                                              # a TLS front for Q (moto): keeps the client's TLS
                                              # connection alive, one plain upstream connection
                                              # per request (moto closes after each response)
    --log FILE: one line per request (operation, protocol, status, microseconds of work).
    env NULL_AWS_DENY=DescribeTable,GetQueueAttributes: refuse those JSON-protocol operations
        (400 AccessDeniedException) except from boto3 (the harness); e.g. the prewarming lever's
        calls as the template's IAM policy would answer them.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import socket
import ssl
import struct
import sys
import threading
import time
import uuid
import zlib
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl
from xml.sax.saxutils import escape

ACCOUNT = "123456789012"
REGION = "us-east-1"


# --- SQS checksums ---------------------------------------------------------------------------


def md5_hex(data: bytes) -> str:
    return hashlib.md5(data).hexdigest()


def md5_of_attributes(attrs: dict) -> str | None:
    """SQS's MD5OfMessageAttributes: attributes sorted by name; each as length-prefixed name,
    length-prefixed data type, a transport byte (1 string/number, 2 binary), length-prefixed
    value."""
    if not attrs:
        return None
    buf = bytearray()

    def lp(b: bytes) -> None:
        buf.extend(struct.pack(">I", len(b)))
        buf.extend(b)

    for name in sorted(attrs):
        a = attrs[name]
        dtype = a.get("DataType", "String")
        lp(name.encode())
        lp(dtype.encode())
        if "BinaryValue" in a and a["BinaryValue"] is not None:
            import base64

            buf.append(2)
            v = a["BinaryValue"]
            lp(base64.b64decode(v) if isinstance(v, str) else v)
        else:
            buf.append(1)
            lp(str(a.get("StringValue", "")).encode())
    return md5_hex(bytes(buf))


# --- state -----------------------------------------------------------------------------------


class State:
    def __init__(self, secrets: dict[str, str]):
        self.lock = threading.Lock()
        self.items: dict[tuple[str, str], dict] = {}
        self.queues: dict[str, int] = {}
        self.secrets = secrets


def key_of(table: str, key: dict) -> tuple[str, str]:
    return table, json.dumps(key, sort_keys=True, separators=(",", ":"))


SET_RE = re.compile(r"\s*([#\w.]+)\s*=\s*(:\w+)\s*")
EQ_RE = re.compile(r"^\s*([#\w]+)\s*=\s*(:\w+)\s*$")


def resolve(name: str, names: dict) -> str:
    return names.get(name, name) if name.startswith("#") else name


def apply_update(item: dict, expr: str, names: dict, values: dict) -> None:
    """`SET a = :v, b = :w REMOVE c, d` (the subset the rows use; no arithmetic)."""
    parts = re.split(r"\b(SET|REMOVE|ADD|DELETE)\b", expr, flags=re.I)
    clause = None
    for p in parts:
        up = p.strip().upper()
        if up in ("SET", "REMOVE", "ADD", "DELETE"):
            clause = up
            continue
        if not p.strip() or clause is None:
            continue
        for a in p.split(","):
            if clause == "SET":
                m = SET_RE.fullmatch(a)
                if m:
                    item[resolve(m.group(1), names)] = values.get(m.group(2))
            elif clause == "REMOVE":
                item.pop(resolve(a.strip(), names), None)


def condition_holds(item: dict | None, expr: str | None, names: dict, values: dict) -> bool:
    """attribute_not_exists(...) anywhere in the expression: holds iff no item (the rows'
    claim conditions also accept expired/released records; none exist in a benchmark run).
    `#x = :v`: equality. Anything else: holds."""
    if not expr:
        return True
    if "attribute_not_exists" in expr:
        return item is None
    m = EQ_RE.match(expr)
    if m:
        return item is not None and item.get(resolve(m.group(1), names)) == values.get(m.group(2))
    if "attribute_exists" in expr:
        return item is not None
    return True


# --- the handler -----------------------------------------------------------------------------


# NULL_AWS_DENY=DescribeTable,GetQueueAttributes: answer these JSON-protocol operations as IAM
# would without a grant (400 AccessDeniedException), e.g. to see the prewarming lever's calls
# refused as the template's policy refuses them. boto3 callers (the harness's queue counts) are
# exempt.
DENY = {o for o in os.environ.get("NULL_AWS_DENY", "").split(",") if o}


class ClientError(Exception):
    def __init__(self, code: str, message: str, status: int = 400, extra: dict | None = None, prefix: str = ""):
        self.code, self.message, self.status, self.extra, self.prefix = code, message, status, extra or {}, prefix


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "null-aws"
    sys_version = ""

    def log_message(self, fmt, *args):  # noqa: D401 - silence the default stderr log
        pass

    def do_GET(self):
        self.send_body(200, b"null-aws\n", "text/plain")

    def do_POST(self):
        t0 = time.perf_counter()
        n = int(self.headers.get("content-length") or 0)
        raw = self.rfile.read(n) if n else b""
        if self.server.upstream:  # type: ignore[attr-defined]
            return self.forward(raw)
        target = self.headers.get("x-amz-target")
        st: State = self.server.state  # type: ignore[attr-defined]
        if target:
            prefix, _, op = target.partition(".")
            proto = "json"
            try:
                req = json.loads(raw or b"{}")
                if op in DENY and "botocore" not in (self.headers.get("user-agent") or "").lower():
                    raise ClientError("AccessDeniedException", f"null-aws: {op} refused (NULL_AWS_DENY)",
                                      prefix="com.amazon.coral.service#")
                if prefix.startswith("DynamoDB_"):
                    out = dynamodb(st, op, req)
                elif prefix == "AmazonSQS":
                    out = sqs(st, op, req)
                elif prefix == "secretsmanager":
                    out = secrets(st, op, req)
                else:
                    raise ClientError("UnknownOperationException", f"unknown target {target}")
                status, body = 200, json.dumps(out, separators=(",", ":")).encode()
            except ClientError as e:
                pfx = e.prefix or ("com.amazonaws.dynamodb.v20120810#" if prefix.startswith("DynamoDB_") else "")
                status = e.status
                body = json.dumps({"__type": pfx + e.code, "message": e.message, **e.extra}, separators=(",", ":")).encode()
            ctype = "application/x-amz-json-1.0" if not prefix == "secretsmanager" else "application/x-amz-json-1.1"
            hdrs = {"x-amz-crc32": str(zlib.crc32(body) & 0xFFFFFFFF)}
            if prefix == "AmazonSQS" and status != 200:
                hdrs["x-amzn-query-error"] = f"{json.loads(body)['__type'].rsplit('#', 1)[-1]};Sender"
            self.send_body(status, body, ctype, hdrs)
            name = target
        else:
            proto = "query"
            form = dict(parse_qsl(raw.decode()))
            name = form.get("Action", "?")
            try:
                status, body = 200, sqs_query(st, form, self.path)
            except ClientError as e:
                status = e.status
                body = (f'<?xml version="1.0"?><ErrorResponse xmlns="http://queue.amazonaws.com/doc/2012-11-05/">'
                        f"<Error><Type>Sender</Type><Code>{escape(e.code)}</Code><Message>{escape(e.message)}</Message>"
                        f"</Error><RequestId>{uuid.uuid4()}</RequestId></ErrorResponse>").encode()
            self.send_body(status, body, "text/xml")
        log = self.server.logf  # type: ignore[attr-defined]
        if log:
            log.write(f"{time.time():.3f} {proto} {name} {status} {(time.perf_counter() - t0) * 1e6:.0f}us\n")
            log.flush()

    def forward(self, raw: bytes) -> None:
        """TLS front mode: the request to the plain upstream (moto) on a fresh connection
        (moto closes every connection after one response), the answer back on this kept-alive
        TLS connection, as AWS endpoints keep connections alive."""
        import http.client

        host, port = self.server.upstream  # type: ignore[attr-defined]
        conn = http.client.HTTPConnection(host, port, timeout=60)
        hop = {"connection", "keep-alive", "transfer-encoding", "content-length"}
        try:
            conn.request(self.command, self.path, body=raw,
                         headers={k: v for k, v in self.headers.items() if k.lower() not in hop})
            r = conn.getresponse()
            body = r.read()
            self.send_response(r.status)
            for k, v in r.getheaders():
                if k.lower() not in hop and k.lower() not in ("server", "date"):
                    self.send_header(k, v)
            self.send_header("content-length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
        finally:
            conn.close()

    def send_body(self, status: int, body: bytes, ctype: str, extra: dict | None = None):
        self.send_response(status)
        self.send_header("content-type", ctype)
        self.send_header("content-length", str(len(body)))
        self.send_header("x-amzn-requestid", str(uuid.uuid4()))
        for k, v in (extra or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(body)


def dynamodb(st: State, op: str, req: dict) -> dict:
    table = req.get("TableName", "")
    names = req.get("ExpressionAttributeNames") or {}
    values = req.get("ExpressionAttributeValues") or {}
    if op == "PutItem":
        item = req["Item"]
        # The key: the rows' tables are keyed by `pk` (Rust rows, node) or `id` (Powertools).
        kname = "pk" if "pk" in item else ("id" if "id" in item else sorted(item)[0])
        k = key_of(table, {kname: item[kname]})
        with st.lock:
            old = st.items.get(k)
            if not condition_holds(old, req.get("ConditionExpression"), names, values):
                extra = {"Item": old} if req.get("ReturnValuesOnConditionCheckFailure") == "ALL_OLD" else {}
                raise ClientError("ConditionalCheckFailedException", "The conditional request failed", extra=extra)
            st.items[k] = item
        return {"Attributes": old} if old is not None and req.get("ReturnValues") == "ALL_OLD" else {}
    if op == "UpdateItem":
        k = key_of(table, req["Key"])
        with st.lock:
            old = st.items.get(k)
            if not condition_holds(old, req.get("ConditionExpression"), names, values):
                extra = {"Item": old} if old is not None and req.get("ReturnValuesOnConditionCheckFailure") == "ALL_OLD" else {}
                raise ClientError("ConditionalCheckFailedException", "The conditional request failed", extra=extra)
            new = dict(old or req["Key"])
            apply_update(new, req.get("UpdateExpression", ""), names, values)
            st.items[k] = new
        rv = req.get("ReturnValues", "NONE")
        if rv == "ALL_NEW":
            return {"Attributes": new}
        if rv == "ALL_OLD" and old is not None:
            return {"Attributes": old}
        # moto adds this (real DynamoDB only with ReturnConsumedCapacity); kept for parity.
        return {"ConsumedCapacity": {"TableName": table, "CapacityUnits": 1.0}}
    if op == "DeleteItem":
        k = key_of(table, req["Key"])
        with st.lock:
            old = st.items.get(k)
            if not condition_holds(old, req.get("ConditionExpression"), names, values):
                raise ClientError("ConditionalCheckFailedException", "The conditional request failed")
            st.items.pop(k, None)
        return {"Attributes": old} if old is not None and req.get("ReturnValues") == "ALL_OLD" else {}
    if op == "GetItem":
        with st.lock:
            old = st.items.get(key_of(table, req["Key"]))
        return {"Item": old} if old is not None else {}
    if op == "DescribeTable":
        return {"Table": {"TableName": table, "TableStatus": "ACTIVE",
                          "TableArn": f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/{table}"}}
    raise ClientError("UnknownOperationException", f"DynamoDB {op} is not answered by null-aws")


def queue_name(url: str) -> str:
    return url.rstrip("/").rsplit("/", 1)[-1]


def send_message(st: State, url: str, body: str, attrs: dict) -> dict:
    with st.lock:
        st.queues[queue_name(url)] = st.queues.get(queue_name(url), 0) + 1
    out = {"MD5OfMessageBody": md5_hex(body.encode()), "MessageId": str(uuid.uuid4())}
    m = md5_of_attributes(attrs)
    if m:
        out["MD5OfMessageAttributes"] = m
    return out


def sqs(st: State, op: str, req: dict) -> dict:
    if op == "SendMessage":
        return send_message(st, req["QueueUrl"], req["MessageBody"], req.get("MessageAttributes") or {})
    if op == "GetQueueAttributes":
        with st.lock:
            n = st.queues.get(queue_name(req["QueueUrl"]), 0)
        return {"Attributes": {"ApproximateNumberOfMessages": str(n)}}
    if op in ("GetQueueUrl", "CreateQueue"):
        return {"QueueUrl": f"https://sqs.{REGION}.amazonaws.com/{ACCOUNT}/{req['QueueName']}"}
    raise ClientError("UnsupportedOperation", f"SQS {op} is not answered by null-aws")


def sqs_query(st: State, form: dict, path: str) -> bytes:
    action = form.get("Action")
    rid = uuid.uuid4()
    if action == "SendMessage":
        attrs: dict = {}
        i = 1
        while f"MessageAttribute.{i}.Name" in form:
            p = f"MessageAttribute.{i}."
            a = {"DataType": form.get(p + "Value.DataType", "String")}
            if p + "Value.StringValue" in form:
                a["StringValue"] = form[p + "Value.StringValue"]
            if p + "Value.BinaryValue" in form:
                a["BinaryValue"] = form[p + "Value.BinaryValue"]
            attrs[form[p + "Name"]] = a
            i += 1
        out = send_message(st, form.get("QueueUrl") or path, form.get("MessageBody", ""), attrs)
        md5a = f"<MD5OfMessageAttributes>{out['MD5OfMessageAttributes']}</MD5OfMessageAttributes>" if "MD5OfMessageAttributes" in out else ""
        return (f'<?xml version="1.0"?><SendMessageResponse xmlns="http://queue.amazonaws.com/doc/2012-11-05/">'
                f"<SendMessageResult><MD5OfMessageBody>{out['MD5OfMessageBody']}</MD5OfMessageBody>{md5a}"
                f"<MessageId>{out['MessageId']}</MessageId></SendMessageResult>"
                f"<ResponseMetadata><RequestId>{rid}</RequestId></ResponseMetadata></SendMessageResponse>").encode()
    raise ClientError("InvalidAction", f"SQS query action {action} is not answered by null-aws")


def secrets(st: State, op: str, req: dict) -> dict:
    if op == "GetSecretValue":
        sid = req.get("SecretId", "")
        name = sid.split(":secret:", 1)[-1] if sid.startswith("arn:") else sid
        if name not in st.secrets:
            raise ClientError("ResourceNotFoundException", "Secrets Manager can't find the specified secret.")
        return {"ARN": f"arn:aws:secretsmanager:{REGION}:{ACCOUNT}:secret:{name}-AbCdEf", "Name": name,
                "VersionId": "00000000-0000-0000-0000-000000000001", "SecretString": st.secrets[name],
                "VersionStages": ["AWSCURRENT"], "CreatedDate": 1700000000.0}
    raise ClientError("UnknownOperationException", f"Secrets Manager {op} is not answered by null-aws")


# --- servers ---------------------------------------------------------------------------------


class Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 64

    def __init__(self, addr, state: State, ctx: ssl.SSLContext | None, logf, upstream=None):
        super().__init__(addr, Handler)
        self.state, self.ctx, self.logf, self.upstream = state, ctx, logf, upstream

    def get_request(self):
        sock, addr = self.socket.accept()
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        if self.ctx:
            # The handshake runs in the request's thread (see finish_request), not here.
            sock = self.ctx.wrap_socket(sock, server_side=True, do_handshake_on_connect=False)
        return sock, addr

    def finish_request(self, request, client_address):
        if self.ctx:
            try:
                request.do_handshake()
            except (ssl.SSLError, OSError):
                return
        super().finish_request(request, client_address)


def pump(src: socket.socket, dst: socket.socket, quickack: bool = False) -> None:
    try:
        while True:
            if quickack:
                # moto writes a response in several small segments; without this the
                # kernel's delayed ACK (40 ms) stalls its second write (Nagle on its side).
                src.setsockopt(socket.IPPROTO_TCP, socket.TCP_QUICKACK, 1)
            data = src.recv(65536)
            if not data:
                break
            dst.sendall(data)
    except OSError:
        pass
    finally:
        for s in (dst, src):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass


def proxy(port: int, ctx: ssl.SSLContext, upstream: tuple[str, int]) -> None:
    """TLS in front of a plain server (moto): one thread pair per connection."""
    lsock = socket.socket()
    lsock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    lsock.bind(("127.0.0.1", port))
    lsock.listen(64)

    def serve(raw: socket.socket) -> None:
        try:
            tls = ctx.wrap_socket(raw, server_side=True)
            up = socket.create_connection(upstream)
        except (ssl.SSLError, OSError):
            raw.close()
            return
        for s in (tls, up):
            s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        threading.Thread(target=pump, args=(up, tls, True), daemon=True).start()
        pump(tls, up)

    while True:
        raw, _ = lsock.accept()
        threading.Thread(target=serve, args=(raw,), daemon=True).start()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--tls", nargs=2, metavar=("CERT", "KEY"))
    ap.add_argument("--proxy-to", default="", help="HOST:PORT: be a TLS front for that plain server instead")
    ap.add_argument("--byte-pump", action="store_true",
                    help="with --proxy-to: pump bytes instead (moto's Connection: close then costs a TLS handshake per call)")
    ap.add_argument("--secret", action="append", default=[], help="NAME=SECRETSTRING for GetSecretValue")
    ap.add_argument("--log", default="")
    args = ap.parse_args()
    ctx = None
    if args.tls:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(*args.tls)
    upstream = None
    if args.proxy_to:
        if not ctx:
            sys.exit("--proxy-to needs --tls")
        host, _, p = args.proxy_to.rpartition(":")
        upstream = (host, int(p))
        if args.byte_pump:
            proxy(args.port, ctx, upstream)
            return
    logf = open(args.log, "a") if args.log else None
    secrets_ = dict(s.split("=", 1) for s in args.secret)
    srv = Server(("127.0.0.1", args.port), State(secrets_), ctx, logf, upstream)
    srv.serve_forever()


if __name__ == "__main__":
    main()
